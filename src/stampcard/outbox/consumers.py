"""Who hears of which topic: ``settings.OUTBOX_CONSUMERS`` maps a topic to consumers.

A consumer is a function taking the ``OutboxMessage``, named by its dotted path, run with the
business's scope open. Raising makes the message fail and be retried later; raising
``PermanentFailure`` parks it at once (dead, for an operator to replay once the cause is
fixed), for a failure that no retry can cure. Two kinds:

- work that leaves the database (a push, an e-mail, a webhook) runs outside any transaction,
  so a slow receiver holds no lock (on SQLite a write transaction would stop every stamp);
  its receipt is written once it succeeds. A crash in between delivers it again, so such a
  consumer must be safe to repeat: it is given the message's id as its dedupe key;
- work that only writes to the database is marked ``@in_receipt_transaction``: it runs in the
  same short transaction as its receipt, so it is applied exactly once.
"""

import functools
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

from stampcard.outbox.models import OutboxMessage

Consumer = Callable[[OutboxMessage], None]


class PermanentFailure(Exception):
    """Trying again cannot help until an operator acts (a certificate refused, a key revoked).

    Raised by a consumer, it makes the message dead at once instead of retrying it
    ``OUTBOX_MAX_ATTEMPTS`` times: parked with its error for the admin, where "Deliver again
    now" replays it once the cause is fixed. The consumer keeps whatever it needs for that
    replay (the wallet's pushes stay in the message's batch).
    """


def in_receipt_transaction(consume: Consumer) -> Consumer:
    """Mark a database-only consumer: applied in its receipt's transaction, exactly once."""
    consume.in_receipt_transaction = True  # type: ignore[attr-defined]
    return consume


def runs_in_receipt_transaction(consume: Consumer) -> bool:
    return getattr(consume, "in_receipt_transaction", False)


@functools.cache
def _consumers(topic: str, configured: tuple[str, ...]) -> tuple[tuple[str, Consumer], ...]:
    return tuple((path, import_string(path)) for path in configured)


def consumers_of(topic: str) -> tuple[tuple[str, Consumer], ...]:
    """The (name, function) pairs that must apply a message of ``topic``."""
    configured: dict[str, list[str]] = settings.OUTBOX_CONSUMERS
    return _consumers(topic, tuple(configured.get(topic, ())))
