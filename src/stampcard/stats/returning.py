"""Visitors and returning customers per day or week, from day figures the rollup job keeps.

The definitions are those of ``loyalty.services.analytics`` (``returning_from_ledger`` is the
reference): a day's or week's visitors are the customers with a visit in it; a new one's
very first visit is the only day they came in it; everyone else is returning.

Distinct customers of a week do not add up from its days, so the job keeps, per day, four
counts that do (``DayCount``, ``VISITOR_FIGURES``), counted from the visit days
(``VisitDay``):

- ``visitors``: customers with a visit that day;
- ``first_visits``: of them, those whose very first visit it is;
- ``week_visitors``: those for whom it is the first visit of its week (Monday on);
- ``week_newcomers``: those for whom it is the very first visit and who came on no other
  day of its week.

A day's returning customers are then ``visitors - first_visits``; a week's visitors are the
sum of its ``week_visitors``, its returning ones that minus the sum of its
``week_newcomers``. A page reads a row per day and figure, plus what the customers with
ledger rows not rolled up yet change (``tail_changes``): the few of the last minutes.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from django.db.models import Count, DateField, Exists, ExpressionWrapper, Max, Min, OuterRef
from django.db.models.functions import TruncWeek

from stampcard.loyalty.services.analytics import Grain, Period
from stampcard.stats.ledger import Rows, Window, visit_rows
from stampcard.stats.models import VISITOR_FIGURES, DayCount, DayFigure, VisitDay

DayFigures = Counter[tuple[date, str]]


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def visitor_rows(business_id: int, first: date, last: date) -> dict[DayFigure, Rows]:
    """Per figure, one row per day of ``first``..``last``: ``count``, from the visit days."""
    days = VisitDay.objects.filter(business_id=business_id, day__gte=first, day__lte=last)
    same_customer = VisitDay.objects.filter(
        business_id=business_id, customer_id=OuterRef("customer_id")
    )
    # Each EXISTS reads the ``(business, customer_id, day)`` index of ``VisitDay`` from the
    # customer's row for the day: any earlier day stops at the first entry; the same week's
    # are bounded by the week's Monday and Sunday, plain day columns, so the index reads
    # that week's days (a ``TruncWeek`` of the inner row would read the customer's whole
    # history).
    earlier = Exists(same_customer.filter(day__lt=OuterRef("day")))
    earlier_that_week = Exists(
        same_customer.filter(day__gte=OuterRef("week"), day__lt=OuterRef("day"))
    )
    later_that_week = Exists(
        same_customer.filter(day__gt=OuterRef("day"), day__lte=OuterRef("sunday"))
    )
    week = TruncWeek("day", output_field=DateField())
    weeks = days.annotate(
        week=week,
        sunday=ExpressionWrapper(week + timedelta(days=6), output_field=DateField()),
    )

    def per_day(rows: Rows) -> Rows:
        return rows.order_by().values("day").annotate(count=Count("*"))

    return {
        DayFigure.VISITORS: per_day(days),
        DayFigure.FIRST_VISITS: per_day(days.filter(~earlier)),
        DayFigure.WEEK_VISITORS: per_day(weeks.filter(~earlier_that_week)),
        DayFigure.WEEK_NEWCOMERS: per_day(weeks.filter(~earlier, ~later_that_week)),
    }


def days_to_recount(business_id: int, first: date, last: date) -> tuple[date, date]:
    """The days whose visitor figures visit days in ``first``..``last`` can change: their
    whole weeks, and up to the first later visit of each customer with one of them (a visit
    written with an earlier time, as an import's, makes that visit no longer the first)."""
    first, last = monday(first), monday(last) + timedelta(days=6)
    customers = VisitDay.objects.filter(
        business_id=business_id, day__gte=first, day__lte=last
    ).values("customer_id")
    later = (
        VisitDay.objects.filter(business_id=business_id, customer_id__in=customers, day__gt=last)
        .values("customer_id")
        .annotate(next_day=Min("day"))
        .aggregate(latest=Max("next_day"))["latest"]
    )
    if later is not None:
        last = monday(later) + timedelta(days=6)
    return first, last


def figures_of(days: Iterable[date], first_visit: date | None) -> DayFigures:
    """One customer's share of the day figures, from their visit days (all of those in the
    weeks wanted) and their very first visit."""
    visits = sorted(set(days))
    found: DayFigures = Counter()
    for index, day in enumerate(visits):
        week = monday(day)
        found[(day, DayFigure.VISITORS)] += 1
        first_of_week = index == 0 or visits[index - 1] < week
        last_of_week = index == len(visits) - 1 or visits[index + 1] > week + timedelta(days=6)
        if first_of_week:
            found[(day, DayFigure.WEEK_VISITORS)] += 1
        if day == first_visit:
            found[(day, DayFigure.FIRST_VISITS)] += 1
            if first_of_week and last_of_week:
                found[(day, DayFigure.WEEK_NEWCOMERS)] += 1
    return found


def tail_changes(business_id: int, first: date, last: date, windows: list[Window]) -> DayFigures:
    """What the visits in ``windows`` (rows not rolled up) change in the rolled-up day
    figures of ``first``..``last``: for each customer with such a visit, their figures with
    it less their figures without it. The windows hold every such row, of any time: one
    with an earlier time changes which visit was the first."""
    tail: dict[int, set[date]] = {}
    for window in windows:
        for row in visit_rows(window):
            tail.setdefault(row["customer"], set()).add(row["day"])
    changes: DayFigures = Counter()
    if not tail:
        return changes
    customers = list(tail)
    rolled_first = dict(
        VisitDay.objects.filter(business_id=business_id, customer_id__in=customers)
        .values_list("customer_id")
        .annotate(first=Min("day"))
        .order_by()
    )
    rolled: dict[int, set[date]] = {customer: set() for customer in customers}
    for customer, day in VisitDay.objects.filter(
        business_id=business_id,
        customer_id__in=customers,
        day__gte=monday(first),
        day__lte=monday(last) + timedelta(days=6),
    ).values_list("customer_id", "day"):
        rolled[customer].add(day)
    for customer, tail_days in tail.items():
        before = rolled_first.get(customer)
        now = min(tail_days) if before is None else min(before, *tail_days)
        changes.update(figures_of(rolled[customer] | tail_days, now))
        changes.subtract(figures_of(rolled[customer], before))
    return Counter({key: n for key, n in changes.items() if first <= key[0] <= last and n})


def rolled_figures(business_id: int, first: date, last: date) -> DayFigures:
    found: DayFigures = Counter()
    for day, figure, count in DayCount.objects.filter(
        business_id=business_id, day__gte=first, day__lte=last, figure__in=VISITOR_FIGURES
    ).values_list("day", "figure", "count"):
        found[(day, figure)] += count
    return found


def per_bucket(
    period: Period, figures: Mapping[tuple[date, str], int]
) -> dict[date, tuple[int, int]]:
    """(visitors, returning) per bucket of ``period`` from the day figures of its buckets'
    days (a week's from all its days)."""
    visitors: Counter[date] = Counter()
    new: Counter[date] = Counter()
    weekly = period.grain == Grain.WEEK
    counted = (
        (DayFigure.WEEK_VISITORS, DayFigure.WEEK_NEWCOMERS)
        if weekly
        else (DayFigure.VISITORS, DayFigure.FIRST_VISITS)
    )
    for (day, figure), count in figures.items():
        if figure == counted[0]:
            visitors[period.bucket_of(day)] += count
        elif figure == counted[1]:
            new[period.bucket_of(day)] += count
    return {
        bucket: (visitors[bucket], visitors[bucket] - new[bucket])
        for bucket in visitors
        if visitors[bucket]
    }
