"""Writes of the loyalty engine: enrolling customers, stamping, correcting, handing over rewards.

Every function is one transaction and takes the business explicitly. ``add_stamps`` is the only
way stamps are added, whatever the source (staff scanner, kiosk, Autopilot, receipt code, API,
dashboard), so every path obeys the same rules.
"""

import functools
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException

from stampcard import tokens
from stampcard.audit.services import record
from stampcard.idempotency.services import IdempotentRequest, remember_outcome, replay_if_done
from stampcard.loyalty import errors
from stampcard.loyalty.card_codes import new_card_code
from stampcard.loyalty.models import (
    Card,
    Customer,
    JoinChannel,
    Program,
    ProgramStatus,
    Reward,
    RewardKind,
    RewardStatus,
    StampEvent,
    StampEventKind,
    StampSource,
)
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business

_CARD = Card._meta.db_table
_PROGRAM = Program._meta.db_table
_EVENT = StampEvent._meta.db_table
_REWARD = Reward._meta.db_table
# The stamp's two writes: the card's counters move (only from the version that was read), and
# the ledger row that says why.
_MOVE_CARD = (
    f"UPDATE {_CARD} SET stamps = %s, lifetime_stamps = lifetime_stamps + %s,"  # noqa: S608
    " cycles_completed = cycles_completed + %s, last_stamp_at = %s, stamp_day = %s,"
    " stamps_on_day = %s, updated_at = %s, version = version + 1"
    " WHERE id = %s AND version = %s"
)
_EVENT_COLUMNS = (
    "(business_id, card_id, kind, delta, source, reason, actor_kind, actor_user_id,"
    " actor_device_id, location_id, balance_after, created_at)"
)
_EVENT_VALUES = "%s, %s, %s, %s, %s, '', %s, %s, %s, %s, %s, %s"
# PostgreSQL runs a data-modifying WITH to completion first, and the ledger row is only
# written from the card row it moved: both writes, or neither, in one statement.
_MOVE_CARD_AND_WRITE_EVENT = (
    f"WITH moved AS ({_MOVE_CARD} RETURNING id)"  # noqa: S608
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


@dataclass(frozen=True, slots=True)
class _CardState:
    """The columns the stamp rules need, as read (with the card's row lock, or without)."""

    id: int
    business_id: int
    code: str
    version: int
    stamps: int
    cycles_completed: int
    last_stamp_at: datetime | None
    stamp_day: date | None
    stamps_on_day: int
    program_id: int
    program_status: str
    goal: int
    reward_kind: str
    allowed_sources: list[str]
    cooldown_seconds: int
    max_stamps_per_visit: int
    max_stamps_per_day: int | None


@functools.cache
def _read_card_sql(column: str, *, row_locks: bool) -> str:
    sql = (
        "SELECT c.id, c.business_id, c.code, c.version, c.stamps, c.cycles_completed,"  # noqa: S608
        " c.last_stamp_at,"
        " c.stamp_day, c.stamps_on_day, p.id, p.status, p.stamps_goal, p.reward_kind,"
        " p.allowed_sources, p.cooldown_seconds, p.max_stamps_per_visit, p.max_stamps_per_day"
        f" FROM {_CARD} c JOIN {_PROGRAM} p ON p.id = c.program_id WHERE c.{column} = %s"
    )
    # SQLite has no row locks; its IMMEDIATE transactions give the same exclusion.
    return sql + " FOR UPDATE OF c" if row_locks else sql


def _hot_path_cursor(db: BaseDatabaseWrapper) -> Any:
    """A cursor for the stamp's few statements, in whatever transaction state the connection is.

    On PostgreSQL it is psycopg's own cursor, binding parameters on the server and preparing
    each statement once per connection (as pgbench -M prepared does): this saves a good part
    of the client CPU that Django's client-side binding spends on every query. It bypasses
    Django's cursor wrapper, so its errors are psycopg's own; the statements below raise none
    that a caller is meant to handle. Elsewhere it is Django's cursor. Both take the same SQL
    with %s placeholders.
    """
    if db.vendor == "postgresql":
        db.ensure_connection()
        return _PreparingCursor(db.connection)
    return db.cursor()


class _PreparingCursor(psycopg.Cursor[Any]):
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> "_PreparingCursor":
        return super().execute(query, params, prepare=True)


def _read_card(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    card_id: int | None,
    card_code: str | None,
    lock: bool,
) -> _CardState | None:
    column, value = ("id", card_id) if card_id is not None else ("code", card_code)
    row_locks = lock and db.features.has_select_for_update_of
    cursor.execute(_read_card_sql(column, row_locks=row_locks), [value])
    row = cursor.fetchone()
    if row is None:
        return None
    (card_id, business_id, code, version, stamps, cycles, last_stamp_at, stamp_day, stamps_on_day,
     program_id, status, goal, reward_kind, sources, cooldown, visit_max, day_max,
     ) = row  # fmt: skip
    if last_stamp_at is not None and last_stamp_at.tzinfo is None:
        last_stamp_at = last_stamp_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return _CardState(
        id=card_id,
        business_id=business_id,
        code=code,
        version=version,
        stamps=stamps,
        cycles_completed=cycles,
        last_stamp_at=last_stamp_at,
        stamp_day=date.fromisoformat(stamp_day) if isinstance(stamp_day, str) else stamp_day,
        stamps_on_day=stamps_on_day,
        program_id=program_id,
        program_status=status,
        goal=goal,
        reward_kind=reward_kind,
        allowed_sources=json.loads(sources) if isinstance(sources, str) else sources,
        cooldown_seconds=cooldown,
        max_stamps_per_visit=visit_max,
        max_stamps_per_day=day_max,
    )


def _format_wait(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = -(-seconds // 60)
    if minutes < 120:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = -(-minutes // 60)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def _check_stamp_rules(
    card: _CardState, *, count: int, source: str, now: datetime, today: date
) -> None:
    if card.program_status != ProgramStatus.ACTIVE:
        raise errors.ProgramInactive()
    if source not in card.allowed_sources:
        raise errors.SourceNotAllowed()
    if count > card.max_stamps_per_visit:
        raise errors.VisitLimit(limit=card.max_stamps_per_visit)
    if card.cooldown_seconds and card.last_stamp_at is not None:
        waited = (now - card.last_stamp_at).total_seconds()
        if waited < card.cooldown_seconds:
            raise errors.Cooldown(wait=_format_wait(int(card.cooldown_seconds - waited) or 1))
    if card.max_stamps_per_day is not None:
        already_today = card.stamps_on_day if card.stamp_day == today else 0
        if already_today + count > card.max_stamps_per_day:
            raise errors.DailyLimit(limit=card.max_stamps_per_day)


def add_stamps(
    *,
    business: Business,
    actor: Actor,
    source: StampSource,
    count: int = 1,
    card_id: int | None = None,
    card_code: str | None = None,
    idempotency_key: str | None = None,
) -> StampOutcome:
    """Add ``count`` stamps to a card (found by id or by its canonical code).

    Guarantees:
    - the rules are checked against the card as it is when the stamp is written: program
      active, source allowed, per-visit maximum, cooldown, per-day maximum, card of this
      business; a refusal raises a ``StampRefused`` with a stable code and changes nothing;
    - exactly one ledger row is written and the card's counters move with it, in one
      transaction, so the counter always equals the ledger, whatever runs in parallel;
    - reaching the goal closes the cycle: extra stamps carry over and one ``Reward`` per
      completed cycle is created (a voucher for Smart Voucher programs);
    - with an ``idempotency_key``, a retry of a request that already succeeded raises
      ``AlreadyDone`` carrying the first outcome, and adds nothing; the same key with other
      arguments raises ``KeyReused``.
    Sends nothing outside the database.

    How: most stamps meet nobody else on their card, so on PostgreSQL a plain stamp reads the
    card without a lock and writes only if the card is still at the version it read, in one
    statement. Anything else (a card that moved in between, a cycle to close, a key to
    remember, a caller's transaction, SQLite) stamps with the card's row locked.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise errors.InvalidStampCount()
    request = IdempotentRequest.for_key(
        idempotency_key,
        business_id=business.pk,
        operation="add_stamps",
        card_id=card_id,
        card_code=card_code,
        count=count,
        source=source,
    )
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each lookup costs on this path
    stamp = _Stamp(business=business, actor=actor, source=source, count=count)
    if request is None and db.vendor == "postgresql" and not db.in_atomic_block:
        with _hot_path_cursor(db) as cursor:
            card = stamp.own(
                _read_card(db, cursor, card_id=card_id, card_code=card_code, lock=False)
            )
            plan = stamp.plan(card)
            if plan.cycles_closed == 0:
                event_id = _write_stamp(db, cursor, stamp, card, plan)
                if event_id is not None:
                    return stamp.outcome(card, plan, event_id=event_id, reward_ids=[])
    with transaction.atomic(), _hot_path_cursor(db) as cursor:
        card = stamp.own(_read_card(db, cursor, card_id=card_id, card_code=card_code, lock=True))
        if request is not None:
            replay_if_done(request)
        plan = stamp.plan(card)
        event_id = _write_stamp(db, cursor, stamp, card, plan)
        if event_id is None:
            raise RuntimeError("a locked card moved")  # cannot happen: the row is locked
        reward_ids = _close_cycles(
            db, cursor, business=business, card=card, count=plan.cycles_closed, now=plan.now
        )
        outcome = stamp.outcome(card, plan, event_id=event_id, reward_ids=reward_ids)
        if request is not None:
            remember_outcome(request, outcome.as_dict())
    return outcome


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a stamp will write, decided from the card as read."""

    now: datetime
    today: date
    stamps_after: int
    cycles_closed: int
    stamps_on_day: int


@dataclass(frozen=True, slots=True)
class _Stamp:
    business: Business
    actor: Actor
    source: StampSource
    count: int

    def own(self, card: _CardState | None) -> _CardState:
        """The card as read, if it exists and belongs to the stamping business."""
        if card is None:
            raise errors.CardNotFound()
        if card.business_id != self.business.pk:
            raise errors.WrongBusiness()
        return card

    def plan(self, card: _CardState) -> _Plan:
        """Check the rules against ``card`` and work out its new counters, or refuse."""
        # Read after the card, so a stamp written under the lock never goes back in time.
        now = timezone.now()
        today = now.astimezone(ZoneInfo(self.business.time_zone)).date()
        _check_stamp_rules(card, count=self.count, source=self.source, now=now, today=today)
        cycles_closed, stamps_after = divmod(card.stamps + self.count, card.goal)
        on_day = (card.stamps_on_day if card.stamp_day == today else 0) + self.count
        return _Plan(now, today, stamps_after, cycles_closed, on_day)

    def outcome(
        self, card: _CardState, plan: _Plan, *, event_id: int, reward_ids: list[int]
    ) -> StampOutcome:
        return StampOutcome(
            card_id=card.id,
            card_code=card.code,
            added=self.count,
            stamps=plan.stamps_after,
            goal=card.goal,
            cycles_completed=card.cycles_completed + plan.cycles_closed,
            reward_ids=reward_ids,
            event_id=event_id,
        )


def _write_stamp(
    db: BaseDatabaseWrapper, cursor: Any, stamp: _Stamp, card: _CardState, plan: _Plan
) -> int | None:
    """Move the card's counters and write the ledger row; None if the card had moved on."""
    ops = db.ops
    now = ops.adapt_datetimefield_value(plan.now)
    card_params = [
        plan.stamps_after,
        stamp.count,
        plan.cycles_closed,
        now,
        ops.adapt_datefield_value(plan.today),
        plan.stamps_on_day,
        now,
        card.id,
        card.version,
    ]
    actor = stamp.actor
    event_params = [
        stamp.business.pk,
        card.id,
        StampEventKind.STAMP.value,
        stamp.count,
        stamp.source,
        actor.kind,
        actor.user_id,
        actor.device_id,
        actor.location_id,
        plan.stamps_after,
        now,
    ]
    if db.vendor == "postgresql":
        cursor.execute(_MOVE_CARD_AND_WRITE_EVENT, card_params + event_params)
        row = cursor.fetchone()
        return None if row is None else int(row[0])
    cursor.execute(_MOVE_CARD, card_params)
    if cursor.rowcount != 1:
        return None
    cursor.execute(_WRITE_EVENT, event_params)
    return int(cursor.fetchone()[0])


# A correction fixes a mistake at the counter; anything larger is not a correction.
MAX_CORRECTION = 500

_REWARD_STATUS_AT_GOAL = {
    RewardKind.SIMPLE: RewardStatus.READY,
    RewardKind.SMART_VOUCHER: RewardStatus.VOUCHER_ISSUED,
    RewardKind.LOTTERY: RewardStatus.DRAW_PENDING,
}


def _close_cycles(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business: Business,
    card: _CardState,
    count: int,
    now: datetime,
) -> list[int]:
    """Record the rewards of the ``count`` cycles that ``card`` just completed; their ids."""
    return [
        _close_cycle(
            db, cursor, business=business, card=card, cycle=card.cycles_completed + n, now=now
        )
        for n in range(1, count + 1)
    ]


def _close_cycle(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business: Business,
    card: _CardState,
    cycle: int,
    now: datetime,
) -> int:
    """Record the reward of one completed cycle; returns the Reward's id."""
    from stampcard.vouchers.services import issue_goal_voucher

    kind = RewardKind(card.reward_kind)
    status = _REWARD_STATUS_AT_GOAL[kind]
    voucher_id = None
    if kind == RewardKind.SMART_VOUCHER:
        try:
            voucher_id = issue_goal_voucher(
                business=business, program_id=card.program_id, card_id=card.id, now=now
            ).pk
        except Refusal as refusal:
            # The customer earned it: the stamp stands, and the reward waits for the owner
            # to fix the program (a validity date passed, a code pool ran dry).
            status = RewardStatus.VOUCHER_PENDING
            record(
                business=business,
                actor=Actor.system(),
                action="reward.voucher_not_issued",
                reason=refusal.code,
                card=card.code,
            )
    cursor.execute(
        f"INSERT INTO {_REWARD} (business_id, card_id, kind, status, cycle, stamps_used,"  # noqa: S608
        " voucher_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [
            business.pk,
            card.id,
            kind.value,
            status.value,
            cycle,
            card.goal,
            voucher_id,
            db.ops.adapt_datetimefield_value(now),
        ],
    )
    (reward_id,) = cursor.fetchone()
    return int(reward_id)


def correct_stamps(
    *,
    business: Business,
    actor: Actor,
    card: Card,
    delta: int,
    reason: str,
) -> StampEvent:
    """Correct a card by ``delta`` stamps (usually negative: an undo) with a stated reason.

    The correction is a new ledger row, never an edit. It stays inside the current cycle:
    a correction that would take the card below 0 is refused (a reward already earned is
    handed over or voided on its own), and one that reaches the goal closes the cycle.
    Locks the card; audited.
    """
    reason = reason.strip()
    if not reason:
        raise errors.ReasonRequired()
    if len(reason) > StampEvent._meta.get_field("reason").max_length:  # type: ignore[operator]
        raise errors.ReasonTooLong()
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise errors.InvalidStampCount()
    if abs(delta) > MAX_CORRECTION:
        raise errors.CorrectionTooLarge(most=MAX_CORRECTION)
    now = timezone.now()
    db = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(), _hot_path_cursor(db) as cursor:
        locked = _read_card(db, cursor, card_id=card.pk, card_code=None, lock=True)
        if locked is None or locked.business_id != business.pk:
            raise errors.CardNotFound()
        total = locked.stamps + delta
        if total < 0:
            raise errors.BelowZero(stamps=locked.stamps)
        cycles_closed, stamps_after = divmod(total, locked.goal)
        event = StampEvent.objects.create(
            business=business,
            card_id=locked.id,
            kind=StampEventKind.CORRECTION,
            delta=delta,
            source=StampSource.ADMIN,
            reason=reason,
            actor_kind=actor.kind,
            actor_user_id=actor.user_id,
            actor_device_id=actor.device_id,
            location_id=actor.location_id,
            balance_after=stamps_after,
            created_at=now,
        )
        Card.objects.filter(pk=locked.id).update(
            stamps=stamps_after,
            lifetime_stamps=F("lifetime_stamps") + delta,
            cycles_completed=locked.cycles_completed + cycles_closed,
            version=F("version") + 1,
        )
        _close_cycles(db, cursor, business=business, card=locked, count=cycles_closed, now=now)
        record(
            business=business,
            actor=actor,
            action="stamps.corrected",
            target=card,
            delta=delta,
            reason=reason,
        )
    return event


def hand_over_reward(*, business: Business, actor: Actor, reward_id: int) -> Reward:
    """Mark a "reward ready" as handed over. Succeeds at most once, whatever races."""
    now = timezone.now()
    with transaction.atomic():
        taken = Reward.objects.filter(
            pk=reward_id, business=business, status=RewardStatus.READY
        ).update(status=RewardStatus.REDEEMED, settled_at=now)
        if taken != 1:
            raise errors.RewardNotReady()
        reward = Reward.objects.get(pk=reward_id)
        record(business=business, actor=actor, action="reward.handed_over", target=reward)
    return reward


def enroll_customer(
    *,
    business: Business,
    program: Program,
    name: str = "",
    email: str = "",
    phone: str = "",
    birthday: date | None = None,
    language: str | None = None,
    marketing_consent: bool = False,
    join_channel: JoinChannel = JoinChannel.QR,
) -> Card:
    """The customer's card in ``program``, creating the customer and the card where needed.

    A customer is one person per business: an email or phone already known is the same
    customer, never a duplicate (the database enforces it too). Callers that face the public
    must verify ownership of the email or phone before handing an existing card back.
    """
    if program.business_id != business.pk:
        raise errors.WrongBusiness()
    name = name.strip()
    if len(name) > Customer._meta.get_field("name").max_length:  # type: ignore[operator]
        raise errors.InvalidCustomer(_("The name is too long."))
    email = _clean_email(email)
    phone = _clean_phone(phone, region=business.country)
    with transaction.atomic():
        customer = _known_customer(business, email=email, phone=phone)
        if customer is None:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(
                        business=business,
                        name=name,
                        email=email,
                        phone=phone,
                        birthday=birthday,
                        language=language or business.default_language,
                        marketing_consent=marketing_consent,
                        join_channel=join_channel,
                    )
            except IntegrityError:
                # A parallel join created this person a moment ago: theirs is the same person.
                customer = _known_customer(business, email=email, phone=phone)
                if customer is None:
                    raise
        card = Card.objects.filter(program=program, customer=customer).first()
        if card is None:
            card = _create_card(business=business, program=program, customer=customer)
    return card


def _known_customer(business: Business, *, email: str, phone: str) -> Customer | None:
    if email and (found := Customer.objects.filter(business=business, email=email).first()):
        return found
    if phone:
        return Customer.objects.filter(business=business, phone=phone).first()
    return None


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise errors.InvalidCustomer(_("Enter a valid email address.")) from None
    return email


def _clean_phone(phone: str, *, region: str) -> str:
    """The phone number in E.164 (+66812345678), or "" when none was given.

    A number without its country code is read as one of the business's country.
    """
    if not phone.strip():
        return ""
    try:
        number = PhoneNumber.from_string(phone.strip(), region=region or None)
    except NumberParseException:
        number = None
    if number is None or not number.is_valid():
        raise errors.InvalidCustomer(
            _("Enter a valid phone number, with the country code (for example +66 81 234 5678).")
        )
    return str(number.as_e164)


def _create_card(*, business: Business, program: Program, customer: Customer) -> Card:
    # A fresh code collides with one in ~10^12; retry rather than fail the join.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Card.objects.create(
                    business=business,
                    program=program,
                    customer=customer,
                    token=tokens.new_secret(),
                    code=new_card_code(),
                )
        except IntegrityError:
            # Either a parallel join gave this customer their card, or the code was taken.
            existing = Card.objects.filter(program=program, customer=customer).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not draw a unique card code")
