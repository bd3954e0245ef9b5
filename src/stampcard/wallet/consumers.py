"""Outbox consumers of the wallet app (``settings.OUTBOX_CONSUMERS``)."""

import logging
from collections import defaultdict

from django.conf import settings
from django.utils import timezone

from stampcard.loyalty.models import Card
from stampcard.outbox.models import OutboxMessage
from stampcard.wallet import apns
from stampcard.wallet.models import PassRegistration
from stampcard.wallet.notifications import record_apple_push

log = logging.getLogger(__name__)


class PushFailed(Exception):
    """Some pushes are to be tried again: the outbox retries the message with its backoff."""


# Not in the receipt's transaction: it calls Apple. Repeating it is harmless, a device only
# asks for updates once more.
def push_card_changed(message: OutboxMessage) -> None:
    """Tell every device holding the card's pass to fetch it again (wallet.md B2)."""
    if not settings.APNS_ENABLED:
        return
    card_id = message.payload["card_id"]
    current = Card.objects.filter(pk=card_id).values_list("version", flat=True).first()
    # Coalesced: a newer version has its own message, which pushes for this one too.
    if current is None or current > message.payload["version"]:
        return
    by_topic: dict[str, list[str]] = defaultdict(list)
    for pass_type_id, push_token in PassRegistration.objects.filter(card_id=card_id).values_list(
        "pass_type_id", "push_token"
    ):
        by_topic[pass_type_id].append(push_token)
    if not by_topic:
        return
    started = timezone.now()
    client = apns.client()
    results = [r for topic, tokens in by_topic.items() for r in client.send_many(tokens, topic)]
    record_apple_push(message, card_id, started)
    gone = [r.token for r in results if r.outcome is apns.Outcome.UNREGISTERED]
    if gone:
        # A device that registered again since the push began keeps its registration.
        PassRegistration.objects.filter(
            card_id=card_id, push_token__in=gone, updated_at__lt=started
        ).delete()
    for result in results:
        if result.outcome is apns.Outcome.BAD:
            log.warning(
                "APNs refused a push for card %s: %s %s", card_id, result.status, result.reason
            )
    retry = [r for r in results if r.outcome is apns.Outcome.RETRY]
    if retry:
        reasons = sorted({f"{r.status or ''} {r.reason}".strip() for r in retry})
        raise PushFailed(f"{len(retry)} of {len(results)} pushes to retry: {'; '.join(reasons)}")
