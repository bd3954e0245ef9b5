"""Handing a card over at the counter: a one-time QR link staff show to the customer's phone.

Who may make one (managers and owners, never a cashier or a device), what it opens (the card,
once, within minutes, only on its own business's address) and what is kept (a hash, an audit
entry).
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from stampcard import tokens
from stampcard.audit.models import AuditEntry
from stampcard.customer.hand_over import HAND_OVER_MINUTES, open_hand_over, start_hand_over
from stampcard.customer.models import HandOverLink
from stampcard.customer.remembered import remembered_card
from stampcard.loyalty.card_codes import format_card_code
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.models import Membership
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone_only(program):
    """A customer who joined with a phone number only: no e-mail to send a link to."""
    return factories.CardFactory(
        program=program, customer__name="Niran", customer__email="", customer__phone="+66812345678"
    )


def make(client, business, card):
    return client.post(f"/b/{business.slug}/scanner/cards/{format_card_code(card.code)}/hand-over")


def path_of(answer):
    return "/" + answer["url"].split("/", 3)[3]


def test_a_manager_hands_a_phone_only_card_over_once(client, maria, business, phone_only):
    client.force_login(maria)
    response = make(client, business, phone_only)
    assert response.status_code == 200
    answer = response.json()
    assert answer["qr"].startswith("data:image/svg+xml")
    assert 0 < answer["seconds"] <= HAND_OVER_MINUTES * 60
    # Not the card's permanent address, and its token is kept only as a hash.
    assert phone_only.token not in answer["url"]
    token = answer["url"].rstrip("/").rsplit("/", 1)[1]
    link = HandOverLink.objects.get()
    assert link.token_hash == tokens.hash_secret(token)
    assert token not in str(HandOverLink.objects.values().get())
    # Who handed which card over is in the audit trail.
    entry = AuditEntry.objects.get(action="card.handed_over")
    assert entry.actor_user_id == maria.pk
    assert entry.target_id == str(phone_only.pk)

    phone = Client()  # the customer's own phone
    opened = phone.get(path_of(answer))
    assert opened.status_code == 302
    assert opened["Location"] == f"/c/{phone_only.token}/"
    # Remembered on that phone as the join page does: its join page offers the card again.
    phone.cookies.update(opened.cookies)
    request = type("R", (), {"COOKIES": {k: v.value for k, v in phone.cookies.items()}})
    assert remembered_card(request, phone_only.program) == phone_only
    # Used up: a second open (the same phone, or the QR photographed) gets nothing.
    again = Client().get(path_of(answer))
    assert again.status_code == 410
    assert phone_only.token.encode() not in again.content
    assert HandOverLink.objects.get().used_at is not None


def test_an_expired_link_opens_nothing(client, owner, business, phone_only):
    client.force_login(owner)
    answer = make(client, business, phone_only).json()
    HandOverLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get(path_of(answer))
    assert response.status_code == 410
    assert phone_only.token.encode() not in response.content


def test_a_link_under_another_business_address_opens_nothing(
    client, owner, business, other_business, phone_only
):
    client.force_login(owner)
    answer = make(client, business, phone_only).json()
    token = answer["url"].rstrip("/").rsplit("/", 1)[1]
    other_program = factories.ProgramFactory(business=other_business)
    response = Client().get(f"/j/{other_business.slug}/{other_program.pk}/h/{token}/")
    assert response.status_code == 410
    # Another program of the same business neither.
    sibling = factories.ProgramFactory(business=business)
    assert Client().get(f"/j/{business.slug}/{sibling.pk}/h/{token}/").status_code == 410
    # Still unused: its own address opens it.
    assert Client().get(path_of(answer)).status_code == 302


def test_an_unknown_token_opens_nothing(business, program):
    assert Client().get(f"/j/{business.slug}/{program.pk}/h/{'x' * 43}/").status_code == 410


def test_another_business_card_is_not_found(client, owner, business, other_business):
    foreign = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    client.force_login(owner)
    assert make(client, business, foreign).status_code == 404
    assert not HandOverLink.objects.exists()


def test_a_cashier_and_a_device_get_none(client, bob, business, phone_only, scanner):
    client.force_login(bob)
    assert make(client, business, phone_only).status_code == 403
    page = client.get(f"/b/{business.slug}/scanner/")
    assert b'data-hand-over-url=""' in page.content
    assert b"hand-over-card" not in page.content
    device = Client()
    device.cookies[DEVICE_COOKIE] = scanner.token
    assert b'data-hand-over-url=""' in device.get("/device/scanner/").content
    assert not HandOverLink.objects.exists()


def test_a_logged_out_member_gets_none(client, business, phone_only):
    response = make(client, business, phone_only)
    assert response.status_code == 302
    assert "/login" in response["Location"]
    assert not HandOverLink.objects.exists()


def test_a_member_removed_or_demoted_gets_none_and_their_links_stop(
    client, maria, business, phone_only
):
    client.force_login(maria)
    first = make(client, business, phone_only).json()
    second = make(client, business, phone_only).json()
    membership = Membership.objects.get(user=maria, business=business)
    membership.role = "staff"
    membership.save()
    assert make(client, business, phone_only).status_code == 403
    assert Client().get(path_of(first)).status_code == 410
    membership.delete()
    assert make(client, business, phone_only).status_code == 404
    assert Client().get(path_of(second)).status_code == 410


def test_a_get_makes_nothing(client, owner, business, phone_only):
    client.force_login(owner)
    url = f"/b/{business.slug}/scanner/cards/{format_card_code(phone_only.code)}/hand-over"
    assert client.get(url).status_code == 405
    assert not HandOverLink.objects.exists()


def test_the_return_page_tells_phone_only_customers_to_ask_at_the_counter(client, program):
    page = client.get(f"/j/{program.business.slug}/{program.pk}/back/")
    assert b"Ask at the counter" in page.content


def test_the_check_email_page_says_the_same_as_the_return_page(client, program):
    """Both pages point a phone-only customer to the counter, which hands the card over."""
    back = f"/j/{program.business.slug}/{program.pk}/back/"
    asked = client.post(back, {"email": "nobody@example.org"}).content.decode()
    returned = client.get(back).content.decode()
    hint = re.search(r'<p id="phone-only"[^>]*>(.*?)</p>', returned)
    assert hint is not None
    assert "the team can open your card on your phone" in hint.group(1)
    assert hint.group(1) in asked
    assert "Check your e-mail" in asked
    assert "staff can find your card" not in asked


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_phones_opening_one_link_at_once_get_the_card_once(owner, business, phone_only):
    made = start_hand_over(
        business=business,
        actor=Actor.for_member(Membership.objects.get(user=owner, business=business)),
        card_code=phone_only.code,
    )
    token = made.path.rstrip("/").rsplit("/", 1)[1]
    opened = run_in_parallel(
        lambda _: open_hand_over(program=phone_only.program, token=token), 16, workers=16
    )
    assert [card.pk for card in opened if card is not None] == [phone_only.pk]
    assert not [error for error in opened if isinstance(error, BaseException)]
