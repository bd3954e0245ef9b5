"""The end of a cycle: the reward a completed card earns, and handing a simple reward over."""

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
from stampcard.loyalty.services.card_state import CardState
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish, publish_on
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require

_REWARD_TABLE = Reward._meta.db_table
_INSERT_REWARD = (
    f"INSERT INTO {_REWARD_TABLE} (business_id, card_id, kind, status, cycle, stamps_used,"  # noqa: S608
    " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
_SET_STATUS = f"UPDATE {_REWARD_TABLE} SET status = %s WHERE id = %s"  # noqa: S608

# What a reward is when its cycle closes. The issuer registered for its kind (the vouchers
# app for a Smart Voucher) then makes it and says what came of it; without one, it waits.
_REWARD_STATUS_AT_GOAL = {
    RewardKind.SIMPLE: RewardStatus.READY,
    RewardKind.SMART_VOUCHER: RewardStatus.VOUCHER_PENDING,
    RewardKind.LOTTERY: RewardStatus.DRAW_PENDING,
}


def close_cycles(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business: Business,
    card: CardState,
    count: int,
    now: datetime,
) -> list[int]:
    """Record the rewards of the ``count`` cycles that ``card`` just completed; their ids."""
    return [
        _close_cycle(
            db, cursor, business=business, card=card, cycle=card.cycles_completed + n, now=now
        )
        for n in range(1, count + 1)
    ]


def _close_cycle(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business: Business,
    card: CardState,
    cycle: int,
    now: datetime,
) -> int:
    """Record the reward of one completed cycle and have it issued; returns the Reward's id."""
    kind = RewardKind(card.reward_kind)
    status = _REWARD_STATUS_AT_GOAL[kind]
    cursor.execute(
        _INSERT_REWARD,
        [
            business.pk,
            card.id,
            kind.value,
            status.value,
            cycle,
            card.goal,
            db.ops.adapt_datetimefield_value(now),
        ],
    )
    reward_id = int(cursor.fetchone()[0])
    issuer = reward_issuer(kind)
    if issuer is not None:
        earned = EarnedReward(
            business=business,
            reward_id=reward_id,
            card_id=card.id,
            card_code=card.code,
            program_id=card.program_id,
            now=now,
        )
        settled = issuer(earned)
        if settled != status:
            cursor.execute(_SET_STATUS, [settled.value, reward_id])
            status = settled
    publish_on(
        db,
        cursor,
        business_id=business.pk,
        topic=Topic.REWARD_EARNED,
        reward_id=reward_id,
        card_id=card.id,
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
        publish(
            business_id=business.pk,
            topic=Topic.CARD_CHANGED,
            card_id=reward.card_id,
            version=version,
        )
        record(business=business, actor=actor, action="reward.handed_over", target=reward)
    return reward
