"""The analytics page in Chromium: charts drawn from stamps made through the real services."""

from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from tests.dashboard.analytics_history import (
    make_breakdown_history,
    make_history,
    make_rate_history,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@contextmanager
def analytics_page(browser, live_server, language, size, query):
    """The owner's analytics page at ``size``, in ``language`` chosen from the menu as a person
    would, with ``query`` (the period and the bars) in its address."""
    context = browser.new_context(viewport=size, locale="en-US")
    try:
        page = context.new_page()
        log_in(page, live_server, "owner", "pw-owner-1234")
        page.get_by_role("heading", name="Corner Cafe").wait_for()
        if language != "en":
            page.get_by_label("Language").select_option(language)
            page.locator(f"html[lang={language}]").wait_for()
        page.goto(f"{live_server.url}/b/corner-cafe/analytics/?{query}")
        yield page
    finally:
        context.close()


def bar_titles(page, chart):
    return page.locator(f"#chart-{chart} svg rect title").all_text_contents()


@pytest.mark.parametrize(("language", "size"), [("en", DESKTOP), ("th", PHONE), ("kk", PHONE)])
def test_the_charts_show_the_stamps_made(
    browser, live_server, business, shop, owner, maria, tmp_path, language, size
):
    history = make_history(business=business, shop=shop, owner=owner, manager=maria)
    with analytics_page(browser, live_server, language, size, "days=7") as page:
        # The stamps chart: one column per day and series, seven days, yesterday's the tallest.
        stamps = page.locator("#chart-stamps svg")
        assert stamps.get_attribute("role") == "img"
        titles = bar_titles(page, "stamps")
        assert len(titles) == 14  # 7 days, two series (stamps, visits)
        heights = [
            float(h or 0)
            for h in page.locator("#chart-stamps svg rect.bar-a").evaluate_all(
                "bars => bars.map(b => b.getAttribute('height'))"
            )
        ]
        assert heights.index(max(heights)) == 5  # yesterday: the 6th of the 7 days
        assert heights[5] == pytest.approx(4 * heights[6])  # 4 stamps yesterday, 1 today
        assert heights[:4] == [0, 0, 0, 0]

        # The same figures as a table, for anyone who opens it.
        page.locator("#chart-stamps summary").click()
        rows = page.locator("#chart-stamps table tbody tr")
        assert rows.count() == 7
        assert rows.nth(5).locator("td").all_inner_texts() == ["4", "4"]

        # The breakdown by location: Riverside first, with 4 stamps.
        labels = page.locator("#chart-locations svg text").all_text_contents()
        assert labels[:2] == ["Riverside", "4"]

        # The CSV of the chart holds the same figures.
        with page.expect_download() as download:
            page.locator("#chart-stamps a.csv").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert f"{(history.today - timedelta(1)).isoformat()},4,4" in text

        page.screenshot(path=tmp_path / f"analytics-{language}-{size['width']}.png", full_page=True)
        if language == "th":
            assert page.get_by_role("heading", name="แสตมป์และการมาเยือน").is_visible()
        if language == "kk":
            assert page.get_by_role("heading", name="Мөртаңбалар мен келулер").is_visible()


def test_keyboard_reaches_the_period_and_the_tables(page, live_server, business, owner):
    log_in(page, live_server, "owner", "pw-owner-1234")
    page.goto(f"{live_server.url}/b/corner-cafe/analytics/")
    page.get_by_label("Period").select_option("90")
    page.get_by_label("Bars per").select_option("week")
    page.get_by_role("button", name="Show").press("Enter")
    page.wait_for_url("**days=90**")
    assert page.get_by_label("Period").input_value() == "90"
    assert page.get_by_label("Bars per").input_value() == "week"
    # Nothing happened yet: each chart says so instead of drawing empty axes.
    assert page.get_by_text("Nothing in this period yet.").first.is_visible()


@pytest.mark.parametrize(("language", "size"), [("en", DESKTOP), ("ru", PHONE), ("th", PHONE)])
def test_the_rate_charts_show_the_rates_of_each_week(
    browser, live_server, business, shop, owner, shots, language, size
):
    """Drawn from the rollups (the job has run) of the history counted by hand in
    ``tests.dashboard.test_analytics_rates``: week A returning 2 of 3 and redeemed 1 of 2,
    week B 1 of 1 each, the weeks after with nothing to divide ("—", no column)."""
    from django.utils import timezone

    from stampcard.stats.rollup import roll_up

    m = make_rate_history(business=business, shop=shop, owner=owner)
    roll_up(until=timezone.now())
    with analytics_page(browser, live_server, language, size, "days=30&by=week") as page:
        for slug, week_a in (("returning", 2 / 3), ("redemption", 0.5)):
            chart = page.locator(f"#chart-{slug}")
            chart.scroll_into_view_if_needed()
            assert chart.locator("svg").is_visible()
            assert chart.locator("p.chart-note").is_visible()
            bars = chart.locator("svg rect").evaluate_all(
                "bars => bars.map(b => [b.querySelector('title').textContent,"
                " b.getBoundingClientRect().height])"
            )
            # Weeks A and B only: the other weeks have no rate and no column.
            assert len(bars) == 2, bars
            (a_title, a_height), (b_title, b_height) = bars
            assert a_height == pytest.approx(week_a * b_height, rel=0.02)
            assert b_height > 20
            assert a_title.rsplit(": ", 1)[1] != b_title.rsplit(": ", 1)[1]  # two rates
            chart.locator("summary").click()
            rows = chart.locator("table tbody tr")
            cells = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
            assert cells.count("—") == rows.count() - 2
            with page.expect_download() as download:
                chart.locator("a.csv").click()
            text = Path(download.value.path()).read_text(encoding="utf-8")
            expected = "0.6667,2,3" if slug == "returning" else "0.5,1,2"
            assert f"{m.isoformat()},{expected}" in text
            chart.screenshot(path=shots / f"analytics-{slug}-{language}-{size['width']}.png")
        page.screenshot(
            path=shots / f"analytics-rates-{language}-{size['width']}.png", full_page=True
        )


@pytest.mark.parametrize(("language", "size"), [("en", DESKTOP), ("uk", PHONE)])
def test_the_breakdowns_of_joins_and_rewards(
    browser, live_server, business, shop, owner, maria, shots, language, size
):
    """The history counted by hand in ``tests.dashboard.test_analytics_breakdowns``, rolled
    up: a bar per join channel, card, location and staff member, longest for the most (the
    rewards' bars are those earned: all four at Riverside, by the owner)."""
    from django.utils import timezone

    from stampcard.stats.rollup import roll_up

    make_breakdown_history(business=business, shop=shop, owner=owner, manager=maria)
    roll_up(until=timezone.now())
    with analytics_page(browser, live_server, language, size, "days=7") as page:
        for slug, counts in (
            ("channels", [2, 1]),
            ("joined-programs", [2, 1]),
            ("program-rewards", [3, 1]),
            ("location-rewards", [4, 0]),
            ("staff-rewards", [4, 0, 0]),
        ):
            chart = page.locator(f"#chart-{slug}")
            chart.scroll_into_view_if_needed()
            widths = chart.locator("svg rect.bar-a").evaluate_all(
                "bars => bars.map(b => b.getBoundingClientRect().width)"
            )
            assert len(widths) == len(counts), slug
            for width, count in zip(widths, counts, strict=True):
                assert width == pytest.approx(widths[0] * count / counts[0], rel=0.02), slug
            chart.screenshot(path=shots / f"analytics-{slug}-{language}-{size['width']}.png")
        labels = page.locator("#chart-program-rewards svg text").all_text_contents()
        assert labels[:2] == ["Tea card", "3"]
        labels = page.locator("#chart-location-rewards svg text").all_text_contents()
        assert labels[:3] == ["Riverside", "4", "1"]
        # Under each earned bar the redeemed one, on the same scale: Riverside 1 and no
        # recorded location 2 redeemed, against 4 earned at Riverside.
        earned, redeemed = (
            page.locator(f"#chart-location-rewards svg rect.{css}").evaluate_all(
                "bars => bars.map(b => b.getBoundingClientRect().width)"
            )
            for css in ("bar-a", "bar-b")
        )
        assert redeemed == [
            pytest.approx(earned[0] / 4, rel=0.02),
            pytest.approx(earned[0] / 2, rel=0.02),
        ]
        # Earned 4 at Riverside, 1 reward voucher redeemed there: the rate in the table.
        table = page.locator("#chart-location-rewards")
        table.locator("summary").click()
        cells = table.locator("tbody tr").first.locator("td").all_inner_texts()
        assert cells[2] in ("25%", "25 %")
        page.screenshot(
            path=shots / f"analytics-breakdowns-{language}-{size['width']}.png", full_page=True
        )
