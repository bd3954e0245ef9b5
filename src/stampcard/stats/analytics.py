"""The analytics page's figures from the daily rollups plus the live tail of the ledger.

Everything the rollup job has reached (created before ``RollupState.rolled_until``, with an
id up to the last one it looked at) is read from the rollups (a row per day and breakdown,
a row per customer and visit day); every other row is read from the ledger with the very
queries that fill the rollups (``stats.ledger``), so the sum is what the ledger says
(``loyalty.services.analytics.business_analytics`` counts the same figures from the ledger
alone; the tests hold the two equal). A page then costs the days of its
period and the minutes since the last rollup, not the stamps of the period.

The definitions are those of ``loyalty.services.analytics``.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from stampcard.loyalty.models import Program, StampEvent, StampEventKind, StampSource
from stampcard.loyalty.services.analytics import (
    FREQUENCY_GROUPS,
    Analytics,
    Period,
    Point,
    Totals,
    measure_breakdowns,
    returning_from_ledger,
    shares,
    staff_names,
    with_visitors,
)
from stampcard.stats.ledger import Ids, Window, count_rows, measure_rows, stamp_rows, visit_rows
from stampcard.stats.models import (
    DayCount,
    DayFigure,
    MeasureDay,
    RollupState,
    StampDay,
    VisitDay,
    VisitingSnapshot,
)
from stampcard.stats.returning import per_bucket, rolled_figures, tail_changes
from stampcard.stats.visiting import Visiting, count_visit_days, from_snapshot, unrolled_before
from stampcard.tenancy.models import Business, Location

Dimensions = tuple[int | None, str, int | None]  # location, workflow, staff member


def business_analytics(*, business: Business, period: Period) -> Analytics:
    """Every figure of the analytics page for ``business`` over ``period``.

    On PostgreSQL the reads share one snapshot (REPEATABLE READ), so a rollup committed
    meanwhile is counted neither twice nor not at all."""
    with one_snapshot():
        state = RollupState.objects.filter(pk=1).first()
        return _figures(business, period, state=state)


@contextmanager
def one_snapshot() -> Iterator[None]:
    # SQLite's transactions here take the write lock at BEGIN (settings): its reads stay
    # in autocommit, where a rollup committing between two of them is the one gap.
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _live_windows(business: Business, period: Period, state: RollupState | None) -> list[Window]:
    """The period's rows not rolled up: created from ``rolled_until`` on, or before it with
    an id the rollup job has not reached (two windows, each read through an index)."""
    rolled_until = state.rolled_until if state is not None else None
    if state is None or rolled_until is None or rolled_until <= period.start:
        return [Window(business.pk, period.time_zone, period.start, period.end)]
    windows = []
    if rolled_until < period.end:
        windows.append(Window(business.pk, period.time_zone, rolled_until, period.end))
    ids = Ids(
        event=state.last_event_id,
        customer=state.last_customer_id,
        reward=state.last_reward_id,
        voucher=state.last_voucher_id,
        card=state.last_card_id,
    )
    end = min(rolled_until, period.end)
    windows.append(Window(business.pk, period.time_zone, period.start, end, newer_than=ids))
    return windows


def _figures(business: Business, period: Period, *, state: RollupState | None) -> Analytics:
    windows = _live_windows(business, period, state)
    rolled_until = state.rolled_until if state is not None else None
    if rolled_until is not None and rolled_until <= period.start:
        rolled_until = None  # nothing of the period is rolled up
    in_period = {"business": business, "day__gte": period.first, "day__lte": period.last}

    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    per_group: Counter[tuple[Dimensions, str]] = Counter()
    per_program: Counter[tuple[int, str]] = Counter()

    def add(day: Any, group: Dimensions | None, program: int | None, row: Any) -> None:
        for name in ("stamps", "visits"):
            if day is not None:
                per_day[day][name] += row[name]
            if group is not None:
                per_group[(group, name)] += row[name]
            if program is not None:
                per_program[(program, name)] += row[name]

    if rolled_until is not None:
        stamp_days = StampDay.objects.filter(**in_period)
        sums = {"stamps": Sum("stamps"), "visits": Sum("visits")}
        for by_day in stamp_days.values("day").annotate(**sums):
            add(by_day["day"], None, None, by_day)
        for by_group in stamp_days.values("location_id", "source", "staff_id").annotate(**sums):
            group = (by_group["location_id"], by_group["source"], by_group["staff_id"])
            add(None, group, None, by_group)
        for by_program in stamp_days.values("program_id").annotate(**sums):
            add(None, None, by_program["program_id"], by_program)
        for day, figure, count in DayCount.objects.filter(**in_period).values_list(
            "day", "figure", "count"
        ):
            per_day[day][figure] += count
    for window in windows:
        for row in stamp_rows(window):
            add(row["day"], (row["location_id"], row["source"], row["staff"]), row["program"], row)
        for figure, counted in count_rows(window).items():
            for row in counted:
                per_day[row["day"]][figure] += row["count"]

    measures: list[dict[str, Any]] = []
    if rolled_until is not None:
        measures.extend(
            {
                "figure": row["figure"],
                "program": row["program_id"],
                "location": row["location_id"],
                "staff": row["staff_id"],
                "channel": row["channel"],
                "count": row["n"],
            }
            for row in MeasureDay.objects.filter(**in_period)
            .values("figure", "program_id", "location_id", "staff_id", "channel")
            .annotate(n=Sum("count"))
            .order_by()
        )
    for window in windows:
        for figure, rows in measure_rows(window).items():
            measures.extend(
                {
                    "figure": figure,
                    "program": row["of_program"],
                    "location": row["at_location"],
                    "staff": row["by_staff"],
                    "channel": row["via_channel"],
                    "count": row["count"],
                }
                for row in rows
            )

    series = with_visitors(_series(period, per_day), _returning(business, period, state))
    visiting = _customers_visiting(
        business,
        period,
        rolled=rolled_until is not None,
        windows=windows,
        before=[]
        if state is None or rolled_until is None
        else unrolled_before(business.pk, period, rolled_until, _ids(state)),
    )
    totals = Totals(
        new_customers=sum(p.new_customers for p in series),
        stamps=sum(p.stamps for p in series),
        visits=sum(p.visits for p in series),
        rewards_earned=sum(p.rewards_earned for p in series),
        rewards_redeemed=sum(p.rewards_redeemed for p in series),
        customers_visiting=visiting.visiting,
        customers_returning=visiting.returning,
    )
    locations = dict(Location.objects.filter(business=business).values_list("pk", "name"))
    staff = staff_names({key[2] for key, _figure in per_group})
    groups: list[dict[str, Any]] = [
        {
            # A deleted shop or person is no location or no staff member, as in the ledger.
            "location_id": key[0] if key[0] in locations else None,
            "source": key[1],
            "actor_user_id": key[2] if key[2] in staff else None,
            "stamps": per_group[(key, "stamps")],
            "visits": per_group[(key, "visits")],
        }
        for key in {key for key, _figure in per_group}
    ]
    programs = [
        {
            "program": key,
            "stamps": per_program[(key, "stamps")],
            "visits": per_program[(key, "visits")],
        }
        for key in {key for key, _figure in per_program}
    ]
    return Analytics(
        period=period,
        series=series,
        totals=totals,
        frequency=[(group, visiting.groups[group]) for group in FREQUENCY_GROUPS],
        by_location=shares(groups, "location_id", locations, none=_("No location")),
        by_program=shares(
            programs,
            "program",
            dict(Program.objects.filter(business=business).values_list("pk", "name")),
        ),
        by_source=shares(groups, "source", {s.value: str(s.label) for s in StampSource}),
        by_staff=shares(groups, "actor_user_id", staff, none=_("Devices and codes")),
        **measure_breakdowns(business, measures),
    )


def _series(period: Period, per_day: dict[date, Counter[str]]) -> list[Point]:
    buckets: dict[date, Counter[str]] = defaultdict(Counter)
    for day, figures in per_day.items():
        buckets[period.bucket_of(day)].update(figures)
    return [
        Point(
            bucket=bucket,
            new_customers=buckets[bucket][DayFigure.JOINED],
            stamps=buckets[bucket]["stamps"],
            visits=buckets[bucket]["visits"],
            rewards_earned=buckets[bucket][DayFigure.REWARDS_EARNED],
            rewards_redeemed=buckets[bucket][DayFigure.REWARDS_HANDED_OVER]
            + buckets[bucket][DayFigure.REWARD_VOUCHERS_REDEEMED],
        )
        for bucket in period.buckets()
    ]


def _returning(
    business: Business, period: Period, state: RollupState | None
) -> dict[date, tuple[int, int]]:
    """Visitors and returning customers per bucket: the rolled-up day figures of the
    buckets' days, changed by the visits not rolled up yet (``stats.returning``)."""
    rolled_until = state.rolled_until if state is not None else None
    if state is None or rolled_until is None:
        return returning_from_ledger(business, period)
    first, last = period.whole_buckets()
    zone = period.time_zone
    ids = Ids(
        event=state.last_event_id,
        customer=state.last_customer_id,
        reward=state.last_reward_id,
        voucher=state.last_voucher_id,
        card=state.last_card_id,
    )
    # Every visit not rolled up that can change these days: of any earlier time (by id), or
    # since the rollup up to the buckets' end.
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    windows = [Window(business.pk, zone, None, rolled_until, newer_than=ids)]
    if rolled_until < end:
        windows.append(Window(business.pk, zone, rolled_until, end))
    figures = rolled_figures(business.pk, first, last)
    figures.update(tail_changes(business.pk, first, last, windows))
    return per_bucket(period, figures)


