"""What the ledger says per day: the queries that fill the rollups and read the live tail.

Each function gives one business's rows of a ``Window``, grouped per day in its time zone,
in the shape of one rollup table. The rollup job inserts them (``INSERT … SELECT``); the
analytics read the same queries for what is not rolled up yet, so both halves of a figure
are counted by one definition.

A window is a range of times and, per table, a range of ids: the rollups hold exactly the
rows created before ``RollupState.rolled_until`` *and* with an id up to the last one the
job looked at; the live tail is every other row (created later, or with a newer id, as an
import's rows or a transaction committed late).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncDate

from stampcard.loyalty.models import (
    Card,
    Customer,
    Reward,
    RewardStatus,
    StampEvent,
    StampEventKind,
)
from stampcard.stats.models import DayFigure, ProgramFigure
from stampcard.vouchers.models import Voucher, VoucherStatus

Rows = QuerySet[Any, Any]


@dataclass(frozen=True)
class Ids:
    """An id per table the figures are counted from."""

    event: int
    customer: int
    reward: int
    voucher: int
    card: int


@dataclass(frozen=True)
class Window:
    """One business's rows created in ``[start, end)`` (``start`` empty: from the first;
    ``end`` empty: to the last), cut into days in ``zone``; only those with ids up to
    ``up_to``, or only those with ids past ``newer_than``, when given."""

    business_id: int
    zone: ZoneInfo
    start: datetime | None
    end: datetime | None
    up_to: Ids | None = None
    newer_than: Ids | None = None

    def rows(self, rows: QuerySet[Any], field: str, table: str) -> QuerySet[Any]:
        """``rows`` of this window, by the time in ``field`` and the ids of ``table``."""
        rows = rows.filter(business_id=self.business_id)
        if self.end is not None:
            rows = rows.filter(**{f"{field}__lt": self.end})
        if self.start is not None:
            rows = rows.filter(**{f"{field}__gte": self.start})
        if self.up_to is not None:
            rows = rows.filter(pk__lte=getattr(self.up_to, table))
        if self.newer_than is not None:
            rows = rows.filter(pk__gt=getattr(self.newer_than, table))
        return rows.order_by()


def _stamp_events(window: Window) -> QuerySet[StampEvent]:
    # A visit is a stamp event; corrections (and undos) are neither visits nor stamps given.
    return window.rows(StampEvent.objects.filter(kind=StampEventKind.STAMP), "created_at", "event")


def stamp_rows(window: Window) -> Rows:
    """Per day, program, location, workflow and staff member: ``stamps`` and ``visits``."""
    return (
        _stamp_events(window)
        .annotate(
            day=TruncDate("created_at", tzinfo=window.zone),
            program=F("card__program_id"),
            staff=F("actor_user_id"),
        )
        .values("day", "program", "location_id", "source", "staff")
        .annotate(stamps=Sum("delta"), visits=Count("*"))
    )


def visit_rows(window: Window) -> Rows:
    """One row per customer and day with a stamp event, with the day the customer joined."""
    return (
        _stamp_events(window)
        .annotate(
            day=TruncDate("created_at", tzinfo=window.zone),
            customer=F("card__customer_id"),
            joined_on=TruncDate("card__customer__created_at", tzinfo=window.zone),
        )
        .values("day", "customer", "joined_on")
        .distinct()
    )


def count_rows(window: Window) -> dict[DayFigure, Rows]:
    """Per figure, one row per day: ``count`` customers joined, rewards earned, "reward
    ready" rewards handed over, reward vouchers redeemed."""

    def per_day(rows: QuerySet[Any], field: str, table: str) -> Rows:
        return (
            window.rows(rows, field, table)
            .annotate(day=TruncDate(field, tzinfo=window.zone))
            .values("day")
            .annotate(count=Count("pk"))
        )

    return {
        DayFigure.JOINED: per_day(Customer.objects.all(), "created_at", "customer"),
        DayFigure.REWARDS_EARNED: per_day(Reward.objects.all(), "created_at", "reward"),
        DayFigure.REWARDS_HANDED_OVER: per_day(
            Reward.objects.filter(status=RewardStatus.REDEEMED), "settled_at", "reward"
        ),
        DayFigure.REWARD_VOUCHERS_REDEEMED: per_day(
            Voucher.objects.filter(reward__isnull=False, status=VoucherStatus.REDEEMED),
            "redeemed_at",
            "voucher",
        ),
    }


