"""What the business's numbers say over a period, counted from the ledger itself.

The analytics page reads the same figures from the daily rollups plus the ledger's live
tail (``stats.analytics``); this module defines each figure and is the reference those
rollups are tested against. Every figure here is one aggregate SQL query over a bounded
range of days (at most ``MAX_DAYS``), cut into days or weeks in the business's own time
zone, so it costs the rows of its period, never the whole history. Its indexes are the
``(business, created_at)`` ones of ``StampEvent``, ``Customer`` and ``Reward`` (loyalty
migration 0006); ``StampEvent``'s carries the columns the breakdowns read, so they are
answered from the index alone.

Definitions, as the page states them:

- a *visit* is one stamp event (``kind=stamp``); corrections are not visits and do not
  count as stamps given;
- *rewards earned* are rewards written in the period (goals and milestones); *rewards
  redeemed* are "reward ready" rewards handed over in the period plus reward vouchers
  redeemed in it; the *redemption rate* is redeemed over earned in the same period;
- a *returning customer* of a period (the whole selected one, or a day or week of it) is one
  with a visit in it who had visited on an earlier day: on two or more days in it, or before
  it (``is_returning``, the one rule every count here and in ``stats`` applies); the rate is
  over the customers with a visit in it. A customer whose very first visit is the only day
  they came in it is new. For a period that is one day or one whole week the figure is that
  day's or week's in the rate chart;
- *visit frequency* counts, per customer who visited, the days with a visit in the period;
- *new customers by card*: each customer who joined in the period once, on the program of
  their first card (the one they joined with);
- *rewards by location and by staff member*: a reward earned is counted at the shop and with
  the staff member of the ledger row that earned it (``Reward.earned_by``; none for a kiosk,
  Autopilot, a code or the API; not known for rewards from before it was recorded); a
  reward voucher redeemed where and by whom it was redeemed; a reward handed over records
  neither. Their rate is only given where both are recorded (a named shop or person).

Per day or week (the rate charts):

- the *redemption rate* of a day or week is its rewards redeemed over its rewards earned;
- a day's or week's *visitors* are the customers with a visit in it; the *returning* ones are
  as above, with the day or week as the period. A week counts all its days, those outside
  the period too, so each bar is a whole week.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    DateField,
    Exists,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Trunc
from django.utils.translation import gettext as _

from stampcard.loyalty.models import (
    Card,
    Customer,
    JoinChannel,
    Program,
    Reward,
    RewardStatus,
    StampEvent,
    StampEventKind,
    StampSource,
)
from stampcard.tenancy.models import Business, Location

PERIOD_DAYS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
MAX_DAYS = max(PERIOD_DAYS)
# Past this many days a bar per day is too thin to read: weeks only.
MOST_DAYS_BY_DAY = 90
# Visit-frequency groups: (lowest, highest or None for "and more").
FREQUENCY_GROUPS: tuple[tuple[int, int | None], ...] = ((1, 1), (2, 2), (3, 3), (4, 5), (6, None))


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class Period:
    """The days ``first``..``last`` (inclusive) in ``time_zone``, cut into ``grain``."""

    first: date
    last: date
    grain: Grain
    time_zone: ZoneInfo

    @classmethod
    def ending(
        cls, *, last: date, days: int, grain: Grain | str, time_zone: str | ZoneInfo
    ) -> "Period":
        """The ``days`` days up to ``last``: an unknown length is the default one, and a long
        period is cut into weeks whatever was asked, so no request is unbounded."""
        days = days if days in PERIOD_DAYS else DEFAULT_DAYS
        grain = Grain(grain) if grain in (Grain.DAY, Grain.WEEK) else Grain.DAY
        if days > MOST_DAYS_BY_DAY:
            grain = Grain.WEEK
        zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
        return cls(first=last - timedelta(days=days - 1), last=last, grain=grain, time_zone=zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.time_zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.time_zone)

    def bucket_of(self, day: date) -> date:
        return day - timedelta(days=day.weekday()) if self.grain == Grain.WEEK else day

    def whole_buckets(self) -> tuple[date, date]:
        """The first and last day of the buckets: a week's days outside the period too."""
        last = self.bucket_of(self.last)
        return self.bucket_of(self.first), last + timedelta(
            days=6
        ) if self.grain == Grain.WEEK else last

    def buckets(self) -> list[date]:
        """Every bucket's first day, oldest first (a week starts on Monday, as PostgreSQL's)."""
        found: list[date] = []
        day = self.first
        while day <= self.last:
            bucket = self.bucket_of(day)
            if not found or found[-1] != bucket:
                found.append(bucket)
            day += timedelta(days=1)
        return found


