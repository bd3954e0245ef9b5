"""The outbox consumer that keeps Google Wallet's copy of each card current.

Registered in ``settings.OUTBOX_CONSUMERS`` for every topic that changes what a card's pass
shows: ``card.changed`` (stamps, corrections, a reward handed over), ``customer.joined`` (the
object is written before its save link is used), ``reward.earned`` and ``voucher.*``; and
for ``voucher.*`` the voucher's own offer object (``sync_google_offer``). Runs outside any
transaction (it calls Google); the outbox retries it when it raises.
"""

import logging

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from stampcard.loyalty.models import Card, Program, Reward
from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.vouchers.models import Voucher
from stampcard.wallet import google
from stampcard.wallet.models import GoogleClassState, Wallet
from stampcard.wallet.notifications import (
    Milestone,
    Why,
    already_sent,
    milestone_of,
    record_send,
    release_notification,
    reserve_notification,
)

log = logging.getLogger(__name__)


def sync_google_object(message: OutboxMessage) -> None:
    """Write the card's current state to its Google object; add a message on a milestone.

    - off without Google credentials; nothing to do for a voucher without a card;
    - a ``card.changed`` of an older version is skipped: the newer one's message writes it;
    - applied once per message and pass: a ``PassSend`` row records it, and a repeated
      delivery finds it and stops (the patch is harmless to repeat, the message is not);
    - the class is written first whenever the program's design moved on since last time;
    - a milestone (reward ready, voucher issued) notifies when the budget allows, else it is
      a silent message; a ``quotaExceeded`` answer is retried silent and recorded as such.
      The notification is reserved before Google is called and given back if the call
      fails; a worker killed in between leaves it reserved, and that message unsent;
    - Google down or asking to slow down (5xx, 429, no connection) raises: retried later.
      Any other refusal is logged and not retried (the same call would fail again).
    """
    if not google.enabled():
        return
    card_id = message.payload.get("card_id")
    if card_id is None:
        return
    card = (
        Card.objects.select_related("business", "program", "customer")
        .prefetch_related("program__milestones")
        .filter(pk=card_id)
        .first()
    )
    if card is None:
        return
    if message.topic == Topic.CARD_CHANGED and card.version > message.payload["version"]:
        return
    if message.pk is not None and already_sent(message, card.pk, Wallet.GOOGLE):
        return
    client = google.client()
    try:
        _sync_class(client, card.program)
        client.upsert_object(card)
        notified, why = False, Why.UPDATE
        milestone = milestone_of(message.topic, message.payload)
        if milestone is not None:
            notified, why = _tell(client, card, message, milestone)
    except google.GoogleWalletUnavailable:
        raise
    except google.GoogleWalletError as refused:
        log.warning("Google Wallet refused card %s: %s", card.pk, refused)
        return
    record_send(
        message=message,
        card_id=card.pk,
        wallet=Wallet.GOOGLE,
        notified=notified,
        why=why,
        now=timezone.now(),
    )


def sync_google_offer(message: OutboxMessage) -> None:
    """``voucher.issued`` / ``redeemed`` / ``voided`` / ``expired``: write the voucher's offer
    object (and its class) as the voucher stands now. Silent (no message, no notification:
    the card's loyalty object tells of a new voucher) and harmless to repeat; Google
    unavailable raises to be retried, any other refusal is logged."""
    if not google.enabled():
        return
    voucher_id = message.payload.get("voucher_id")
    if voucher_id is None:
        return
    voucher = (
        Voucher.objects.select_related("business", "program", "card__customer")
        .filter(pk=voucher_id, business_id=message.required_business_id)
        .first()
    )
    if voucher is None:
        return
    try:
        google.client().upsert_offer(voucher)
    except google.GoogleWalletUnavailable:
        raise
    except google.GoogleWalletError as refused:
        log.warning("Google Wallet refused voucher %s: %s", voucher.pk, refused)


