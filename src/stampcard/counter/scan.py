"""The scan endpoint: one request/response behind every counter screen.

The staff scanner (``/device/scan`` for a paired device, ``POST /b/<slug>/scanner/`` for a
member logged in), and later the kiosk, Autopilot, the offline queue and the REST API, send
what they read or what was typed, and show what comes back. The door decided the business
and the actor; this module works out what the code is and calls the one service for it.

Request: ``POST``, ``Content-Type: application/json``, at most 4 KiB::

    {
      "code": "7K4Q-9XW2H",           # as scanned or typed: a card code, a voucher's QR
                                      # (its token, or a URL ending in it) or a redeem code
      "nonce": "3f1c…",               # chosen by the client, 8 to 100 of [A-Za-z0-9_.:-]; one
                                      # per scan: a retry sends the same nonce
      "scanned_at": "2026-12-01T09:30:12.345+07:00",   # when it was scanned (ISO 8601)
      "action": "scan",               # optional, see below
      "count": 2,                     # "stamp": how many (default 1; program's visit max)
      "reward_id": 17,                # "hand_over": the ready reward to hand over
      "voucher_id": 41,               # "redeem": the card's voucher to redeem
      "event_id": 8812,               # "undo": the stamp to take back
      "seen_event": 8810,             # "stamp": the card's last ledger row this screen saw
      "location": 3,                  # members only: where they stand (a device has its own)
      "card": "7K4Q-9XW2H"            # "scan", "claim": the card on screen, for a claim code
    }

Actions:

- ``scan`` (default): a card is *shown* (nothing is written: the screen then offers the stamp);
  a voucher or a redeem code is *redeemed* (showing it at the counter is the act of redeeming),
  except at a kiosk, where it is only looked at (as ``look``): there the customer redeems it
  with the press-and-hold, which sends ``redeem``. Never on sight.
- ``redeem``: without ``voucher_id``, the voucher or redeem code ``code`` is redeemed (a card
  code is none: ``unknown_code``); with ``voucher_id``, the voucher ``voucher_id`` of the card
  ``code`` (one of the card answer's ``vouchers``) is redeemed, once per nonce: a Staff-Scan
  voucher has no code on the web card to scan.
- ``stamp``: a card gets ``count`` stamps (``add_stamps``, source staff or kiosk/Autopilot by
  the device's kind); a voucher or a redeem code is redeemed as with ``scan``. Kiosk,
  Autopilot and the offline queue send this. With ``seen_event`` the stamp is refused as
  ``already_stamped`` if someone else stamped the card since (within RECENT): two devices
  scanning one card at once stamp it once.
- ``hand_over``: hand over the card's ready reward ``reward_id`` (``hand_over_reward``).
- ``undo``: take back the stamp ``event_id`` that this actor just gave (``undo_stamp``).
- ``look``: a voucher or a redeem code is only *looked at* (``look_at_voucher``): its title,
  description and validity, and whether this actor could redeem it now (outcome ``looked``)
  or the refusal redeeming it would meet (with the voucher, when this actor may redeem it).
  Nothing is written, not even the nonce: the kiosk shows a Self-Redeem voucher this way
  before it asks for the press-and-hold that redeems it (``redeem``). A card code is no
  voucher here (``unknown_code``, or ``voucher_not_found`` when it could be a redeem code).
- ``claim``: the claim code or receipt code ``code`` (a claim page's link as its QR carries
  it, a claim code typed, an ``R1``/``R2`` receipt code) is claimed onto the card on screen
  (``card``) through the claim page's own service (``vouchers.services.claiming``), once per
  nonce. Scanned with ``scan`` or ``stamp``, such a code is only shown (outcome ``shown``,
  kind ``claim_code``, ``claim``: what it gives), with the card on screen to claim it onto,
  or refused as ``card_first`` without one. A kiosk and an Autopilot station never claim:
  they answer ``claim_on_phone`` (the customer claims it on their phone).

Response: JSON, HTTP 200 when done, otherwise the refusal's status (400, 403, 404, 409, 422,
429)::

    {
      "ok": true,
      "outcome": "shown" | "stamped" | "redeemed" | "handed_over" | "undone" | "looked"
                 | "claimed" | "refused",
      "kind": "card" | "voucher" | "redeem_code" | "claim_code" | null,
      "refusal": null | "cooldown" | "daily_limit" | "already_used" | …,   # stable codes
      "message": "2 stamps added.",   # in the user's language; show it as it is
      "card": {"code", "customer", "email", "phone", "program", "stamps", "goal",
               "max_per_visit", "rewards_ready": [{"id", "title"}],
               "vouchers": [{"id", "title", "validity", "valid_until"}],   # active, that
                                      # this actor may redeem now; at most 10
               "last_event": 8812,    # the card's latest ledger row (0: none); send it back
                                      # as "seen_event" with the stamp
               "last_stamp": {"event_id", "added", "seconds_ago", "by_you"} | null} | null,
                                      # that row, when it is a stamp
      "voucher": {"title", "description", "status", "customer", "redeemed_at",
                  "redeemed_where", "valid_from", "valid_until", "validity"} | null,
      "nonce": "3f1c…", "scanned_at": "…"
    }

Replays: every write runs in one transaction with its nonce as the idempotency key
(``stampcard.idempotency``, per actor), and the whole answer is kept with it. The same nonce
again, also while the first is still running, is answered with the first answer word for
word (and ``Idempotent-Replayed: true``) and changes nothing; the same nonce with another
request is refused (``idempotency_key_reused``). A refused request keeps nothing: its retry
is judged afresh. ``scanned_at`` bounds an offline queue: a scan older than MAX_AGE or later
than the server's clock plus CLOCK_SKEW is refused; the ledger keeps the server's time, as
the rules (cooldown, per-day maximum) are judged now.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, ngettext
from django_scopes import scopes_disabled

from stampcard.counter import cards, errors
from stampcard.hot_path import hot_path_atomic, hot_path_cursor
from stampcard.idempotency.services import (
    AlreadyDone,
    IdempotentRequest,
    claim_key,
    keep_outcome,
)
from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.links import claim_start_url, read_claim_link
from stampcard.loyalty.models import Card, StampEvent, StampEventKind, StampSource
from stampcard.loyalty.services import add_stamps, hand_over_reward
from stampcard.loyalty.services.corrections import undo_stamp
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business, DeviceKind
from stampcard.tenancy.permissions import Permission, allows, require
from stampcard.vouchers import errors as voucher_errors
from stampcard.vouchers.models import ClaimCode, Voucher
from stampcard.vouchers.receipts import is_receipt_code
from stampcard.vouchers.redeem_codes import POOL_CODE_PATTERN
from stampcard.vouchers.services import look_at_voucher, redeem_voucher
from stampcard.vouchers.services.claiming import (
    Claimable,
    claim_code_shape,
    claim_printed_code,
    find_claimable,
)
from stampcard.vouchers.services.redeeming import may_redeem_any, require_any_redeem

MAX_BODY = 4096
MAX_AGE = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=5)
# A stamp by someone else this recent is "already handled", not something to do again.
RECENT = timedelta(seconds=30)
ACTIONS = ("scan", "stamp", "redeem", "hand_over", "undo", "look", "claim")
_NONCE = re.compile(r"\A[A-Za-z0-9_.:-]{8,100}\Z")
_VOUCHER_TOKEN = re.compile(r"\A[A-Za-z0-9_-]{32,100}\Z")
_MAX_INT = 2**63 - 1
# Refusals of a voucher the actor may redeem, whose screen shows when (and where) it was used.
_SAYS_WHEN = (
    voucher_errors.VoucherAlreadyRedeemed,
    voucher_errors.VoucherExpired,
    voucher_errors.VoucherNotYetValid,
    voucher_errors.VoucherVoid,
)
# ``_refuse_if_stamped_since``: the card of the business, locked (SQLite has no row locks; its
# IMMEDIATE transactions give the same exclusion), then, in a statement of its own so that it
# sees what committed while it waited for the lock, the newest stamp after the ledger row
# ``seen_event`` within RECENT.
_CARD = f"SELECT c.id, c.last_stamp_at FROM {Card._meta.db_table} c"  # noqa: S608
_LOCK_CARD = _CARD + " WHERE c.code = %s AND c.business_id = %s FOR UPDATE OF c"
_READ_CARD = _CARD + " WHERE c.code = %s AND c.business_id = %s"
_STAMPED_SINCE = (
    f"SELECT e.created_at FROM {StampEvent._meta.db_table} e"  # noqa: S608
    f" WHERE e.card_id = %s AND e.business_id = %s AND e.kind = '{StampEventKind.STAMP.value}'"
    " AND e.id > %s AND e.created_at >= %s ORDER BY e.id DESC LIMIT 1"
)
# Which ledger source a stamp comes from, by who gives it.
_DEVICE_SOURCE = {
    DeviceKind.SCANNER: StampSource.STAFF,
    DeviceKind.KIOSK: StampSource.KIOSK,
    DeviceKind.AUTOPILOT: StampSource.AUTOPILOT,
}


@dataclass(frozen=True, slots=True)
class Scan:
    code: str
    nonce: str
    scanned_at: datetime
    action: str = "scan"
    count: int | None = None
    reward_id: int | None = None
    event_id: int | None = None
    seen_event: int | None = None
    location: int | None = None
    card: str | None = None
    voucher_id: int | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False
    # ``body`` as JSON, when it was already encoded (kept under the nonce): the response
    # sends these very bytes instead of encoding it again.
    encoded: str | None = None


def parse_scan(raw: bytes, *, now: datetime | None = None) -> Scan:
    """The scan a request body describes; refuses malformed ones (``InvalidScan``) and scans
    outside the accepted time (``ScanTooOld``, ``ScanInFuture``)."""
    if len(raw) > MAX_BODY:
        raise errors.InvalidScan()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidScan() from None
    if not isinstance(data, dict):
        raise errors.InvalidScan()
    code, nonce, when = data.get("code"), data.get("nonce"), data.get("scanned_at")
    action = data.get("action", "scan")
    if not isinstance(code, str) or not 0 < len(code.strip()) <= 200 or "\x00" in code:
        raise errors.InvalidScan()
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise errors.InvalidScan()
    if action not in ACTIONS:
        raise errors.InvalidScan()
    scanned_at = parse_datetime(when) if isinstance(when, str) and len(when) < 40 else None
    if scanned_at is None or scanned_at.tzinfo is None:
        raise errors.InvalidScan()
    now = now or timezone.now()
    if scanned_at > now + CLOCK_SKEW:
        raise errors.ScanInFuture()
    if scanned_at < now - MAX_AGE:
        raise errors.ScanTooOld()
    return Scan(
        code=code.strip(),
        nonce=nonce,
        scanned_at=scanned_at,
        action=action,
        count=_optional_int(data, "count"),
        reward_id=_optional_int(data, "reward_id"),
        event_id=_optional_int(data, "event_id"),
        seen_event=_optional_int(data, "seen_event", least=0),
        location=_optional_int(data, "location"),
        card=_card_on_screen(data),
        voucher_id=_optional_int(data, "voucher_id"),
    )


def _card_on_screen(data: dict[str, Any]) -> str | None:
    """The ``card`` field: the code of the card on screen, canonical (None: none is)."""
    value = data.get("card")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise errors.InvalidScan()
    return normalize_card_code(value)


def _optional_int(data: dict[str, Any], name: str, *, least: int = 1) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= _MAX_INT:
        raise errors.InvalidScan()
    return value


def answer_scan(*, business: Business, actor: Actor, scan: Scan) -> Answer:
    """Carry out ``scan`` for ``actor`` in ``business`` and say what the screen shows.

    Never raises a refusal: a refused scan is an answer too (``ok`` false, its code and
    sentence, and the card when there is one to show).
    """
    if scan.action == "look":
        return _look_at_voucher(business=business, actor=actor, scan=scan)
    if scan.action == "claim":
        return _claim_onto_card(business=business, actor=actor, scan=scan)
    if scan.action == "redeem" and scan.voucher_id is not None:
        return _redeem_on_card(business=business, actor=actor, scan=scan)
    card_code = None if scan.action == "redeem" else normalize_card_code(scan.code)
    try:
        if card_code is not None:
            try:
                return _card(business=business, actor=actor, scan=scan, code=card_code)
            except loyalty_errors.CardNotFound:
                # A pooled redeem code may happen to look like a card code; for a station
                # that redeems nothing (Autopilot) it stays an unknown card.
                if (
                    scan.action not in ("scan", "stamp")
                    or not POOL_CODE_PATTERN.match(scan.code)
                    or not may_redeem_any(business=business, actor=actor)
                ):
                    raise
                try:
                    return _voucher(
                        business=business, actor=actor, scan=scan, token=None, fallback=True
                    )
                except voucher_errors.VoucherNotFound:
                    raise loyalty_errors.CardNotFound() from None
        if scan.action not in ("scan", "stamp", "redeem"):
            raise errors.UnknownCode()
        printed = _printed_code(business=business, actor=actor, text=scan.code)
        if printed is not None:
            return _show_printed_code(business=business, actor=actor, scan=scan, code=printed)
        token = _voucher_token(scan.code)
        if token is not None:
            return _voucher(business=business, actor=actor, scan=scan, token=token)
        if POOL_CODE_PATTERN.match(scan.code):
            return _voucher(business=business, actor=actor, scan=scan, token=None)
        raise errors.UnknownCode()
    except Refusal as refusal:
        return _refused(refusal, scan=scan, card=getattr(refusal, "card", None))


def _voucher_token(code: str) -> str | None:
    """A voucher's token from its QR code: the token itself, or a link ending in it."""
    last = code.rstrip("/").rsplit("/", 1)[-1]
    return last if _VOUCHER_TOKEN.fullmatch(last) else None


