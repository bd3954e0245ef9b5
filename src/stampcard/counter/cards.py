"""What a counter screen shows of a card or a voucher, read inside the door's scope.

Contact details are masked for whoever may not see them (``tenancy.permissions``): a cashier
and a scanner device see ``j•••@example.org``, a manager the address.
"""

import json
from datetime import UTC, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext

from stampcard.dashboard.templatetags.access import email_for, phone_for
from stampcard.hot_path import hot_path_cursor
from stampcard.loyalty.card_codes import format_card_code
from stampcard.loyalty.models import (
    Card,
    Customer,
    Milestone,
    Program,
    Reward,
    RewardStatus,
    StampEvent,
    StampEventKind,
    translated_text,
)
from stampcard.loyalty.selectors import card_search
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import Voucher, VoucherStatus
from stampcard.vouchers.services.redeeming import redeemable_methods

SEARCH_RESULTS = 8
# At most this many of a card's vouchers are offered at the counter, the soonest to end first.
CARD_VOUCHERS = 10
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
_MAX_CODE_LENGTH: int = Card._meta.get_field("code").max_length or 16
_CARD, _CUSTOMER, _PROGRAM = Card._meta.db_table, Customer._meta.db_table, Program._meta.db_table
_EVENT, _REWARD = StampEvent._meta.db_table, Reward._meta.db_table
_MILESTONE = Milestone._meta.db_table
_VOUCHER = Voucher._meta.db_table
# What a scan shows of a card, in one statement (``card_answer``). The business is named on the
# card; every other row is reached through that card's own keys. (Naming the business on them
# too would let the planner walk the business's whole (business, …) indexes instead.)
_CARD_ANSWER = (
    "SELECT c.id, c.code, c.stamps, cu.name, cu.email, cu.phone, p.name, p.stamps_goal,"  # noqa: S608
    " p.max_stamps_per_visit, p.reward_title,"
    " e.id, e.kind, e.delta, e.actor_kind, e.actor_user_id, e.actor_device_id, e.created_at,"
    " r.id, m.reward_title,"
    # The reward titles are shown in the customer's language (``translated_text``).
    " cu.language, p.translations, m.translations,"
    # Whether the card has an active voucher at all: only then are they read (``_vouchers``).
    f" EXISTS (SELECT 1 FROM {_VOUCHER} v WHERE v.card_id = c.id"
    f"  AND v.status = '{VoucherStatus.ACTIVE.value}')"
    f" FROM {_CARD} c"
    f" JOIN {_CUSTOMER} cu ON cu.id = c.customer_id"
    f" JOIN {_PROGRAM} p ON p.id = c.program_id"
    # The latest ledger row, found once by the card's code (not once per row), then by its id.
    f" LEFT JOIN {_EVENT} e ON e.id = ("
    f"  SELECT max(l.id) FROM {_EVENT} l JOIN {_CARD} lc ON lc.id = l.card_id"
    "   WHERE lc.code = %s AND lc.business_id = %s) AND e.card_id = c.id"
    f" LEFT JOIN {_REWARD} r ON r.card_id = c.id AND r.status = '{RewardStatus.READY.value}'"
    f" LEFT JOIN {_MILESTONE} m ON m.id = r.milestone_id"
    " WHERE c.code = %s AND c.business_id = %s"
    " ORDER BY r.id"
)
# The card's vouchers redeemable now by the given methods (``%s`` slots filled per call).
_CARD_VOUCHERS = (
    f"SELECT v.id, v.title, v.valid_from, v.valid_until FROM {_VOUCHER} v"  # noqa: S608
    f" WHERE v.card_id = %s AND v.business_id = %s AND v.status = '{VoucherStatus.ACTIVE.value}'"
    " AND v.valid_from <= %s AND (v.valid_until IS NULL OR v.valid_until > %s)"
    " AND v.redemption_method IN ({methods})"
    f" ORDER BY v.valid_until IS NULL, v.valid_until, v.id LIMIT {CARD_VOUCHERS}"
)