def sync_google_program(message: OutboxMessage) -> None:
    """``wallet.passes_changed`` (wallet.changes): a program, business or location change.

    Rewrites the class of each program concerned, then the objects of the cards saved in
    Google Wallet (their hero image follows the design), ``GOOGLE_WALLET_CONCURRENCY``
    patches at a time: thousands of cards one after the other would take Google's round
    trip thousands of times. Patches are silent and harmless to repeat, so a retry after
    Google was unavailable simply writes them again.
    """
    if not google.enabled():
        return
    programs = Program.objects.filter(business_id=message.required_business_id)
    if message.payload.get("program_id") is not None:
        programs = programs.filter(pk=message.payload["program_id"])
    client = google.client()
    try:
        for program in programs.select_related("business"):
            # Always: a business or location change leaves design_version where it was.
            _sync_class(client, program, always=True)
            # The offer class of its vouchers shows its name, colour, logo and terms.
            if Voucher.objects.filter(program=program).exists():
                client.upsert_offer_class(program.business, program)
        if message.payload.get("program_id") is None:
            # A business change: the class of its vouchers without a program too.
            vouchers = Voucher.objects.filter(
                business_id=message.required_business_id, program__isnull=True
            )
            first = vouchers.select_related("business").first()
            if first is not None:
                client.upsert_offer_class(first.business, None)
        saved = (
            Card.objects.filter(program__in=programs, google_install__saved=True)
            .select_related("business", "program", "customer")
            .prefetch_related("program__milestones")
        )
        client.upsert_many(
            "loyaltyObject",
            (
                (google.object_id(card), google.loyalty_object(card))
                for card in saved.iterator(chunk_size=500)
            ),
            concurrency=settings.GOOGLE_WALLET_CONCURRENCY,
        )
    except google.GoogleWalletUnavailable:
        raise
    except google.GoogleWalletError as refused:
        log.warning("Google Wallet refused a program update: %s", refused)


def _sync_class(
    client: google.GoogleWalletClient, program: Program, *, always: bool = False
) -> None:
    """Write the program's class when its design moved on since last written, or ``always``."""
    written = (
        GoogleClassState.objects.filter(program=program)
        .values_list("design_version", flat=True)
        .first()
    )
    if not always and written is not None and written >= program.design_version:
        return
    client.upsert_class(program)
    GoogleClassState.objects.update_or_create(
        program=program,
        defaults={"business_id": program.business_id, "design_version": program.design_version},
    )


def _tell(
    client: google.GoogleWalletClient, card: Card, message: OutboxMessage, milestone: Milestone
) -> tuple[bool, Why]:
    """Add the milestone's message to the object: (whether it notified, why)."""
    header, body = _text(card, milestone)
    message_id = f"stampcard-{message.pk}"
    notify = reserve_notification(
        message=message,
        card_id=card.pk,
        wallet=Wallet.GOOGLE,
        why=milestone.why,
        now=timezone.now(),
    )
    if not notify:
        client.add_message(card, message_id=message_id, header=header, body=body, notify=False)
        return False, Why.OVER_BUDGET
    try:
        try:
            client.add_message(card, message_id=message_id, header=header, body=body, notify=True)
        except google.QuotaExceeded:
            client.add_message(card, message_id=message_id, header=header, body=body, notify=False)
            return False, Why.QUOTA_EXCEEDED
    except google.GoogleWalletError:
        release_notification(message=message, card_id=card.pk, wallet=Wallet.GOOGLE)
        raise
    return True, milestone.why


def _text(card: Card, milestone: Milestone) -> tuple[str, str]:
    language = card.customer.language
    with translation.override(language):
        if milestone.why == Why.REWARD_READY:
            reward = Reward.objects.filter(pk=milestone.object_id).first()
            title = (
                reward.title_in(language)
                if reward is not None
                else card.program.text_in("reward_title", language)
            )
            return _("Reward ready"), _("%(reward)s is waiting for you.") % {"reward": title}
        voucher = Voucher.objects.filter(pk=milestone.object_id).first()
        title = voucher.title if voucher is not None else ""
        return _("New voucher"), title
