"""The notification budget of a pass, across both wallets (wallet.md C4).

A change reaches a pass as a silent update unless it is a milestone the customer wants to hear
of at once: a reward ready, a voucher issued. Even then a pass notifies at most
``NOTIFY_LIMIT`` times in ``NOTIFY_WINDOW`` (Google refuses more with ``quotaExceeded``; a
phone buzzing more often than that is spam anyway): past it, the update is silent.

Every send to a pass is recorded as a ``PassSend`` with whether it notified and why, once per
outbox message: the row is the consumer's dedupe. Google is told through a message on the
object (``wallet.google_consumers``); Apple through the ``changeMessage`` of the card pass's
count of rewards, which the pass carries only for a milestone the budget allowed
(``wallet.changes.announce_milestone``).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, connections, transaction

from stampcard.loyalty.models import Card, RewardKind, RewardStatus
from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.wallet.models import PassRegistration, PassSend, Wallet

NOTIFY_LIMIT = 3
NOTIFY_WINDOW = timedelta(hours=24)


class Why(StrEnum):
    """Why a send notified or stayed silent (stored in ``PassSend.reason``)."""

    REWARD_READY = "reward_ready"
    VOUCHER_ISSUED = "voucher_issued"
    # Silent:
    UPDATE = "update"
    OVER_BUDGET = "over_budget"
    QUOTA_EXCEEDED = "quota_exceeded"


@dataclass(frozen=True, slots=True)
class Milestone:
    why: Why
    # What the message is about: the reward's or the voucher's id.
    object_id: int


def milestone_of(topic: str, payload: dict[str, Any]) -> Milestone | None:
    """The milestone an outbox message tells of, or None when it is an ordinary update.

    A Smart Voucher reward is not one itself: its ``voucher.issued`` message follows and
    notifies, so the customer hears of it once.
    """
    if topic == Topic.REWARD_EARNED:
        if payload.get("kind") == RewardKind.SIMPLE and payload.get("status") == RewardStatus.READY:
            return Milestone(Why.REWARD_READY, int(payload["reward_id"]))
        return None
    if topic == Topic.VOUCHER_ISSUED and payload.get("card_id") is not None:
        return Milestone(Why.VOUCHER_ISSUED, int(payload["voucher_id"]))
    return None


def may_notify(card_id: int, wallet: Wallet, now: datetime) -> bool:
    """Whether the card's pass in ``wallet`` may notify once more at ``now``."""
    recent = PassSend.objects.filter(
        card_id=card_id, wallet=wallet, notified=True, sent_at__gt=now - NOTIFY_WINDOW
    )
    return recent.count() < NOTIFY_LIMIT


def already_sent(message: OutboxMessage, card_id: int, wallet: Wallet) -> bool:
    """Whether ``message`` was sent to this pass before (a delivery repeated after a crash)."""
    return PassSend.objects.filter(card_id=card_id, wallet=wallet, message_id=message.pk).exists()


def reserve_notification(
    *, message: OutboxMessage, card_id: int, wallet: Wallet, why: Why, now: datetime
) -> bool:
    """Take one of the pass's notifications for ``message`` if the budget has one left.

    The card's row is locked while the budget is counted and the send recorded, so two
    milestones of one card delivered at once cannot both take the last notification. The
    lock is held for these two statements only, never while Google is called. The
    reservation is the message's ``PassSend``: ``record_send`` settles it afterwards, and
    ``release_notification`` gives it back when the send failed.
    """
    with transaction.atomic():
        list(Card.objects.select_for_update().filter(pk=card_id).values_list("pk"))
        if not may_notify(card_id, wallet, now):
            return False
        PassSend.objects.create(
            business_id=message.required_business_id,
            card_id=card_id,
            wallet=wallet,
            message_id=message.pk,
            topic=message.topic,
            notified=True,
            reason=why,
            sent_at=now,
        )
    return True


def release_notification(*, message: OutboxMessage, card_id: int, wallet: Wallet) -> None:
    """Give back a reservation whose send failed: the retry decides afresh."""
    PassSend.objects.filter(card_id=card_id, wallet=wallet, message_id=message.pk).delete()


def record_send(
    *,
    message: OutboxMessage,
    card_id: int,
    wallet: Wallet,
    notified: bool,
    why: Why,
    now: datetime,
) -> None:
    """Record that ``message`` reached the card's pass in ``wallet`` (settling a reservation).

    A message without an id (not from the outbox) is recorded each time.
    """
    fields = {
        "business_id": message.business_id,
        "topic": message.topic,
        "notified": notified,
        "reason": why,
        "sent_at": now,
    }
    if message.pk is None:
        PassSend.objects.create(card_id=card_id, wallet=wallet, message_id=None, **fields)
        return
    try:
        with transaction.atomic():
            PassSend.objects.update_or_create(
                card_id=card_id, wallet=wallet, message_id=message.pk, defaults=fields
            )
    except IntegrityError:
        pass  # recorded at this moment by a parallel delivery of the same message


def record_apple_pushes(message: OutboxMessage, card_ids: Iterable[int], now: datetime) -> None:
    """Record the APNs pushes a message sent to card passes, in one statement: silent, as
    a device only fetches the pass; its lock screen speaks only for a field's
    ``changeMessage``, which the pass keeps for milestones (wallet.apple)."""
    PassSend.objects.bulk_create(
        [
            PassSend(
                business_id=message.required_business_id,
                card_id=card_id,
                wallet=Wallet.APPLE,
                message_id=message.pk,
                topic=message.topic,
                notified=False,
                reason=Why.UPDATE,
                sent_at=now,
            )
            for card_id in card_ids
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def record_apple_batch(message: OutboxMessage, now: datetime) -> None:
    """Record, in one INSERT … SELECT, that ``message`` pushed every card pass of its batch
    of registrations (``wallet.changes``): the common case, every push delivered. Silent
    sends, as in ``record_apple_pushes``; a pass already recorded for the message is kept."""
    send = {field.name: str(field.column) for field in PassSend._meta.concrete_fields}
    registration = {f.name: str(f.column) for f in PassRegistration._meta.concrete_fields}
    names = ("business", "card", "wallet", "message_id", "topic", "notified", "reason", "sent_at")
    sql = (
        f"INSERT INTO {PassSend._meta.db_table} ({', '.join(send[name] for name in names)})"  # noqa: S608
        f" SELECT r.{registration['business']}, r.{registration['card']}, %s, %s, %s, %s, %s, %s"
        f" FROM {PassRegistration._meta.db_table} r"
        f" WHERE r.{registration['push_batch']} = %s AND r.{registration['business']} = %s"
        f" AND r.{registration['card']} IS NOT NULL"
        " ON CONFLICT DO NOTHING"
    )
    db = connections[PassSend.objects.db]
    params: list[Any] = [
        Wallet.APPLE.value, message.pk, message.topic, False, Why.UPDATE.value,
        db.ops.adapt_datetimefield_value(now), message.pk, message.business_id,
    ]  # fmt: skip
    with db.cursor() as cursor:
        cursor.execute(sql, params)
