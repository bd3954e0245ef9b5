import pytest

from stampcard.audit.models import AuditEntry
from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, Reward, StampEvent, StampSource
from stampcard.loyalty.services import add_stamps, correct_stamps, hand_over_reward


def stamp(card, actor, count=1):
    return add_stamps(
        business=card.business, actor=actor, source=StampSource.STAFF, count=count, card_id=card.pk
    )


def test_a_correction_is_a_new_ledger_row_with_its_reason(card, staff_actor):
    stamp(card, staff_actor)
    stamp(card, staff_actor)
    event = correct_stamps(
        business=card.business, actor=staff_actor, card=card, delta=-1, reason=" scanned twice "
    )
    assert (event.kind, event.delta, event.reason, event.balance_after) == (
        "correction",
        -1,
        "scanned twice",
        1,
    )
    card.refresh_from_db()
    assert card.stamps == 1 == card.lifetime_stamps
    assert StampEvent.objects.filter(card=card).count() == 3  # nothing edited, one row added
    entry = AuditEntry.objects.get(action="stamps.corrected")
    assert entry.details == {"delta": -1, "reason": "scanned twice"}


@pytest.mark.parametrize(
    ("delta", "reason", "refusal"),
    [
        (-1, "", errors.ReasonRequired),
        (-1, "   ", errors.ReasonRequired),
        (0, "why", errors.InvalidStampCount),
        (-3, "too many", errors.BelowZero),
        (501, "paper card", errors.CorrectionTooLarge),
        (2**40, "paper card", errors.CorrectionTooLarge),
        (1, "x" * 256, errors.ReasonTooLong),
        (-1, "scanned\x00twice", errors.ReasonInvalid),
        (-1, "scanned \ud800 twice", errors.ReasonInvalid),
    ],
)
def test_refused_corrections_change_nothing(card, staff_actor, delta, reason, refusal):
    stamp(card, staff_actor)
    with pytest.raises(refusal):
        correct_stamps(
            business=card.business, actor=staff_actor, card=card, delta=delta, reason=reason
        )
    card.refresh_from_db()
    assert card.stamps == 1 == StampEvent.objects.filter(card=card).count()


def test_a_correction_moves_the_cards_version_and_update_time_like_a_stamp(card, staff_actor):
    stamp(card, staff_actor)
    card.refresh_from_db()
    before = (card.version, card.updated_at)
    correct_stamps(business=card.business, actor=staff_actor, card=card, delta=-1, reason="x")
    card.refresh_from_db()
    assert card.version == before[0] + 1
    assert card.updated_at > before[1]


def test_a_positive_correction_can_complete_the_cycle(card, staff_actor):
    correct_stamps(
        business=card.business, actor=staff_actor, card=card, delta=12, reason="paper card moved"
    )
    card.refresh_from_db()
    assert (card.stamps, card.cycles_completed) == (2, 1)
    assert Reward.objects.filter(card=card).count() == 1


def test_a_card_of_another_business_cannot_be_corrected(card, other_business, other_staff_actor):
    with pytest.raises(errors.CardNotFound):
        correct_stamps(
            business=other_business, actor=other_staff_actor, card=card, delta=1, reason="x"
        )


def test_a_ready_reward_is_handed_over_once(card, staff_actor):
    card.program.stamps_goal = 1
    card.program.save()
    reward_id = stamp(card, staff_actor).reward_ids[0]
    assert (
        hand_over_reward(business=card.business, actor=staff_actor, reward_id=reward_id).status
        == "redeemed"
    )
    with pytest.raises(errors.RewardNotReady):
        hand_over_reward(business=card.business, actor=staff_actor, reward_id=reward_id)


def test_a_reward_of_another_business_cannot_be_handed_over(
    card, other_business, staff_actor, other_staff_actor
):
    card.program.stamps_goal = 1
    card.program.save()
    reward_id = stamp(card, staff_actor).reward_ids[0]
    with pytest.raises(errors.RewardNotReady):
        hand_over_reward(business=other_business, actor=other_staff_actor, reward_id=reward_id)
    assert Card.objects.get(pk=card.pk).rewards.get().status == "ready"
