"""Claim codes and receipt codes at the counter: the staff scanner claims them onto the card
on screen (action ``claim``, the claim page's own service); kiosk and Autopilot only say
that they are claimed on the customer's phone."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stampcard.loyalty.card_codes import format_card_code
from stampcard.loyalty.links import claim_url
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.services import pair_device
from stampcard.vouchers.models import ClaimBatch, ClaimCode, ClaimedReceipt
from stampcard.vouchers.receipts import create_receipt_key, sign_stamp_receipt
from tests import factories
from tests.counter.conftest import body
from tests.vouchers.test_claims import batch_for


@pytest.fixture
def printed(program):
    """One printed claim code of the card's program, worth 2 stamps."""
    program.max_stamps_per_visit = 3
    program.save(update_fields=["max_stamps_per_visit"])
    return batch_for(program, stamps_per_code=2).codes.get()


def receipt(business, *, order_id="A1234", stamps=1, days_ago=0, key=None):
    key = key or create_receipt_key(business=business, actor=factories.member_actor(business))
    issued = timezone.localdate(timezone=ZoneInfo(business.time_zone)) - timedelta(days=days_ago)
    return sign_stamp_receipt(
        business=business, key=key, order_id=order_id, stamps=stamps, issued=issued
    )


def stamps_of(card):
    card.refresh_from_db()
    return card.stamps


@pytest.mark.parametrize("how", ["link", "typed", "typed-in-groups"])
def test_a_claim_code_with_a_card_on_screen_is_offered_then_claimed_with_one_tap(
    scan, business, card, printed, how
):
    code = {
        "link": claim_url(business, printed.code),
        "typed": printed.code.lower(),
        "typed-in-groups": f"{printed.code[:5]}-{printed.code[5:]}",
    }[how]
    shown = scan(code, card=format_card_code(card.code))
    assert shown.status_code == 200
    answer = shown.json()
    assert (answer["outcome"], answer["kind"]) == ("shown", "claim_code")
    assert answer["message"] == "A code for 2 stamps."
    assert answer["card"]["code"] == format_card_code(card.code)
    assert answer["claim"]["code"] == printed.code
    assert not StampEvent.objects.exists()  # shown only

    done = scan(code, action="claim", card=card.code, nonce="claim-nonce-1")
    assert done.status_code == 200
    answer = done.json()
    assert (answer["outcome"], answer["kind"], answer["message"]) == (
        "claimed",
        "claim_code",
        "2 stamps added.",
    )
    assert answer["card"]["stamps"] == 2
    assert stamps_of(card) == 2
    assert ClaimCode.objects.get().claimed_by == card
    assert list(StampEvent.objects.values_list("delta", "source")) == [(2, "receipt")]

    # The same tap again (same nonce) is the same answer; the code again is used up.
    again = scan(code, action="claim", card=card.code, nonce="claim-nonce-1")
    assert again.json() == done.json()
    assert again["Idempotent-Replayed"] == "true"
    replayed = scan(code, action="claim", card=card.code)
    assert replayed.status_code == 409
    assert replayed.json()["refusal"] == "already_used"
    assert replayed.json()["message"] == "This code has already been used."
    assert replayed.json()["card"]["stamps"] == 2  # the card stays on screen
    assert scan(code, card=card.code).json()["refusal"] == "already_used"
    assert stamps_of(card) == 2


def test_without_a_card_on_screen_it_asks_for_the_card_first(scan, printed):
    for action in ("scan", "claim"):
        response = scan(printed.code, action=action)
        assert response.status_code == 409
        assert response.json()["refusal"] == "card_first"
        assert response.json()["message"] == "Scan the customer's card first, then this code."
        assert response.json()["kind"] == "claim_code"
    assert ClaimCode.objects.get().claimed_at is None


