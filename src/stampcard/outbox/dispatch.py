"""Delivering outbox messages: at least once to every consumer, applied at most once by each.

How it holds across crashes and outages:
- ``claim_due`` takes due messages for a while (a lease, ``claimed_until``) in one short
  transaction, skipping rows another dispatcher holds. A dispatcher that dies with a message
  loses nothing: when the lease runs out the message is due again.
- ``deliver`` gives the message to each consumer of the topic that has no ``Receipt`` for it
  yet (unique per message and consumer), and writes the receipt when the consumer is done:
  in the consumer's own transaction for a database-only consumer (applied exactly once, also
  beside a parallel delivery, which waits on the receipt's row), right after it for work
  that leaves the database (see ``outbox.consumers``).
- ``deliver`` renews the message's lease when it starts, so a message waiting long in a
  broker's queue is not handed out again while it is being worked on.
- A consumer that raises fails the message: it is tried again after a growing pause, and
  after ``OUTBOX_MAX_ATTEMPTS`` it is "dead", for an operator to see and replay in the admin.
  A consumer that raises ``PermanentFailure`` (a configuration error no retry can cure)
  makes it dead at once: parked, and replayed by the operator once the cause is fixed.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from stampcard.outbox.consumers import (
    Consumer,
    PermanentFailure,
    consumers_of,
    runs_in_receipt_transaction,
)
from stampcard.outbox.models import OPEN_STATUSES, MessageStatus, OutboxMessage, Receipt

log = logging.getLogger(__name__)


def claim_due(limit: int = 100) -> list[tuple[int, int | None]]:
    """Take up to ``limit`` due messages for one lease: (message id, business id), oldest first."""
    now = timezone.now()
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    due = OutboxMessage.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )
    if not due.exists():
        return []  # the usual answer, without a write transaction (SQLite's lock is global)
    with transaction.atomic():
        ids: list[tuple[int, int | None]] = list(
            due.order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", "business_id")[:limit]
        )
        OutboxMessage.objects.filter(id__in=[id_ for id_, _ in ids]).update(
            claimed_until=now + lease
        )
    return ids


def deliver(message_id: int) -> MessageStatus:
    """Deliver one message to every consumer of its topic; the message's status afterwards.

    Runs inside the scope of the message's business, opened by the caller's door (the
    task base class, or the in-process dispatcher). Safe to call more than once, also at
    the same time: a database-only consumer applies it once, any other at least once.
    """
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    # Held from now on: a relay does not hand it out again while this delivery runs.
    OutboxMessage.objects.filter(pk=message_id, status__in=OPEN_STATUSES).update(
        claimed_until=timezone.now() + lease
    )
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None or message.status not in OPEN_STATUSES:
        return MessageStatus(message.status) if message else MessageStatus.DELIVERED
    try:
        for name, consume in consumers_of(message.topic):
            _apply_once(message, name, consume)
    except Exception as exc:  # a consumer's failure of any kind is retried, not lost
        return _failed(message, exc)
    OutboxMessage.objects.filter(pk=message.pk, status__in=OPEN_STATUSES).update(
        status=MessageStatus.DELIVERED,
        delivered_at=timezone.now(),
        claimed_until=None,
        last_error="",
    )
    return MessageStatus.DELIVERED


def _apply_once(message: OutboxMessage, name: str, consume: Consumer) -> None:
    if not runs_in_receipt_transaction(consume):
        if Receipt.objects.filter(message=message, consumer=name).exists():
            return  # applied before
        consume(message)  # no transaction open: a slow receiver holds no lock
        Receipt.objects.bulk_create(
            [Receipt(message=message, consumer=name)], ignore_conflicts=True
        )
        return
    with transaction.atomic():
        try:
            # The receipt goes first: a parallel delivery of this message waits on its row
            # until this transaction ends, then finds it and skips.
            with transaction.atomic():
                Receipt.objects.create(message=message, consumer=name)
        except IntegrityError:
            return  # applied before
        consume(message)


def retry_delay(attempts: int) -> timedelta:
    """The pause before attempt ``attempts + 1``: doubling from the base, capped, with jitter."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 20)
    capped = min(base, settings.OUTBOX_RETRY_MAX_SECONDS)
    return timedelta(seconds=capped * random.uniform(0.8, 1.2))


def _failed(message: OutboxMessage, exc: Exception) -> MessageStatus:
    attempts = message.attempts + 1
    parked = isinstance(exc, PermanentFailure)
    dead = parked or attempts >= settings.OUTBOX_MAX_ATTEMPTS
    status = MessageStatus.DEAD if dead else MessageStatus.FAILED
    # The error's type and text, not a traceback with local values: it may name a customer.
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if parked:
        log.error(
            "outbox message %s (%s) parked, not retried until replayed: %s",
            message.pk,
            message.topic,
            error,
        )
    else:
        log.warning(
            "outbox message %s (%s) failed, attempt %s: %s",
            message.pk,
            message.topic,
            attempts,
            error,
        )
    OutboxMessage.objects.filter(pk=message.pk, status__in=OPEN_STATUSES).update(
        status=status,
        attempts=F("attempts") + 1,
        next_attempt_at=timezone.now() + retry_delay(attempts),
        claimed_until=None,
        last_error=error,
    )
    return status


def replay(message_ids: list[int]) -> int:
    """Put failed or dead messages back in line now (an operator's decision); how many."""
    return OutboxMessage.objects.filter(
        pk__in=message_ids, status__in=[MessageStatus.FAILED, MessageStatus.DEAD]
    ).update(
        status=MessageStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        claimed_until=None,
    )


def purge_delivered(*, older_than: timedelta, batch: int = 10_000) -> int:
    """Delete delivered messages older than ``older_than`` (their receipts go with them)."""
    cutoff = timezone.now() - older_than
    removed = 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(status=MessageStatus.DELIVERED, created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return removed
        OutboxMessage.objects.filter(id__in=ids).delete()
        removed += len(ids)
