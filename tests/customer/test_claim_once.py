"""The claim page's join form sent twice (a double tap before the first answer set the card's
cookie, or two requests in parallel) is one join and one claim, and both answers show the card
with the stamps on it, never "this code was already used"."""

import re

import pytest
from django.test import Client

from stampcard.loyalty import links
from stampcard.loyalty.models import Card, Customer
from stampcard.vouchers.claims import create_claim_batch
from stampcard.vouchers.models import ClaimCode
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings, request):
    """A fresh in-process cache per test: the guessing counters start at nothing."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


def claim_form(browser, program):
    """A printed code's claim page as a browser without a card gets it: its address and the
    join form's one-time token (the browser now holds its join cookie)."""
    manager = factories.member_actor(program.business, role="manager")
    batch = create_claim_batch(business=program.business, actor=manager, program=program, count=1)
    code = batch.codes.get().code
    page = browser.get(links.claim_path(program.business, code), follow=True)
    token = re.search(r'name="join_token" value="([^"]+)"', page.content.decode())
    assert token is not None, "the claim page's join form carries a one-time token"
    return page.request["PATH_INFO"], token.group(1), code


def test_the_join_and_claim_sent_twice_is_one_card_and_both_answers_show_it(join_program):
    browser = Client()
    url, token, code = claim_form(browser, join_program)
    sent = {"name": "Nok", "join_token": token}
    # The second tap leaves before the first answer's cookie arrives: sent without it.
    cookies = {name: morsel.value for name, morsel in browser.cookies.items()}
    first = browser.post(url, sent)
    again = Client()
    for name, value in cookies.items():
        again.cookies[name] = value
    second = again.post(url, sent)
    card = Card.objects.get(program=join_program)
    assert Customer.objects.count() == 1
    assert first.status_code == 200
    assert "1 stamp added to your card." in first.content.decode()
    assert second.status_code == 200
    assert "already on your card" in second.content.decode()
    assert f"/c/{card.token}/" in second.content.decode()
    assert ClaimCode.objects.get(code=code).claimed_by == card
    card.refresh_from_db()
    assert card.stamps == 1
    # The second answer remembers the card in that browser too.
    assert f"/c/{card.token}/" in again.get(url).content.decode()


def test_a_join_form_from_another_browser_is_still_refused_as_used(join_program):
    browser = Client()
    url, token, _code = claim_form(browser, join_program)
    assert browser.post(url, {"name": "Nok", "join_token": token}).status_code == 200
    elsewhere = Client()
    elsewhere.get(url)  # that browser's own join cookie
    refused = elsewhere.post(url, {"name": "Eve", "join_token": token})
    assert refused.status_code == 409
    assert Customer.objects.count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_join_and_claim_sent_in_parallel_is_one_card_and_one_claim(join_program):
    browser = Client()
    url, token, code = claim_form(browser, join_program)
    cookies = {name: morsel.value for name, morsel in browser.cookies.items()}

    def send(_i):
        phone = Client()
        for name, value in cookies.items():
            phone.cookies[name] = value
        return phone.post(url, {"name": "Nok", "join_token": token})

    answers = run_in_parallel(send, 6, workers=6)
    card = Card.objects.get(program=join_program)
    assert Customer.objects.count() == 1
    assert ClaimCode.objects.get(code=code).claimed_by == card
    card.refresh_from_db()
    assert card.stamps == 1
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        assert answer.status_code == 200, answer.content.decode()
        assert f"/c/{card.token}/" in answer.content.decode()