@dataclass(frozen=True)
class Point:
    bucket: date
    new_customers: int = 0
    stamps: int = 0
    visits: int = 0
    rewards_earned: int = 0
    rewards_redeemed: int = 0
    visitors: int = 0
    returning: int = 0

    @property
    def redemption_rate(self) -> float | None:
        return self.rewards_redeemed / self.rewards_earned if self.rewards_earned else None

    @property
    def returning_rate(self) -> float | None:
        return self.returning / self.visitors if self.visitors else None


@dataclass(frozen=True)
class Share:
    """One bar of a breakdown: its label and its figures."""

    label: str
    stamps: int
    visits: int


@dataclass(frozen=True)
class Tally:
    """One bar of a breakdown of a single count."""

    label: str
    count: int


@dataclass(frozen=True)
class RewardShare:
    """Rewards earned and redeemed on one card program, at one shop or by one staff
    member in the period. ``rated``: both figures are of the same thing, so their ratio
    is a redemption rate (not for "not recorded" and "not known" rows)."""

    label: str
    earned: int
    redeemed: int
    rated: bool = True

    @property
    def redemption_rate(self) -> float | None:
        return self.redeemed / self.earned if self.earned and self.rated else None


@dataclass(frozen=True)
class Totals:
    new_customers: int
    stamps: int
    visits: int
    rewards_earned: int
    rewards_redeemed: int
    customers_visiting: int
    customers_returning: int

    @property
    def redemption_rate(self) -> float | None:
        return self.rewards_redeemed / self.rewards_earned if self.rewards_earned else None

    @property
    def returning_rate(self) -> float | None:
        if not self.customers_visiting:
            return None
        return self.customers_returning / self.customers_visiting

    @property
    def visits_per_customer(self) -> float | None:
        return self.visits / self.customers_visiting if self.customers_visiting else None


@dataclass(frozen=True)
class Analytics:
    period: Period
    series: list[Point]
    totals: Totals
    frequency: list[tuple[tuple[int, int | None], int]]
    by_location: list[Share] = field(default_factory=list)
    by_program: list[Share] = field(default_factory=list)
    by_source: list[Share] = field(default_factory=list)
    by_staff: list[Share] = field(default_factory=list)
    joined_by_channel: list[Tally] = field(default_factory=list)
    joined_by_program: list[Tally] = field(default_factory=list)
    rewards_by_program: list[RewardShare] = field(default_factory=list)
    rewards_by_location: list[RewardShare] = field(default_factory=list)
    rewards_by_staff: list[RewardShare] = field(default_factory=list)


