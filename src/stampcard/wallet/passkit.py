"""What the PassKit web service (wallet.md B1) knows about a pass: its token, tags and dates.

- **Serial numbers**: a card's pass has the card code (Crockford symbols, upper case); a
  voucher's coupon pass has ``v`` and the voucher's id, which no card code can be.
- **authenticationToken** is derived, not stored: a SHA-256 of the card's (voucher's) id and
  its own random token, which never changes. Apple lets an update change anything but the
  serial number and this token, so it must stay the same for the pass's whole life: it does
  not depend on ``SECRET_KEY``, whose rotation would otherwise lock every installed pass out
  of its updates. Knowing it takes the card's token, which is already the key to its web card.
- **The update tag** is the card's ``updated_at`` in whole epoch microseconds (exact: the
  database compares the moment it stands for), compared strictly greater. ``updated_at``
  moves with every counter change (loyalty.services bump it with ``version``, which is per
  card and so cannot order cards against each other). The pitfall: a change is dated before
  it commits, so a tag handed out at that moment could pass over it. Tags therefore never
  reach into the last ``SETTLE`` seconds; a pass changed that recently is listed again on
  the next call, which costs the device one download (or a 304), never an update.
  A voucher's pass is dated by its registrations' ``pass_changed_at``, which
  ``wallet.changes`` moves when the voucher is redeemed or voided.
- **Last-Modified** has one-second resolution: a copy is dated after the change only once
  the pass has been still for ``SETTLE`` seconds, so a change within the same second can never
  hide behind a 304 (it is answered 200 instead). A voucher's pass has one only while a
  registration keeps its date (``changed_at``).
- **The door's read** (``authenticated_pass``) is one statement of the few columns the web
  service needs; the rest of the card or voucher is deferred, and ``full_pass`` reads it
  whole when its pass has to be built.
"""

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from django.db import connections, models
from django.db.models import Max
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card
from stampcard.loyalty.services.card_state import hot_path_cursor
from stampcard.vouchers.models import Voucher
from stampcard.wallet.models import PassRegistration

_SALT = "stampcard.wallet.passkit.authentication_token"
SETTLE = timedelta(seconds=2)
_MAX_TOKEN = 200
_VOUCHER_SERIAL = re.compile(r"v([1-9][0-9]{0,14})")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_LAST_TAG = (datetime(9999, 1, 1, tzinfo=UTC) - EPOCH) // MICROSECOND

# The door's card carries these two values of its program and customer (``_LOOKUPS``).
DOOR_DESIGN_VERSION = "door_design_version"
DOOR_LANGUAGE = "door_language"

# What a pass is a view of.
PassOwner = Card | Voucher
Owner = TypeVar("Owner", Card, Voucher)


def authentication_token(owner: PassOwner) -> str:
    """The pass's ``authenticationToken``: 64 hex characters (Apple asks for 16 or more)."""
    kind = "voucher" if isinstance(owner, Voucher) else "card"
    return hashlib.sha256(f"{_SALT}:{kind}:{owner.pk}:{owner.token}".encode()).hexdigest()


def token_matches(owner: PassOwner, presented: str) -> bool:
    return constant_time_compare(authentication_token(owner), presented)


def voucher_serial(voucher: Voucher) -> str:
    return f"v{voucher.pk}"


def presented_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: ApplePass <token>``, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "applepass" or not token or len(token) > _MAX_TOKEN:
        return None
    return token


def authenticated_pass(serial_number: str, authorization: str | None) -> PassOwner | None:
    """The card or voucher whose pass ``serial_number`` names, if the request carries its
    token.

    The serial names a pass across businesses, so it is looked up unscoped; the caller opens
    the scope of its business. An unknown serial is refused like a wrong token, so the
    endpoints do not tell which card codes or vouchers exist.

    One statement reads only what the web service needs of the pass (``_LOOKUPS``): its
    token, its dates, what the cached card pass is keyed by, and its business's time zone.
    The other fields are deferred: ``full_pass`` loads the whole pass to build it.
    """
    token = presented_token(authorization)
    if token is None:
        return None
    voucher_id = _VOUCHER_SERIAL.fullmatch(serial_number)
    owner = (
        _read(Voucher, int(voucher_id.group(1)))
        if voucher_id is not None
        else _read(Card, serial_number)
    )
    if owner is None:
        # Same work as for a known pass, so the time taken does not tell either.
        token_matches(Card(pk=0, token=""), token)
        return None
    return owner if token_matches(owner, token) else None


