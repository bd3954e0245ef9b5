"""Rewards: what a card earns at its milestones and at its goal, and handing one over.

A card passes its program's milestones on the way to the goal, where the cycle closes and the
stamps beyond it carry over into the next. Each milestone and each goal is earned once per
cycle: a stamp of several, a correction or a claim code crossing several earns each of them,
and passing a milestone again after a correction took the card below it earns nothing new.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone

from stampcard.audit.services import record
from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, Reward, RewardKind, RewardStatus
from stampcard.loyalty.rewards import EarnedReward, reward_issuer
from stampcard.loyalty.services.card_state import MILESTONE_TABLE, CardState
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish_card_changed, publish_on
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require

_REWARD_TABLE = Reward._meta.db_table
# A milestone's reward already earned in this cycle is not written again (the unique
# constraints say which): the insert then returns no row.
_INSERT_REWARD = (
    f"INSERT INTO {_REWARD_TABLE} (business_id, card_id, milestone_id, kind, status, cycle,"  # noqa: S608
    " stamps_used, earned_by_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING RETURNING id"
)
_SET_STATUS = f"UPDATE {_REWARD_TABLE} SET status = %s WHERE id = %s AND business_id = %s"  # noqa: S608
_MILESTONES = (
    f"SELECT id, stamps, reward_kind FROM {MILESTONE_TABLE}"  # noqa: S608
    " WHERE program_id = %s ORDER BY stamps"
)

# What a reward is when it is earned. The issuer registered for its kind (the vouchers app
# for a Smart Voucher) then makes it and says what came of it; without one, it waits.
_REWARD_STATUS_AT_GOAL = {
    RewardKind.SIMPLE: RewardStatus.READY,
    RewardKind.SMART_VOUCHER: RewardStatus.VOUCHER_PENDING,
    RewardKind.LOTTERY: RewardStatus.DRAW_PENDING,
}


@dataclass(frozen=True, slots=True)
class _Step:
    """A reward on the card: a milestone (with its id) or the goal (no id)."""

    stamps: int
    kind: str
    milestone_id: int | None = None


def earns_rewards(card: CardState, added: int) -> bool:
    """Whether adding ``added`` stamps to ``card`` as read reaches a milestone or the goal."""
    total = card.stamps + added
    return total >= card.goal or (card.next_milestone is not None and total >= card.next_milestone)


def earn_rewards(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business: Business,
    card: CardState,
    added: int,
    event_id: int,
    now: datetime,
) -> list[int]:
    """Record every reward ``card`` reaches going up ``added`` stamps from its stamps as read.

    Runs in the transaction that moves the card's counters, with the card locked, after the
    ledger row ``event_id`` that adds them: each reward records it as the row that earned it
    (its shop, workflow and staff member). Returns the ids of the rewards written, in the
    order they were reached.
    """
    if added <= 0 or not earns_rewards(card, added):
        return []
    cursor.execute(_MILESTONES, [card.program_id])
    steps = [_Step(stamps, kind, milestone_id) for milestone_id, stamps, kind in cursor.fetchall()]
    steps.append(_Step(card.goal, card.reward_kind))
    total = card.stamps + added
    earned = []
    for offset in range(total // card.goal + 1):
        for step in steps:
            # Positions count from the start of the card's current cycle.
            if card.stamps < offset * card.goal + step.stamps <= total:
                reward_id = _earn(
                    db,
                    cursor,
                    business=business,
                    card=card,
                    step=step,
                    cycle=card.cycles_completed + offset + 1,
                    event_id=event_id,
                    now=now,
                )
                if reward_id is not None:
                    earned.append(reward_id)
    return earned


def _earn(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business: Business,
    card: CardState,
    step: _Step,
    cycle: int,
    event_id: int,
    now: datetime,
) -> int | None:
    """Write one reward and have it issued; its id, or None if this cycle already had it."""
    kind = RewardKind(step.kind)
    status = _REWARD_STATUS_AT_GOAL[kind]
    goal = step.milestone_id is None
    cursor.execute(
        _INSERT_REWARD,
        [
            business.pk,
            card.id,
            step.milestone_id,
            kind.value,
            status.value,
            cycle,
            card.goal if goal else 0,
            event_id,
            db.ops.adapt_datetimefield_value(now),
        ],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    reward_id = int(row[0])
    issuer = reward_issuer(kind)
    if issuer is not None:
        earned = EarnedReward(
            business=business,
            reward_id=reward_id,
            card_id=card.id,
            card_code=card.code,
            program_id=card.program_id,
            milestone_id=step.milestone_id,
            now=now,
        )
        settled = issuer(earned)
        if settled != status:
            cursor.execute(_SET_STATUS, [settled.value, reward_id, business.pk])
            status = settled
    publish_on(
        db,
        cursor,
        business_id=business.pk,
        topic=Topic.REWARD_EARNED,
        reward_id=reward_id,
        card_id=card.id,
        milestone_id=step.milestone_id,
        kind=kind.value,
        status=status.value,
    )
    return reward_id


def hand_over_reward(*, business: Business, actor: Actor, reward_id: int) -> Reward:
    """Mark a "reward ready" as handed over. Succeeds at most once, whatever races.

    Needs REDEEM: it is handed over at the counter, where the actor stands.
    """
    require(actor, Permission.REDEEM, business=business)
    now = timezone.now()
    with transaction.atomic():
        taken = Reward.objects.filter(
            pk=reward_id, business=business, status=RewardStatus.READY
        ).update(status=RewardStatus.REDEEMED, settled_at=now)
        if taken != 1:
            raise errors.RewardNotReady()
        reward = Reward.objects.get(pk=reward_id)
        # What the card shows has changed (one reward fewer waiting): its version moves.
        Card.objects.filter(pk=reward.card_id).update(version=F("version") + 1, updated_at=now)
        version = Card.objects.filter(pk=reward.card_id).values_list("version", flat=True).get()
        publish_card_changed(business_id=business.pk, card_id=reward.card_id, version=version)
        record(business=business, actor=actor, action="reward.handed_over", target=reward)
    return reward