def business_analytics(*, business: Business, period: Period) -> Analytics:
    """Every figure of the analytics page for ``business`` over ``period``: a few aggregate
    queries, each bounded by the period's days."""
    stamps = _stamps(business, period)
    measures = measure_breakdowns(business, _measure_rows(business, period))
    series = with_visitors(
        _series(business, period, stamps), returning_from_ledger(business, period)
    )
    visiting = _customers_visiting(business, period, stamps)
    totals = Totals(
        new_customers=sum(p.new_customers for p in series),
        stamps=sum(p.stamps for p in series),
        visits=sum(p.visits for p in series),
        rewards_earned=sum(p.rewards_earned for p in series),
        rewards_redeemed=sum(p.rewards_redeemed for p in series),
        customers_visiting=visiting["visiting"],
        customers_returning=visiting["returning"],
    )
    frequency = [(group, visiting[_group_key(group)]) for group in FREQUENCY_GROUPS]
    # Location, workflow and staff member in one pass: a few hundred groups at most.
    groups: list[Mapping[str, Any]] = list(
        stamps.values("location_id", "source", "actor_user_id").annotate(
            stamps=Sum("delta"), visits=Count("*")
        )
    )
    return Analytics(
        period=period,
        series=series,
        totals=totals,
        frequency=frequency,
        by_location=shares(
            groups,
            "location_id",
            dict(Location.objects.filter(business=business).values_list("pk", "name")),
            none=_("No location"),
        ),
        by_program=_breakdown(
            stamps,
            "card__program_id",
            dict(Program.objects.filter(business=business).values_list("pk", "name")),
        ),
        by_source=shares(groups, "source", {s.value: str(s.label) for s in StampSource}),
        by_staff=shares(
            groups,
            "actor_user_id",
            staff_names({row["actor_user_id"] for row in groups}),
            none=_("Devices and codes"),
        ),
        **measures,
    )


def _measure_rows(business: Business, period: Period) -> list[dict[str, Any]]:
    """The period's joins by channel and first card's program, rewards earned by program
    and by the shop, staff member and workflow of the ledger row that earned them, handed
    over by program, reward vouchers redeemed by program, shop and staff member
    (``measure_breakdowns``' rows)."""
    within = {"created_at__gte": period.start, "created_at__lt": period.end}
    rows: list[dict[str, Any]] = []
    first_card = Card.objects.filter(customer_id=OuterRef("pk")).order_by("created_at", "pk")
    for channel, program, count in (
        Customer.objects.filter(business=business, **within)
        .annotate(first_program=Subquery(first_card.values("program_id")[:1]))
        .values_list("join_channel", "first_program")
        .annotate(n=Count("id"))
        .order_by()
    ):
        rows.append({"figure": "joined", "channel": channel, "program": program, "count": count})
    for program, location, staff, source, count in (
        Reward.objects.filter(business=business, **within)
        .values_list(
            "card__program_id",
            "earned_by__location_id",
            "earned_by__actor_user_id",
            "earned_by__source",
        )
        .annotate(n=Count("id"))
        .order_by()
    ):
        rows.append(
            {
                "figure": "earned",
                "program": program,
                "location": location,
                "staff": staff,
                "channel": source or "",
                "count": count,
            }
        )
    handed_over = Reward.objects.filter(
        business=business,
        status=RewardStatus.REDEEMED,
        settled_at__gte=period.start,
        settled_at__lt=period.end,
    )
    for program, count in (
        handed_over.values_list("card__program_id").annotate(n=Count("id")).order_by()
    ):
        rows.append({"figure": "handed_over", "program": program, "count": count})
    # Through the reverse relation the vouchers app gives ``Reward``, as ``_series``.
    for program, location, staff, count in (
        Reward.objects.filter(
            business=business,
            voucher__status="redeemed",
            voucher__redeemed_at__gte=period.start,
            voucher__redeemed_at__lt=period.end,
        )
        .values_list(
            "card__program_id", "voucher__redeemed_at_location_id", "voucher__redeemed_by_user_id"
        )
        .annotate(n=Count("id"))
        .order_by()
    ):
        rows.append(
            {
                "figure": "voucher_redeemed",
                "program": program,
                "location": location,
                "staff": staff,
                "count": count,
            }
        )
    return rows


