"""The public claim page: a printed code claimed onto the card in this browser, or after
joining; replayed, expired, foreign and guessed codes refused."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stampcard.customer import claims as claim_views
from stampcard.loyalty import links
from stampcard.loyalty.models import Card, StampEvent
from stampcard.vouchers.claims import create_claim_batch
from stampcard.vouchers.models import ClaimBatch, ClaimCode
from tests import factories

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


def new_code(program, **kwargs):
    manager = factories.member_actor(program.business, role="manager")
    fields = {"count": 1} | kwargs
    batch = create_claim_batch(business=program.business, actor=manager, program=program, **fields)
    return batch.codes.get().code


def join_form(client, program):
    """Join through the join page, so this browser holds the card's cookie."""
    url = links.join_path(program)
    response = client.post(url, {"name": "Nok", "email": "nok@example.com"})
    assert response.status_code == 302
    return Card.objects.get(customer__email="nok@example.com")


def test_the_printed_path_is_the_claim_route(join_program):
    business = join_program.business
    assert links.claim_path(business, "ABC") == reverse(
        "customer:claim_code", kwargs={"slug": business.slug, "code": "ABC"}
    )
    assert links.claim_url(business, "ABC").endswith(f"/k/{business.slug}/ABC/")


def test_a_browser_with_a_card_claims_after_a_tap(client, join_program):
    card = join_form(client, join_program)
    code = new_code(join_program)
    printed = client.get(links.claim_path(join_program.business, code.lower()))
    assert printed.status_code == 302
    page = client.get(printed["Location"])
    assert "Add to my card" in page.content.decode()
    assert card.stamps == 0  # looking spends nothing
    done = client.post(printed["Location"], {"claim": "1"})
    assert done.status_code == 200
    assert "1 stamp added to your card." in done.content.decode()
    card.refresh_from_db()
    assert card.stamps == 1
    assert ClaimCode.objects.get(code=code).claimed_by == card
    # Replayed: the same browser is told it is already on its card; nothing more is added.
    again = client.post(printed["Location"], {"claim": "1"})
    assert "already on your card" in again.content.decode()
    card.refresh_from_db()
    assert card.stamps == 1


def test_a_new_customer_joins_then_gets_the_stamps(client, join_program):
    join_program.max_stamps_per_visit = 3
    join_program.save()
    code = new_code(join_program, stamps_per_code=3)
    page = client.get(links.claim_path(join_program.business, code), follow=True)
    assert 'name="name"' in page.content.decode()
    url = page.redirect_chain[-1][0]
    bad = client.post(url, {"name": "", "email": "x"})
    assert bad.status_code == 400
    assert not Card.objects.exists()
    done = client.post(url, {"name": "Dana", "email": "dana@example.com"})
    assert "3 stamps added to your card." in done.content.decode()
    card = Card.objects.get(customer__email="dana@example.com")
    assert card.stamps == 3
    # The browser now holds the card: its join page offers it.
    assert card.token in client.get(links.join_path(join_program)).content.decode()


def test_a_returning_customer_proves_the_card_by_email_first(client, join_program, smtp):
    existing = factories.CardFactory(
        program=join_program,
        customer=factories.CustomerFactory(business=join_program.business, email="old@example.com"),
    )
    code = new_code(join_program)
    url = client.get(links.claim_path(join_program.business, code))["Location"]
    page = client.post(url, {"name": "Old", "email": "old@example.com"})
    assert "Check your e-mail" in page.content.decode()
    existing.refresh_from_db()
    assert existing.stamps == 0
    assert ClaimCode.objects.get(code=code).claimed_at is None


def test_a_used_code_is_refused_to_another_browser(client, join_program):
    code = new_code(join_program)
    other = factories.CardFactory(program=join_program)
    url = client.get(links.claim_path(join_program.business, code))["Location"]
    from stampcard.tenancy.actors import Actor
    from stampcard.vouchers.claims import claim_code

    claim_code(
        business=join_program.business,
        actor=Actor.customer(business_id=join_program.business_id),
        code=code,
        card=other,
    )
    page = client.get(url)
    assert page.status_code == 409
    assert "already been used" in page.content.decode()
    joined = client.post(url, {"name": "Late", "email": "late@example.com"})
    assert joined.status_code == 409
    assert not Card.objects.filter(customer__email="late@example.com").exists()


def test_an_expired_code_is_refused(client, join_program):
    code = new_code(join_program, expires_at=timezone.now() + timedelta(days=1))
    ClaimBatch.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    url = client.get(links.claim_path(join_program.business, code))["Location"]
    page = client.get(url)
    assert page.status_code == 409
    assert "expired" in page.content.decode()
    assert not StampEvent.objects.exists()


def test_another_business_does_not_know_the_code(client, join_program, other_business):
    code = new_code(join_program)
    other_program = factories.ProgramFactory(business=other_business)
    page = client.get(links.claim_path(other_business, code))
    assert page.status_code == 404
    assert "not valid" in page.content.decode()
    # Nor does another program's claim page of the same code's business.
    sibling = factories.ProgramFactory(business=join_program.business)
    wrong = reverse(
        "customer:claim",
        kwargs={"slug": join_program.business.slug, "program_id": sibling.pk, "code": code},
    )
    assert client.get(wrong).status_code == 404
    assert other_program.pk  # the other business has a program: not an empty-business 404


@pytest.mark.parametrize("typed", ["X" * 5000, "ABC\x00DEF", "ÄÖÜ", "'; DROP TABLE--", "", "   "])
def test_hostile_input_is_a_clear_refusal(client, join_program, typed):
    start = reverse("customer:claim_start", kwargs={"slug": join_program.business.slug})
    page = client.post(start, {"code": typed})
    assert page.status_code in (200, 404)
    if typed.strip():
        assert "not valid" in page.content.decode()


def test_guessing_is_stopped_per_caller_and_per_business(client, join_program, monkeypatch):
    code = new_code(join_program)
    business = join_program.business
    for n in range(claim_views.MISSES_PER_IP):
        assert client.get(links.claim_path(business, f"WRONG{n}")).status_code == 404
    # Now even a right code is only "try later" for this caller ...
    stopped = client.get(links.claim_path(business, code))
    assert stopped.status_code == 429
    assert "Too many codes" in stopped.content.decode()
    # ... but not for another caller, until the business's own limit is reached.
    assert client.get(links.claim_path(business, code), REMOTE_ADDR="192.0.2.7").status_code == 302
    monkeypatch.setattr(claim_views, "MISSES_PER_BUSINESS", claim_views.MISSES_PER_IP + 1)
    client.get(links.claim_path(business, "WRONGX"), REMOTE_ADDR="192.0.2.8")
    assert client.get(links.claim_path(business, code), REMOTE_ADDR="192.0.2.9").status_code == 429
    assert ClaimCode.objects.get(code=code).claimed_at is None


def test_the_page_speaks_thai(client, join_program):
    code = new_code(join_program)
    client.cookies["django_language"] = "th"
    page = client.get(links.claim_path(join_program.business, "NOPE"), HTTP_ACCEPT_LANGUAGE="th")
    assert '<html lang="th">' in page.content.decode()
    assert "รับแสตมป์ของคุณ" in page.content.decode()
    url = client.get(links.claim_path(join_program.business, code), HTTP_ACCEPT_LANGUAGE="th")
    joined = client.post(
        url["Location"], {"name": "Nok", "email": "nok@example.com"}, HTTP_ACCEPT_LANGUAGE="th"
    )
    assert "เพิ่ม 1 แสตมป์ลงในบัตรของคุณแล้ว" in joined.content.decode()