def full_pass(owner: Owner) -> Owner:
    """``owner`` read whole, with what its pass shows of its relations, to build its pass."""
    with scopes_disabled():
        if isinstance(owner, Voucher):
            related = ("business", "program", "card__customer")
        else:
            related = ("business", "program", "customer")
        return type(owner).objects.select_related(*related).get(pk=owner.pk)


@dataclass(frozen=True)
class _Lookup:
    """What authenticated_pass reads of a model, in one statement."""

    key: str  # the field a serial names
    fields: tuple[str, ...]  # the model's own, in the model's field order (Model.from_db)
    related: dict[str, tuple[str, ...]]  # the related objects built, by foreign key
    # Related values kept as plain attributes of the owner (attribute: (foreign key, field)):
    # the cached pass's key needs them, and building whole objects for them would cost more.
    values: dict[str, tuple[str, str]] = field(default_factory=dict)


_LOOKUPS: dict[type[Card | Voucher], _Lookup] = {
    Card: _Lookup(
        key="code",
        fields=("id", "business_id", "program_id", "customer_id", "token", "version", "updated_at"),
        related={"business": ("id", "time_zone")},
        values={
            DOOR_DESIGN_VERSION: ("program", "design_version"),
            DOOR_LANGUAGE: ("customer", "language"),
        },
    ),
    Voucher: _Lookup(
        key="id",
        fields=("id", "business_id", "token", "created_at", "redeemed_at"),
        related={"business": ("id", "time_zone")},
    ),
}


@dataclass(frozen=True)
class _Statement:
    sql: str
    # Per object built (None: the model itself, else the foreign key to it), its fields in
    # column order; then the attributes of ``values``, in column order.
    objects: list[tuple[Any, list[str]]]
    attributes: list[str]


@functools.cache
def _lookup(model: type[Card | Voucher]) -> _Statement:
    """The SQL of ``_LOOKUPS[model]`` and how its row is read."""
    lookup = _LOOKUPS[model]
    names, columns = _columns(model, lookup.fields, "o")
    objects: list[tuple[Any, list[str]]] = [(None, names)]
    joins = []
    aliases: dict[str, str] = {}

    def join(relation: str) -> tuple[Any, str]:
        foreign_key = cast(models.ForeignKey[Any, Any], model._meta.get_field(relation))
        target = foreign_key.related_model
        if relation not in aliases:
            alias = aliases[relation] = f"r{len(aliases)}"
            joins.append(
                f" JOIN {target._meta.db_table} {alias} ON {alias}.{target._meta.pk.column}"
                f" = o.{foreign_key.column}"
            )
        return foreign_key, aliases[relation]

    for relation, wanted in lookup.related.items():
        foreign_key, alias = join(relation)
        names, more = _columns(foreign_key.related_model, wanted, alias)
        objects.append((foreign_key, names))
        columns += more
    for relation, wanted_field in lookup.values.values():
        foreign_key, alias = join(relation)
        columns.append(f"{alias}.{foreign_key.related_model._meta.get_field(wanted_field).column}")
    (column,) = _columns(model, (lookup.key,), "o")[1]
    sql = (
        f"SELECT {', '.join(columns)} FROM {model._meta.db_table} o{''.join(joins)}"  # noqa: S608
        f" WHERE {column} = %s"
    )
    return _Statement(sql, objects, list(lookup.values))


def _columns(model: Any, wanted: tuple[str, ...], alias: str) -> tuple[list[str], list[str]]:
    """The attribute names of ``wanted`` in the model's field order, and their columns."""
    fields = [f for f in model._meta.concrete_fields if f.attname in wanted]
    return [f.attname for f in fields], [f"{alias}.{f.column}" for f in fields]


