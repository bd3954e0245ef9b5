"""The rollup job: brings the daily rollups up to a moment, recomputing only the days touched.

``roll_up`` runs periodically (Celery beat's ``stats.tasks.roll_up``, or the ``deliver_outbox``
process of a box without a broker), never in a stamp's transaction: a scan does not wait on
it. Each run, in one transaction holding the ``RollupState`` row:

1. picks ``until`` = now minus ``STATS_ROLLUP_LAG_SECONDS``, so a transaction that wrote a
   row a moment ago and has not committed yet is not passed over;
2. finds, per business, the span of times touched since the last run: ledger rows,
   customers, cards, rewards and vouchers with an id past the last one rolled up (this also finds
   rows written with an earlier time, as an import's), rewards handed over and reward
   vouchers redeemed since the last run;
3. for each business, recomputes the whole local days of its span from the ledger (rows
   created before ``until``, with ids up to the new last ones): deletes the days' rollup
   rows and inserts them again (the visitor figures of the whole weeks they touch, too);
4. records ``until`` and the ids seen.

A run is idempotent (a day is recomputed, never incremented), and two runs at once cannot
interleave: the second finds the state row locked and returns without doing anything.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Model, QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card, Customer, Reward, RewardStatus, StampEvent
from stampcard.loyalty.services.analytics import PERIOD_DAYS
from stampcard.stats.ledger import (
    Ids,
    Rows,
    Window,
    count_rows,
    measure_rows,
    program_rows,
    stamp_rows,
    visit_rows,
)
from stampcard.stats.models import (
    VISITOR_FIGURES,
    DayCount,
    MeasureDay,
    ProgramDay,
    RollupState,
    StampDay,
    VisitDay,
    VisitingSnapshot,
)
from stampcard.stats.returning import days_to_recount, visitor_rows
from stampcard.stats.visiting import refresh_snapshots
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import Voucher, VoucherStatus

log = logging.getLogger(__name__)

Span = tuple[datetime, datetime]
# The tables with a row per day (and breakdown), recomputed a day at a time.
DAY_ROLLUPS: tuple[type[Model], ...] = (StampDay, DayCount, VisitDay, ProgramDay, MeasureDay)


@dataclass(frozen=True)
class RollupRun:
    until: datetime
    businesses: int
    days: int


def roll_up(*, until: datetime | None = None) -> RollupRun | None:
    """Bring the rollups up to ``until`` (default: now minus the lag); ``None`` when another
    run holds the state row or the rollups already reach that far."""
    if until is None:
        until = timezone.now() - timedelta(seconds=settings.STATS_ROLLUP_LAG_SECONDS)
    with scopes_disabled(), transaction.atomic():
        RollupState.objects.bulk_create([RollupState(pk=1)], ignore_conflicts=True)
        state = RollupState.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if state is None:
            return None  # another run is under way; it does this run's work
        since = state.rolled_until
        if since is not None and until <= since:
            return None
        spans: dict[int, Span] = {}
        ids = Ids(
            event=_new_rows(StampEvent, state.last_event_id, until, spans, "created_at"),
            customer=_new_rows(Customer, state.last_customer_id, until, spans, "created_at"),
            reward=_new_rows(
                Reward, state.last_reward_id, until, spans, "created_at", "settled_at"
            ),
            voucher=_new_rows(Voucher, state.last_voucher_id, until, spans, "redeemed_at"),
            card=_new_rows(Card, state.last_card_id, until, spans, "created_at"),
        )
        # Rows looked at before, changed since: rewards handed over, vouchers redeemed.
        _add_spans(
            spans,
            Reward.objects.filter(status=RewardStatus.REDEEMED),
            "settled_at",
            since,
            until,
        )
        _add_spans(
            spans,
            Voucher.objects.filter(reward__isnull=False, status=VoucherStatus.REDEEMED),
            "redeemed_at",
            since,
            until,
        )
        zones = dict(
            Business.objects.filter(pk__in=spans).values_list("pk", "time_zone").order_by()
        )
        days = 0
        for business_id, (low, high) in sorted(spans.items()):
            if business_id not in zones:
                continue  # deleted meanwhile; its rollups went with it
            zone = ZoneInfo(zones[business_id])
            first, last = low.astimezone(zone).date(), high.astimezone(zone).date()
            recompute_days(
                business_id=business_id, zone=zone, first=first, last=last, until=until, ids=ids
            )
            days += (last - first).days + 1
        _refresh_snapshots(spans, until, ids)
        state.rolled_until = until
        state.last_event_id, state.last_customer_id = ids.event, ids.customer
        state.last_reward_id, state.last_voucher_id = ids.reward, ids.voucher
        state.last_card_id = ids.card
        state.save()
    log.info("stats rollup to %s: %d businesses, %d days", until, len(spans), days)
    return RollupRun(until=until, businesses=len(spans), days=days)


def _refresh_snapshots(spans: dict[int, Span], until: datetime, ids: Ids) -> None:
    """Count again the periods ending today of each business with rows this run whose
    snapshot is older than ``STATS_SNAPSHOT_EVERY_SECONDS``, and of each whose snapshot
    ended on another day. A snapshot left older costs its readers the customers with rows
    since; an idle business's costs nothing."""
    oldest = until - timedelta(seconds=settings.STATS_SNAPSHOT_EVERY_SECONDS)
    known = {
        business_id: (last, counted_until)
        for business_id, last, counted_until in VisitingSnapshot.objects.filter(
            days=max(PERIOD_DAYS)
        ).values_list("business_id", "last", "rolled_until")
    }
    zones = dict(Business.objects.filter(pk__in={*spans, *known}).values_list("pk", "time_zone"))
    for business_id, zone in sorted(zones.items()):
        today = until.astimezone(ZoneInfo(zone)).date()
        last, counted_until = known.get(business_id, (None, None))
        stale = (
            last != today
            or counted_until is None
            or (business_id in spans and counted_until < oldest)
        )
        if stale:
            refresh_snapshots(
                business_id=business_id, today=today, rolled_until=until, last_event_id=ids.event
            )


