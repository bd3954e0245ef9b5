"""Daily rollups of the ledger, so the analytics page reads days, not stamps.

Each rollup row is a figure of one day in the business's own time zone. The rows are a cache
of the ledger (``loyalty``) and the vouchers, written only by ``stats.rollup``; everything
created before ``RollupState.rolled_until`` is in them, everything after is read live from
the ledger (see ``stats.analytics``).

Locations, programs and staff members are plain ids, not foreign keys: a deleted shop or
person leaves its old id here, and the reader shows such an id as the ledger does (no
location, no staff member).
"""

from django.db import models
from django_scopes import ScopedManager

from stampcard.tenancy.models import Business


class RollupState(models.Model):
    """The one row saying how far the rollups reach (``pk`` 1), locked by each rollup run.

    ``rolled_until``: every row created before it is rolled up; empty before the first run.
    ``last_*_id``: rows with a higher id are not rolled up yet, whatever their time (a row
    that arrives late or with an earlier time, as an import's, is found by its id).
    """

    rolled_until = models.DateTimeField(null=True, blank=True)
    last_event_id = models.BigIntegerField(default=0)
    last_customer_id = models.BigIntegerField(default=0)
    last_reward_id = models.BigIntegerField(default=0)
    last_voucher_id = models.BigIntegerField(default=0)
    last_card_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"rolled up until {self.rolled_until}"


class StampDay(models.Model):
    """Stamps given (events of kind ``stamp``) on one day, per program, shop, workflow and
    staff member: ``stamps`` is their sum, ``visits`` their number."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    program_id = models.BigIntegerField()
    location_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=16)
    staff_id = models.BigIntegerField(null=True)
    stamps = models.IntegerField()
    visits = models.IntegerField()

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["business", "day"], name="stampday_business_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.source}: {self.stamps}"


class DayFigure(models.TextChoices):
    JOINED = "joined"
    REWARDS_EARNED = "earned"
    REWARDS_HANDED_OVER = "handed_over"
    REWARD_VOUCHERS_REDEEMED = "voucher_redeemed"
    # Customers with a visit on the day (``VisitDay``), and of them (``stats.returning``):
    VISITORS = "visitors"
    FIRST_VISITS = "first_visits"  # the customer's very first visit
    WEEK_VISITORS = "week_visitors"  # the customer's first visit of that week (Monday on)
    WEEK_NEWCOMERS = "week_newcomers"  # the very first visit, and no other that week


# Figures computed from the visit days, over whole weeks (``stats.returning``).
VISITOR_FIGURES = (
    DayFigure.VISITORS,
    DayFigure.FIRST_VISITS,
    DayFigure.WEEK_VISITORS,
    DayFigure.WEEK_NEWCOMERS,
)


class DayCount(models.Model):
    """How many customers joined, rewards were earned, handed over or redeemed as vouchers
    on one day; how many customers visited, and how many of them for the first time (ever,
    or that week)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    figure = models.CharField(max_length=16, choices=DayFigure.choices)
    count = models.IntegerField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "day", "figure"], name="daycount_one_per_figure"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.figure}: {self.count}"


class MeasureDay(models.Model):
    """The day counts of ``DayCount`` by what each one is recorded with: customers joined
    by join channel; rewards earned and handed over by program; reward vouchers redeemed by
    program, shop and staff member (a reward handed over records neither)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    figure = models.CharField(max_length=16, choices=DayFigure.choices)
    program_id = models.BigIntegerField(null=True)
    location_id = models.BigIntegerField(null=True)
    staff_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=16, blank=True)
    count = models.IntegerField()

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["business", "day"], name="measureday_business_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.figure}: {self.count}"


class ProgramFigure(models.TextChoices):
    CARDS = "cards"
    STAMPS = "stamps"
    REWARDS = "rewards"


class ProgramDay(models.Model):
    """A program's day: cards issued (``cards``), the net change of its cards' stamps
    (``stamps``: every ledger row, corrections too, so the days add up to the cards'
    lifetime stamps) and rewards earned (``rewards``). Summed over all days: the program's
    totals on the dashboard, without counting its cards."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    program_id = models.BigIntegerField()
    figure = models.CharField(max_length=16, choices=ProgramFigure.choices)
    count = models.BigIntegerField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "day", "program_id", "figure"],
                name="programday_one_per_figure",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} program {self.program_id} {self.figure}: {self.count}"


class VisitDay(models.Model):
    """A customer came on this day (at least one stamp event); ``joined_on`` is the day the
    customer joined, kept here so returning customers are counted from this table alone."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    customer_id = models.BigIntegerField()
    joined_on = models.DateField()

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [
            # A period's visitors, read from the index alone.
            models.Index(
                fields=["business", "day", "customer_id", "joined_on"],
                name="visitday_business_day",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "customer_id", "day"], name="visitday_one_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} customer {self.customer_id}"


class VisitingSnapshot(models.Model):
    """Who visited in the ``days`` days up to ``last`` (the analytics' periods ending today),
    as the rollups said when the job counted it: rows created before ``rolled_until`` with
    ids up to ``last_event_id``. ``groups`` holds the customers per visit-frequency group,
    in ``loyalty.services.analytics.FREQUENCY_GROUPS`` order.

    A reader adds what changed since for the few customers with newer ledger rows, instead
    of counting every visitor of a year again (``stats.visiting``).
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField()
    last = models.DateField()
    rolled_until = models.DateTimeField()
    last_event_id = models.BigIntegerField()
    visiting = models.IntegerField()
    returning = models.IntegerField()
    groups = models.JSONField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "days", "last"], name="visitingsnapshot_one_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.days} days to {self.last}: {self.visiting}"