def measure_rows(window: Window) -> dict[DayFigure, Rows]:
    """Per figure of ``count_rows``, one row per day and what it is recorded with:
    ``of_program``, ``at_location``, ``by_staff``, ``via_channel`` (null or empty where the
    figure has no such thing; named apart from the models' own fields) and ``count``.

    Customers joined: by join channel and by the program of their first card. Rewards
    earned: by program, and by the shop, staff member and workflow (``via_channel``) of the
    ledger row that earned them; an empty workflow says that row is not known (a reward
    from before it was recorded)."""
    none = Cast(Value(None), BigIntegerField())  # a typed NULL, for the INSERT … SELECT

    def per_day(rows: QuerySet[Any], field: str, table: str, **by: Any) -> Rows:
        keys = {"of_program": none, "at_location": none, "by_staff": none, "via_channel": Value("")}
        keys.update(by)
        return (
            window.rows(rows, field, table)
            .annotate(day=TruncDate(field, tzinfo=window.zone), **keys)
            .values("day", *keys)
            .annotate(count=Count("pk"))
        )

    return {
        DayFigure.JOINED: per_day(
            Customer.objects.all(),
            "created_at",
            "customer",
            via_channel=F("join_channel"),
            of_program=first_program(),
        ),
        DayFigure.REWARDS_EARNED: per_day(
            Reward.objects.all(),
            "created_at",
            "reward",
            of_program=F("card__program_id"),
            at_location=F("earned_by__location_id"),
            by_staff=F("earned_by__actor_user_id"),
            via_channel=Coalesce(F("earned_by__source"), Value(""), output_field=CharField()),
        ),
        DayFigure.REWARDS_HANDED_OVER: per_day(
            Reward.objects.filter(status=RewardStatus.REDEEMED),
            "settled_at",
            "reward",
            of_program=F("card__program_id"),
        ),
        DayFigure.REWARD_VOUCHERS_REDEEMED: per_day(
            Voucher.objects.filter(reward__isnull=False, status=VoucherStatus.REDEEMED),
            "redeemed_at",
            "voucher",
            of_program=F("reward__card__program_id"),
            at_location=F("redeemed_at_location_id"),
            by_staff=F("redeemed_by_user_id"),
        ),
    }


def first_program() -> Subquery:
    """The program of a customer's first card (the card they joined with), for a query of
    customers: null for one without a card."""
    return Subquery(
        Card.objects.filter(customer_id=OuterRef("pk"))
        .order_by("created_at", "pk")
        .values("program_id")[:1]
    )


def program_rows(window: Window) -> dict[ProgramFigure, Rows]:
    """Per figure, one row per day and program (``of_program``): ``count`` cards issued,
    the sum of the ledger's rows (stamps and corrections), rewards earned."""

    def per_day(rows: QuerySet[Any], table: str, program: str, count: Any) -> Rows:
        return (
            window.rows(rows, "created_at", table)
            .annotate(day=TruncDate("created_at", tzinfo=window.zone), of_program=F(program))
            .values("day", "of_program")
            .annotate(count=count)
        )

    return {
        ProgramFigure.CARDS: per_day(Card.objects.all(), "card", "program_id", Count("pk")),
        ProgramFigure.STAMPS: per_day(
            StampEvent.objects.all(), "event", "card__program_id", Sum("delta")
        ),
        ProgramFigure.REWARDS: per_day(
            Reward.objects.all(), "reward", "card__program_id", Count("pk")
        ),
    }
