"""Customers who visited in a period, returning ones, and how many came on how many days.

Counted three ways, each giving the same answer:

- ``count_visit_days``: one aggregate over the rolled-up visit days (``VisitDay``) of the
  period; its cost is the visitors of the period, fine for a week, heavy for a year;
- a ``VisitingSnapshot`` the rollup job keeps of that aggregate for each period ending today,
  plus, for the customers with ledger rows the snapshot has not seen, their days before
  and after from the ledger (``from_snapshot``): the cost is the minutes since the snapshot;
- the ledger alone (``loyalty.services.analytics``), the reference in the tests.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from stampcard.loyalty.models import StampEvent, StampEventKind
from stampcard.loyalty.services.analytics import (
    FREQUENCY_GROUPS,
    PERIOD_DAYS,
    RETURNING_DAYS,
    Period,
    is_returning,
)
from stampcard.stats.ledger import Ids, Window, visit_rows
from stampcard.stats.models import VisitDay, VisitingSnapshot
from stampcard.tenancy.models import Business

Group = tuple[int, int | None]


@dataclass
class Visiting:
    visiting: int = 0
    returning: int = 0
    groups: dict[Group, int] = field(default_factory=lambda: dict.fromkeys(FREQUENCY_GROUPS, 0))

    def add(self, days: int, visited_before: bool, sign: int = 1) -> None:
        """Count (or, with ``sign`` -1, take back) a customer with ``days`` visit days in the
        period, ``visited_before`` if they had a visit on a day before it."""
        if not days:
            return
        self.visiting += sign
        self.returning += sign * is_returning(days, visited_before)
        for low, high in FREQUENCY_GROUPS:
            if days >= low and (high is None or days <= high):
                self.groups[(low, high)] += sign


def count_visit_days(
    business: Business, first: date, last: date, *, leave_out: Iterable[int] = ()
) -> Visiting:
    """The aggregate over the rolled-up visit days of ``first``..``last``, without the
    customers in ``leave_out``: the visit days grouped per customer (the
    ``(business, day, …)`` index), then, for a customer with fewer days than make them
    returning (``is_returning``), whether they came before ``first``: one probe of the
    ``(business, customer_id, day)`` index per such customer, not per visit day."""
    table = VisitDay._meta.db_table
    left_out = list(leave_out)
    groups = ", ".join(
        f"COUNT(*) FILTER (WHERE days >= {low}"
        + ("" if high is None else f" AND days <= {high}")
        + ")"
        for low, high in FREQUENCY_GROUPS
    )
    # Only the table name and the fixed frequency groups are put into the text; every value
    # is a parameter.
    sql = f"""
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE days >= %s OR EXISTS (
                   SELECT 1 FROM {table} earlier
                   WHERE earlier.business_id = %s AND earlier.customer_id = visitor.customer_id
                     AND earlier.day < %s)),
               {groups}
        FROM (
            SELECT customer_id, COUNT(*) AS days FROM {table}
            WHERE business_id = %s AND day >= %s AND day <= %s
              {"AND NOT (customer_id = ANY(%s))" if left_out else ""}
            GROUP BY customer_id
        ) visitor
    """  # noqa: S608
    params: list[Any] = [RETURNING_DAYS, business.pk, first, business.pk, first, last]
    if left_out:
        params.append(left_out)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    visiting, returning, *counts = row
    return Visiting(
        visiting=visiting,
        returning=returning,
        groups=dict(zip(FREQUENCY_GROUPS, counts, strict=True)),
    )


def unrolled_before(
    business_id: int, period: Period, rolled_until: datetime, ids: Ids
) -> list[Window]:
    """The rows before ``period`` the rollups have not seen (created from ``rolled_until``
    on, or with an id past ``ids``: an import's, a late commit's): a visit among them makes
    its customer's visits in the period returning ones, which the rolled-up visit days do
    not know yet."""
    zone = period.time_zone
    windows = [Window(business_id, zone, None, min(rolled_until, period.start), newer_than=ids)]
    if rolled_until < period.start:
        windows.append(Window(business_id, zone, rolled_until, period.start))
    return windows


def from_snapshot(business: Business, period: Period, snapshot: VisitingSnapshot) -> Visiting:
    """The snapshot, corrected for every customer with stamp rows in the period it did not
    count (created from its ``rolled_until`` on, or with a newer id): each such customer's
    days as the snapshot counted them are taken back and their days now added."""
    found = Visiting(
        visiting=snapshot.visiting,
        returning=snapshot.returning,
        groups=dict(zip(FREQUENCY_GROUPS, snapshot.groups, strict=True)),
    )
    unseen = Ids(event=snapshot.last_event_id, customer=0, reward=0, voucher=0, card=0)
    windows = [
        Window(business.pk, period.time_zone, max(snapshot.rolled_until, period.start), period.end)
    ]
    if snapshot.rolled_until > period.start:
        windows.append(
            Window(
                business.pk,
                period.time_zone,
                period.start,
                min(snapshot.rolled_until, period.end),
                newer_than=unseen,
            )
        )
    windows = [w for w in windows if w.start is not None and w.end is not None and w.start < w.end]
    windows += unrolled_before(business.pk, period, snapshot.rolled_until, unseen)
    changed = {row["customer"] for window in windows for row in visit_rows(window)}
    if not changed:
        return found
    before: dict[int, set[date]] = defaultdict(set)
    now: dict[int, set[date]] = defaultdict(set)
    # Who had a visit before the period, now and as the snapshot saw it.
    seen_until = min(snapshot.rolled_until, period.start)
    earlier = dict(
        StampEvent.objects.filter(
            business=business,
            kind=StampEventKind.STAMP,
            card__customer_id__in=changed,
            created_at__lt=period.start,
        )
        .values_list("card__customer_id")
        .annotate(
            seen=Count("pk", filter=Q(pk__lte=snapshot.last_event_id, created_at__lt=seen_until))
        )
        .order_by()
    )
    rows = (
        StampEvent.objects.filter(
            business=business,
            kind=StampEventKind.STAMP,
            card__customer_id__in=changed,
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .order_by()
        .annotate(
            day=TruncDate("created_at", tzinfo=period.time_zone),
            customer=F("card__customer_id"),
        )
        .values_list("customer", "day", "pk", "created_at")
    )
    for customer, day, pk, created_at in rows:
        now[customer].add(day)
        if created_at < snapshot.rolled_until and pk <= snapshot.last_event_id:
            before[customer].add(day)
    for customer in changed:
        found.add(len(before[customer]), bool(earlier.get(customer)), sign=-1)
        found.add(len(now[customer]), customer in earlier)
    return found


def refresh_snapshots(
    *, business_id: int, today: date, rolled_until: Any, last_event_id: int
) -> None:
    """Count the periods ending ``today`` again from the rolled-up visit days (the rollup job
    calls this in its transaction, so they match what it has rolled up)."""
    business = Business.objects.get(pk=business_id)
    VisitingSnapshot.objects.filter(business_id=business_id).delete()
    for days in PERIOD_DAYS:
        first = today - timedelta(days=days - 1)
        counted = count_visit_days(business, first, today)
        VisitingSnapshot.objects.create(
            business_id=business_id,
            days=days,
            last=today,
            rolled_until=rolled_until,
            last_event_id=last_event_id,
            visiting=counted.visiting,
            returning=counted.returning,
            groups=[counted.groups[group] for group in FREQUENCY_GROUPS],
        )
