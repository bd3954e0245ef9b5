"""The join page against hostile input: disguised names and addresses that are one person."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from stampcard.loyalty import errors
from stampcard.loyalty.models import Customer
from stampcard.loyalty.services.contacts import clean_email

pytestmark = pytest.mark.django_db


def join_url(program):
    return reverse(
        "customer:join", kwargs={"slug": program.business.slug, "program_id": program.pk}
    )


@pytest.mark.parametrize(
    "name",
    [
        "Ann\x1b[31m RED",  # a terminal escape
        "Ann\x07",
        "Ann\nBob",
        "Ann\u202egnp.exe",  # reads "Annexe.png"
        "\u2067Ann\u2069",
    ],
)
def test_a_name_with_control_characters_is_refused_in_the_visitors_language(
    client, join_program, name
):
    response = client.post(join_url(join_program), {"name": name}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    assert "невидимый управляющий символ" in response.content.decode()
    assert Customer.objects.count() == 0


# Persian with a zero-width non-joiner, written by its code points.
PERSIAN = "\u0645\u0631\u06cc\u0645\u200c\u062c\u0627\u0646"


@pytest.mark.parametrize("name", ["Nok 😀", "👨\u200d👩\u200d👧 family", "מרים", PERSIAN, "Zoë"])
def test_names_in_any_script_and_with_emoji_are_kept_as_typed(client, join_program, name):
    response = client.post(join_url(join_program), {"name": name})
    assert response.status_code == 302
    assert Customer.objects.get().name == name


@pytest.mark.parametrize(
    "again",
    [
        "Ann@EXAMPLE.org",
        "ann@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.org",  # full-width letters
        "ann@exa\u200bmple.org",  # a zero-width space
    ],
)
def test_one_address_written_another_way_is_the_same_customer(client, join_program, again):
    assert client.post(join_url(join_program), {"name": "Ann", "email": "ann@example.org"})
    response = client.post(join_url(join_program), {"name": "Mallory", "email": again})
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    assert list(Customer.objects.values_list("name", "email")) == [("Ann", "ann@example.org")]


@pytest.mark.parametrize(
    "written", ["ann@ex\u00e4mple.org", "ann@exa\u0308mple.org", "ann@xn--exmple-cua.org"]
)
def test_an_international_domain_is_kept_in_one_form(written):
    assert clean_email(written) == "ann@ex\u00e4mple.org"


@pytest.mark.parametrize(
    "address", ["ann@exa\u202emple.org", "a" * 250 + "@example.org", "ann@[127.0.0.1]"]
)
def test_addresses_that_cannot_be_kept_or_sent_to_are_refused(address):
    with pytest.raises(errors.InvalidCustomer):
        clean_email(address)


INVISIBLE_NAMES = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d",  # zero-width space, non-joiner, joiner
    "\ufeff",  # byte order mark
    "\u2060\u00a0\u3000",  # word joiner, no-break and ideographic spaces
    "\u3164\u3164",  # Hangul fillers
    "\u034f",  # a combining grapheme joiner on nothing
]


@pytest.mark.parametrize("name", INVISIBLE_NAMES)
def test_a_required_name_of_invisible_characters_is_refused_as_empty(client, join_program, name):
    response = client.post(join_url(join_program), {"name": name}, HTTP_ACCEPT_LANGUAGE="uk")
    empty = client.post(join_url(join_program), {"name": ""}, HTTP_ACCEPT_LANGUAGE="uk")
    assert response.status_code == empty.status_code == 400
    required = escape("Це поле обов'язкове.")  # Django's own message for an empty field
    assert required in empty.content.decode()
    assert required in response.content.decode()
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("name", INVISIBLE_NAMES)
def test_an_optional_name_of_invisible_characters_is_no_name(client, join_program, name):
    join_program.join_name = "optional"
    join_program.save()
    response = client.post(join_url(join_program), {"name": name})
    assert response.status_code == 302
    assert Customer.objects.get().name == ""