def _read(model: type[Card | Voucher], key: str | int) -> PassOwner | None:
    statement = _lookup(model)
    db = connections[model.objects.db]
    with hot_path_cursor(db) as cursor:
        cursor.execute(statement.sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    # SQLite hands back naive datetimes.
    values = [_aware(value) if isinstance(value, datetime) else value for value in row]
    start = 0
    owner: Any = None
    for foreign_key, names in statement.objects:
        target = model if foreign_key is None else foreign_key.related_model
        instance = target.from_db(db.alias, names, values[start : start + len(names)])
        start += len(names)
        if foreign_key is None:
            owner = instance
        else:
            foreign_key.set_cached_value(owner, instance)
    for attribute, value in zip(statement.attributes, values[start:], strict=True):
        setattr(owner, attribute, value)
    return cast(PassOwner, owner)


def door_pass_key(card: Card) -> tuple[int, str]:
    """What the cached pass of a card the door read is keyed by beyond the card itself: its
    program's design version and its customer's language (read as plain values)."""
    return getattr(card, DOOR_DESIGN_VERSION), getattr(card, DOOR_LANGUAGE)


def authenticated_card(serial_number: str, authorization: str | None) -> Card | None:
    """``authenticated_pass`` for a card's pass only."""
    owner = authenticated_pass(serial_number, authorization)
    return owner if isinstance(owner, Card) else None


def tag_of(moment: datetime) -> int:
    """``moment`` in whole epoch microseconds, exactly (no float rounding): ``moment_of``
    turns it back into the same moment, so a database can compare it."""
    return (moment - EPOCH) // MICROSECOND


def moment_of(tag: int) -> datetime:
    return EPOCH + tag * MICROSECOND


def parse_tag(tag: str | None) -> int | None:
    """A tag we handed out; anything else counts as none, so the device gets every pass."""
    if not tag or len(tag) > 20 or not tag.isdigit():
        return None
    value = int(tag)
    return value if value <= _LAST_TAG else None


_UPDATED_SQL = (
    "SELECT c.code, r.voucher_id, COALESCE(c.updated_at, r.pass_changed_at, v.created_at)"  # noqa: S608
    f" FROM {PassRegistration._meta.db_table} r"
    f" LEFT JOIN {Card._meta.db_table} c ON c.id = r.card_id"
    f" LEFT JOIN {Voucher._meta.db_table} v ON v.id = r.voucher_id"
    " WHERE r.device_library_id = %s AND r.pass_type_id = %s"
    " AND COALESCE(c.updated_at, r.pass_changed_at, v.created_at) > %s"
)


def updated_passes(
    device_id: str, pass_type_id: str, since: int | None
) -> tuple[list[str], datetime] | None:
    """The serial numbers of the passes the device registered that changed after the tag
    ``since`` (all of them without one), and when the last of them changed; None if none.

    One statement, across businesses (the device's passes may belong to several), read
    straight from the cursor: a card's pass is dated by the card's ``updated_at``, a
    voucher's by its registration's ``pass_changed_at`` (else the voucher's creation).
    """
    db = connections[PassRegistration.objects.db]
    after = db.ops.adapt_datetimefield_value(moment_of(since or 0))
    with hot_path_cursor(db) as cursor:
        cursor.execute(_UPDATED_SQL, [device_id, pass_type_id, after])
        rows = cursor.fetchall()
    if not rows:
        return None
    serials = sorted(
        {code if code is not None else f"v{voucher_id}" for code, voucher_id, _ in rows}
    )
    return serials, max(_aware(moment) for _code, _voucher_id, moment in rows)


def _aware(moment: datetime | str) -> datetime:
    """A moment as read from the database: SQLite hands back naive UTC, or text for an
    expression's value."""
    if isinstance(moment, str):
        parsed = parse_datetime(moment)
        if parsed is None:
            raise ValueError(f"not a moment: {moment!r}")
        moment = parsed
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def changed_at(owner: PassOwner) -> datetime | None:
    """When the pass last changed, if that is known. A card's pass changes with the card's
    ``updated_at`` (loyalty.services move it with every change, ``wallet.changes`` with
    every program, business or shop change).

    A voucher's coupon pass: ``wallet.changes``
    dates a voucher's pass in its registrations (``pass_changed_at``, set when one is made,
    moved when the voucher is redeemed, voided or expires, or its program, business or shops
    change). Without a registration nothing keeps that date, so it is not known: the pass is
    then always sent, never a 304."""
    if isinstance(owner, Card):
        return owner.updated_at
    voucher = owner
    dated = PassRegistration.objects.filter(voucher=voucher).aggregate(
        changed=Max("pass_changed_at")
    )
    changed: datetime | None = dated["changed"]
    if changed is None:
        return None
    return max(changed, voucher.created_at, voucher.redeemed_at or voucher.created_at)


def next_tag(latest: datetime, previous: int | None) -> int:
    """The ``lastUpdated`` to hand out after passes changed up to ``latest``: never behind
    ``previous``, never inside ``SETTLE``."""
    settled = tag_of(timezone.now() - SETTLE)
    return max(min(tag_of(latest), settled), previous or 0)


def last_modified(changed: datetime) -> int:
    """The ``Last-Modified`` of a pass last changed at ``changed``, in whole epoch seconds."""
    second = int(changed.timestamp())
    if second + 1 <= (timezone.now() - SETTLE).timestamp():
        return second + 1
    return second


def unchanged_since(changed: datetime, if_modified_since: int | None) -> bool:
    """Whether a copy dated ``if_modified_since`` of a pass last changed at ``changed`` is
    current: dated strictly after the change."""
    return if_modified_since is not None and if_modified_since > changed.timestamp()