def card_answer(*, business_id: int, actor: Actor, code: str) -> dict[str, Any] | None:
    """The card of ``business_id`` with this canonical code as the scanner shows it, or None.

    One statement, written out (it runs on every scan): the card with its customer and
    program, its latest ledger row and its ready rewards, one row per ready reward, and
    whether it has an active voucher. Only then, and for an actor who may redeem some, a
    second one reads the vouchers this actor may redeem now (``vouchers``, at most
    CARD_VOUCHERS): a Staff-Scan voucher has no code on the web card to scan. The scope does
    not guard raw SQL, so the business is in the statements themselves: another business's
    card is not found, nor its ledger or its vouchers.
    """
    if not code or len(code) > _MAX_CODE_LENGTH or "\x00" in code:
        return None
    with hot_path_cursor() as cursor:
        cursor.execute(_CARD_ANSWER, [code, business_id, code, business_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    (card_id, card_code, stamps, name, email, phone, program, goal, per_visit, title,
     event_id, kind, delta, actor_kind, user_id, device_id, created_at, _r, _t,
     language, program_texts, _m, has_vouchers) = rows[0]  # fmt: skip
    last: dict[str, Any] | None = None
    if event_id is not None and kind == StampEventKind.STAMP:
        by_you = (actor_kind, user_id, device_id) == (actor.kind, actor.user_id, actor.device_id)
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
        last = {
            "event_id": event_id,
            "added": delta,
            "seconds_ago": max(0, int((timezone.now() - created_at).total_seconds())),
            "by_you": by_you,
        }
    return {
        "code": format_card_code(card_code),
        "customer": name,
        "email": email_for(email, actor),
        "phone": phone_for(phone, actor),
        "program": program,
        "stamps": stamps,
        "goal": goal,
        "max_per_visit": per_visit,
        # The goal's or a milestone's, in the customer's language, else the default one's.
        "rewards_ready": [
            {
                "id": row[17],
                "title": translated_text(_json(row[21]), "reward_title", language, row[18])
                if row[18] is not None
                else translated_text(_json(program_texts), "reward_title", language, title),
            }
            for row in rows
            if row[17] is not None
        ],
        # The card's latest ledger row: what the screen saw (``seen_event``), and the stamp
        # that can be undone or that another till just gave, if it is one.
        "last_event": event_id or 0,
        "last_stamp": last,
        "vouchers": _vouchers(card_id, business_id=business_id, actor=actor)
        if has_vouchers
        else [],
    }


def _vouchers(card_id: int, *, business_id: int, actor: Actor) -> list[dict[str, Any]]:
    """The card's vouchers ``actor`` may redeem now, soonest to end first."""
    methods = redeemable_methods(business=business_id, actor=actor)
    if not methods:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    now = db.ops.adapt_datetimefield_value(timezone.now())
    statement = _CARD_VOUCHERS.format(methods=", ".join(["%s"] * len(methods)))
    with hot_path_cursor(db) as cursor:
        cursor.execute(statement, [card_id, business_id, now, now, *methods])
        rows = cursor.fetchall()
    return [
        {
            "id": voucher_id,
            "title": voucher_title,
            "validity": _validity(_aware(valid_from), _aware(valid_until)),
            "valid_until": _local(_aware(valid_until)),
        }
        for voucher_id, voucher_title, valid_from, valid_until in rows
    ]


def _json(value: Any) -> Any:
    """A JSON column as a raw cursor hands it back: text (PostgreSQL as Django sets it up,
    SQLite) or already parsed."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _aware(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return when


def reward_on_card(reward_id: int, *, code: str) -> bool:
    return Reward.objects.filter(pk=reward_id, card__code=code).exists()


def voucher_token_on_card(voucher_id: int | None, *, code: str) -> str | None:
    """The token of the voucher ``voucher_id`` bound to the card ``code``, else None."""
    if voucher_id is None:
        return None
    token: str | None = (
        Voucher.objects.filter(pk=voucher_id, card__code=code)
        .values_list("token", flat=True)
        .first()
    )
    return token


def event_on_card(event_id: int, *, code: str) -> bool:
    return StampEvent.objects.filter(pk=event_id, card__code=code).exists()


def reward_title(reward: Reward) -> str:
    """The reward's title in its customer's language, else the default language's."""
    found = Reward.objects.select_related("milestone", "card__program", "card__customer").get(
        pk=reward.pk
    )
    return found.title_in(found.card.customer.language)


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


def _local(when: datetime | None) -> str | None:
    # The door opened the business's time zone.
    if when is None:
        return None
    return formats.date_format(timezone.localtime(when), "SHORT_DATETIME_FORMAT")


def validity(voucher: Voucher) -> str:
    """The voucher's validity in a sentence, in the business's time zone."""
    return _validity(voucher.valid_from, voucher.valid_until)


def _validity(valid_from: datetime | None, valid_until: datetime | None) -> str:
    start, end = _local(valid_from), _local(valid_until)
    if valid_from is not None and valid_from > timezone.now():
        if end is None:
            return gettext("Valid from %(start)s.") % {"start": start}
        return gettext("Valid from %(start)s until %(end)s.") % {"start": start, "end": end}
    if end is None:
        return gettext("Valid with no end date.")
    return gettext("Valid until %(end)s.") % {"end": end}


def describe_voucher(voucher: Voucher, *, actor: Actor) -> dict[str, Any]:
    redeemed_at = voucher.redeemed_at
    where = voucher.redeemed_at_location
    customer = voucher.card.customer if voucher.card is not None else None
    return {
        "title": voucher.title,
        "description": voucher.description,
        "status": voucher.status,
        "customer": customer.name if customer is not None else "",
        "redeemed_at": _local(redeemed_at),
        "redeemed_where": where.name if where is not None else "",
        "valid_from": _local(voucher.valid_from),
        "valid_until": _local(voucher.valid_until),
        "validity": validity(voucher),
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
