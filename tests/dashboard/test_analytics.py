"""The analytics page and its CSVs, on a known history made through the real services."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import translation

from stampcard.dashboard.analytics import CHART_SLUGS
from stampcard.loyalty.services.analytics import Grain, Period, business_analytics
from tests import factories
from tests.dashboard.analytics_history import BANGKOK, make_history


@pytest.fixture
def history(business, shop, owner, maria):
    return make_history(business=business, shop=shop, owner=owner, manager=maria)


def week(history, days=7, grain=Grain.DAY):
    period = Period.ending(last=history.today, days=days, grain=grain, time_zone=BANGKOK)
    return business_analytics(business=history.business, period=period)


def by_day(figures):
    return {p.bucket: p for p in figures.series}


def test_totals_and_rates_of_the_period(history):
    totals = week(history).totals
    assert (totals.new_customers, totals.stamps, totals.visits) == (2, 6, 6)
    assert (totals.rewards_earned, totals.rewards_redeemed) == (1, 1)
    assert totals.redemption_rate == 1.0
    # Ann joined before the period and came on two days; Ben and Cat came once, newly joined.
    assert (totals.customers_visiting, totals.customers_returning) == (3, 1)
    assert totals.returning_rate == pytest.approx(1 / 3)
    assert totals.visits_per_customer == 2.0


def test_days_are_the_business_days(history):
    days = by_day(week(history))
    today = history.today
    assert len(days) == 7
    # Ann's stamp at 00:30 in Bangkok is yesterday's, although it is the day before in UTC.
    assert days[today - timedelta(1)].stamps == 4
    assert days[today - timedelta(2)].stamps == 1
    assert days[today].stamps == 1
    assert days[today - timedelta(1)].new_customers == 1
    assert days[today - timedelta(1)].rewards_earned == 1
    assert days[today - timedelta(1)].rewards_redeemed == 1
    assert sum(p.stamps for p in days.values()) == 6


def test_weeks_start_on_monday_and_hold_every_day(history):
    figures = week(history, days=30, grain=Grain.WEEK)
    assert all(p.bucket.weekday() == 0 for p in figures.series)
    assert sum(p.stamps for p in figures.series) == 6
    # A year is always cut into weeks, whatever was asked.
    assert week(history, days=365, grain=Grain.DAY).period.grain == Grain.WEEK


def test_visit_frequency_and_breakdowns(history, owner, maria):
    figures = week(history)
    assert dict(figures.frequency)[(1, 1)] == 2
    assert dict(figures.frequency)[(2, 2)] == 1
    assert [(s.label, s.stamps) for s in figures.by_location] == [
        ("Riverside", 4),
        ("No location", 2),
    ]
    assert [(s.label, s.stamps) for s in figures.by_staff] == [("owner", 5), ("maria", 1)]
    assert [(s.label, s.stamps) for s in figures.by_source] == [
        ("Staff scanner", 5),
        ("Kiosk", 1),
    ]
    assert [(s.label, s.stamps, s.visits) for s in figures.by_program] == [("Coffee card", 6, 6)]


def test_an_older_history_is_outside_a_short_period(history):
    figures = week(history, days=7)
    assert figures.totals.new_customers == 2  # Ann joined 40 days ago
    assert week(history, days=90).totals.new_customers == 3


def test_another_business_never_counts(history, other_business):
    card = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    factories.CardFactory(program=card.program)
    assert week(history).totals.new_customers == 2


def test_the_page_shows_the_charts_and_their_tables(client, history, owner):
    client.force_login(owner)
    response = client.get("/b/corner-cafe/analytics/?days=7")
    assert response.status_code == 200
    page = response.content.decode()
    for slug in CHART_SLUGS:
        assert f'id="chart-{slug}"' in page
    assert page.count('role="img"') == len(CHART_SLUGS)
    # One bar per day and series on the stamps chart, with its value as the bar's title.
    yesterday = history.today - timedelta(1)
    with translation.override("en"):
        from stampcard.dashboard.analytics import day

        assert f"<title>{day(yesterday)}: Stamps 4</title>" in page
    assert "Riverside" in page
    assert "33.3%" in page  # returning customers


def test_numbers_and_dates_in_the_readers_language(client, history, owner):
    client.force_login(owner)
    client.cookies["django_language"] = "ru"
    page = client.get("/b/corner-cafe/analytics/?days=7").content.decode()
    assert "33,3%" in page
    assert "Новые клиенты" in page or "New customers" not in page


def test_bad_parameters_fall_back_to_the_default_period(client, history, owner):
    client.force_login(owner)
    for query in ("days=abc", "days=100000", "days=-5", "by=year", "days=7&by=%00"):
        response = client.get(f"/b/corner-cafe/analytics/?{query}")
        assert response.status_code == 200, query


@pytest.mark.parametrize("slug", CHART_SLUGS)
def test_each_chart_is_a_csv(client, history, owner, slug):
    client.force_login(owner)
    response = client.get(f"/b/corner-cafe/analytics/{slug}.csv?days=7")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) >= 2


def test_stamps_csv_holds_the_figures(client, history, owner):
    client.force_login(owner)
    response = client.get("/b/corner-cafe/analytics/stamps.csv?days=7")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["day", "Stamps", "Visits"]
    figures = {row[0]: (int(row[1]), int(row[2])) for row in rows[1:]}
    assert figures[(history.today - timedelta(1)).isoformat()] == (4, 4)
    assert sum(s for s, _v in figures.values()) == 6


def test_a_csv_cannot_carry_a_formula(client, history, owner):
    history.shop.name = "=HYPERLINK(1)"
    history.shop.save()
    client.force_login(owner)
    response = client.get("/b/corner-cafe/analytics/locations.csv?days=7")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["'=HYPERLINK(1)", "4", "4"] in rows


def test_unknown_chart_is_not_found(client, history, owner):
    client.force_login(owner)
    assert client.get("/b/corner-cafe/analytics/secrets.csv").status_code == 404


def test_who_may_see_the_figures(client, business, shop, owner, maria, bob, charlie):
    for user, expected in ((owner, 200), (maria, 200), (bob, 403), (charlie, 404)):
        client.force_login(user)
        assert client.get("/b/corner-cafe/analytics/").status_code == expected, user
        assert client.get("/b/corner-cafe/analytics/stamps.csv").status_code == expected, user


def test_a_manager_limited_to_a_shop_sees_no_business_wide_figures(client, business, shop):
    membership = factories.MembershipFactory(business=business, role="manager", locations=[shop])
    client.force_login(membership.user)
    assert client.get("/b/corner-cafe/analytics/").status_code == 403
    assert client.get("/b/corner-cafe/analytics/stamps.csv").status_code == 403


def test_the_business_page_links_to_analytics_for_who_may_see_it(client, business, owner, bob):
    client.force_login(owner)
    assert b"/b/corner-cafe/analytics/" in client.get("/b/corner-cafe/").content
    client.force_login(bob)
    assert b"/b/corner-cafe/analytics/" not in client.get("/b/corner-cafe/").content


def test_a_redeemed_reward_voucher_counts_as_redeemed(business, shop, owner, staff_actor):
    from stampcard.loyalty.services import add_stamps
    from stampcard.vouchers.models import Voucher
    from stampcard.vouchers.services import redeem_voucher

    program = factories.ProgramFactory(business=business, reward_kind="smart_voucher")
    program.stamps_goal = 1
    program.save()
    card = factories.CardFactory(program=program)
    add_stamps(business=business, actor=staff_actor, source="staff", card_id=card.pk)
    voucher = Voucher.objects.get(card=card, reward__isnull=False)
    today = week_of(business).totals
    assert (today.rewards_earned, today.rewards_redeemed) == (1, 0)
    redeem_voucher(business=business, actor=staff_actor, token=voucher.token)
    assert week_of(business).totals.rewards_redeemed == 1


def week_of(business):
    from django.utils import timezone

    period = Period.ending(
        last=timezone.now().astimezone(BANGKOK).date(), days=7, grain=Grain.DAY, time_zone=BANGKOK
    )
    return business_analytics(business=business, period=period)
