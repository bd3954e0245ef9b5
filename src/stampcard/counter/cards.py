"""What a counter screen shows of a card or a voucher, read inside the door's scope.

Contact details are masked for whoever may not see them (``tenancy.permissions``): a cashier
and a scanner device see ``j•••@example.org``, a manager the address.
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils import formats, timezone

from stampcard.dashboard.templatetags.access import email_for, phone_for
from stampcard.loyalty.card_codes import format_card_code
from stampcard.loyalty.models import Card, Reward, RewardStatus, StampEvent, StampEventKind
from stampcard.loyalty.selectors import card_search
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import Voucher

SEARCH_RESULTS = 8
_CARD_FIELDS = (
    "id",
    "code",
    "stamps",
    "customer__name",
    "customer__email",
    "customer__phone",
    "program__name",
    "program__stamps_goal",
    "program__max_stamps_per_visit",
    "program__reward_title",
)


def card_answer(*, actor: Actor, code: str) -> dict[str, Any] | None:
    """The card with this canonical code as the scanner shows it, or None."""
    row = Card.objects.filter(code=code).values(*_CARD_FIELDS).first()
    if row is None:
        return None
    ready = (
        Reward.objects.filter(card_id=row["id"], status=RewardStatus.READY)
        .order_by("id")
        .values("id", "milestone__reward_title")
    )
    # The card's latest ledger row: what the screen saw (``seen_event``), and the stamp
    # that can be undone or that another till just gave, if it is one.
    last = (
        StampEvent.objects.filter(card_id=row["id"])
        .order_by("-id")
        .values(
            "id", "kind", "delta", "actor_kind", "actor_user_id", "actor_device_id", "created_at"
        )
        .first()
    )
    return {
        "code": format_card_code(row["code"]),
        "customer": row["customer__name"],
        "email": email_for(row["customer__email"], actor),
        "phone": phone_for(row["customer__phone"], actor),
        "program": row["program__name"],
        "stamps": row["stamps"],
        "goal": row["program__stamps_goal"],
        "max_per_visit": row["program__max_stamps_per_visit"],
        "rewards_ready": [
            {"id": r["id"], "title": r["milestone__reward_title"] or row["program__reward_title"]}
            for r in ready
        ],
        "last_event": last["id"] if last is not None else 0,
        "last_stamp": _last_stamp(last, actor)
        if last is not None and last["kind"] == StampEventKind.STAMP
        else None,
    }


def _last_stamp(event: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    by_you = (event["actor_kind"], event["actor_user_id"], event["actor_device_id"]) == (
        actor.kind,
        actor.user_id,
        actor.device_id,
    )
    return {
        "event_id": event["id"],
        "added": event["delta"],
        "seconds_ago": max(0, int((timezone.now() - event["created_at"]).total_seconds())),
        "by_you": by_you,
    }


def reward_on_card(reward_id: int, *, code: str) -> bool:
    return Reward.objects.filter(pk=reward_id, card__code=code).exists()


def event_on_card(event_id: int, *, code: str) -> bool:
    return StampEvent.objects.filter(pk=event_id, card__code=code).exists()


def reward_title(reward: Reward) -> str:
    return Reward.objects.select_related("milestone", "card__program").get(pk=reward.pk).title


def voucher_answer(*, actor: Actor, token: str | None, code: str | None) -> dict[str, Any] | None:
    """The voucher a refused redemption was about, to show when and where it was used."""
    vouchers = Voucher.objects.all()
    if token is not None:
        vouchers = vouchers.filter(token=token)
    elif code:
        vouchers = vouchers.filter(code=code).order_by("-id")
    else:
        return None
    voucher = vouchers.select_related("card__customer", "redeemed_at_location").first()
    return None if voucher is None else describe_voucher(voucher, actor=actor)


def describe_voucher(voucher: Voucher, *, actor: Actor) -> dict[str, Any]:
    redeemed_at = voucher.redeemed_at
    where = voucher.redeemed_at_location
    customer = voucher.card.customer if voucher.card is not None else None
    return {
        "title": voucher.title,
        "description": voucher.description,
        "status": voucher.status,
        "customer": customer.name if customer is not None else "",
        "redeemed_at": None
        if redeemed_at is None
        # The door opened the business's time zone.
        else formats.date_format(timezone.localtime(redeemed_at), "SHORT_DATETIME_FORMAT"),
        "redeemed_where": where.name if where is not None else "",
    }


def search_cards(*, business: Business, actor: Actor, query: str) -> list[dict[str, Any]]:
    """Cards for "the customer forgot the phone": by name or code, by the whole e-mail or
    phone (in part too for who may see them), as ``loyalty.selectors.card_search`` says."""
    query = query.replace("\x00", "").strip()[:100]
    if len(query) < 2:
        return []
    rows = (
        Card.objects.filter(card_search(query, actor, business) & Q(business=business))
        .order_by("-last_stamp_at", "-id")
        .values(*_CARD_FIELDS)[:SEARCH_RESULTS]
    )
    return [
        {
            "code": format_card_code(row["code"]),
            "customer": row["customer__name"],
            "email": email_for(row["customer__email"], actor),
            "phone": phone_for(row["customer__phone"], actor),
            "program": row["program__name"],
            "stamps": row["stamps"],
            "goal": row["program__stamps_goal"],
        }
        for row in rows
    ]
