"""Every change others must hear about records its message in the change's own transaction."""

import pytest

from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.models import Reward, StampSource
from stampcard.loyalty.services import (
    add_stamps,
    correct_stamps,
    enroll_customer,
    hand_over_reward,
)
from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.tenancy.actors import Actor
from stampcard.vouchers import errors as voucher_errors
from stampcard.vouchers.claims import claim_code, create_claim_batch
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher, redeem_voucher, void_voucher

SYSTEM = Actor.system()
pytestmark = pytest.mark.django_db


def told(topic):
    return [m.payload for m in OutboxMessage.objects.filter(topic=topic).order_by("id")]


def test_a_correction_tells_the_card_changed_with_its_version(card, staff_actor):
    correct_stamps(business=card.business, actor=staff_actor, card=card, delta=3, reason="paper")
    card.refresh_from_db()
    assert told(Topic.CARD_CHANGED) == [{"card_id": card.pk, "version": card.version}]


def test_reaching_the_goal_tells_the_reward_earned(card):
    card.program.max_stamps_per_visit = 10
    card.program.save()
    add_stamps(
        business=card.business, actor=SYSTEM, source=StampSource.STAFF, count=10, card_id=card.pk
    )
    reward = Reward.objects.get(card=card)
    assert told(Topic.REWARD_EARNED) == [
        {
            "reward_id": reward.pk,
            "card_id": card.pk,
            "milestone_id": None,
            "kind": "simple",
            "status": "ready",
        }
    ]
    OutboxMessage.objects.all().delete()
    hand_over_reward(business=card.business, actor=SYSTEM, reward_id=reward.pk)
    card.refresh_from_db()
    assert told(Topic.CARD_CHANGED) == [{"card_id": card.pk, "version": card.version}]


def test_a_new_card_tells_the_customer_joined_and_a_returning_one_does_not(program):
    card = enroll_customer(business=program.business, program=program, email="a@example.org")
    again = enroll_customer(business=program.business, program=program, email="A@example.org")
    assert again.pk == card.pk
    assert told(Topic.CUSTOMER_JOINED) == [
        {"customer_id": card.customer_id, "card_id": card.pk, "program_id": program.pk}
    ]


def test_vouchers_tell_issued_redeemed_and_voided(business, card, staff_actor):
    kept = issue_voucher(
        business=business,
        actor=SYSTEM,
        title="Free cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        card=card,
    )
    dropped = issue_voucher(
        business=business,
        actor=SYSTEM,
        title="Free tea",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
    )
    redeem_voucher(business=business, actor=staff_actor, token=kept.token)
    void_voucher(business=business, actor=SYSTEM, voucher=dropped, reason="a mistake")
    assert told(Topic.VOUCHER_ISSUED) == [
        {"voucher_id": kept.pk, "card_id": card.pk},
        {"voucher_id": dropped.pk, "card_id": None},
    ]
    assert told(Topic.VOUCHER_REDEEMED) == [{"voucher_id": kept.pk, "card_id": card.pk}]
    assert told(Topic.VOUCHER_VOIDED) == [{"voucher_id": dropped.pk, "card_id": None}]
    # A refused redemption tells nothing.
    with pytest.raises(voucher_errors.VoucherAlreadyRedeemed):
        redeem_voucher(business=business, actor=staff_actor, token=kept.token)
    assert len(told(Topic.VOUCHER_REDEEMED)) == 1


def test_a_claim_tells_the_claim_and_the_card_change(card):
    batch = create_claim_batch(business=card.business, actor=SYSTEM, program=card.program, count=1)
    code = batch.codes.get()
    claim_code(business=card.business, actor=SYSTEM, code=code.code, card=card)
    card.refresh_from_db()
    assert told(Topic.CLAIM_CLAIMED) == [{"claim_id": code.pk, "card_id": card.pk, "stamps": 1}]
    assert told(Topic.CARD_CHANGED) == [{"card_id": card.pk, "version": card.version}]


def test_a_refused_claim_tells_nothing(card):
    card.program.status = "draft"
    card.program.save()
    batch = create_claim_batch(business=card.business, actor=SYSTEM, program=card.program, count=1)
    with pytest.raises(loyalty_errors.ProgramInactive):
        claim_code(business=card.business, actor=SYSTEM, code=batch.codes.get().code, card=card)
    assert not OutboxMessage.objects.exists()
