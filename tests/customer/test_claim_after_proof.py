"""A returning customer asked to prove their e-mail in the middle of a claim: the e-mailed link
(or code) opens the card and finishes the claim, without the code being opened again. Real
mail through an SMTP server on loopback."""

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.urls import reverse
from django.utils import timezone

from stampcard.customer.models import ReturnLink
from stampcard.loyalty import links
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.actors import Actor
from stampcard.vouchers.claims import claim_code, create_claim_batch
from stampcard.vouchers.models import ClaimCode, ClaimedReceipt
from stampcard.vouchers.receipts import create_receipt_key, sign_stamp_receipt
from tests import factories
from tests.mail_server import deliver_mail

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
def known(join_program):
    join_program.max_stamps_per_visit = 3
    join_program.save()
    customer = factories.CustomerFactory(
        business=join_program.business, email="old@example.com", language="en"
    )
    return factories.CardFactory(program=join_program, customer=customer)


def new_code(program, stamps=2):
    manager = factories.member_actor(program.business, role="manager")
    batch = create_claim_batch(
        business=program.business, actor=manager, program=program, count=1, stamps_per_code=stamps
    )
    return batch.codes.get().code


def mailed(smtp):
    deliver_mail()  # the outbox sends it after the request
    parsed = message_from_bytes(smtp.messages[-1]["data"], policy=policy.default)
    text = parsed.get_content()
    link = re.search(r"https://cards\.example\.test(/j/\S+/)", text)
    code = re.search(r"\b(\d{6})\b", text)
    assert link is not None
    assert code is not None
    return link.group(1), code.group(1)


def ask_with_claim(client, program, code):
    url = client.get(links.claim_path(program.business, code))["Location"]
    page = client.post(url, {"name": "Old", "email": "old@example.com"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Check your e-mail" in text
    assert "adds this code" in text
    ticket = re.search(r'name="ticket" value="([^"]+)"', text)
    assert ticket is not None
    return ticket.group(1)


def test_following_the_link_adds_the_stamps_to_the_proven_card(client, join_program, known, smtp):
    code = new_code(join_program)
    ask_with_claim(client, join_program, code)
    assert known.stamps == 0
    link, _ = mailed(smtp)
    # Opened in another browser (the mail app's): nothing is remembered there, the link is all.
    browser = client.__class__()
    look = browser.get(link)  # a mail scanner's look spends nothing
    assert look.status_code == 200
    assert "adds the stamps of the code you were claiming" in look.content.decode()
    assert ClaimCode.objects.get(code=code).claimed_at is None
    done = browser.post(link)
    assert done.status_code == 200
    assert "2 stamps added to your card." in done.content.decode()
    known.refresh_from_db()
    assert known.stamps == 2
    assert ClaimCode.objects.get(code=code).claimed_by == known
    # That browser now holds the card; the link is spent and adds nothing more.
    assert known.token in browser.get(links.join_path(join_program)).content.decode()
    assert browser.post(link).status_code == 410
    known.refresh_from_db()
    assert known.stamps == 2


def test_typing_the_mailed_code_adds_the_stamps_too(client, join_program, known, smtp):
    business = join_program.business
    key = create_receipt_key(business=business, actor=Actor.system())
    today = timezone.localdate()
    receipt = sign_stamp_receipt(business=business, key=key, order_id="A7", stamps=3, issued=today)
    ticket = ask_with_claim(client, join_program, receipt.lower())
    _, number = mailed(smtp)
    code_url = reverse(
        "customer:return_code", kwargs={"slug": business.slug, "program_id": join_program.pk}
    )
    done = client.post(code_url, {"ticket": ticket, "code": number})
    assert done.status_code == 200
    assert "3 stamps added to your card." in done.content.decode()
    assert ClaimedReceipt.objects.get().card == known
    known.refresh_from_db()
    assert known.stamps == 3


def test_a_code_used_meanwhile_is_said_so_and_the_card_still_opens(
    client, join_program, known, smtp
):
    code = new_code(join_program)
    ask_with_claim(client, join_program, code)
    link, _ = mailed(smtp)
    someone = factories.CardFactory(program=join_program)
    claim_code(
        business=join_program.business,
        actor=Actor.customer(business_id=join_program.business_id),
        code=code,
        card=someone,
    )
    done = client.post(link)
    assert done.status_code == 409
    text = done.content.decode()
    assert "already been used" in text
    assert f"/c/{known.token}/" in text  # their card is open all the same
    assert ReturnLink.objects.get().used_at is not None
    assert not StampEvent.objects.filter(card=known).exists()


def test_without_a_claim_the_link_opens_the_card_as_before(client, join_program, known, smtp):
    request_url = reverse(
        "customer:return_request",
        kwargs={"slug": join_program.business.slug, "program_id": join_program.pk},
    )
    client.post(request_url, {"email": "old@example.com"})
    link, _ = mailed(smtp)
    assert "code you were claiming" not in client.get(link).content.decode()
    opened = client.post(link)
    assert opened.status_code == 302
    assert opened["Location"] == f"/c/{known.token}/"


def test_a_late_link_claims_nothing(client, join_program, known, smtp):
    code = new_code(join_program)
    ask_with_claim(client, join_program, code)
    link, _ = mailed(smtp)
    ReturnLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(link).status_code == 410
    assert ClaimCode.objects.get(code=code).claimed_at is None
