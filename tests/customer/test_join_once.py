"""A join form sent twice (a double tap, a resent form, two requests in parallel) is one join."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from stampcard.customer import housekeeping
from stampcard.customer.models import JoinAttempt, ReturnLink
from stampcard.loyalty.models import Card, Customer
from tests.concurrency import needs_postgres, run_in_parallel
from tests.mail_server import deliver_mail

pytestmark = pytest.mark.django_db


def join_url(program):
    return reverse(
        "customer:join", kwargs={"slug": program.business.slug, "program_id": program.pk}
    )


def the_form(client, program):
    """The join page's one-time token, as a browser gets it (with its join cookie)."""
    page = client.get(join_url(program)).content.decode()
    token = re.search(r'name="join_token" value="([^"]+)"', page)
    assert token is not None
    return token.group(1)


def ticket_of(response):
    found = re.search(r'name="ticket" value="([^"]+)"', response.content.decode())
    assert found is not None
    return found.group(1)


def test_an_anonymous_form_sent_twice_makes_one_card_and_both_land_on_it(client, join_program):
    join_program.join_name = join_program.join_email = join_program.join_phone = "off"
    join_program.save()
    token = the_form(client, join_program)
    first = client.post(join_url(join_program), {"join_token": token})
    again = client.post(join_url(join_program), {"join_token": token})
    card = Card.objects.get(program=join_program)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/c/{card.token}/"
    assert Customer.objects.count() == 1


def test_a_form_with_a_new_address_sent_twice_opens_the_card_and_sends_nothing(
    client, join_program, smtp
):
    token = the_form(client, join_program)
    sent = {"name": "Ann", "email": "ann@example.org", "join_token": token}
    first = client.post(join_url(join_program), sent)
    again = client.post(join_url(join_program), sent)
    deliver_mail()
    card = Card.objects.get(program=join_program)
    assert again.status_code == 302
    assert first["Location"] == again["Location"] == f"/c/{card.token}/"
    assert smtp.messages == []
    assert ReturnLink.objects.count() == 0


def test_a_known_address_sent_twice_is_e_mailed_once_with_one_ticket(client, join_program, smtp):
    client.post(join_url(join_program), {"name": "Ann", "email": "ann@example.org"})
    other_phone = Client()
    token = the_form(other_phone, join_program)
    sent = {"name": "Ann", "email": "ann@example.org", "join_token": token}
    first = other_phone.post(join_url(join_program), sent)
    again = other_phone.post(join_url(join_program), sent)
    deliver_mail()
    assert first.status_code == again.status_code == 200
    assert ticket_of(first) == ticket_of(again)
    assert len(smtp.messages) == 1
    assert ReturnLink.objects.count() == 1
    # The code in the one e-mail works with the page the customer sees.
    code = re.search(rb"\b(\d{6})\b", smtp.messages[0]["data"])
    assert code is not None
    opened = other_phone.post(
        reverse(
            "customer:return_code",
            kwargs={"slug": join_program.business.slug, "program_id": join_program.pk},
        ),
        {"ticket": ticket_of(again), "code": code.group(1).decode()},
    )
    assert opened.status_code == 302
    assert opened["Location"] == f"/c/{Card.objects.get().token}/"


def test_a_token_copied_to_another_browser_opens_nobodys_card(client, join_program):
    token = the_form(client, join_program)
    mine = client.post(join_url(join_program), {"name": "Ann", "join_token": token})
    elsewhere = Client()
    the_form(elsewhere, join_program)  # that browser's own join cookie
    theirs = elsewhere.post(join_url(join_program), {"name": "Eve", "join_token": token})
    assert theirs.status_code == 302
    assert theirs["Location"] != mine["Location"]
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["Ann", "Eve"]


def test_a_refused_form_corrected_and_sent_with_its_token_joins(client, join_program):
    token = the_form(client, join_program)
    refused = client.post(join_url(join_program), {"name": "Ann\u202e", "join_token": token})
    assert refused.status_code == 400
    assert f'value="{token}"' in refused.content.decode()  # the same attempt, shown again
    joined = client.post(join_url(join_program), {"name": "Ann", "join_token": token})
    assert joined.status_code == 302
    assert Customer.objects.get().name == "Ann"
    assert JoinAttempt.objects.get().card == Card.objects.get()


def test_each_page_view_is_a_new_form(client, join_program):
    assert the_form(client, join_program) != the_form(client, join_program)
    for _ in range(2):
        token = the_form(client, join_program)
        client.post(join_url(join_program), {"name": "Ann", "join_token": token})
    assert Card.objects.count() == 2  # two people on one phone, one after the other


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_one_form_sent_in_parallel_makes_one_card(join_program):
    browser = Client()
    token = the_form(browser, join_program)
    cookies = browser.cookies

    def send(_i):
        phone = Client()
        phone.cookies = cookies
        return phone.post(join_url(join_program), {"name": "Ann", "join_token": token})

    answers = run_in_parallel(send, 8, workers=8)
    card = Card.objects.get(program=join_program)
    assert Customer.objects.count() == 1
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        assert answer.status_code == 302
        assert answer["Location"] == f"/c/{card.token}/"


def test_attempts_are_forgotten_after_a_day(client, join_program):
    for _ in range(2):
        client.post(
            join_url(join_program), {"name": "Ann", "join_token": the_form(client, join_program)}
        )
    old, recent = JoinAttempt.objects.order_by("pk")
    JoinAttempt.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    with scope():
        assert housekeeping.purge_spent_links() == 1
    assert list(JoinAttempt.objects.all()) == [recent]
