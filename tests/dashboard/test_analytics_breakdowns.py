"""New customers by join channel and by card, rewards earned and redeemed by card, location
and staff member: counted by hand on a history made through the real services, today.

- Coffee card (a reward at 2 stamps, handed over), Tea card (a voucher at 1 stamp); every
  stamp given by the owner at Riverside, so every reward is earned there, by the owner;
- Ann joined by the poster on the Coffee card: 2 stamps, her reward handed over by the owner
  (a reward handed over records no shop and no staff member);
- Ben joined by the poster on the Tea card: his voucher redeemed by the owner at Riverside;
- Cat joined by the join QR code on the Tea card: her voucher redeemed by Maria, at no shop;
- Dan joined 40 days ago (by a flyer), outside the week: a Tea voucher today, not redeemed.

In the last 7 days: joined Poster 2, Join QR code 1; joined on the Tea card 2, the Coffee
card 1; Tea card earned 3, redeemed 2 (66.7 %), Coffee card earned 1, redeemed 1; Riverside
earned 4, redeemed 1 (25 %), no recorded location redeemed 2 (no rate); the owner earned 4,
redeemed 1 (25 %), maria and no recorded staff member redeemed 1 each (no rate).
"""

import csv
import io

import pytest
from django.utils import timezone, translation

from stampcard.loyalty.services import analytics as ledger
from stampcard.loyalty.services.analytics import Grain, Period, RewardShare, Tally
from stampcard.stats import analytics as rolled
from stampcard.stats.rollup import roll_up
from tests.dashboard.analytics_history import BANGKOK, make_breakdown_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(business, shop, owner, maria):
    make_breakdown_history(business=business, shop=shop, owner=owner, manager=maria)


EXPECTED = {
    "joined_by_channel": [Tally("Poster", 2), Tally("Join QR code", 1)],
    "joined_by_program": [Tally("Tea card", 2), Tally("Coffee card", 1)],
    "rewards_by_program": [RewardShare("Tea card", 3, 2), RewardShare("Coffee card", 1, 1)],
    "rewards_by_location": [
        RewardShare("Riverside", 4, 1),
        RewardShare("No location recorded", 0, 2, rated=False),
    ],
    "rewards_by_staff": [
        RewardShare("owner", 4, 1),
        RewardShare("No staff member recorded", 0, 1, rated=False),
        RewardShare("maria", 0, 1),
    ],
}


SLUGS = ("channels", "joined-programs", "program-rewards", "location-rewards", "staff-rewards")


def week() -> Period:
    today = timezone.now().astimezone(BANGKOK).date()
    return Period.ending(last=today, days=7, grain=Grain.DAY, time_zone=BANGKOK)


def breakdowns(figures) -> dict:
    return {name: getattr(figures, name) for name in EXPECTED}


@pytest.mark.parametrize("rolled_up", [False, True])
def test_each_count_by_what_it_is_recorded_with(business, made, rolled_up):
    with translation.override("en"):
        assert breakdowns(ledger.business_analytics(business=business, period=week())) == EXPECTED
        if rolled_up:
            roll_up(until=timezone.now())
        assert breakdowns(rolled.business_analytics(business=business, period=week())) == EXPECTED
    tea = EXPECTED["rewards_by_program"][0]
    assert tea.redemption_rate == pytest.approx(2 / 3)
    assert RewardShare("Nothing earned", 0, 1).redemption_rate is None
    assert EXPECTED["rewards_by_location"][0].redemption_rate == pytest.approx(1 / 4)
    assert RewardShare("Not recorded", 2, 1, rated=False).redemption_rate is None


def csv_rows(client, slug):
    response = client.get(f"/b/corner-cafe/analytics/{slug}.csv?days=7")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_each_breakdown_is_a_chart_and_a_csv(client, owner, made):
    roll_up(until=timezone.now())
    client.force_login(owner)
    page = client.get("/b/corner-cafe/analytics/?days=7").content.decode()
    for slug in SLUGS:
        start = page.index(f'id="chart-{slug}"')
        assert "<svg" in page[start : page.index("</figure>", start)]
    assert csv_rows(client, "channels") == [
        ["Join channel", "New customers"],
        ["Poster", "2"],
        ["Join QR code", "1"],
    ]
    assert csv_rows(client, "program-rewards") == [
        ["Name", "Rewards earned", "Rewards redeemed", "Redemption rate"],
        ["Tea card", "3", "2", "0.6667"],
        ["Coffee card", "1", "1", "1"],
    ]
    assert csv_rows(client, "joined-programs") == [
        ["Name", "New customers"],
        ["Tea card", "2"],
        ["Coffee card", "1"],
    ]
    assert csv_rows(client, "location-rewards") == [
        ["Location", "Rewards earned", "Rewards redeemed", "Redemption rate"],
        ["Riverside", "4", "1", "0.25"],
        ["No location recorded", "0", "2", ""],
    ]
    assert csv_rows(client, "staff-rewards") == [
        ["Staff member", "Rewards earned", "Rewards redeemed", "Redemption rate"],
        ["owner", "4", "1", "0.25"],
        ["No staff member recorded", "0", "1", ""],
        ["maria", "0", "1", ""],
    ]


def test_an_empty_period_draws_no_breakdown(client, business, owner):
    client.force_login(owner)
    page = client.get("/b/corner-cafe/analytics/?days=7").content.decode()
    for slug in SLUGS:
        start = page.index(f'id="chart-{slug}"')
        chart = page[start : page.index("</figure>", start)]
        assert "Nothing in this period yet." in chart
        assert len(csv_rows(client, slug)) == 1  # the head alone


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("th", ["ลูกค้าใหม่ตามช่องทางสมัคร", "ไม่ได้บันทึกสาขา", "66.7%"]),
        ("kk", ["Тіркелу арнасы бойынша жаңа клиенттер", "Орын жазылмаған", "66,7"]),
        ("uk", ["Нові клієнти за каналом реєстрації", "Локацію не записано", "66,7"]),
        ("ru", ["Новые клиенты по каналу регистрации", "Точка не записана", "66,7"]),
    ],
)
def test_breakdowns_in_the_readers_language(client, owner, made, language, words):
    client.force_login(owner)
    client.cookies["django_language"] = language
    page = client.get("/b/corner-cafe/analytics/?days=7").content.decode()
    for word in words:
        assert word in page, word
    assert "No location recorded" not in page
