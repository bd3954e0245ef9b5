"""The stamp: ``add_stamps`` is the only way stamps are added, whatever the source.

Every path (staff scanner, kiosk, Autopilot, receipt code, API, dashboard) runs this function
with the same rules. It is the hot path of the product: a plain stamp on PostgreSQL reads the
card and writes in one statement, with no model instantiated.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from stampcard.idempotency.services import IdempotentRequest, claim_key, keep_outcome
from stampcard.loyalty import errors
from stampcard.loyalty.models import StampEvent, StampEventKind, StampSource
from stampcard.loyalty.services.card_state import (
    CARD_TABLE,
    CardState,
    hot_path_cursor,
    read_card,
)
from stampcard.loyalty.services.cycles import earn_rewards, earns_rewards
from stampcard.loyalty.services.rules import check_program_open, check_stamp_rules, stamps_earned
from stampcard.money import WrongCurrency, check_minor
from stampcard.outbox.services import CARD_CHANGED_SQL, publish_card_changed
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require

_EVENT = StampEvent._meta.db_table
# The stamp's two writes: the card's counters move (only from the version that was read), and
# the ledger row that says why.
_MOVE_CARD = (
    f"UPDATE {CARD_TABLE} SET stamps = %s, lifetime_stamps = lifetime_stamps + %s,"  # noqa: S608
    " cycles_completed = cycles_completed + %s, last_stamp_at = %s, stamp_day = %s,"
    " stamps_on_day = %s, updated_at = %s, version = version + 1"
    " WHERE id = %s AND business_id = %s AND version = %s"
)
_EVENT_COLUMNS = (
    "(business_id, card_id, kind, delta, source, amount, reason, actor_kind, actor_user_id,"
    " actor_device_id, location_id, balance_after, created_at)"
)
_EVENT_VALUES = "%s, %s, %s, %s, %s, %s, '', %s, %s, %s, %s, %s, %s"
# PostgreSQL runs every data-modifying WITH to completion, and the ledger row and the
# outbox's card.changed message are only written from the card row it moved: all three
# writes, or none, in one statement.
_MOVE_CARD_AND_WRITE_EVENT = (
    f"WITH moved AS ({_MOVE_CARD} RETURNING id, version),"  # noqa: S608
    f" told AS ({CARD_CHANGED_SQL})"
    f" INSERT INTO {_EVENT} {_EVENT_COLUMNS} SELECT {_EVENT_VALUES} FROM moved RETURNING id"
)
_WRITE_EVENT = f"INSERT INTO {_EVENT} {_EVENT_COLUMNS} VALUES ({_EVENT_VALUES}) RETURNING id"  # noqa: S608


@dataclass(frozen=True, slots=True)
class StampOutcome:
    """What a stamp did, as the scanner shows it and as an idempotent retry replays it."""

    card_id: int
    card_code: str
    added: int
    stamps: int
    goal: int
    cycles_completed: int
    reward_ids: list[int]
    event_id: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_stamps(
    *,
    business: Business,
    actor: Actor,
    source: StampSource,
    count: int | None = None,
    card_id: int | None = None,
    card_code: str | None = None,
    idempotency_key: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
) -> StampOutcome:
    """Add stamps to a card (found by id or by its canonical code).

    How many: ``count`` (1 when not given) on a card that earns stamps per visit; on one that
    earns them by the amount spent, what ``amount`` (minor units of the business's currency;
    ``currency``, when given, must be that currency) earns by the program's rule, capped at
    its per-visit maximum and what is left of its per-day maximum. The amount, when the
    caller knows it, is recorded on the ledger row either way.

    Guarantees:
    - the actor may stamp here (``STAMP``, see ``tenancy.permissions``), checked before the
      card is read: a door-built actor is decided in memory, so the check costs no query; a
      refusal raises ``NotAllowed``. Receipt stamps come only with the claim code they
      consume (``add_claimed_stamps``): ``source=RECEIPT`` is refused here;
    - the rules are checked against the card as it is when the stamp is written: program
      active, source allowed, per-visit maximum, cooldown, per-day maximum, card of this
      business; a refusal raises a ``StampRefused`` with a stable code and changes nothing;
    - exactly one ledger row is written and the card's counters move with it, in one
      transaction, so the counter always equals the ledger, whatever runs in parallel;
    - every milestone the stamp reaches earns its ``Reward`` once per cycle, and reaching the
      goal closes the cycle: its reward too, and the extra stamps carry over (a Smart
      Voucher is issued for each reward of that kind);
    - with an ``idempotency_key``, a retry of a request that already succeeded raises
      ``AlreadyDone`` carrying the first outcome, and adds nothing; the same key with other
      arguments raises ``KeyReused``.
    Sends nothing outside the database.

    How: most stamps meet nobody else on their card, so on PostgreSQL a plain stamp reads the
    card without a lock and writes only if the card is still at the version it read, in one
    statement; in a caller's transaction it reads the card locked and writes in one
    statement, with no savepoint. Anything else (a card that moved in between, a reward to
    earn, a key to remember, SQLite) stamps with the card's row locked, in a transaction (a
    savepoint in the caller's) of its own.
    """
    require(actor, Permission.STAMP, business=business)
    if source == StampSource.RECEIPT:
        raise errors.SourceNotAllowed()
    return _add_stamps(
        business=business,
        actor=actor,
        source=source,
        count=count,
        card_id=card_id,
        card_code=card_code,
        idempotency_key=idempotency_key,
        amount=amount,
        currency=currency,
    )


def add_claimed_stamps(
    *,
    business: Business,
    actor: Actor,
    card_id: int,
    count: int | None = None,
    amount: int | None = None,
) -> StampOutcome:
    """The stamps of a receipt claim code, in the transaction that consumes the code.

    The code is what authorises them, so the actor needs ``CLAIM_CODES`` (a customer on their
    own card may claim) rather than ``STAMP``; everything else is ``add_stamps``: a printed
    code gives its ``count``, a signed receipt its ``amount``.
    """
    require(actor, Permission.CLAIM_CODES, business=business)
    if not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        raise RuntimeError("claimed stamps belong in the transaction that consumes the code")
    return _add_stamps(
        business=business,
        actor=actor,
        source=StampSource.RECEIPT,
        count=count,
        card_id=card_id,
        card_code=None,
        idempotency_key=None,
        amount=amount,
        currency=None,
    )


def _add_stamps(
    *,
    business: Business,
    actor: Actor,
    source: StampSource,
    count: int | None,
    card_id: int | None,
    card_code: str | None,
    idempotency_key: str | None,
    amount: int | None,
    currency: str | None,
) -> StampOutcome:
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise errors.InvalidStampCount()
    if amount is not None:  # refused before anything is read, whatever the card's rule
        if currency is not None and str(currency).strip().upper() != business.currency:
            raise WrongCurrency(given=currency, currency=business.currency)
        amount = check_minor(amount, business.currency)
    request = IdempotentRequest.for_key(
        idempotency_key,
        business_id=business.pk,
        operation="add_stamps",
        card_id=card_id,
        card_code=card_code,
        count=count,
        source=source,
        amount=amount,
    )
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each lookup costs on this path
    stamp = _Stamp(
        business=business,
        actor=actor,
        source=source,
        count=count,
        amount=amount,
        card_id=card_id,
        card_code=card_code,
    )
    if request is None and db.vendor == "postgresql":
        # In the caller's transaction (a scan keeps its nonce with it) the card is read
        # locked; otherwise without a lock, and written only if it did not move meanwhile.
        # A plain stamp is one statement after the rules are checked: nothing can be left
        # half-written, so it needs no savepoint of its own.
        locked = db.in_atomic_block
        with hot_path_cursor(db) as cursor:
            card = stamp.read(db, cursor, lock=locked)
            plan = stamp.plan(card)
            if not earns_rewards(card, plan.count):
                event_id = _write_stamp(db, cursor, stamp, card, plan)
                if event_id is not None:
                    return stamp.outcome(card, plan, event_id=event_id, reward_ids=[])
                if locked:
                    raise RuntimeError("a locked card moved")  # cannot happen: it is locked
    with transaction.atomic(), hot_path_cursor(db) as cursor:
        if request is not None:
            claim_key(request)  # before the card: a retry in flight waits here, not there
        card = stamp.read(db, cursor, lock=True)
        plan = stamp.plan(card)
        event_id = _write_stamp(db, cursor, stamp, card, plan)
        if event_id is None:
            raise RuntimeError("a locked card moved")  # cannot happen: the row is locked
        reward_ids = earn_rewards(
            db,
            cursor,
            business=business,
            card=card,
            added=plan.count,
            event_id=event_id,
            now=plan.now,
        )
        outcome = stamp.outcome(card, plan, event_id=event_id, reward_ids=reward_ids)
        if request is not None:
            keep_outcome(request, outcome.as_dict())
    return outcome


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a stamp will write, decided from the card as read."""

    now: datetime
    today: date
    stamps_after: int
    cycles_closed: int
    stamps_on_day: int
    count: int


