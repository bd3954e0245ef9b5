"""Signed receipt codes on the public claim page: typed as printed (or near it), verified with
the business's key, claimed once, refused after their validity and at another business, in
the customer's language."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stampcard.customer import claims as claim_views
from stampcard.loyalty import links
from stampcard.loyalty.models import Card, StampEvent
from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import ClaimedReceipt
from stampcard.vouchers.receipts import create_receipt_key, sign_receipt, sign_stamp_receipt
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings, request):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture
def key(join_program):
    join_program.max_stamps_per_visit = 3
    join_program.save()
    return create_receipt_key(business=join_program.business, actor=Actor.system())


def receipt(key, order="A1", stamps=2, days_ago=0):
    business = key.business
    issued = timezone.localdate() - timedelta(days=days_ago)
    return sign_stamp_receipt(
        business=business, key=key, order_id=order, stamps=stamps, issued=issued
    )


def typed(client, program, text, **headers):
    start = reverse("customer:claim_start", kwargs={"slug": program.business.slug})
    return client.post(start, {"code": text}, **headers)


def join(client, program, url):
    done = client.post(url, {"name": "Nok", "email": "nok@example.com"})
    assert done.status_code == 200, done.content
    return done, Card.objects.get(customer__email="nok@example.com")


def test_a_typed_receipt_code_joins_and_claims_once(client, join_program, key):
    code = receipt(key)
    _r2, key_id, order, stamps, day, signature = code.split(".")
    # As a customer types it from paper: lower case, spaces, the signature in groups.
    grouped = f"{signature[:4]} {signature[4:8]}-{signature[8:]}"
    by_hand = f"r2 {key_id.lower()} {order} {stamps} {day} {grouped}"
    found = typed(client, join_program, by_hand)
    assert found.status_code == 302
    url = found["Location"]
    assert url == reverse(
        "customer:claim",
        kwargs={"slug": join_program.business.slug, "program_id": join_program.pk, "code": code},
    )
    page = client.get(url)
    assert "This code gives 2 stamps." in page.content.decode()
    done, card = join(client, join_program, url)
    assert "2 stamps added to your card." in done.content.decode()
    card.refresh_from_db()
    assert card.stamps == 2
    assert ClaimedReceipt.objects.get().card == card
    # Claimed once: this browser is told it is on its card, another that it is used.
    assert "already on your card" in client.get(url).content.decode()
    other = client.__class__()
    again = other.get(links.claim_path(join_program.business, code))
    assert other.get(again["Location"]).status_code == 409
    assert StampEvent.objects.count() == 1


def test_an_r1_receipt_from_the_qr_claims_onto_the_card_in_this_browser(client, join_program, key):
    url = client.get(links.claim_path(join_program.business, receipt(key, order="B1")))["Location"]
    _, card = join(client, join_program, url)
    code = sign_receipt(business=key.business, key=key, receipt_id="POS-9", amount=12_000)
    printed = client.get(links.claim_path(join_program.business, code))
    page = client.get(printed["Location"])
    assert "stamps for what you spent" in page.content.decode()
    done = client.post(printed["Location"], {"claim": "1"})
    assert "1 stamp added to your card." in done.content.decode()
    assert StampEvent.objects.filter(card=card).latest("id").amount == 12_000


def test_after_its_validity_it_is_refused(client, join_program, key):
    old = receipt(key, order="OLD", days_ago=key.valid_days + 1)
    url = typed(client, join_program, old)["Location"]
    page = client.get(url)
    assert page.status_code == 409
    assert "expired" in page.content.decode()
    assert not ClaimedReceipt.objects.exists()


def test_a_forged_code_is_not_valid_and_counts_as_a_guess(client, join_program, key):
    code = receipt(key)
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    page = typed(client, join_program, forged)
    assert page.status_code == 404
    assert "not valid" in page.content.decode()
    for _ in range(claim_views.MISSES_PER_IP - 1):
        typed(client, join_program, forged)
    assert typed(client, join_program, code).status_code == 429


def test_a_receipt_of_another_business_says_so_in_thai(client, join_program, key, other_business):
    theirs = create_receipt_key(business=other_business, actor=Actor.system())
    code = sign_receipt(business=other_business, key=theirs, receipt_id="X1", amount=100)
    page = typed(client, join_program, code)
    assert page.status_code == 409
    assert "another business" in page.content.decode()
    client.cookies["django_language"] = "th"
    thai = typed(client, join_program, code, HTTP_ACCEPT_LANGUAGE="th")
    assert "another business" not in thai.content.decode()
    assert '<html lang="th">' in thai.content.decode()


def test_with_several_cards_the_customer_picks_one(client, join_program, key):
    cake = factories.ProgramFactory(business=join_program.business, name="Cake card")
    page = typed(client, join_program, receipt(key, order="C1"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Which card should get the stamps?" in text
    for program in (join_program, cake):
        assert f"/j/{join_program.business.slug}/{program.pk}/k/R2." in text


def test_behind_a_proxy_guesses_count_per_customer_not_per_proxy(
    client, join_program, key, settings
):
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 1
    code = receipt(key, order="P1")
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(claim_views.MISSES_PER_IP):
        typed(
            client, join_program, "R2.NOPE", HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.1", **proxy
        )
    held = typed(client, join_program, code, HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.1", **proxy)
    assert held.status_code == 429
    other = typed(client, join_program, code, HTTP_X_FORWARDED_FOR="203.0.113.5, 10.0.0.1", **proxy)
    assert other.status_code == 302
