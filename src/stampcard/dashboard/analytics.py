"""The analytics page: the business's figures as charts drawn here, and each chart as CSV.

Charts are inline SVG computed on the server (no script, no chart library, nothing from
another site), each with a title, a description and the same figures as a table for screen
readers and for anyone who prefers numbers. Days are the business's (its time zone); numbers
and dates are written the way the reader's language writes them (Babel).
"""

import csv
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from stampcard.csv_safety import safe_row
from stampcard.loyalty.services.analytics import (
    DEFAULT_DAYS,
    MOST_DAYS_BY_DAY,
    PERIOD_DAYS,
    Analytics,
    Grain,
    Period,
    Point,
    RewardShare,
    Share,
)
from stampcard.stats.analytics import business_analytics
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require_within

# The drawing's own units; the SVG scales to the width it is given.
WIDTH = 360
COLUMN_HEIGHT = 150
ROW_HEIGHT = 22
LABEL_WIDTH = 120
TOP = 8
BOTTOM = 22
LEFT = 34
# Breakdowns show this many bars; the table and the CSV carry every row.
MOST_ROWS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass
class Chart:
    slug: str
    title: str
    description: str
    height: float
    bars: list[Bar] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    empty: bool = False
    note: str = ""

    @property
    def width(self) -> int:
        return WIDTH


def _locale() -> str:
    return (get_language() or "en").replace("-", "_")


# Babel parses its patterns on every call; a page formats hundreds of the same few values.
@functools.lru_cache(maxsize=8192)
def _number(value: float, locale: str) -> str:
    return format_decimal(value, format="#,##0.#", locale=locale)


@functools.lru_cache(maxsize=4096)
def _day(value: date, locale: str) -> str:
    return format_skeleton("MMMd", value, locale=locale)


def number(value: float) -> str:
    return _number(value, _locale())


def percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.#%", locale=_locale())


def day(value: date) -> str:
    return _day(value, _locale())


def _nice_top(most: int) -> int:
    """A round axis top at or above ``most`` whose half is a whole number too: 2, 4, 10,
    20, 40, 100, …"""
    scale = 1
    while True:
        for step in (2, 4, 10):
            if step * scale >= most:
                return step * scale
        scale *= 10


def column_chart(
    *,
    slug: str,
    title: str,
    description: str,
    points: Sequence[Point],
    series: Sequence[tuple[str, str, Callable[[Point], int]]],
    bucket_title: str,
) -> Chart:
    """Columns over time, one group per day or week; ``series`` are (css, label, value)."""
    chart = Chart(slug=slug, title=title, description=description, height=COLUMN_HEIGHT)
    chart.legend = [(css, label) for css, label, _value in series]
    chart.head = [bucket_title] + [label for _css, label, _value in series]
    chart.rows = [[day(p.bucket)] + [number(value(p)) for *_, value in series] for p in points]
    values = [value(p) for p in points for *_, value in series]
    chart.empty = not any(values)
    top = _nice_top(max(values, default=0))
    plot_height = COLUMN_HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - 4
    for share in (0.0, 0.5, 1.0):
        y = TOP + plot_height * (1 - share)
        chart.grid.append(y)
        chart.texts.append(Text(LEFT - 4, y + 4, number(top * share), "end"))
    slot = plot_width / max(len(points), 1)
    gap = slot * 0.2 if slot > 4 else 0
    bar_width = (slot - gap) / max(len(series), 1)
    for index, point in enumerate(points):
        for position, (css, label, value) in enumerate(series):
            amount = value(point)
            height = plot_height * amount / top
            chart.bars.append(
                Bar(
                    x=round(LEFT + index * slot + gap / 2 + position * bar_width, 2),
                    y=round(TOP + plot_height - height, 2),
                    width=round(max(bar_width, 0.5), 2),
                    height=round(height, 2),
                    css=css,
                    title=f"{day(point.bucket)}: {label} {number(amount)}",
                )
            )
    _time_axis(chart, points, slot)
    return chart


def _rate_top(most: float) -> float:
    """The axis top of a rate: 100 %, or the next whole half above a rate past it (more
    rewards redeemed than earned in a week)."""
    top = 1.0
    while top < most:
        top += 0.5
    return top


