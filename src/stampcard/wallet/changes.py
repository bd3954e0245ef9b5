"""How a change reaches the passes in Apple Wallet: recorded, debounced, pushed (wallet.md B2).

Calls for code that changes what passes show, each inside the transaction of the change
(they open one if there is none). They only write one outbox message, so the request never
waits on the cards or on Apple:

- ``program_changed(program)`` — the program's design changed (``Program.save`` and the
  milestones call it; so does the program designer when it saves);
- ``business_changed(business)`` — what passes show of the business changed (its name);
- ``location_changed(location)`` — a shop's place or its text changed, or it came or went.

From there the outbox takes over (consumers in ``wallet.consumers``):

1. ``refresh_passes`` (topic ``wallet.passes_changed``): one UPDATE moves ``updated_at`` of
   every card of the program (or business), so "serials updated since" lists them and their
   ``Last-Modified`` moves; voucher passes of the same scope are dated too. Then it owes a
   push to their registrations. ``card.changed`` and the voucher topics owe pushes to one
   pass's registrations the same way.
2. ``owe_pushes`` is the debounce. A registration that owes no push gets
   ``push_due_at = now + WALLET_PUSH_DEBOUNCE_SECONDS``, and for those one outbox message
   ``wallet.apple_push`` is written, due then. A change inside that window finds the push
   already owed and adds nothing: ten stamps in a second are one push, and a program change
   over 10,000 cards is one message. All set-based SQL, in the consumer's transaction, so
   applied exactly once.
3. ``send_due_pushes`` (topic ``wallet.apple_push``) takes every push of its business that is
   due — one UPDATE that clears ``push_due_at`` and writes the message's id into
   ``push_batch`` — and sends them through the one HTTP/2 connection, many streams at once.
   A change after the take owes a new push. A redelivery of the message (a crash, a retry)
   sends its batch again; pushes are harmless to repeat, the device only asks once more.

APNs takes one push per push token and pass type: a device holding several passes gets one
push and then asks which of its passes changed.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from stampcard.loyalty.models import Card, Program, Reward
from stampcard.outbox.consumers import PermanentFailure
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.models import Business, Location
from stampcard.vouchers.models import Voucher
from stampcard.wallet import apns
from stampcard.wallet.models import AppleAnnouncement, PassRegistration, Wallet
from stampcard.wallet.notifications import (
    Why,
    already_sent,
    milestone_of,
    record_apple_batch,
    record_apple_pushes,
    record_send,
    reserve_notification,
)

log = logging.getLogger(__name__)

PASSES_CHANGED = "wallet.passes_changed"
APPLE_PUSH = "wallet.apple_push"

# What a pass shows of these models: a change to one of these fields refreshes the passes.
SHOWN_ON_PASSES: dict[type[models.Model], tuple[str, ...]] = {
    Business: ("name", "brand_color"),
    Location: ("latitude", "longitude", "relevant_text"),
}


class PushFailed(Exception):
    """Some pushes are to be tried again: the outbox retries the message with its backoff."""


class PushesParked(PermanentFailure):
    """APNs refused our credentials (a 403 such as ``BadCertificate`` or
    ``InvalidProviderToken``, or TLS refused the certificate): no retry helps until an
    operator fixes the certificate or key. The message is parked dead with its pushes still
    in its batch; replaying it in the admin sends them."""


def program_changed(program: Program) -> None:
    """Every pass of ``program``'s cards and vouchers is to be refreshed and pushed."""
    _publish(business_id=program.business_id, topic=PASSES_CHANGED, program_id=program.pk)


def business_changed(business: Business) -> None:
    """Every pass of ``business`` is to be refreshed and pushed."""
    _publish(business_id=business.pk, topic=PASSES_CHANGED)


def location_changed(location: Location) -> None:
    """Passes list every shop of the business: all of them are to be refreshed and pushed."""
    _publish(business_id=location.business_id, topic=PASSES_CHANGED)


def shown_fields_changed(instance: models.Model) -> bool:
    """Whether saving ``instance`` changes what passes show: new with a shown field set, or
    a shown field differs from the stored row. Call it before the save."""
    fields = SHOWN_ON_PASSES[type(instance)]
    if instance._state.adding or instance.pk is None:
        return any(getattr(instance, name) not in (None, "") for name in fields)
    stored = type(instance)._base_manager.filter(pk=instance.pk).values(*fields).first()
    return stored is None or any(stored[name] != getattr(instance, name) for name in fields)