def _card(*, business: Business, actor: Actor, scan: Scan, code: str) -> Answer:
    if scan.action == "scan":
        require(actor, Permission.STAMP, business=business)
        shown = cards.card_answer(business_id=business.pk, actor=actor, code=code)
        if shown is None:
            raise loyalty_errors.CardNotFound()
        return _done(scan, "shown", "card", gettext("Card found."), card=shown)
    return _once(
        business=business,
        actor=actor,
        scan=scan,
        kind="card",
        write=_card_write(business=business, actor=actor, scan=scan, code=code),
    )


def _card_write(*, business: Business, actor: Actor, scan: Scan, code: str) -> Callable[[], Answer]:
    def write() -> Answer:
        if scan.action == "stamp":
            if scan.seen_event is not None:
                _refuse_if_stamped_since(
                    business=business, actor=actor, code=code, seen_event=scan.seen_event
                )
            try:
                outcome = add_stamps(
                    business=business,
                    actor=actor,
                    source=_source(actor),
                    count=scan.count,
                    card_code=code,
                )
            except loyalty_errors.StampRefused as refusal:
                _attach_card(refusal, business=business, actor=actor, code=code)
                raise
            message = ngettext("%(n)d stamp added.", "%(n)d stamps added.", outcome.added) % {
                "n": outcome.added
            }
            return _after(scan, "stamped", message, business=business, actor=actor, code=code)
        if scan.action == "hand_over":
            if scan.reward_id is None or not cards.reward_on_card(scan.reward_id, code=code):
                raise loyalty_errors.RewardNotReady()
            reward = hand_over_reward(business=business, actor=actor, reward_id=scan.reward_id)
            message = gettext("Reward handed over: %(title)s.") % {
                "title": cards.reward_title(reward)
            }
            return _after(scan, "handed_over", message, business=business, actor=actor, code=code)
        # undo
        if scan.event_id is None or not cards.event_on_card(scan.event_id, code=code):
            raise loyalty_errors.UndoNotPossible()
        event = undo_stamp(business=business, actor=actor, event_id=scan.event_id)
        message = ngettext("%(n)d stamp taken back.", "%(n)d stamps taken back.", -event.delta) % {
            "n": -event.delta
        }
        return _after(scan, "undone", message, business=business, actor=actor, code=code)

    return write


