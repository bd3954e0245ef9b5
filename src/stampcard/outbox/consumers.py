"""Who hears of which topic: ``settings.OUTBOX_CONSUMERS`` maps a topic to consumers.

A consumer is a function taking the ``OutboxMessage``, named by its dotted path (the name is
also its dedupe key: a consumer applies a message once). It runs inside a transaction with
the business's scope open; raising makes the message fail and be retried later, so work that
leaves the database (a push, an e-mail) must be safe to repeat.
"""

import functools
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

from stampcard.outbox.models import OutboxMessage

Consumer = Callable[[OutboxMessage], None]


@functools.cache
def _consumers(topic: str, configured: tuple[str, ...]) -> tuple[tuple[str, Consumer], ...]:
    return tuple((path, import_string(path)) for path in configured)


def consumers_of(topic: str) -> tuple[tuple[str, Consumer], ...]:
    """The (name, function) pairs that must apply a message of ``topic``."""
    configured: dict[str, list[str]] = settings.OUTBOX_CONSUMERS
    return _consumers(topic, tuple(configured.get(topic, ())))