@dataclass(frozen=True, slots=True)
class _Stamp:
    business: Business
    actor: Actor
    source: StampSource
    count: int | None
    amount: int | None
    card_id: int | None
    card_code: str | None

    def read(self, db: BaseDatabaseWrapper, cursor: Any, *, lock: bool) -> CardState:
        """The card, if the stamping business has one with this id or code."""
        card = read_card(
            db,
            cursor,
            business_id=self.business.pk,
            card_id=self.card_id,
            card_code=self.card_code,
            lock=lock,
        )
        if card is None:
            raise errors.CardNotFound()
        return card

    def plan(self, card: CardState) -> _Plan:
        """Check the rules against ``card`` and work out its new counters, or refuse."""
        # Read after the card, so a stamp written under the lock never goes back in time.
        now = timezone.now()
        today = now.astimezone(ZoneInfo(self.business.time_zone)).date()
        check_program_open(card, source=self.source)
        count = stamps_earned(
            card, count=self.count, amount=self.amount, currency=self.business.currency, today=today
        )
        check_stamp_rules(card, source=self.source, count=count, now=now, today=today)
        cycles_closed, stamps_after = divmod(card.stamps + count, card.goal)
        on_day = card.stamps_today(today) + count
        return _Plan(now, today, stamps_after, cycles_closed, on_day, count)

    def outcome(
        self, card: CardState, plan: _Plan, *, event_id: int, reward_ids: list[int]
    ) -> StampOutcome:
        return StampOutcome(
            card_id=card.id,
            card_code=card.code,
            added=plan.count,
            stamps=plan.stamps_after,
            goal=card.goal,
            cycles_completed=card.cycles_completed + plan.cycles_closed,
            reward_ids=reward_ids,
            event_id=event_id,
        )


