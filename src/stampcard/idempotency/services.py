"""Idempotency keys: a retried write (a lost response, an offline scanner's queue) runs once.

A key names one request: its operation and its arguments (kept as a fingerprint). Both
helpers run inside the caller's transaction. ``claim_key`` comes first in it, before
anything is read or locked: it inserts the key, so of two attempts in flight the second's
insert waits on the unique index until the first ends. If the first committed, the second
finds the key taken and gets the first's outcome (``AlreadyDone``) before it judged anything
itself; if the first rolled back (refused), its key went with it and the second goes on as a
request of its own. ``keep_outcome`` stores the outcome on the claimed key before commit.
Two statements per write, as a look-up and a late insert would be. A key sent again with
another request is refused, never replayed: the client would otherwise take someone else's
outcome for its own.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard.hot_path import hot_path_cursor
from stampcard.idempotency.models import IdempotencyKey
from stampcard.refusals import Refusal

_TABLE = IdempotencyKey._meta.db_table
# Written out and prepared once per connection (``stampcard.hot_path``): every scan runs both.
# The business is in each: a key is one business's, and another's is never read or taken.
_STORED = (
    f"SELECT operation, fingerprint, outcome FROM {_TABLE}"  # noqa: S608
    " WHERE business_id = %s AND key = %s"
)
# The outcome is not known yet when the key is claimed: an empty one stands in, seen by no
# one else, as the row commits only after ``keep_outcome`` filled it in.
_CLAIM = (
    f"INSERT INTO {_TABLE}"  # noqa: S608
    " (business_id, key, operation, fingerprint, outcome, created_at)"
    " VALUES (%s, %s, %s, %s, '{}', %s)"
    " ON CONFLICT (business_id, key) DO NOTHING RETURNING id"
)
_KEEP = f"UPDATE {_TABLE} SET outcome = %s WHERE business_id = %s AND key = %s"  # noqa: S608
MAX_KEY_LENGTH = 255
# What json.dumps(arguments, sort_keys=True, default=str) encodes with, made once: every
# scan's fingerprint is encoded by it (an encoder keeps no state between calls).
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str)


class AlreadyDone(Refusal):
    code = "already_done"
    default_message = _("This request was already carried out.")

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__()
        self.outcome = outcome


class KeyReused(Refusal):
    code = "idempotency_key_reused"
    default_message = _("This idempotency key was already used for a different request.")
    http_status = 422


class InvalidKey(Refusal):
    code = "invalid_idempotency_key"
    default_message = _("An idempotency key is 1 to 255 printable characters.")
    http_status = 400


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    business_id: int
    key: str
    operation: str
    fingerprint: str

    @classmethod
    def for_key(
        cls, key: str | None, *, business_id: int, operation: str, **arguments: object
    ) -> "IdempotentRequest | None":
        """The request ``key`` stands for (None without a key); refuses a malformed key."""
        if key is None:
            return None
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise InvalidKey()
        canonical = _CANONICAL.encode(arguments)
        return cls(
            business_id=business_id,
            key=key,
            operation=operation,
            fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
        )


def _stored(request: IdempotentRequest) -> tuple[str, str, dict[str, Any]] | None:
    with hot_path_cursor() as cursor:
        cursor.execute(_STORED, [request.business_id, request.key])
        row = cursor.fetchone()
    if row is None:
        return None
    operation, fingerprint, outcome = row
    return operation, fingerprint, json.loads(outcome) if isinstance(outcome, str) else outcome


def replay_if_done(request: IdempotentRequest) -> None:
    """Raise AlreadyDone if this request already succeeded, KeyReused if its key served another."""
    stored = _stored(request)
    if stored is None:
        return
    operation, fingerprint, outcome = stored
    if (operation, fingerprint) != (request.operation, request.fingerprint):
        raise KeyReused()
    raise AlreadyDone(outcome)


def claim_key(request: IdempotentRequest) -> None:
    """Take the request's key for the caller's transaction, first thing in it; raise
    ``AlreadyDone`` with the outcome if an earlier attempt has it, ``KeyReused`` if its key
    served another request. An attempt still in flight is waited for (see the module)."""
    db = connections[DEFAULT_DB_ALIAS]
    with hot_path_cursor(db) as cursor:
        cursor.execute(
            _CLAIM,
            [
                request.business_id,
                request.key,
                request.operation,
                request.fingerprint,
                db.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        claimed = cursor.fetchone() is not None
    if not claimed:
        replay_if_done(request)
        raise AlreadyDone({})  # the key vanished in between: still not ours to use


def keep_outcome(request: IdempotentRequest, outcome: dict[str, Any]) -> str:
    """Store the outcome on the key this transaction claimed (``claim_key``); the outcome as
    it was stored (JSON), for a caller that answers with it too."""
    encoded = json.dumps(outcome)
    with hot_path_cursor() as cursor:
        cursor.execute(_KEEP, [encoded, request.business_id, request.key])
    return encoded
