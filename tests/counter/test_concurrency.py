"""Scans racing each other on PostgreSQL: one nonce applies once, two tills stamp once."""

import json

import pytest
from django.test import Client

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.services import pair_device
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel
from tests.counter.conftest import body

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def post(token, data):
    return Client().post(
        "/device/scan",
        json.dumps(data),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )


def test_one_nonce_sent_eight_times_at_once_stamps_once_and_answers_alike(staff_actor, business):
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    till = pair_device(business=business, actor=staff_actor, name="Till", kind="scanner")
    data = body(card.code, action="stamp", nonce="same-nonce-for-all")

    responses = run_in_parallel(lambda i: post(till.token, data), 8, workers=8)

    assert [r.status_code for r in responses] == [200] * 8
    assert StampEvent.objects.filter(card=card).count() == 1
    answers = {json.dumps(r.json(), sort_keys=True) for r in responses}
    assert len(answers) == 1
    card.refresh_from_db()
    assert card.stamps == 1


def test_two_tills_that_saw_the_same_card_stamp_it_once(staff_actor, business):
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    tills = [
        pair_device(business=business, actor=staff_actor, name=f"Till {n}", kind="scanner")
        for n in range(6)
    ]

    responses = run_in_parallel(
        lambda i: post(tills[i].token, body(card.code, action="stamp", seen_event=0)), 6, workers=6
    )

    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["refused"] * 5 + ["stamped"]
    assert {r.json()["refusal"] for r in responses if r.status_code != 200} == {"already_stamped"}
    assert StampEvent.objects.filter(card=card).count() == 1


@pytest.mark.parametrize("kind", ["claim_code", "receipt"])
def test_one_printed_code_claimed_by_six_tills_at_once_is_claimed_once(staff_actor, business, kind):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from stampcard.vouchers.claims import create_claim_batch
    from stampcard.vouchers.models import ClaimCode, ClaimedReceipt
    from stampcard.vouchers.receipts import create_receipt_key, sign_stamp_receipt

    program = factories.ProgramFactory(business=business, max_stamps_per_visit=2)
    cards = [factories.CardFactory(program=program) for _ in range(6)]
    if kind == "claim_code":
        batch = create_claim_batch(
            business=business, actor=staff_actor, program=program, count=1, stamps_per_code=2
        )
        code = batch.codes.get().code
    else:
        key = create_receipt_key(business=business, actor=staff_actor)
        issued = timezone.localdate(timezone=ZoneInfo(business.time_zone)) - timedelta(days=1)
        code = sign_stamp_receipt(
            business=business, key=key, order_id="RUSH-1", stamps=2, issued=issued
        )
    tills = [
        pair_device(business=business, actor=staff_actor, name=f"Till {n}", kind="scanner")
        for n in range(6)
    ]

    # Six tills, each with its own customer's card on screen, claim the same code at once.
    responses = run_in_parallel(
        lambda i: post(tills[i].token, body(code, action="claim", card=cards[i].code)),
        6,
        workers=6,
    )

    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["claimed"] + ["refused"] * 5
    assert {r.json()["refusal"] for r in responses if r.status_code != 200} == {"already_used"}
    assert StampEvent.objects.count() == 1
    (winner,) = [cards[i] for i, r in enumerate(responses) if r.status_code == 200]
    assert list(StampEvent.objects.values_list("card_id", "delta")) == [(winner.pk, 2)]
    if kind == "claim_code":
        assert ClaimCode.objects.get().claimed_by_id == winner.pk
    else:
        assert ClaimedReceipt.objects.get().card_id == winner.pk


def test_a_retry_sent_while_the_first_stamp_runs_gets_the_first_answer_not_a_cooldown(
    staff_actor, business
):
    card = factories.CardFactory(
        program=factories.ProgramFactory(business=business, cooldown_seconds=3600)
    )
    till = pair_device(business=business, actor=staff_actor, name="Till", kind="scanner")
    data = body(card.code, action="stamp", nonce="retry-while-running")

    responses = run_in_parallel(lambda i: post(till.token, data), 8, workers=8)

    assert [r.status_code for r in responses] == [200] * 8
    assert {json.dumps(r.json(), sort_keys=True) for r in responses} == {
        json.dumps(responses[0].json(), sort_keys=True)
    }
    assert responses[0].json()["outcome"] == "stamped"
    assert StampEvent.objects.filter(card=card).count() == 1


def test_a_retry_sent_while_the_first_redeem_runs_gets_the_first_answer_not_already_used(
    staff_actor, business
):
    from stampcard.vouchers.models import Voucher, VoucherOrigin
    from stampcard.vouchers.services import issue_voucher

    voucher = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Free coffee",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
    )
    till = pair_device(business=business, actor=staff_actor, name="Till", kind="scanner")
    data = body(voucher.token, action="stamp", nonce="redeem-retry-while-running")

    responses = run_in_parallel(lambda i: post(till.token, data), 8, workers=8)

    assert [r.status_code for r in responses] == [200] * 8
    assert {json.dumps(r.json(), sort_keys=True) for r in responses} == {
        json.dumps(responses[0].json(), sort_keys=True)
    }
    assert responses[0].json()["outcome"] == "redeemed"
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
