"""The redemption and returning-customer rates per day and week, on a history counted by hand.

Days are Corner Cafe's (Asia/Bangkok); ``M`` is the Monday two weeks before this week's, so
weeks A (M..M+6) and B (M+7..M+13) are whole and past. A card's goal is 2 stamps.

- Dan: first visit M-40; again M+1 (his reward, handed over the same day);
- Eve: first visit M+2, again M+4 (her reward, handed over M+8);
- Fay: first visit M+3; again M+8 (her reward, not handed over).

Per day (visitors, returning): M+1 (1, 1) Dan had come before; M+2 (1, 0) and M+3 (1, 0)
first visits; M+4 (1, 1) Eve's second; M+8 (1, 1) Fay's second. Per week: A has Dan, Eve
and Fay, of whom Dan (came before the week) and Eve (came twice in it) return: 2 of 3;
B has Fay, returning: 1 of 1.

Rewards (earned, redeemed): M+1 (1, 1), M+4 (1, 0), M+8 (1, 1); week A (2, 1), B (1, 1).
"""

import csv
import io
from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from stampcard.loyalty.models import Customer, Reward, StampEvent, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.loyalty.services import analytics as ledger
from stampcard.loyalty.services.analytics import Grain, Period
from stampcard.stats import analytics as rolled
from stampcard.stats.rollup import roll_up
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Membership
from tests.dashboard.analytics_history import BANGKOK, at, make_rate_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def m(business, shop, owner) -> date:
    return make_rate_history(business=business, shop=shop, owner=owner)


def period(grain: Grain) -> Period:
    today = timezone.now().astimezone(BANGKOK).date()
    return Period.ending(last=today, days=30, grain=grain, time_zone=BANGKOK)


def rates(figures) -> dict[date, tuple[int, int, int, int]]:
    """Per bucket with anything: (visitors, returning, earned, redeemed)."""
    return {
        p.bucket: (p.visitors, p.returning, p.rewards_earned, p.rewards_redeemed)
        for p in figures.series
        if p.visitors or p.rewards_earned or p.rewards_redeemed
    }


def expected_days(monday: date) -> dict[date, tuple[int, int, int, int]]:
    return {
        monday + timedelta(1): (1, 1, 1, 1),
        monday + timedelta(2): (1, 0, 0, 0),
        monday + timedelta(3): (1, 0, 0, 0),
        monday + timedelta(4): (1, 1, 1, 0),
        monday + timedelta(8): (1, 1, 1, 1),
    }


def expected_weeks(monday: date) -> dict[date, tuple[int, int, int, int]]:
    return {monday: (3, 2, 2, 1), monday + timedelta(7): (1, 1, 1, 1)}


def test_the_ledger_counts_the_rates_by_hand(business, m):
    by_day = ledger.business_analytics(business=business, period=period(Grain.DAY))
    assert rates(by_day) == expected_days(m)
    by_week = ledger.business_analytics(business=business, period=period(Grain.WEEK))
    assert rates(by_week) == expected_weeks(m)
    points = {p.bucket: p for p in by_week.series}
    assert points[m].returning_rate == pytest.approx(2 / 3)
    assert points[m].redemption_rate == 0.5
    # No visit, no reward: no rate at all, rather than 0 %.
    quiet = next(p for p in by_week.series if p.bucket == m + timedelta(14))
    assert (quiet.returning_rate, quiet.redemption_rate) == (None, None)


@pytest.mark.parametrize("until_offset", [None, 5, 30])
def test_the_rollups_and_their_tail_count_the_same(business, m, until_offset):
    """Read before any rollup, with a tail holding Fay's return (rolled up to M+5), and
    with everything rolled up."""
    if until_offset is not None:
        roll_up(until=min(at(m, 0) + timedelta(until_offset), timezone.now()))
    assert rates(rolled.business_analytics(business=business, period=period(Grain.DAY))) == (
        expected_days(m)
    )
    assert rates(rolled.business_analytics(business=business, period=period(Grain.WEEK))) == (
        expected_weeks(m)
    )


def test_a_visit_imported_with_an_earlier_time_makes_a_first_visit_a_return(business, m, shop):
    """Eve's visit written now with a time before her first one: her M+2 is a return."""
    roll_up(until=timezone.now())
    card = Customer.objects.get(name="Eve").cards.get()
    owner_member = Membership.objects.filter(business=business, role="owner").get()
    outcome = add_stamps(
        business=business,
        actor=Actor.for_member(owner_member, location=shop),
        source=StampSource.STAFF,
        card_id=card.pk,
    )
    StampEvent.objects.filter(pk=outcome.event_id).update(created_at=at(m, 9) - timedelta(60))
    Reward.objects.filter(pk__in=outcome.reward_ids).update(created_at=at(m, 9) - timedelta(60))
    expected = expected_days(m)
    expected[m + timedelta(2)] = (1, 1, 0, 0)
    for reader in (ledger.business_analytics, rolled.business_analytics):
        assert rates(reader(business=business, period=period(Grain.DAY))) == expected
    roll_up(until=timezone.now())
    assert rates(rolled.business_analytics(business=business, period=period(Grain.DAY))) == expected


def test_the_page_draws_both_rates_with_their_notes(client, business, owner, m):
    client.force_login(owner)
    page = client.get("/b/corner-cafe/analytics/?days=30&by=week").content.decode()
    for slug in ("redemption", "returning"):
        assert f'id="chart-{slug}"' in page
        assert f"/b/corner-cafe/analytics/{slug}.csv?days=30&amp;by=week" in page
    with translation.override("en"):
        from stampcard.dashboard.analytics import day

        assert f"<title>{day(m)}: 66.7%</title>" in page  # returning, week A
        assert f"<title>{day(m)}: 50%</title>" in page  # redemption, week A
        assert f"<title>{day(m + timedelta(7))}: 100%</title>" in page
    assert "Redemption rate = rewards redeemed ÷ rewards earned" in page
    assert "who had visited before" in page
    # A week without a visit or a reward: "—" in the table, not 0 %.
    assert '<td class="num">—</td>' in page