def test_a_receipt_code_is_claimed_onto_the_card_on_screen(scan, business, card):
    code = receipt(business, stamps=1)
    shown = scan(code, card=card.code).json()
    assert (shown["outcome"], shown["message"]) == ("shown", "A code for 1 stamp.")
    assert shown["claim"]["receipt"] is True
    done = scan(code.lower().replace(".", " "), action="claim", card=card.code)
    assert done.json()["outcome"] == "claimed"
    assert stamps_of(card) == 1
    assert ClaimedReceipt.objects.get().card == card
    assert scan(code, action="claim", card=card.code).json()["refusal"] == "already_used"
    assert stamps_of(card) == 1


def test_expired_forged_and_foreign_codes_are_refused_with_their_sentence(
    scan, business, other_business, card, printed
):
    key = create_receipt_key(business=business, actor=factories.member_actor(business))
    key.valid_days = 5
    key.save(update_fields=["valid_days"])
    expired = receipt(business, key=key, order_id="OLD1", days_ago=6)
    forged = receipt(business, key=key, order_id="B7")[:-3] + "AAA"
    foreign = receipt(other_business, order_id="C9")
    ClaimBatch.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    cases = [
        (expired, 409, "claim_code_expired", "This code has expired."),
        (forged, 404, "claim_code_not_found", "This code is not valid. Check it and try again."),
        (foreign, 409, "claim_code_wrong_business",
         "This code is from another business. Claim it where you got it."),
        (claim_url(other_business, printed.code), 409, "claim_code_wrong_business",
         "This code is from another business. Claim it where you got it."),
        (printed.code, 409, "claim_code_expired", "This code has expired."),
    ]  # fmt: skip
    for code, status, refusal, message in cases:
        for action in ("scan", "claim"):
            response = scan(code, action=action, card=card.code)
            assert (response.status_code, response.json()["refusal"]) == (status, refusal), code
            assert response.json()["message"] == message
    assert stamps_of(card) == 0
    assert not ClaimedReceipt.objects.exists()


def test_a_claim_code_of_another_program_is_refused(scan, business, printed):
    other_card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    response = scan(printed.code, action="claim", card=other_card.code)
    assert response.json()["refusal"] == "claim_code_wrong_program"
    assert ClaimCode.objects.get().claimed_at is None


def test_a_card_code_is_no_claim_code(scan, card):
    response = scan(card.code, action="claim", card=card.code)
    assert response.json()["refusal"] == "claim_code_not_found"
    assert stamps_of(card) == 0


@pytest.mark.parametrize("kind", ["kiosk", "autopilot"])
def test_kiosk_and_autopilot_say_the_code_is_claimed_on_the_phone(
    client, business, shop, staff_actor, card, printed, kind
):
    device = pair_device(business=business, actor=staff_actor, name=kind, kind=kind, location=shop)
    for code in (claim_url(business, printed.code), receipt(business)):
        for action in ("stamp", "scan", "claim"):
            response = client.post(
                "/device/scan",
                json.dumps(body(code, action=action, card=card.code)),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Device {device.token}",
            )
            assert response.status_code == 403
            assert response.json()["refusal"] == "claim_on_phone"
            assert response.json()["message"] == (
                "Codes from receipts are claimed on a phone: scan the code's QR code with the "
                "phone's camera, or open http://127.0.0.1:8000/k/corner-cafe/ and type the code."
            )
    assert ClaimCode.objects.get().claimed_at is None
    assert stamps_of(card) == 0


def test_a_claim_nonce_sent_again_for_another_card_is_refused(
    scan, business, card, printed, program
):
    other = factories.CardFactory(program=program)
    done = scan(printed.code, action="claim", card=card.code, nonce="claim-nonce-9")
    assert done.json()["outcome"] == "claimed"
    moved = scan(printed.code, action="claim", card=other.code, nonce="claim-nonce-9")
    assert moved.status_code == 422
    assert moved.json()["refusal"] == "idempotency_key_reused"
    assert (stamps_of(card), stamps_of(other)) == (2, 0)