def _after(
    scan: Scan, outcome: str, message: str, *, business: Business, actor: Actor, code: str
) -> Answer:
    card = cards.card_answer(business_id=business.pk, actor=actor, code=code)
    return _done(scan, outcome, "card", message, card=card)


def _refuse_if_stamped_since(
    *, business: Business, actor: Actor, code: str, seen_event: int
) -> None:
    """Refuse a stamp if someone else stamped the card after the row this screen saw.

    Locks the card first, so of two devices that saw the same row only the first stamps.
    """
    db = connections[DEFAULT_DB_ALIAS]
    since = timezone.now() - RECENT
    with hot_path_cursor(db) as cursor:
        locked = _LOCK_CARD if db.features.has_select_for_update_of else _READ_CARD
        cursor.execute(locked, [code, business.pk])
        card = cursor.fetchone()
        if card is None:
            raise loyalty_errors.CardNotFound()
        card_id, last_stamp_at = card
        if last_stamp_at is not None and last_stamp_at.tzinfo is None:
            last_stamp_at = last_stamp_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
        row = None
        # The card as locked is its latest version, and every stamp sets ``last_stamp_at``
        # to its ledger row's time: none since ``since``, no ledger to read.
        if last_stamp_at is not None and last_stamp_at >= since:
            cursor.execute(
                _STAMPED_SINCE,
                [card_id, business.pk, seen_event, db.ops.adapt_datetimefield_value(since)],
            )
            row = cursor.fetchone()
    newer = None if row is None else row[0]
    if newer is not None:
        if newer.tzinfo is None:
            newer = newer.replace(tzinfo=UTC)  # SQLite hands back naive UTC
        ago = max(1, int((timezone.now() - newer).total_seconds()))
        refusal = errors.AlreadyStamped(
            ago=ngettext("%(n)d second", "%(n)d seconds", ago) % {"n": ago}
        )
        _attach_card(refusal, business=business, actor=actor, code=code)
        raise refusal