def csv_rows(client, slug: str, query: str) -> list[list[str]]:
    response = client.get(f"/b/corner-cafe/analytics/{slug}.csv?{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_rate_csvs_hold_the_figures(client, owner, m):
    client.force_login(owner)
    rows = csv_rows(client, "returning", "days=30&by=week")
    assert rows[0] == [
        "week",
        "Returning-customer rate",
        "Returning customers",
        "Customers visiting",
    ]
    weeks = {row[0]: row[1:] for row in rows[1:]}
    assert weeks[m.isoformat()] == ["0.6667", "2", "3"]
    assert weeks[(m + timedelta(7)).isoformat()] == ["1", "1", "1"]
    assert weeks[(m + timedelta(14)).isoformat()] == ["", "0", "0"]
    rows = csv_rows(client, "redemption", "days=30&by=day")
    assert rows[0] == ["day", "Redemption rate", "Rewards redeemed", "Rewards earned"]
    days = {row[0]: row[1:] for row in rows[1:]}
    assert days[(m + timedelta(1)).isoformat()] == ["1", "1", "1"]
    assert days[(m + timedelta(4)).isoformat()] == ["0", "0", "1"]
    assert days[(m + timedelta(2)).isoformat()] == ["", "0", "0"]
    assert len(days) == 30


def test_an_empty_period_shows_dashes_and_no_chart(client, business, owner):
    client.force_login(owner)
    page = client.get("/b/corner-cafe/analytics/?days=7").content.decode()
    for slug in ("redemption", "returning"):
        start = page.index(f'id="chart-{slug}"')
        chart = page[start : page.index("</figure>", start)]
        assert "Nothing in this period yet." in chart
        assert "<svg" not in chart
        assert chart.count('<td class="num">—</td>') == 7
    rows = csv_rows(client, "returning", "days=7")
    assert all(row[1:] == ["", "0", "0"] for row in rows[1:])


@pytest.mark.parametrize(
    ("language", "two_thirds", "half"),
    [
        ("th", "66.7%", "50%"),
        ("kk", "66,7%", "50%"),
        ("uk", "66,7%", "50%"),
        ("ru", "66,7%", "50%"),
    ],
)
def test_rates_in_the_readers_language(client, owner, m, language, two_thirds, half):
    client.force_login(owner)
    client.cookies["django_language"] = language
    page = client.get("/b/corner-cafe/analytics/?days=30&by=week").content.decode()
    with translation.override(language):
        from stampcard.dashboard.analytics import day, percent

        assert percent(2 / 3).replace("\xa0", " ").startswith(two_thirds[:4])
        assert f"<title>{day(m)}: {percent(2 / 3)}</title>" in page
        assert f"<title>{day(m)}: {percent(0.5)}</title>" in page
    assert "Returning-customer rate" not in page
    assert "Redemption rate = " not in page


def tile(reader, business, last: date, days: int) -> tuple[int, int]:
    """The "Returning customers" tile of the ``days`` days up to ``last``: (visitors,
    returning)."""
    first = last - timedelta(days - 1)
    p = Period(first=first, last=last, grain=Grain.DAY, time_zone=BANGKOK)
    totals = reader(business=business, period=p).totals
    return totals.customers_visiting, totals.customers_returning


@pytest.mark.parametrize("until_offset", [None, 5, 30])
def test_the_tile_counts_returning_customers_as_the_chart_does(business, m, until_offset):
    """Fay joined ten days before week A but first came on M+3, the only day she came in it:
    new in week A, as in the chart, though she had joined before it. So week A's tile is
    Dan (came on M-40) and Eve (two days in it) of the three: 2 of 3, the chart's 66.7 %;
    week B's is Fay (came on M+3): 1 of 1. Two weeks A and B together: Dan (before), Eve
    and Fay (two days each): 3 of 3. The day M+3 alone: Fay, new; M+4: Eve, returning."""
    Customer.objects.filter(name="Fay").update(created_at=at(m, 8) - timedelta(10))
    if until_offset is not None:
        roll_up(until=min(at(m, 0) + timedelta(until_offset), timezone.now()))
    for reader in (ledger.business_analytics, rolled.business_analytics):
        assert tile(reader, business, m + timedelta(6), 7) == (3, 2)
        assert tile(reader, business, m + timedelta(13), 7) == (1, 1)
        assert tile(reader, business, m + timedelta(13), 14) == (3, 3)
        assert tile(reader, business, m + timedelta(3), 1) == (1, 0)
        assert tile(reader, business, m + timedelta(4), 1) == (1, 1)
    by_week = ledger.business_analytics(business=business, period=period(Grain.WEEK))
    assert {p.bucket: (p.visitors, p.returning) for p in by_week.series}[m] == (3, 2)


def test_the_tile_and_the_note_on_the_page(client, business, owner, m):
    """Everything rolled up, the 30 days to today (the job's snapshot of them): Dan, Eve and
    Fay all returning; the note under the page says how."""
    roll_up(until=timezone.now())
    client.force_login(owner)
    with translation.override("en"):
        page = client.get("/b/corner-cafe/analytics/?days=30").content.decode()
    assert "<dt>Returning customers</dt><dd>100%</dd>" in page
    assert "had visited on an earlier day" in page
