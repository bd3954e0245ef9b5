"""Corrections: a stamp taken back or added by hand, as a new ledger row with its reason."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from stampcard.audit.services import record
from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, Reward, StampEvent, StampEventKind, StampSource
from stampcard.loyalty.services.card_state import CardState, hot_path_cursor, read_card
from stampcard.loyalty.services.cycles import earn_rewards
from stampcard.outbox.services import publish_card_changed
from stampcard.storable import is_storable
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require

# A correction fixes a mistake at the counter; anything larger is not a correction.
MAX_CORRECTION = 500
# How long the one who gave a stamp may take it back at the counter (a wrong card, a double
# tap); later it is a manager's correction.
UNDO_WINDOW = timedelta(minutes=2)


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
    Needs CORRECT_STAMPS. Locks the card; audited.
    """
    require(actor, Permission.CORRECT_STAMPS, business=business)
    reason = reason.strip()
    if not is_storable(reason):
        raise errors.ReasonInvalid()
    if not reason:
        raise errors.ReasonRequired()
    if len(reason) > StampEvent._meta.get_field("reason").max_length:  # type: ignore[operator]
        raise errors.ReasonTooLong()
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise errors.InvalidStampCount()
    if abs(delta) > MAX_CORRECTION:
        raise errors.CorrectionTooLarge(most=MAX_CORRECTION)
    return _write_correction(business=business, actor=actor, card=card, delta=delta, reason=reason)


def _write_correction(
    *,
    business: Business,
    actor: Actor,
    card: Card,
    delta: int,
    reason: str,
    source: StampSource = StampSource.ADMIN,
    check: Callable[[CardState], None] | None = None,
    undoes_last_stamp: bool = False,
) -> StampEvent:
    """The correction's writes, with the card locked; ``check`` may refuse it under the lock.

    ``source`` is the workflow the row is counted under: the dashboard's for a manager's
    correction, the undone stamp's own for an undo. ``undoes_last_stamp``: the card's
    cooldown and per-day counters are worked out again from the ledger without it.
    """
    now = timezone.now()
    db = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(), hot_path_cursor(db) as cursor:
        locked = read_card(
            db, cursor, business_id=business.pk, card_id=card.pk, card_code=None, lock=True
        )
        if locked is None:
            raise errors.CardNotFound()
        if check is not None:
            check(locked)
        total = locked.stamps + delta
        if total < 0:
            raise errors.BelowZero(stamps=locked.stamps)
        cycles_closed, stamps_after = divmod(total, locked.goal)
        event = StampEvent.objects.create(
            business=business,
            card_id=locked.id,
            kind=StampEventKind.CORRECTION,
            delta=delta,
            source=source,
            reason=reason,
            actor_kind=actor.kind,
            actor_user_id=actor.user_id,
            actor_device_id=actor.device_id,
            location_id=actor.location_id,
            balance_after=stamps_after,
            created_at=now,
        )
        counters = {}
        if undoes_last_stamp:
            last_at, day, on_day = _stamp_counters(locked.id, time_zone=business.time_zone)
            counters = {"last_stamp_at": last_at, "stamp_day": day, "stamps_on_day": on_day}
        Card.objects.filter(pk=locked.id).update(
            **counters,
            stamps=stamps_after,
            lifetime_stamps=F("lifetime_stamps") + delta,
            cycles_completed=locked.cycles_completed + cycles_closed,
            version=F("version") + 1,
            # A queryset update skips auto_now: set as the stamp does, so caches see the change.
            updated_at=now,
        )
        # The row is locked: this update made its version this one.
        publish_card_changed(business_id=business.pk, card_id=locked.id, version=locked.version + 1)
        earn_rewards(
            db, cursor, business=business, card=locked, added=delta, event_id=event.pk, now=now
        )
        record(
            business=business,
            actor=actor,
            action="stamps.corrected",
            target=card,
            delta=delta,
            reason=reason,
        )
    return event


def undo_stamp(*, business: Business, actor: Actor, event_id: int) -> StampEvent:
    """Take back a stamp just given at the counter, as a correction of the same size.

    Needs STAMP (not CORRECT_STAMPS: the cashier undoes their own slip, nothing else): the
    stamp must be the actor's own (the same member or device), at most UNDO_WINDOW old, and
    still the card's latest ledger row, so it is undone at most once. A stamp that earned a
    reward is not undone here (a manager corrects it). Checked with the card locked.

    The correction keeps the undone stamp's source (kiosk, staff scanner, Autopilot, …), so
    what each workflow gave, counted from the ledger, nets the undo out of the same workflow
    rather than moving it to the dashboard's.
    """
    require(actor, Permission.STAMP, business=business)
    if isinstance(event_id, bool) or not isinstance(event_id, int) or not 0 < event_id < 2**63:
        raise errors.UndoNotPossible()
    stamp = (
        StampEvent.objects.filter(pk=event_id, business=business, kind=StampEventKind.STAMP)
        .select_related("card")
        .first()
    )
    if stamp is None:
        raise errors.UndoNotPossible()
    own = (
        stamp.actor_kind == actor.kind
        and stamp.actor_user_id == actor.user_id
        and stamp.actor_device_id == actor.device_id
    )
    if not own:
        raise errors.UndoNotYours()
    if timezone.now() - stamp.created_at > UNDO_WINDOW:
        raise errors.UndoTooLate()

    def still_the_latest(locked: CardState) -> None:
        latest = StampEvent.objects.filter(card_id=locked.id).order_by("-id").values("id").first()
        if latest is None or latest["id"] != stamp.pk:
            raise errors.UndoNotPossible()
        if Reward.objects.filter(card_id=locked.id, created_at__gte=stamp.created_at).exists():
            raise errors.UndoEarnedReward()

    return _write_correction(
        business=business,
        actor=actor,
        card=stamp.card,
        delta=-stamp.delta,
        reason=gettext("Undo at the counter"),
        source=StampSource(stamp.source),
        check=still_the_latest,
        undoes_last_stamp=True,
    )


def _stamp_counters(card_id: int, *, time_zone: str) -> tuple[datetime | None, date | None, int]:
    """The card's last stamp time, that stamp's day and the stamps given on it (in the
    business's time zone), from the ledger, leaving out stamps undone at the counter.

    An undo is always the row right after its stamp (it must be the card's latest), the
    stamp's size taken back by the same actor under the same source: read newest first, such
    a correction takes the stamp just below it out of the count.
    """
    zone = ZoneInfo(time_zone)
    rows = (
        StampEvent.objects.filter(card_id=card_id)
        .order_by("-id")
        .values_list(
            "kind", "delta", "source", "actor_kind", "actor_user_id", "actor_device_id",
            "created_at",
        )
    )  # fmt: skip
    last_at: datetime | None = None
    day: date | None = None
    on_day = 0
    newer: tuple[object, ...] | None = None
    for row in rows.iterator(chunk_size=50):
        kind, delta, who, when = row[0], row[1], row[2:6], row[6]
        undone = (
            newer is not None
            and newer[0] == StampEventKind.CORRECTION
            and newer[1] == -delta
            and newer[2:6] == who
        )
        newer = row
        if kind != StampEventKind.STAMP or undone:
            continue
        stamped_on = when.astimezone(zone).date()
        if last_at is None:
            last_at, day = when, stamped_on
        elif stamped_on != day:
            break
        on_day += delta
    return last_at, day, on_day