def _attach_card(refusal: Refusal, *, business: Business, actor: Actor, code: str) -> None:
    """Let a refusal's answer show the card it is about (the customer, their progress)."""
    refusal.card = cards.card_answer(  # type: ignore[attr-defined]
        business_id=business.pk, actor=actor, code=code
    )


def _source(actor: Actor) -> StampSource:
    if actor.kind == ActorKind.DEVICE:
        return _DEVICE_SOURCE.get(
            DeviceKind(actor.device_kind or DeviceKind.SCANNER), StampSource.STAFF
        )
    return StampSource.STAFF


def _voucher(
    *, business: Business, actor: Actor, scan: Scan, token: str | None, fallback: bool = False
) -> Answer:
    """Redeem the voucher; a refusal is answered, except a code that was only a second
    guess (``fallback``) and matches no voucher either. A kiosk only looks at it, unless
    it was held to redeem (``redeem``)."""
    if scan.action != "redeem" and _redeems_only_when_held(actor):
        return _look(business=business, actor=actor, scan=scan, token=token, fallback=fallback)
    kind = "voucher" if token is not None else "redeem_code"

    def write() -> Answer:
        try:
            voucher = redeem_voucher(
                business=business,
                actor=actor,
                token=token,
                code=None if token is not None else scan.code,
            )
        except voucher_errors.VoucherNotFound:
            _refuse_if_elsewhere(token)
            raise
        except _SAYS_WHEN as refusal:
            # Only to who may redeem it: the refusal already told them the voucher exists.
            refusal.voucher = cards.voucher_answer(  # type: ignore[union-attr]
                actor=actor, token=token, code=None if token is not None else scan.code
            )
            raise
        message = gettext("Voucher redeemed: %(title)s.") % {"title": voucher.title}
        return _done(
            scan, "redeemed", kind, message, voucher=cards.describe_voucher(voucher, actor=actor)
        )

    try:
        return _once(business=business, actor=actor, scan=scan, kind=kind, write=write)
    except Refusal as refusal:
        if fallback and isinstance(refusal, voucher_errors.VoucherNotFound):
            raise
        answer = _refused(refusal, scan=scan, voucher=getattr(refusal, "voucher", None))
        answer.body["kind"] = kind
        return answer


