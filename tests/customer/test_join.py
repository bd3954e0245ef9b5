"""The join page: what it asks, who gets a card, and what it refuses."""

import re

import pytest
from django.urls import reverse

from stampcard.customer.models import ReturnLink
from stampcard.loyalty import links
from stampcard.loyalty.models import Card, Customer, JoinChannel
from tests import factories

pytestmark = pytest.mark.django_db


def join_url(program, channel=None):
    url = reverse("customer:join", kwargs={"slug": program.business.slug, "program_id": program.pk})
    return f"{url}?ch={channel}" if channel else url


def test_join_route_is_the_printed_join_path(join_program):
    assert join_url(join_program) == links.join_path(join_program)
    assert join_url(join_program, "poster") == links.join_path(join_program, "poster")


def test_the_page_asks_only_what_the_program_asks(client, join_program):
    page = client.get(join_url(join_program)).content.decode()
    for name in ("name", "email", "phone", "birthday", "marketing_consent"):
        assert f'name="{name}"' in page
    join_program.join_phone = "off"
    join_program.join_birthday = "off"
    join_program.join_marketing_consent = "off"
    join_program.save()
    page = client.get(join_url(join_program)).content.decode()
    assert 'name="name"' in page
    assert 'name="email"' in page
    for name in ("phone", "birthday", "marketing_consent"):
        assert f'name="{name}"' not in page


def test_a_new_customer_gets_a_card_with_the_channel_and_a_local_phone(client, join_program):
    response = client.post(
        join_url(join_program, "table_tent"),
        {
            "name": "Somchai",
            "email": "Somchai@Example.org",
            "phone": "081 234 5678",
            "marketing_consent": "on",
        },
        HTTP_ACCEPT_LANGUAGE="th",
    )
    card = Card.objects.get(program=join_program)
    assert response.status_code == 302
    assert response["Location"] == f"/c/{card.token}/"
    customer = card.customer
    assert customer.email == "somchai@example.org"
    assert str(customer.phone) == "+66812345678"  # read as a Thai number
    assert customer.join_channel == JoinChannel.TABLE_TENT
    assert customer.language == "th"
    assert customer.marketing_consent is True


@pytest.mark.parametrize("channel", ["staff", "import", "<script>", "x" * 5000, ""])
def test_unknown_or_unprintable_channels_count_as_the_join_qr(client, join_program, channel):
    client.post(join_url(join_program, channel), {"name": "Ann"})
    assert Customer.objects.get().join_channel == JoinChannel.QR


def test_without_email_or_phone_each_join_is_its_own_anonymous_card(client, join_program):
    client.post(join_url(join_program), {"name": "Ann"})
    client.post(join_url(join_program), {"name": "Ann"})
    assert Card.objects.filter(program=join_program).count() == 2


def test_an_empty_post_is_told_what_is_missing(client, join_program):
    response = client.post(join_url(join_program))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Customer.objects.count() == 0