def _write_stamp(
    db: BaseDatabaseWrapper, cursor: Any, stamp: _Stamp, card: CardState, plan: _Plan
) -> int | None:
    """Move the card's counters and write the ledger row; None if the card had moved on."""
    ops = db.ops
    now = ops.adapt_datetimefield_value(plan.now)
    card_params = [
        plan.stamps_after,
        plan.count,
        plan.cycles_closed,
        now,
        ops.adapt_datefield_value(plan.today),
        plan.stamps_on_day,
        now,
        card.id,
        stamp.business.pk,
        card.version,
    ]
    actor = stamp.actor
    event_params = [
        stamp.business.pk,
        card.id,
        StampEventKind.STAMP.value,
        plan.count,
        stamp.source,
        stamp.amount,
        actor.kind,
        actor.user_id,
        actor.device_id,
        actor.location_id,
        plan.stamps_after,
        now,
    ]
    message_params = [stamp.business.pk, now, now]
    if db.vendor == "postgresql":
        cursor.execute(_MOVE_CARD_AND_WRITE_EVENT, card_params + message_params + event_params)
        row = cursor.fetchone()
        return None if row is None else int(row[0])
    # Elsewhere the same writes go one by one, inside the caller's locked transaction.
    cursor.execute(_MOVE_CARD, card_params)
    if cursor.rowcount != 1:
        return None
    publish_card_changed(business_id=stamp.business.pk, card_id=card.id, version=card.version + 1)
    cursor.execute(_WRITE_EVENT, event_params)
    return int(cursor.fetchone()[0])