def _refuse_if_elsewhere(token: str | None) -> None:
    """A voucher token this business does not know, but another does, is refused as such."""
    if token is not None:
        with scopes_disabled():
            if Voucher.objects.filter(token=token).exists():
                raise errors.VoucherOfAnotherBusiness() from None


def _redeems_only_when_held(actor: Actor) -> bool:
    """A kiosk's camera sees whatever is held to it: what it reads is looked at, and used up
    only after the customer's deliberate press-and-hold (``redeem``)."""
    return actor.kind == ActorKind.DEVICE and actor.device_kind == DeviceKind.KIOSK


def _look_at_voucher(*, business: Business, actor: Actor, scan: Scan) -> Answer:
    """``look``: the voucher and whether it can be redeemed here; writes nothing."""
    token = _voucher_token(scan.code)
    if token is None and not POOL_CODE_PATTERN.match(scan.code):
        answer = _refused(errors.UnknownCode(), scan=scan)
        answer.body["kind"] = "redeem_code"
        return answer
    return _look(business=business, actor=actor, scan=scan, token=token)


def _look(
    *, business: Business, actor: Actor, scan: Scan, token: str | None, fallback: bool = False
) -> Answer:
    """The voucher (by ``token``, else ``scan.code`` as a redeem code) and whether it can be
    redeemed here; a ``fallback`` guess that matches no voucher raises ``VoucherNotFound``."""
    kind = "voucher" if token is not None else "redeem_code"
    try:
        try:
            look = look_at_voucher(
                business=business, actor=actor, token=token, code=None if token else scan.code
            )
        except voucher_errors.VoucherNotFound:
            _refuse_if_elsewhere(token)
            raise
    except Refusal as refusal:
        if fallback and isinstance(refusal, voucher_errors.VoucherNotFound):
            raise
        answer = _refused(refusal, scan=scan)
        answer.body["kind"] = kind
        return answer
    shown = cards.describe_voucher(look.voucher, actor=actor)
    if look.refusal is not None:
        answer = _refused(look.refusal, scan=scan, voucher=shown)
        answer.body["kind"] = kind
        return answer
    return _done(scan, "looked", kind, gettext("This voucher can be redeemed now."), voucher=shown)


