"""A card handed over at the counter to a customer who lost its link.

A customer who joined with a phone number only cannot get their card back by e-mail, and
typing a phone number proves nothing. At the counter, staff who see the person find the card
("customer forgot the phone") and show a QR on their screen; the customer scans it with their
own phone, which opens the web card and remembers it, as the join page does.

The QR is not the card's permanent address: it is a link of its own, random, kept only as a
hash, that works for HAND_OVER_MINUTES and opens the card once. Only a member who may see
customers' contact details (``VIEW_CONTACT_DETAILS``: managers and owners) shows one, and it
opens only while they still may: a member removed or demoted meanwhile leaves nothing behind
that works. Every hand-over is in the audit trail (who, which card).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from stampcard import tokens
from stampcard.audit.services import record
from stampcard.customer.models import HandOverLink
from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import Card, Program
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, allows, require

HAND_OVER_MINUTES = 5


@dataclass(frozen=True, slots=True)
class HandOver:
    """A link just made: its path (shown once, as a QR) and when it stops working."""

    card: Card
    path: str
    expires_at: datetime


def hand_over_path(program: Program, token: str) -> str:
    return reverse(
        "customer:hand_over",
        kwargs={"slug": program.business.slug, "program_id": program.pk, "token": token},
    )


def start_hand_over(*, business: Business, actor: Actor, card_code: str) -> HandOver:
    """A new one-time link to the card ``card_code`` of ``business``, made by ``actor``.

    Requires ``VIEW_CONTACT_DETAILS`` (handing a card over is handing over its customer's
    card, stamps and vouchers). Refuses an unknown card (``CardNotFound``). Writes the link
    (its token's hash only) and an audit entry ``card.handed_over`` in one transaction.
    """
    require(actor, Permission.VIEW_CONTACT_DETAILS, business=business)
    code = normalize_card_code(card_code)
    card = (
        Card.objects.select_related("program__business", "customer")
        .filter(business=business, code=code)
        .first()
        if code is not None
        else None
    )
    if card is None:
        raise loyalty_errors.CardNotFound()
    token = tokens.new_secret()
    now = timezone.now()
    expires_at = now + timedelta(minutes=HAND_OVER_MINUTES)
    with transaction.atomic():
        link = HandOverLink.objects.create(
            business=business,
            card=card,
            created_by_id=actor.user_id,
            created_by_device_id=actor.device_id,
            token_hash=tokens.hash_secret(token),
            created_at=now,
            expires_at=expires_at,
        )
        record(
            business=business,
            actor=actor,
            action="card.handed_over",
            target=card,
            link=link.pk,
            customer=card.customer_id,
            expires_at=expires_at.isoformat(),
        )
    return HandOver(card=card, path=hand_over_path(card.program, token), expires_at=expires_at)


def open_hand_over(*, program: Program, token: str) -> Card | None:
    """The card a hand-over link opens, using the link up; None when it is unknown, spent,
    expired, another program's, or its maker may no longer see customers' details.

    Locks the link's row, so of two phones opening it at once only one gets the card.
    """
    if not token or len(token) > 100:
        return None
    with transaction.atomic():
        link = (
            HandOverLink.objects.select_for_update()
            .filter(card__program=program, token_hash=tokens.hash_secret(token))
            .first()
        )
        if link is None or link.used_at is not None or link.expires_at <= timezone.now():
            return None
        if not _maker_still_may(link):
            return None
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        return Card.objects.select_related("program__business").get(pk=link.card_id)


def _maker_still_may(link: HandOverLink) -> bool:
    if link.created_by_id is None:
        return False
    maker = Actor(kind=ActorKind.STAFF, user_id=link.created_by_id)
    return allows(maker, Permission.VIEW_CONTACT_DETAILS, business=link.business_id)