def rebuild(*, until: datetime | None = None) -> RollupRun | None:
    """Forget every rollup and roll the whole history up again (after a restore, or a
    change of a business's time zone)."""
    with scopes_disabled(), transaction.atomic():
        RollupState.objects.bulk_create([RollupState(pk=1)], ignore_conflicts=True)
        RollupState.objects.select_for_update().filter(pk=1).update(
            rolled_until=None,
            last_event_id=0,
            last_customer_id=0,
            last_reward_id=0,
            last_voucher_id=0,
            last_card_id=0,
        )
        VisitingSnapshot.objects.all().delete()
        for model in DAY_ROLLUPS:
            model._default_manager.all().delete()
        return roll_up(until=until)


def _new_rows(
    model: type[Card] | type[Customer] | type[Reward] | type[StampEvent] | type[Voucher],
    last_id: int,
    until: datetime,
    spans: dict[int, Span],
    *fields: str,
) -> int:
    """Add the spans of ``fields`` of ``model``'s rows past ``last_id``, before ``until``;
    the id up to which every row is rolled up now: the rows after it are created from
    ``until`` on, or come after such a row (they are looked at again next time)."""
    newer = model.objects.filter(pk__gt=last_id).order_by()
    for field in fields:
        _add_spans(spans, newer, field, None, until)
    later = newer.filter(created_at__gte=until).aggregate(first=Min("pk"))["first"]
    if later is not None:
        return int(later) - 1  # rows from ``later`` on are looked at again next time
    highest = newer.aggregate(highest=Max("pk"))["highest"]
    return int(highest) if highest is not None else last_id


def _add_spans(
    spans: dict[int, Span],
    rows: QuerySet[Model],
    field: str,
    since: datetime | None,
    until: datetime,
) -> None:
    window = rows.filter(**{f"{field}__lt": until}).order_by()
    if since is not None:
        window = window.filter(**{f"{field}__gte": since})
    for row in window.values("business_id").annotate(low=Min(field), high=Max(field)):
        business_id, low, high = row["business_id"], row["low"], row["high"]
        if business_id in spans:
            low, high = min(low, spans[business_id][0]), max(high, spans[business_id][1])
        spans[business_id] = (low, high)


def recompute_days(
    *, business_id: int, zone: ZoneInfo, first: date, last: date, until: datetime, ids: Ids
) -> None:
    """Replace the rollup rows of the business's days ``first``..``last`` with what the
    ledger holds for them, counting rows created before ``until`` with ids up to ``ids``."""
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = min(datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone), until)
    for model in DAY_ROLLUPS:
        model._default_manager.filter(
            business_id=business_id, day__gte=first, day__lte=last
        ).delete()
    window = Window(business_id=business_id, zone=zone, start=start, end=end, up_to=ids)
    _insert(
        StampDay,
        ["day", "program_id", "location_id", "source", "staff_id", "stamps", "visits"],
        ["day", "program", "location_id", "source", "staff", "stamps", "visits"],
        stamp_rows(window),
        business_id,
    )
    _insert(
        VisitDay,
        ["day", "customer_id", "joined_on"],
        ["day", "customer", "joined_on"],
        visit_rows(window),
        business_id,
    )
    for figure, rows in count_rows(window).items():
        _insert(DayCount, ["day", "count", "figure"], ["day", "count"], rows, business_id, figure)
    recount_visitors(business_id=business_id, first=first, last=last)
    for figure, rows in measure_rows(window).items():
        _insert(
            MeasureDay,
            ["day", "program_id", "location_id", "staff_id", "channel", "count", "figure"],
            ["day", "of_program", "at_location", "by_staff", "via_channel", "count"],
            rows,
            business_id,
            figure,
        )
    for program_figure, rows in program_rows(window).items():
        _insert(
            ProgramDay,
            ["day", "program_id", "count", "figure"],
            ["day", "of_program", "count"],
            rows,
            business_id,
            program_figure,
        )


def recount_visitors(*, business_id: int, first: date, last: date) -> None:
    """Replace the visitor figures of the days the visit days of ``first``..``last`` touch
    (``stats.returning``), counted from the visit days just rolled up."""
    first, last = days_to_recount(business_id, first, last)
    DayCount.objects.filter(
        business_id=business_id, day__gte=first, day__lte=last, figure__in=VISITOR_FIGURES
    ).delete()
    for figure, rows in visitor_rows(business_id, first, last).items():
        _insert(DayCount, ["day", "count", "figure"], ["day", "count"], rows, business_id, figure)


def _insert(
    model: type[Model],
    columns: list[str],
    selected: list[str],
    rows: Rows,
    business_id: int,
    *constants: str,
) -> None:
    """``INSERT INTO model (business, columns) SELECT business, selected, constants FROM
    (rows)``: the ledger's rows go into the rollup without passing through Python."""
    quote = connection.ops.quote_name
    sql, params = rows.query.sql_with_params()
    table = quote(model._meta.db_table)
    targets = ", ".join(quote(name) for name in ["business_id", *columns])
    values = ", ".join(
        ["%s", *(f"ledger.{quote(name)}" for name in selected), *("%s" for _ in constants)]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({targets}) SELECT {values} FROM ({sql}) ledger",  # noqa: S608
            [business_id, *constants, *params],
        )