def _printed_code(*, business: Business, actor: Actor, text: str) -> str | None:
    """The claim code or receipt code ``text`` carries (a claim page's link, a receipt code,
    a claim code typed), else None; a link to another business's claim page is refused.

    A link and a receipt code are told by their shape; a typed claim code only by being one
    of the business's, so it is looked up only for who may claim codes."""
    link = read_claim_link(text)
    if link is not None:
        slug, code = link
        if slug != business.slug:
            # Said from the link alone: nothing about the other business's codes is looked up.
            raise voucher_errors.ClaimCodeOtherBusiness()
        return code
    if is_receipt_code(text):
        return text
    if not allows(actor, Permission.CLAIM_CODES, business=business):
        return None
    code = claim_code_shape(text)
    if code and ClaimCode.objects.filter(business=business, code=code).exists():
        return code
    return None


def _refuse_if_not_at_the_till(actor: Actor, *, business: Business) -> None:
    """A kiosk and an Autopilot station only explain: the customer claims on their phone."""
    if actor.kind == ActorKind.DEVICE and actor.device_kind != DeviceKind.SCANNER:
        raise errors.ClaimOnPhone(url=claim_start_url(business))


def _show_printed_code(*, business: Business, actor: Actor, scan: Scan, code: str) -> Answer:
    """A claim or receipt code scanned (``scan``, ``stamp``): what it gives, and with a card on
    screen the offer to claim it there (action ``claim``); nothing is written."""
    try:
        _refuse_if_not_at_the_till(actor, business=business)
        require(actor, Permission.CLAIM_CODES, business=business)
        found = find_claimable(business=business, code=code)
        if found.claimed:
            raise voucher_errors.ClaimCodeUsed()
        if found.expired:
            raise voucher_errors.ClaimCodeExpired()
    except Refusal as refusal:
        answer = _refused(refusal, scan=scan)
        answer.body["kind"] = "claim_code"
        return answer
    what = _what_it_gives(found)
    card = None
    if scan.card is not None:
        card = cards.card_answer(business_id=business.pk, actor=actor, code=scan.card)
    if card is None:
        answer = _refused(errors.CardFirst(), scan=scan)
    else:
        answer = _done(scan, "shown", "claim_code", what, card=card)
    answer.body["kind"] = "claim_code"
    answer.body["claim"] = {"code": found.code, "receipt": found.receipt, "gives": what}
    return answer