def rate_chart(
    *,
    slug: str,
    title: str,
    description: str,
    note: str,
    points: Sequence[Point],
    rate: Callable[[Point], float | None],
    counts: Sequence[tuple[str, Callable[[Point], int]]],
    bucket_title: str,
) -> Chart:
    """A rate per day or week as columns; a bucket without a rate ("—": nothing to divide
    by) has no column. The table shows the counts it is made of."""
    chart = Chart(slug=slug, title=title, description=description, height=COLUMN_HEIGHT, note=note)
    chart.head = [bucket_title, title] + [label for label, _count in counts]
    chart.rows = [
        [day(p.bucket), percent(rate(p))] + [number(count(p)) for _label, count in counts]
        for p in points
    ]
    rates = [rate(p) for p in points]
    chart.empty = all(value is None for value in rates)
    top = _rate_top(max((value for value in rates if value is not None), default=0.0))
    plot_height = COLUMN_HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - 4
    for share in (0.0, 0.5, 1.0):
        y = TOP + plot_height * (1 - share)
        chart.grid.append(y)
        chart.texts.append(Text(LEFT - 4, y + 4, percent(top * share), "end"))
    slot = plot_width / max(len(points), 1)
    gap = slot * 0.2 if slot > 4 else 0
    for index, (point, value) in enumerate(zip(points, rates, strict=True)):
        if value is None:
            continue
        height = plot_height * value / top
        chart.bars.append(
            Bar(
                x=round(LEFT + index * slot + gap / 2, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(max(slot - gap, 0.5), 2),
                height=round(height, 2),
                css="bar-a",
                title=f"{day(point.bucket)}: {percent(value)}",
            )
        )
    _time_axis(chart, points, slot)
    return chart


def _time_axis(chart: Chart, points: Sequence[Point], slot: float) -> None:
    """The first, middle and last bucket's dates under the columns."""
    if not points:
        return
    for index in sorted({0, len(points) // 2, len(points) - 1}):
        anchor = "start" if index == 0 else "end" if index == len(points) - 1 else "middle"
        x = LEFT + index * slot + (slot / 2 if anchor == "middle" else 0)
        if anchor == "end":
            x = LEFT + (index + 1) * slot
        chart.texts.append(Text(round(x, 2), COLUMN_HEIGHT - 6, day(points[index].bucket), anchor))


def row_chart(
    *,
    slug: str,
    title: str,
    description: str,
    head: Sequence[str],
    rows: Sequence[tuple[str, int, list[str]]],
    note: str = "",
    paired: tuple[tuple[str, str], Sequence[int]] | None = None,
) -> Chart:
    """Horizontal bars, biggest first: (label, value drawn, cells of the table row).

    ``paired``: the two series' labels and, per row, a second value drawn as a second bar
    under the first, on the same scale (rewards earned, and redeemed)."""
    shown = list(rows[:MOST_ROWS])
    seconds = list(paired[1][: len(shown)]) if paired is not None else []
    height = 2 * ROW_HEIGHT - 10 if paired is not None else ROW_HEIGHT
    chart = Chart(
        slug=slug,
        title=title,
        description=description,
        note=note,
        height=max(len(shown), 1) * height + 4,
        head=list(head),
        rows=[[label, *cells] for label, _value, cells in rows],
        empty=not any(value for _label, value, _cells in rows)
        and not (paired is not None and any(paired[1])),
    )
    if paired is not None:
        chart.legend = [("bar-a", paired[0][0]), ("bar-b", paired[0][1])]
    top = max([value for _label, value, _cells in shown] + seconds, default=0) or 1
    room = WIDTH - LABEL_WIDTH - 44
    bar_height = ROW_HEIGHT - 6 if paired is None else (height - 8) / 2
    for index, (label, value, _cells) in enumerate(shown):
        y = 2 + index * height
        # About what fits left of the bars at 11px (Cyrillic and Thai are wide).
        short = label if len(label) <= 16 else label[:15] + "…"
        chart.texts.append(Text(LABEL_WIDTH - 6, y + height / 2 + 4, short, "end"))
        drawn = [("bar-a", value)] + ([("bar-b", seconds[index])] if paired is not None else [])
        for position, (css, amount) in enumerate(drawn):
            top_y = y + 3 + position * (bar_height + 1)
            width = room * amount / top
            what = f"{label}: {number(amount)}"
            if paired is not None:
                what = f"{label}: {paired[0][position]} {number(amount)}"
            chart.bars.append(
                Bar(LABEL_WIDTH, round(top_y, 2), round(width, 2), round(bar_height, 2), css, what)
            )
            chart.texts.append(
                Text(
                    round(LABEL_WIDTH + width + 4, 2),
                    round(top_y + bar_height / 2 + 4, 2),
                    number(amount),
                )
            )
    return chart


def _share_chart(slug: str, title: str, description: str, shares: list[Share]) -> Chart:
    return row_chart(
        slug=slug,
        title=title,
        description=description,
        head=[_("Name"), _("Stamps"), _("Visits")],
        rows=[(s.label, s.stamps, [number(s.stamps), number(s.visits)]) for s in shares],
    )


def _reward_chart(
    slug: str, title: str, description: str, name: str, shares: list[RewardShare], note: str = ""
) -> Chart:
    """Rewards earned and redeemed per row (two bars), with the rate where it is one."""
    return row_chart(
        slug=slug,
        title=title,
        description=description,
        head=[name, _("Rewards earned"), _("Rewards redeemed"), _("Redemption rate")],
        rows=[
            (r.label, r.earned, [number(r.earned), number(r.redeemed), percent(r.redemption_rate)])
            for r in shares
        ],
        note=note,
        paired=((_("Rewards earned"), _("Rewards redeemed")), [r.redeemed for r in shares]),
    )


def charts(figures: Analytics) -> list[Chart]:
    period = figures.period
    per = _("Week of") if period.grain == Grain.WEEK else _("Day")
    points = figures.series
    return [
        column_chart(
            slug="customers",
            title=_("New customers"),
            description=_("Customers who joined, per day or week."),
            points=points,
            series=[("bar-a", _("New customers"), lambda p: p.new_customers)],
            bucket_title=per,
        ),
        column_chart(
            slug="stamps",
            title=_("Stamps and visits"),
            description=_("Stamps given and visits (stamp events), per day or week."),
            points=points,
            series=[
                ("bar-a", _("Stamps"), lambda p: p.stamps),
                ("bar-b", _("Visits"), lambda p: p.visits),
            ],
            bucket_title=per,
        ),
        column_chart(
            slug="rewards",
            title=_("Rewards earned and redeemed"),
            description=_("Rewards customers earned, and rewards handed over or redeemed."),
            points=points,
            series=[
                ("bar-a", _("Rewards earned"), lambda p: p.rewards_earned),
                ("bar-b", _("Rewards redeemed"), lambda p: p.rewards_redeemed),
            ],
            bucket_title=per,
        ),
        rate_chart(
            slug="redemption",
            title=_("Redemption rate"),
            description=_("Rewards redeemed for every reward earned, per day or week."),
            note=_(
                "Redemption rate = rewards redeemed ÷ rewards earned in the same day or week."
                " It can pass %(full)s when rewards earned earlier are redeemed; “—” means no"
                " reward was earned."
            )
            % {"full": percent(1.0)},
            points=points,
            rate=lambda p: p.redemption_rate,
            counts=[
                (_("Rewards redeemed"), lambda p: p.rewards_redeemed),
                (_("Rewards earned"), lambda p: p.rewards_earned),
            ],
            bucket_title=per,
        ),
        rate_chart(
            slug="returning",
            title=_("Returning-customer rate"),
            description=_("Share of visiting customers who had visited before, per day or week."),
            note=_(
                "Returning-customer rate = customers with a visit in the day or week who had"
                " visited on an earlier day (in it or before it) ÷ all customers with a visit"
                " in it, as the “Returning customers” tile counts the whole period. A week"
                " counts all its days; “—” means nobody visited."
            ),
            points=points,
            rate=lambda p: p.returning_rate,
            counts=[
                (_("Returning customers"), lambda p: p.returning),
                (_("Customers visiting"), lambda p: p.visitors),
            ],
            bucket_title=per,
        ),
        row_chart(
            slug="frequency",
            title=_("Visit frequency"),
            description=_("Customers who visited, by the number of days they came."),
            head=[_("Days with a visit"), _("Customers")],
            rows=[
                (_frequency_label(low, high), count, [number(count)])
                for (low, high), count in figures.frequency
            ],
        ),
        row_chart(
            slug="channels",
            title=_("New customers by join channel"),
            description=_("Customers who joined, by where they found the join QR code."),
            head=[_("Join channel"), _("New customers")],
            rows=[(t.label, t.count, [number(t.count)]) for t in figures.joined_by_channel],
        ),
        row_chart(
            slug="joined-programs",
            title=_("New customers by card"),
            description=_("Customers who joined, by the card they joined with."),
            head=[_("Name"), _("New customers")],
            rows=[(t.label, t.count, [number(t.count)]) for t in figures.joined_by_program],
            note=_(
                "Each customer who joined in the period counts once, on their first card;"
                " cards taken later are not new customers."
            ),
        ),
        _reward_chart(
            "program-rewards",
            _("Rewards by card"),
            _("Rewards earned on each card, with those redeemed and the rate."),
            _("Name"),
            figures.rewards_by_program,
        ),
        _reward_chart(
            "location-rewards",
            _("Rewards by location"),
            _("Rewards earned and redeemed at each location."),
            _("Location"),
            figures.rewards_by_location,
            note=_(
                "Earned: where the stamp (or correction) that earned the reward was given."
                " Redeemed: where a reward voucher was redeemed; a reward handed over records"
                " no location. Redemption rate = redeemed ÷ earned at the same location in"
                " the period; “—” where one side is not recorded."
            ),
        ),
        _reward_chart(
            "staff-rewards",
            _("Rewards by staff member"),
            _("Rewards earned and redeemed with each staff member."),
            _("Staff member"),
            figures.rewards_by_staff,
            note=_(
                "Earned: who gave the stamp (or correction) that earned the reward; kiosks,"
                " Autopilot, codes and the API are no staff member. Redeemed: who redeemed a"
                " reward voucher; a reward handed over records no staff member. Redemption"
                " rate = redeemed ÷ earned by the same person in the period; “—” where one"
                " side is not recorded."
            ),
        ),
        _share_chart(
            "locations",
            _("By location"),
            _("Stamps and visits at each location."),
            figures.by_location,
        ),
        _share_chart(
            "programs", _("By card"), _("Stamps and visits on each card."), figures.by_program
        ),
        _share_chart(
            "workflows",
            _("By stamp workflow"),
            _("Stamps and visits by how the stamp was given."),
            figures.by_source,
        ),
        _share_chart(
            "staff",
            _("By staff member"),
            _("Stamps and visits given by each staff member."),
            figures.by_staff,
        ),
    ]


def _frequency_label(low: int, high: int | None) -> str:
    if high is None:
        return _("%(days)s or more") % {"days": number(low)}
    if high == low:
        return number(low)
    return f"{number(low)}\N{EN DASH}{number(high)}"


def _period(request: HttpRequest, business: Business) -> Period:
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    return Period.ending(
        last=timezone.localdate(),  # the door set the business's time zone
        days=days,
        grain=request.GET.get("by", Grain.DAY),
        time_zone=business.time_zone,
    )


def _business_wide(request: HttpRequest) -> Business:
    business: Business = request.business  # type: ignore[attr-defined]
    # Figures of the whole business: not for a member limited to some locations.
    require_within(
        request.actor,  # type: ignore[attr-defined]
        Permission.VIEW_ANALYTICS,
        business=business,
        location_ids=None,
    )
    return business


@requires(Permission.VIEW_ANALYTICS)
def analytics(request: HttpRequest, business_slug: str) -> HttpResponse:
    business = _business_wide(request)
    period = _period(request, business)
    figures = business_analytics(business=business, period=period)
    totals = figures.totals
    tiles = [
        (_("New customers"), number(totals.new_customers)),
        (_("Stamps"), number(totals.stamps)),
        (_("Visits"), number(totals.visits)),
        (_("Rewards earned"), number(totals.rewards_earned)),
        (_("Rewards redeemed"), number(totals.rewards_redeemed)),
        (_("Redemption rate"), percent(totals.redemption_rate)),
        (_("Returning customers"), percent(totals.returning_rate)),
        (
            _("Visits per customer"),
            "—" if totals.visits_per_customer is None else number(totals.visits_per_customer),
        ),
    ]
    return render(
        request,
        "dashboard/analytics/page.html",
        {
            "period": period,
            "first": day(period.first),
            "last": day(period.last),
            "tiles": tiles,
            "charts": charts(figures),
            "day_choices": [(d, number(d)) for d in PERIOD_DAYS],
            "by_day_allowed": period.days <= MOST_DAYS_BY_DAY,
            "query": request.GET.urlencode(),
        },
    )


CHART_SLUGS = (
    "customers",
    "stamps",
    "rewards",
    "redemption",
    "returning",
    "frequency",
    "channels",
    "joined-programs",
    "program-rewards",
    "location-rewards",
    "staff-rewards",
    "locations",
    "programs",
    "workflows",
    "staff",
)


@requires(Permission.VIEW_ANALYTICS)
def analytics_csv(request: HttpRequest, business_slug: str, chart: str) -> HttpResponse:
    if chart not in CHART_SLUGS:
        raise Http404
    business = _business_wide(request)
    period = _period(request, business)
    figures = business_analytics(business=business, period=period)
    found = next(c for c in charts(figures) if c.slug == chart)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{business.slug}-{chart}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(safe_row(_csv_head(found, period)))
    for row in _csv_rows(chart, figures):
        writer.writerow(safe_row(row))
    return response


def _csv_head(chart: Chart, period: Period) -> list[str]:
    if chart.slug in TIME_CHARTS:
        return ["week" if period.grain == Grain.WEEK else "day", *chart.head[1:]]
    return chart.head


TIME_CHARTS = ("customers", "stamps", "rewards", "redemption", "returning")


def _rate(value: float | None) -> str:
    """A rate for a spreadsheet: a plain fraction (0.5 is 50 %), empty without one."""
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _csv_rows(chart: str, figures: Analytics) -> list[list[object]]:
    """Plain figures for a spreadsheet: ISO dates and numbers, not the page's formatting."""
    series = figures.series
    if chart == "redemption":
        return [
            [p.bucket.isoformat(), _rate(p.redemption_rate), p.rewards_redeemed, p.rewards_earned]
            for p in series
        ]
    if chart == "returning":
        return [
            [p.bucket.isoformat(), _rate(p.returning_rate), p.returning, p.visitors] for p in series
        ]
    if chart == "customers":
        return [[p.bucket.isoformat(), p.new_customers] for p in series]
    if chart == "stamps":
        return [[p.bucket.isoformat(), p.stamps, p.visits] for p in series]
    if chart == "rewards":
        return [[p.bucket.isoformat(), p.rewards_earned, p.rewards_redeemed] for p in series]
    if chart == "frequency":
        return [
            [f"{low}+" if high is None else str(low) if low == high else f"{low}-{high}", n]
            for (low, high), n in figures.frequency
        ]
    if chart in ("channels", "joined-programs"):
        tallies = figures.joined_by_channel if chart == "channels" else figures.joined_by_program
        return [[t.label, t.count] for t in tallies]
    if chart in ("program-rewards", "location-rewards", "staff-rewards"):
        rewards = {
            "program-rewards": figures.rewards_by_program,
            "location-rewards": figures.rewards_by_location,
            "staff-rewards": figures.rewards_by_staff,
        }[chart]
        return [[r.label, r.earned, r.redeemed, _rate(r.redemption_rate)] for r in rewards]
    shares = {
        "locations": figures.by_location,
        "programs": figures.by_program,
        "workflows": figures.by_source,
        "staff": figures.by_staff,
    }[chart]
    return [[s.label, s.stamps, s.visits] for s in shares]
