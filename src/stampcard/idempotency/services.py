"""Idempotency keys: a retried write (a lost response, an offline scanner's queue) runs once.

Both helpers run inside the caller's transaction. ``previous_outcome`` answers a retry whose
first attempt already committed; ``remember_outcome`` settles a race between two attempts in
flight: the unique index makes the second wait for the first and then find its key taken,
so it raises and its whole transaction rolls back.
"""

import json
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard.idempotency.models import IdempotencyKey
from stampcard.refusals import Refusal

_TABLE = IdempotencyKey._meta.db_table


class AlreadyDone(Refusal):
    code = "already_used"
    default_message = _("This request was already carried out.")

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__()
        self.outcome = outcome


def previous_outcome(*, business_id: int, key: str) -> dict[str, Any] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT outcome FROM {_TABLE} WHERE business_id = %s AND key = %s",  # noqa: S608
            [business_id, key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    outcome = row[0]
    return json.loads(outcome) if isinstance(outcome, str) else outcome


def remember_outcome(
    *, business_id: int, key: str, operation: str, outcome: dict[str, Any]
) -> None:
    """Store the outcome under ``key``, or raise AlreadyDone if another attempt took it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (business_id, key, operation, outcome, created_at)"  # noqa: S608
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (business_id, key) DO NOTHING RETURNING id",
            [business_id, key, operation, json.dumps(outcome), timezone.now()],
        )
        inserted = cursor.fetchone() is not None
    if not inserted:
        raise AlreadyDone(previous_outcome(business_id=business_id, key=key) or {})
