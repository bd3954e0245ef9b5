"""The end of a cycle: the reward a completed card earns, and handing a simple reward over."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from stampcard.audit.services import record
from stampcard.loyalty import errors
from stampcard.loyalty.models import Reward, RewardKind, RewardStatus
from stampcard.loyalty.services.card_state import CardState
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business

_REWARD_TABLE = Reward._meta.db_table

MAX_CORRECTION = 500

_REWARD_STATUS_AT_GOAL = {
    RewardKind.SIMPLE: RewardStatus.READY,
    RewardKind.SMART_VOUCHER: RewardStatus.VOUCHER_ISSUED,
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
    """Record the reward of one completed cycle; returns the Reward's id."""
    from stampcard.vouchers.services import issue_goal_voucher

    kind = RewardKind(card.reward_kind)
    status = _REWARD_STATUS_AT_GOAL[kind]
    voucher_id = None
    if kind == RewardKind.SMART_VOUCHER:
        try:
            voucher_id = issue_goal_voucher(
                business=business, program_id=card.program_id, card_id=card.id, now=now
            ).pk
        except Refusal as refusal:
            # The customer earned it: the stamp stands, and the reward waits for the owner
            # to fix the program (a validity date passed, a code pool ran dry).
            status = RewardStatus.VOUCHER_PENDING
            record(
                business=business,
                actor=Actor.system(),
                action="reward.voucher_not_issued",
                reason=refusal.code,
                card=card.code,
            )
    cursor.execute(
        f"INSERT INTO {_REWARD_TABLE} (business_id, card_id, kind, status, cycle, stamps_used,"  # noqa: S608
        " voucher_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [
            business.pk,
            card.id,
            kind.value,
            status.value,
            cycle,
            card.goal,
            voucher_id,
            db.ops.adapt_datetimefield_value(now),
        ],
    )
    (reward_id,) = cursor.fetchone()
    return int(reward_id)


def hand_over_reward(*, business: Business, actor: Actor, reward_id: int) -> Reward:
    """Mark a "reward ready" as handed over. Succeeds at most once, whatever races."""
    now = timezone.now()
    with transaction.atomic():
        taken = Reward.objects.filter(
            pk=reward_id, business=business, status=RewardStatus.READY
        ).update(status=RewardStatus.REDEEMED, settled_at=now)
        if taken != 1:
            raise errors.RewardNotReady()
        reward = Reward.objects.get(pk=reward_id)
        record(business=business, actor=actor, action="reward.handed_over", target=reward)
    return reward