def _what_it_gives(found: Claimable) -> str:
    if found.stamps is None:
        return gettext("A receipt code: its stamps follow the amount spent.")
    return ngettext("A code for %(n)d stamp.", "A code for %(n)d stamps.", found.stamps) % {
        "n": found.stamps
    }


def _claim_onto_card(*, business: Business, actor: Actor, scan: Scan) -> Answer:
    """``claim``: the claim or receipt code ``code`` is claimed onto the card on screen
    (``card``), once per nonce, through the claim page's own service."""
    try:
        if normalize_card_code(scan.code) is not None:
            raise voucher_errors.ClaimCodeNotFound()
        printed = _printed_code(business=business, actor=actor, text=scan.code)
        _refuse_if_not_at_the_till(actor, business=business)
        if printed is None:
            raise voucher_errors.ClaimCodeNotFound()
        if scan.card is None:
            raise errors.CardFirst()
        card_code = scan.card

        def write() -> Answer:
            card = Card.objects.filter(business=business, code=card_code).first()
            if card is None:
                raise loyalty_errors.CardNotFound()
            try:
                outcome = claim_printed_code(
                    business=business, actor=actor, code=printed, card=card
                )
            except loyalty_errors.StampRefused as refusal:
                _attach_card(refusal, business=business, actor=actor, code=card_code)
                raise
            message = ngettext("%(n)d stamp added.", "%(n)d stamps added.", outcome.added) % {
                "n": outcome.added
            }
            shown = cards.card_answer(business_id=business.pk, actor=actor, code=card_code)
            return _done(scan, "claimed", "claim_code", message, card=shown)

        return _once(business=business, actor=actor, scan=scan, kind="claim_code", write=write)
    except Refusal as refusal:
        card = getattr(refusal, "card", None)
        if card is None and scan.card is not None and not isinstance(refusal, NotAllowed):
            card = cards.card_answer(business_id=business.pk, actor=actor, code=scan.card)
        answer = _refused(refusal, scan=scan, card=card)
        answer.body["kind"] = "claim_code"
        return answer