def _ids(state: RollupState) -> Ids:
    return Ids(
        event=state.last_event_id,
        customer=state.last_customer_id,
        reward=state.last_reward_id,
        voucher=state.last_voucher_id,
        card=state.last_card_id,
    )


def _customers_visiting(
    business: Business,
    period: Period,
    *,
    rolled: bool,
    windows: list[Window],
    before: list[Window],
) -> Visiting:
    """Customers who visited, those returning, and how many visited on how many days.

    From the job's snapshot of the period when there is one (``stats.visiting``). Else the
    customers with a visit in the live tail are counted here from all their visit days of
    the period, everyone else in one aggregate over the rolled-up visit days.
    """
    if rolled:
        snapshot = VisitingSnapshot.objects.filter(
            business=business, days=period.days, last=period.last
        ).first()
        if snapshot is not None:
            return from_snapshot(business, period, snapshot)
    days: dict[int, set[date]] = defaultdict(set)
    for window in windows:
        for row in visit_rows(window):
            days[row["customer"]].add(row["day"])
    # Customers with a visit before the period not rolled up: counted here too, as the
    # rolled-up visit days do not know they had come before.
    for window in before:
        for row in visit_rows(window):
            days.setdefault(row["customer"], set())
    found = Visiting()
    if rolled:
        found = count_visit_days(business, period.first, period.last, leave_out=days)
        for customer, day in VisitDay.objects.filter(
            business=business,
            day__gte=period.first,
            day__lte=period.last,
            customer_id__in=list(days),
        ).values_list("customer_id", "day"):
            days[customer].add(day)
    # The few customers of the live tail: whether they came before the period, from the
    # ledger (through the (card, created_at) index), rolled up or not.
    earlier: set[int] = set()
    if days:
        earlier = set(
            StampEvent.objects.filter(
                business=business,
                kind=StampEventKind.STAMP,
                card__customer_id__in=list(days),
                created_at__lt=period.start,
            )
            .values_list("card__customer_id", flat=True)
            .distinct()
            .order_by()
        )
    for customer, visit_days in days.items():
        found.add(len(visit_days), customer in earlier)
    return found