def measure_breakdowns(business: Business, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``Analytics``' breakdowns of the counts other than stamps, from rows of a ``figure``
    ("joined", "earned", "handed_over", "voucher_redeemed"), its ``count`` and what it is
    recorded with (``channel``, ``program``, ``location``, ``staff``; missing is none).

    A reward handed over records no shop and no staff member (it is counted as none). A
    reward earned records the shop and staff member
    of the ledger row that earned it; one whose row is not known (``channel`` empty: earned
    before it was recorded) is ``NOT_KNOWN`` there."""
    joined: dict[str, int] = {}
    joined_on: dict[int | None, int] = {}
    earned: dict[int, int] = {}
    redeemed: dict[int, int] = {}
    earned_at: dict[Any, int] = {}
    earned_by: dict[Any, int] = {}
    redeemed_at: dict[int | None, int] = {}
    redeemed_by: dict[int | None, int] = {}
    for row in rows:
        figure, count = row["figure"], int(row["count"])
        if not count:
            continue
        if figure == "joined":
            channel = row.get("channel") or ""
            joined[channel] = joined.get(channel, 0) + count
            program = row.get("program")
            joined_on[program] = joined_on.get(program, 0) + count
        elif figure == "earned":
            earned[row["program"]] = earned.get(row["program"], 0) + count
            known = bool(row.get("channel"))
            location = row.get("location") if known else NOT_KNOWN
            staff = row.get("staff") if known else NOT_KNOWN
            earned_at[location] = earned_at.get(location, 0) + count
            earned_by[staff] = earned_by.get(staff, 0) + count
        else:
            redeemed[row["program"]] = redeemed.get(row["program"], 0) + count
            location, staff = row.get("location"), row.get("staff")
            redeemed_at[location] = redeemed_at.get(location, 0) + count
            redeemed_by[staff] = redeemed_by.get(staff, 0) + count
    locations = dict(Location.objects.filter(business=business).values_list("pk", "name"))
    staff_found = staff_names({*earned_by, *redeemed_by} - {NOT_KNOWN})
    programs = dict(Program.objects.filter(business=business).values_list("pk", "name"))
    channels = {choice.value: str(choice.label) for choice in JoinChannel}
    return {
        "joined_by_channel": _tallies(joined, channels, none=_("Unknown")),
        "joined_by_program": _tallies(joined_on, programs, none=_("No card")),
        "rewards_by_program": _reward_shares(earned, redeemed, programs),
        # A deleted shop or person is none, as the ledger's rows say since.
        "rewards_by_location": _reward_shares(
            _known(earned_at, locations),
            _known(redeemed_at, locations),
            locations,
            none=_("No location recorded"),
        ),
        "rewards_by_staff": _reward_shares(
            _known(earned_by, staff_found),
            _known(redeemed_by, staff_found),
            staff_found,
            none=_("No staff member recorded"),
        ),
    }


# The shop or staff member of a reward whose earning ledger row is not known.
NOT_KNOWN = "not-known"


def _reward_shares(
    earned: Mapping[Any, int],
    redeemed: Mapping[Any, int],
    names: Mapping[Any, str],
    *,
    none: str = "—",
) -> list[RewardShare]:
    """Rewards earned and redeemed per key, most earned first; a rate only for a named one."""
    not_known = _("Earned before this was recorded")
    shares = [
        RewardShare(
            label=not_known if key == NOT_KNOWN else names.get(key, none),
            earned=earned.get(key, 0),
            redeemed=redeemed.get(key, 0),
            rated=key in names,
        )
        for key in {*earned, *redeemed}
    ]
    return sorted(shares, key=lambda share: (-share.earned, -share.redeemed, share.label))


def _known(counts: Mapping[Any, int], names: Mapping[Any, str]) -> dict[Any, int]:
    found: dict[Any, int] = {}
    for key, count in counts.items():
        key = key if key in names or key == NOT_KNOWN else None
        found[key] = found.get(key, 0) + count
    return found


def _tallies(counts: Mapping[Any, int], names: Mapping[Any, str], *, none: str) -> list[Tally]:
    """Most first; a key without a name (none, empty) is ``none``."""
    tallies = [
        Tally(label=names.get(key, key) if key else none, count=n) for key, n in counts.items()
    ]
    return sorted(tallies, key=lambda tally: (-tally.count, tally.label))


def _stamps(business: Business, period: Period) -> QuerySet[StampEvent]:
    return StampEvent.objects.filter(
        business=business,
        kind=StampEventKind.STAMP,
        created_at__gte=period.start,
        created_at__lt=period.end,
    )


def _bucket(column: str, period: Period) -> Trunc:
    return Trunc(column, period.grain.value, output_field=DateField(), tzinfo=period.time_zone)


def _counts(rows: Iterable[Mapping[str, Any]], key: str) -> dict[date, int]:
    return {row["bucket"]: int(row[key] or 0) for row in rows}


def _series(business: Business, period: Period, stamps: QuerySet[StampEvent]) -> list[Point]:
    joined = _counts(
        Customer.objects.filter(
            business=business, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(bucket=_bucket("created_at", period))
        .values("bucket")
        .annotate(n=Count("id")),
        "n",
    )
    stamped = list(
        stamps.annotate(bucket=_bucket("created_at", period))
        .values("bucket")
        .annotate(stamps=Sum("delta"), visits=Count("*"))
    )
    earned = _counts(
        Reward.objects.filter(
            business=business, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(bucket=_bucket("created_at", period))
        .values("bucket")
        .annotate(n=Count("id")),
        "n",
    )
    handed_over = _counts(
        Reward.objects.filter(
            business=business,
            status=RewardStatus.REDEEMED,
            settled_at__gte=period.start,
            settled_at__lt=period.end,
        )
        .annotate(bucket=_bucket("settled_at", period))
        .values("bucket")
        .annotate(n=Count("id")),
        "n",
    )
    # A reward's voucher, through the reverse relation the vouchers app gives ``Reward``
    # (loyalty imports nothing of the apps built on it); "redeemed" is its status's value.
    vouchers_redeemed = _counts(
        Reward.objects.filter(
            business=business,
            voucher__status="redeemed",
            voucher__redeemed_at__gte=period.start,
            voucher__redeemed_at__lt=period.end,
        )
        .annotate(bucket=_bucket("voucher__redeemed_at", period))
        .values("bucket")
        .annotate(n=Count("id")),
        "n",
    )
    stamp_counts = _counts(stamped, "stamps")
    visit_counts = _counts(stamped, "visits")
    return [
        Point(
            bucket=bucket,
            new_customers=joined.get(bucket, 0),
            stamps=stamp_counts.get(bucket, 0),
            visits=visit_counts.get(bucket, 0),
            rewards_earned=earned.get(bucket, 0),
            rewards_redeemed=handed_over.get(bucket, 0) + vouchers_redeemed.get(bucket, 0),
        )
        for bucket in period.buckets()
    ]


def with_visitors(series: list[Point], visitors: Mapping[date, tuple[int, int]]) -> list[Point]:
    """``series`` with each bucket's (visitors, returning) of ``visitors``."""
    return [
        replace(point, visitors=found[0], returning=found[1])
        if (found := visitors.get(point.bucket))
        else point
        for point in series
    ]


def returning_from_ledger(business: Business, period: Period) -> dict[date, tuple[int, int]]:
    """Per bucket of ``period``: customers who visited, and those of them returning (the
    definitions above), from the ledger: each visitor's days of the buckets, and their very
    first visit."""
    first, last = period.whole_buckets()
    zone = period.time_zone
    rows = (
        StampEvent.objects.filter(
            business=business,
            kind=StampEventKind.STAMP,
            created_at__gte=datetime.combine(first, time.min, tzinfo=zone),
            created_at__lt=datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
        )
        .annotate(day=Trunc("created_at", "day", DateField(), tzinfo=zone))
        .values_list("card__customer_id", "day")
        .distinct()
        .order_by()
    )
    days: dict[int, set[date]] = {}
    for customer, day in rows:
        days.setdefault(customer, set()).add(day)
    first_visits = {
        customer: earliest.astimezone(zone).date()
        for customer, earliest in StampEvent.objects.filter(
            business=business, kind=StampEventKind.STAMP, card__customer_id__in=list(days)
        )
        .values_list("card__customer_id")
        .annotate(earliest=Min("created_at"))
        .order_by()
    }
    return count_returning(period, days, first_visits)


# A customer with visits on this many days of a period came back within it.
RETURNING_DAYS = 2


def is_returning(days: int, visited_before: bool) -> bool:
    """Whether a customer with a visit on ``days`` days of a period is returning:
    ``visited_before`` says they had a visit on a day before the period. The SQL counts
    (``returning_q``, ``stats.visiting.count_visit_days``) say the same with
    ``RETURNING_DAYS``."""
    return days >= RETURNING_DAYS or visited_before


def returning_q(days: str = "days", visited_before: str = "visited_before") -> Q:
    """``is_returning`` in SQL, over the annotations named ``days`` and ``visited_before``."""
    return Q(**{f"{days}__gte": RETURNING_DAYS}) | Q(**{visited_before: True})


def count_returning(
    period: Period, days: Mapping[int, set[date]], first_visits: Mapping[int, date]
) -> dict[date, tuple[int, int]]:
    """Per bucket: (visitors, returning), from each customer's visit days and first visit."""
    visitors: dict[date, int] = {}
    returning: dict[date, int] = {}
    for customer, visit_days in days.items():
        per_bucket: dict[date, int] = {}
        for day in visit_days:
            bucket = period.bucket_of(day)
            per_bucket[bucket] = per_bucket.get(bucket, 0) + 1
        for bucket, count in per_bucket.items():
            visitors[bucket] = visitors.get(bucket, 0) + 1
            before = first_visits[customer] < bucket
            returning[bucket] = returning.get(bucket, 0) + is_returning(count, before)
    return {bucket: (visitors[bucket], returning[bucket]) for bucket in visitors}


def _group_key(group: tuple[int, int | None]) -> str:
    low, high = group
    return f"days_{low}_{high or 'more'}"


def _customers_visiting(
    business: Business, period: Period, stamps: QuerySet[StampEvent]
) -> dict[str, int]:
    """Customers who visited, those returning, and how many visited on how many days."""
    earlier = StampEvent.objects.filter(
        business=business,
        kind=StampEventKind.STAMP,
        card__customer_id=OuterRef("card__customer_id"),
        created_at__lt=period.start,
    )
    per_customer = (
        stamps.annotate(
            day=Trunc("created_at", "day", DateField(), tzinfo=period.time_zone),
            visited_before=Exists(earlier),
        )
        .values("card__customer_id", "visited_before")
        .annotate(days=Count("day", distinct=True))
    )
    groups: dict[str, Count] = {}
    for low, high in FREQUENCY_GROUPS:
        wanted = Q(days__gte=low) if high is None else Q(days__gte=low, days__lte=high)
        groups[_group_key((low, high))] = Count("card__customer_id", filter=wanted)
    found = per_customer.aggregate(
        visiting=Count("card__customer_id"),
        returning=Count("card__customer_id", filter=returning_q()),
        **groups,
    )
    return {key: int(value or 0) for key, value in found.items()}


def _breakdown(
    stamps: QuerySet[StampEvent], column: str, names: dict[Any, str], *, none: str = "—"
) -> list[Share]:
    """Stamps and visits per value of ``column``, most stamps first; no value is ``none``."""
    return shares(
        list(stamps.values(column).annotate(stamps=Sum("delta"), visits=Count("*"))),
        column,
        names,
        none=none,
    )


def shares(
    rows: Sequence[Mapping[str, Any]], column: str, names: dict[Any, str], *, none: str = "—"
) -> list[Share]:
    """``rows`` summed per value of ``column``, most stamps first; no value is ``none``."""
    stamps: dict[Any, int] = {}
    visits: dict[Any, int] = {}
    for row in rows:
        key = row[column]
        stamps[key] = stamps.get(key, 0) + int(row["stamps"] or 0)
        visits[key] = visits.get(key, 0) + int(row["visits"])
    labels = {key: names.get(key, "—") if key is not None else none for key in stamps}
    order = sorted(stamps, key=lambda key: (-stamps[key], labels[key]))
    return [Share(label=labels[key], stamps=stamps[key], visits=visits[key]) for key in order]


def staff_names(user_ids: set[int | None]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=[pk for pk in user_ids if pk is not None])
    return {user.pk: user.get_full_name() or user.get_username() for user in users}