def _publish(*, business_id: int, topic: str, **payload: Any) -> None:
    now = timezone.now()
    with transaction.atomic():
        OutboxMessage.objects.create(
            business_id=business_id,
            topic=topic,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )


def refresh_passes(*, business_id: int, program_id: int | None) -> int:
    """Date every affected pass now and owe each registration a push; how many cards moved.

    Two UPDATEs whatever the number of cards, and one more per debounce window for the
    pushes. Runs in the caller's transaction (the outbox receipt's).
    """
    now = timezone.now()
    cards = Card.objects.filter(business_id=business_id)
    vouchers = Voucher.objects.filter(business_id=business_id)
    if program_id is not None:
        cards = cards.filter(program_id=program_id)
        vouchers = vouchers.filter(program_id=program_id)
    moved = cards.update(updated_at=now)
    registrations = PassRegistration.objects.filter(business_id=business_id)
    if program_id is not None:
        registrations = registrations.filter(
            models.Q(card__program_id=program_id) | models.Q(voucher__program_id=program_id)
        )
    registrations.filter(voucher__isnull=False).update(pass_changed_at=now)
    owe_pushes(registrations, business_id=business_id, now=now)
    return moved


def card_changed(*, business_id: int, card_id: int) -> None:
    owe_pushes(PassRegistration.objects.filter(card_id=card_id), business_id=business_id, now=None)


def announce_milestone(message: OutboxMessage) -> None:
    """A milestone of a card (reward ready, voucher issued) reaches its Apple pass.

    Decided here, where its push is owed, within the pass's notification budget: allowed, the
    pass announces the card's present count of rewards earned (``AppleAnnouncement``, read by
    the pass build) and the send is recorded as notified; over the budget it is recorded
    silent and the pass updates without a word. The card's ``updated_at`` moves, so the pass
    cached for its version is rebuilt with the decision and devices list it as updated.
    """
    milestone = milestone_of(message.topic, message.payload)
    card_id = message.payload.get("card_id")
    if milestone is None or card_id is None:
        return
    if milestone.why == Why.VOUCHER_ISSUED and not (
        Voucher.objects.filter(pk=milestone.object_id, reward__isnull=False).exists()
    ):
        return  # not a reward's: the card's pass, which counts rewards, does not change
    registrations = PassRegistration.objects.filter(card_id=card_id)
    if not registrations.exists() or already_sent(message, card_id, Wallet.APPLE):
        return
    now = timezone.now()
    business_id = message.required_business_id
    if reserve_notification(
        message=message, card_id=card_id, wallet=Wallet.APPLE, why=milestone.why, now=now
    ):
        earned = Reward.objects.filter(card_id=card_id, business_id=business_id).count()
        AppleAnnouncement.objects.update_or_create(
            card_id=card_id, defaults={"business_id": business_id, "rewards_earned": earned}
        )
        Card.objects.filter(pk=card_id).update(updated_at=now)
    else:
        record_send(
            message=message,
            card_id=card_id,
            wallet=Wallet.APPLE,
            notified=False,
            why=Why.OVER_BUDGET,
            now=now,
        )
    owe_pushes(registrations, business_id=business_id, now=now)


def voucher_changed(*, business_id: int, voucher_id: int) -> None:
    now = timezone.now()
    registrations = PassRegistration.objects.filter(voucher_id=voucher_id)
    registrations.update(pass_changed_at=now)
    owe_pushes(registrations, business_id=business_id, now=now)


def owe_pushes(registrations: QuerySet[PassRegistration], *, business_id: int, now: Any) -> int:
    """Owe a push to each of ``registrations`` that owes none yet; how many were added."""
    now = now or timezone.now()
    due = now + timedelta(seconds=settings.WALLET_PUSH_DEBOUNCE_SECONDS)
    added = registrations.filter(push_due_at__isnull=True).update(push_due_at=due)
    if added:
        OutboxMessage.objects.create(
            business_id=business_id,
            topic=APPLE_PUSH,
            payload={},
            next_attempt_at=due,
            created_at=now,
        )
    return added


