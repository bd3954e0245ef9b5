"""Recording outbound messages: always inside the transaction of the change they tell of.

``publish`` is for services working through the ORM. The stamp's hot path writes its
``card.changed`` message inside its own single statement with ``CARD_CHANGED_SQL`` instead, so
the stamp costs no extra round trip. Nothing here talks to a broker: a dispatcher picks the
rows up once they are committed (``outbox.dispatch``), so a broker outage never fails a write
and a request never waits on delivery.
"""

import json
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from stampcard.outbox.models import OutboxMessage, Topic

MESSAGE_TABLE = OutboxMessage._meta.db_table

# For a data-modifying WITH whose card update is named ``moved`` and returns id and version:
# the message is written only if the card moved, in the same statement. Takes the business id
# and the time as parameters.
CARD_CHANGED_SQL = (
    f"INSERT INTO {MESSAGE_TABLE}"  # noqa: S608
    " (business_id, topic, payload, status, attempts, next_attempt_at, last_error, created_at)"
    f" SELECT %s, '{Topic.CARD_CHANGED.value}',"
    " jsonb_build_object('card_id', moved.id, 'version', moved.version), 'pending', 0, %s, '', %s"
    " FROM moved"
)


_INSERT_MESSAGE = (
    f"INSERT INTO {MESSAGE_TABLE}"  # noqa: S608
    " (business_id, topic, payload, status, attempts, next_attempt_at, last_error, created_at)"
    " VALUES (%s, %s, %s, 'pending', 0, %s, '', %s)"
)


def publish_on(
    db: BaseDatabaseWrapper, cursor: Any, *, business_id: int, topic: Topic, **payload: Any
) -> None:
    """``publish`` as one plain INSERT on the caller's cursor, for the stamp's locked path.

    Same row, same guarantees; no model is built (on the hot path that costs more than the
    statement itself).
    """
    now = db.ops.adapt_datetimefield_value(timezone.now())
    cursor.execute(_INSERT_MESSAGE, [business_id, topic.value, json.dumps(payload), now, now])


def publish(*, business_id: int, topic: Topic, **payload: Any) -> OutboxMessage:
    """Record a message for ``topic`` in the caller's transaction.

    It is delivered only if that transaction commits, and then at least once to every
    consumer of the topic. The payload names what changed (ids, versions), never personal
    data: consumers read the current state themselves.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() belongs inside the transaction of the change")
    now = timezone.now()
    return OutboxMessage.objects.create(
        business_id=business_id,
        topic=topic,
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )


def publish_card_changed(*, business_id: int, card_id: int, version: int) -> OutboxMessage:
    """``card.changed`` for ``card_id`` at ``version``, the payload ``CARD_CHANGED_SQL`` writes."""
    return publish(
        business_id=business_id, topic=Topic.CARD_CHANGED, card_id=card_id, version=version
    )