def test_required_fields_are_required(client, join_program):
    join_program.join_email = "required"
    join_program.save()
    response = client.post(join_url(join_program), {"name": "", "email": ""})
    assert response.status_code == 400
    assert Customer.objects.count() == 0
    page = response.content.decode()
    assert page.count('class="c-error"') >= 2
    # Each message is tied to its input for screen readers.
    assert 'aria-describedby="id_name-error"' in page
    assert 'id="id_name-error"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("phone", "12", "Enter a valid phone number"),
        ("phone", "+66 81 234 5678" * 5, "at most 32 characters"),
        ("name", "x" * 121, "at most 120 characters"),
        ("name", "Ann\x00", "Null characters are not allowed."),
        ("birthday", "2999-01-01", "Enter your real date of birth."),
        ("birthday", "1850-01-01", "Enter your real date of birth."),
        ("birthday", "31/31/31", "Enter a valid date."),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(client, join_program, field, value, message):
    data = {"name": "Ann", field: value}
    response = client.post(join_url(join_program), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Customer.objects.count() == 0


def test_broken_encodings_and_huge_bodies_are_answered_not_crashed(client, join_program):
    url = join_url(join_program)
    form = "application/x-www-form-urlencoded"
    broken = client.post(url, b"name=%ED%A0%80&email=%FF%FE", content_type=form)
    assert broken.status_code == 400
    assert Customer.objects.count() == 0
    huge = client.post(url, b"name=" + b"a" * 3_000_000, content_type=form)
    assert huge.status_code == 400
    assert Customer.objects.count() == 0


def test_errors_come_in_the_customers_language(client, join_program):
    response = client.post(
        join_url(join_program), {"name": "Ann", "email": "nope"}, HTTP_ACCEPT_LANGUAGE="th"
    )
    assert response.status_code == 400
    assert re.search(r"[\u0e00-\u0e7f]", response.content.decode())  # Thai script
    assert "Enter a valid email address." not in response.content.decode()


def test_a_known_email_gets_the_e_mail_page_not_the_card(client, join_program, card):
    with_known = client.post(
        join_url(join_program), {"name": "Mallory", "email": card.customer.email.upper()}
    )
    assert with_known.status_code == 200
    page = with_known.content.decode()
    assert "Check your e-mail" in page
    assert card.token not in page
    assert card.code not in page
    assert Customer.objects.count() == 1
    assert Customer.objects.get().name != "Mallory"  # nothing about the person changed


def test_a_known_phone_gets_the_e_mail_page_too(client, join_program):
    customer = factories.CustomerFactory(business=join_program.business, phone="+66812345678")
    factories.CardFactory(program=join_program, customer=customer)
    response = client.post(join_url(join_program), {"name": "Eve", "phone": "0812345678"})
    assert "Check your e-mail" in response.content.decode()
    assert Customer.objects.count() == 1
    assert ReturnLink.objects.filter(customer=customer).count() == 1


def test_known_and_unknown_addresses_get_the_same_answer(client, join_program, card):
    url = reverse(
        "customer:return_request",
        kwargs={"slug": join_program.business.slug, "program_id": join_program.pk},
    )
    known = client.post(url, {"email": card.customer.email}).content.decode()
    unknown = client.post(url, {"email": "nobody@example.org"}).content.decode()

    def without_secrets(page):
        page = re.sub(r'name="ticket" value="[^"]*"', "", page)
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)

    assert without_secrets(known) == without_secrets(unknown)


def test_the_same_person_in_another_business_is_another_customer(client, join_program, card):
    other = factories.ProgramFactory(business=factories.BusinessFactory(slug="elsewhere"))
    client.post(join_url(other), {"name": "Ann", "email": card.customer.email})
    assert Card.objects.filter(program=other, customer__business=other.business).count() == 1


def test_foreign_inactive_and_absurd_programs_are_not_found(client, join_program, other_business):
    slug = join_program.business.slug
    assert client.get(f"/j/{other_business.slug}/{join_program.pk}/").status_code == 404
    assert client.get(f"/j/{slug}/{2**70}/").status_code == 404
    assert client.get(f"/j/{slug}/0/").status_code == 404
    join_program.status = "draft"
    join_program.save()
    assert client.get(join_url(join_program)).status_code == 404
    assert client.post(join_url(join_program), {"name": "Ann"}).status_code == 404
    assert Customer.objects.count() == 0


def test_this_browser_is_offered_its_card_again(client, join_program):
    response = client.post(join_url(join_program), {"name": "Ann"})
    page = client.get(join_url(join_program)).content.decode()
    assert f'href="{response["Location"]}"' in page


def test_marketing_consent_cannot_be_required(join_program):
    from django.core.exceptions import ValidationError

    join_program.join_marketing_consent = "required"
    with pytest.raises(ValidationError) as refused:
        join_program.clean()
    assert "join_marketing_consent" in refused.value.message_dict