def send_due_pushes(message: OutboxMessage) -> None:
    """Send every push of the message's business that is due, once per push token and pass
    type; 410 ends the registration; 429, 5xx and broken connections raise ``PushFailed`` so
    the message is retried, with only the pushes still to send in its batch. Our credentials
    refused raise ``PushesParked``: the message is parked, its pushes kept for a replay."""
    started = timezone.now()
    with transaction.atomic():
        PassRegistration.objects.filter(
            business_id=message.required_business_id, push_due_at__lte=started
        ).update(push_due_at=None, push_batch=message.pk)
    batch = PassRegistration.objects.filter(push_batch=message.pk)
    by_topic: dict[str, set[str]] = defaultdict(set)
    for pass_type_id, push_token in batch.values_list("pass_type_id", "push_token"):
        by_topic[pass_type_id].add(push_token)
    if not by_topic or not settings.APNS_ENABLED:
        batch.update(push_batch=None)
        return
    client = apns.client()
    results = {topic: client.send_many(sorted(tokens), topic) for topic, tokens in by_topic.items()}
    if all(r.outcome is apns.Outcome.OK for answers in results.values() for r in answers):
        # Every push delivered (the common case): recorded and released set-based, together.
        with transaction.atomic():
            record_apple_batch(message, started)
            batch.update(push_batch=None)
        return
    retry: set[tuple[str, str]] = set()
    refused: set[tuple[str, str]] = set()
    # Push token -> registrations last renewed before this moment are to go.
    gone: dict[str, datetime] = {}
    for topic, answers in results.items():
        for result in answers:
            if result.outcome is apns.Outcome.RETRY:
                retry.add((topic, result.token))
            elif result.outcome is apns.Outcome.CONFIG:
                refused.add((topic, result.token))
            elif result.outcome is apns.Outcome.UNREGISTERED:
                # Apple's timestamp: when APNs last knew the token valid. A device that
                # registered after it keeps its registration (wallet.md B2); without one,
                # a registration renewed since this send began is kept.
                gone[result.token] = result.timestamp or started
            elif result.outcome is apns.Outcome.BAD:
                log.warning("APNs refused a push: %s %s", result.status, result.reason)
    delivered = {
        (topic, r.token)
        for topic, answers in results.items()
        for r in answers
        if r.outcome is apns.Outcome.OK
    }
    sent_to = {
        card_id
        for topic, token, card_id in batch.filter(card_id__isnull=False).values_list(
            "pass_type_id", "push_token", "card_id"
        )
        if (topic, token) in delivered
    }
    record_apple_pushes(message, sent_to, started)
    if gone:
        ended = models.Q()
        for token, cutoff in gone.items():
            ended |= models.Q(push_token=token, updated_at__lt=cutoff)
        batch.filter(ended).delete()
    if not retry and not refused:
        batch.update(push_batch=None)
    else:
        # Only the pushes still to send stay in the batch the retry (or replay) sends.
        for topic, answers in results.items():
            sent = [r.token for r in answers if r.outcome not in _TO_SEND_AGAIN]
            batch.filter(pass_type_id=topic, push_token__in=sent).update(push_batch=None)
    if refused:
        # The reasons are Apple's codes and our TLS findings: no token, key or device in them.
        why = "; ".join(_reasons(results, apns.Outcome.CONFIG))
        log.error(
            "APNs refused this server's credentials (%s): %s pushes parked with outbox "
            "message %s. Fix the pass certificate and key (APPLE_PASS_CERT, APPLE_PASS_KEY, "
            "APPLE_WWDR_CERT) or the APNs key (APNS_KEY_FILE, APNS_KEY_ID), then replay it.",
            why,
            len(refused),
            message.pk,
        )
        raise PushesParked(
            f"APNs refused our credentials, {len(refused)} pushes parked until replayed: {why}"
        )
    if retry:
        total = sum(len(answers) for answers in results.values())
        reasons = _reasons(results, apns.Outcome.RETRY)
        raise PushFailed(f"{len(retry)} of {total} pushes to retry: {'; '.join(reasons)}")


# The outcomes whose pushes stay in the message's batch, sent again with it.
_TO_SEND_AGAIN = (apns.Outcome.RETRY, apns.Outcome.CONFIG)


def _reasons(results: dict[str, list[apns.Result]], outcome: apns.Outcome) -> list[str]:
    """The distinct reasons of the pushes that had ``outcome``, e.g. "403 BadCertificate"."""
    return sorted(
        {
            f"{r.status or ''} {r.reason}".strip()
            for answers in results.values()
            for r in answers
            if r.outcome is outcome
        }
    )
