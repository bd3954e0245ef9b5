"""Consumers for the tests: each application of a message leaves an audit entry behind.

The audit table has no unique key on what is recorded here, so a message applied twice
would show up as two entries.
"""

import threading
import time

from django.conf import settings
from django_scopes import get_scope

from stampcard.audit.models import AuditEntry
from stampcard.outbox.consumers import in_receipt_transaction
from stampcard.outbox.models import OutboxMessage

ACTION = "test.outbox_applied"
# Set by a test to hold the hanging consumer; released when the test is done.
release = threading.Event()


@in_receipt_transaction
def record(message: OutboxMessage) -> None:
    # The dispatcher opens the business's scope: a scoped query works only inside it.
    assert get_scope().get("business") is not None
    AuditEntry.objects.create(
        business_id=message.required_business_id,
        action=ACTION,
        actor_kind="system",
        target_type="outbox.message",
        target_id=str(message.pk),
        details={"topic": message.topic, **message.payload},
    )


@in_receipt_transaction
def record_slowly(message: OutboxMessage) -> None:
    """Takes a while, so a worker can be killed in the middle of a batch."""
    time.sleep(getattr(settings, "TEST_CONSUMER_SECONDS", 0.05))
    record(message)


def fail(message: OutboxMessage) -> None:
    raise ConnectionError("the receiving end is down")


def hang(message: OutboxMessage) -> None:
    """A receiver that does not answer (work outside the database: no transaction open)."""
    release.wait(timeout=120)


def applied(message_ids=None) -> dict[int, int]:
    """How many times each message was applied (message id -> count)."""
    counts: dict[int, int] = {}
    for target_id in AuditEntry.objects.filter(action=ACTION).values_list("target_id", flat=True):
        counts[int(target_id)] = counts.get(int(target_id), 0) + 1
    return counts


seen_in_transaction: list[bool] = []


def note_transaction(message: OutboxMessage) -> None:
    """Work outside the database: notes whether a transaction was open around it."""
    from django.db import connection

    seen_in_transaction.append(connection.in_atomic_block)