def _redeem_on_card(*, business: Business, actor: Actor, scan: Scan) -> Answer:
    """``redeem``: the voucher ``voucher_id`` of the card ``code`` is redeemed, once per
    nonce, by ``redeem_voucher`` (its permission, method and validity checks); the answer
    shows the voucher and the card as it is now."""
    code = normalize_card_code(scan.code)
    try:
        if code is None:
            raise loyalty_errors.CardNotFound()
        card_code = code
        token = cards.voucher_token_on_card(scan.voucher_id, code=card_code)
        if token is None:
            require_any_redeem(business=business, actor=actor)
            raise voucher_errors.VoucherNotFound()

        def write() -> Answer:
            try:
                voucher = redeem_voucher(business=business, actor=actor, token=token)
            except _SAYS_WHEN as refusal:
                refusal.voucher = cards.voucher_answer(  # type: ignore[union-attr]
                    actor=actor, token=token, code=None
                )
                raise
            message = gettext("Voucher redeemed: %(title)s.") % {"title": voucher.title}
            return _done(
                scan,
                "redeemed",
                "voucher",
                message,
                card=cards.card_answer(business_id=business.pk, actor=actor, code=card_code),
                voucher=cards.describe_voucher(voucher, actor=actor),
            )

        return _once(business=business, actor=actor, scan=scan, kind="voucher", write=write)
    except Refusal as refusal:
        answer = _refused(refusal, scan=scan, voucher=getattr(refusal, "voucher", None))
        answer.body["kind"] = "voucher"
        return answer


def _once(
    *, business: Business, actor: Actor, scan: Scan, kind: str, write: Callable[[], Answer]
) -> Answer:
    """Run ``write`` at most once for this actor's nonce, keeping its answer for retries.

    The nonce is claimed before ``write`` reads anything: a retry sent while the first
    attempt runs waits for it, then replays its answer (or, if it was refused, runs anew).
    """
    who = actor.device_id if actor.kind == ActorKind.DEVICE else actor.user_id
    request = IdempotentRequest.for_key(
        f"scan:{actor.kind}:{who}:{scan.nonce}",
        business_id=business.pk,
        operation=f"counter.{scan.action}",
        code=scan.code,
        count=scan.count,
        reward_id=scan.reward_id,
        event_id=scan.event_id,
        location=actor.location_id,
        # A claim is bound to the card on screen; scans naming no card keep their fingerprints.
        **({"card": scan.card} if scan.card is not None else {}),
        **({"voucher_id": scan.voucher_id} if scan.voucher_id is not None else {}),
    )
    assert request is not None
    try:
        # BEGIN and COMMIT without switching autocommit (stampcard.hot_path).
        with hot_path_atomic():
            claim_key(request)
            answer: Answer = write()
            encoded = keep_outcome(request, answer.body)
    except AlreadyDone as done:
        if not done.outcome:
            raise
        return Answer(status=200, body=done.outcome, replayed=True)
    return Answer(status=answer.status, body=answer.body, encoded=encoded)


def _done(
    scan: Scan,
    outcome: str,
    kind: str,
    message: str,
    *,
    card: dict[str, Any] | None = None,
    voucher: dict[str, Any] | None = None,
) -> Answer:
    return Answer(
        status=200,
        body={
            "ok": True,
            "outcome": outcome,
            "kind": kind,
            "refusal": None,
            "message": message,
            "card": card,
            "voucher": voucher,
            "nonce": scan.nonce,
            "scanned_at": scan.scanned_at.isoformat(),
        },
    )


def _refused(
    refusal: Refusal,
    *,
    scan: Scan,
    card: dict[str, Any] | None = None,
    voucher: dict[str, Any] | None = None,
) -> Answer:
    return Answer(
        status=refusal.http_status,
        body={
            "ok": False,
            "outcome": "refused",
            "kind": "card" if card is not None else None,
            "refusal": refusal.code,
            "message": refusal.message,
            "card": card,
            "voucher": voucher,
            "nonce": scan.nonce,
            "scanned_at": scan.scanned_at.isoformat(),
        },
    )


def refused_before_scan(refusal: Refusal) -> Answer:
    """The answer to a request that could not be read as a scan at all."""
    return Answer(
        status=refusal.http_status,
        body={
            "ok": False,
            "outcome": "refused",
            "kind": None,
            "refusal": refusal.code,
            "message": refusal.message,
            "card": None,
            "voucher": None,
        },
    )
