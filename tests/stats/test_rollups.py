"""The rollups plus the live tail say exactly what the ledger says, whenever the job ran."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Sum
from django.utils import timezone

from stampcard.loyalty.models import Card, Customer, Reward, StampEvent
from stampcard.loyalty.services import analytics as ledger
from stampcard.loyalty.services.analytics import Grain, Period
from stampcard.loyalty.services.customers import erase_customer
from stampcard.stats import analytics as rolled
from stampcard.stats.models import (
    DayCount,
    ProgramDay,
    RollupState,
    StampDay,
    VisitDay,
    VisitingSnapshot,
)
from stampcard.stats.programs import ProgramTotals, program_totals
from stampcard.stats.rollup import rebuild, roll_up
from tests import factories
from tests.stats.history import Shop, add_history, make_shop, settle_some

pytestmark = pytest.mark.django_db


def periods(shop: Shop, today_at: datetime) -> list[Period]:
    last = today_at.astimezone(shop.zone).date()
    found = [
        Period.ending(last=last, days=days, grain=grain, time_zone=shop.zone)
        for days, grain in ((7, Grain.DAY), (30, Grain.WEEK), (90, Grain.DAY), (365, Grain.WEEK))
    ]
    # A period that ended earlier, so the rolled-up days alone answer it.
    found.append(
        Period.ending(last=last - timedelta(days=9), days=7, grain="day", time_zone=shop.zone)
    )
    return found


def program_totals_from_the_ledger(shop: Shop) -> dict[int, ProgramTotals]:
    """Each program's cards counted, its ledger summed and its rewards counted."""
    found: dict[int, dict[str, int]] = {}
    for figure, rows in (
        ("cards", Card.objects.values_list("program_id").annotate(n=Count("pk"))),
        ("stamps", StampEvent.objects.values_list("card__program_id").annotate(n=Sum("delta"))),
        ("rewards", Reward.objects.values_list("card__program_id").annotate(n=Count("pk"))),
    ):
        for program, n in rows.filter(business=shop.business).order_by():
            found.setdefault(program, {})[figure] = n
    return {program: ProgramTotals(**figures) for program, figures in found.items()}


def assert_same_as_the_ledger(shops: list[Shop], now: datetime) -> None:
    for shop in shops:
        expected_totals = program_totals_from_the_ledger(shop)
        assert set(expected_totals) == {program.pk for program in shop.programs}
        assert program_totals(business=shop.business) == expected_totals, shop.business.slug
        for period in periods(shop, now):
            expected = ledger.business_analytics(business=shop.business, period=period)
            assert rolled.business_analytics(business=shop.business, period=period) == expected, (
                shop.business.slug,
                period,
            )


def rollup_rows() -> dict[str, list[tuple]]:
    return {
        # A deleted shop's or person's id stays in the rows rolled up before: compared
        # without them (the readers show such ids as the ledger does).
        "stamps": sorted(
            StampDay.objects.values_list("business_id", "day", "program_id", "source")
            .annotate(stamps=Sum("stamps"), visits=Sum("visits"))
            .order_by()
        ),
        "counts": sorted(DayCount.objects.values_list("business_id", "day", "figure", "count")),
        "visits": sorted(
            VisitDay.objects.values_list("business_id", "day", "customer_id", "joined_on")
        ),
        "programs": sorted(
            ProgramDay.objects.values_list("business_id", "day", "program_id", "figure", "count")
        ),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_and_tail_equal_the_ledger_at_every_step(seed):
    rng = random.Random(seed)
    now = timezone.now()
    year_ago = now - timedelta(days=400)
    # Bangkok is ahead of UTC, Los Angeles behind: days cut at different UTC hours.
    shops = [make_shop(f"b{seed}", "Asia/Bangkok"), make_shop(f"l{seed}", "America/Los_Angeles")]
    for shop in shops:
        add_history(rng, shop, year_ago, now - timedelta(days=20), customers=25, events=150)
    # Before any rollup every figure is read live from the ledger.
    assert_same_as_the_ledger(shops, now)

    roll_up(until=now - timedelta(days=20))
    assert_same_as_the_ledger(shops, now)
    for shop in shops:
        add_history(rng, shop, now - timedelta(days=20), now, customers=10, events=80)
        # Rows written now with earlier times (an import, a late commit) are found by id.
        add_history(rng, shop, year_ago, now - timedelta(days=25), customers=3, events=20)
        settle_some(rng, shop, now - timedelta(days=20), now)
    assert_same_as_the_ledger(shops, now)  # a long live tail

    roll_up(until=now - timedelta(days=3, hours=rng.randint(0, 23)))
    assert_same_as_the_ledger(shops, now)
    # Erasing a customer keeps the ledger: the figures stay; a deleted shop and staff
    # member are "no location" and "devices and codes", as in the ledger.
    victim = Customer.objects.filter(business=shops[0].business).first()
    erase_customer(
        business=shops[0].business,
        actor=factories.member_actor(shops[0].business),
        customer=victim,
    )
    shops[0].locations.pop(0).delete()
    get_user_model().objects.filter(pk=shops[1].staff.pop(0)).delete()
    for shop in shops:
        settle_some(rng, shop, now - timedelta(days=3), now)
    assert_same_as_the_ledger(shops, now)

    # The job's snapshots of the periods ending today, then rows it has not seen (some
    # with earlier times, found by id), then a run that keeps the snapshots (not stale).
    roll_up(until=now - timedelta(minutes=1))
    assert VisitingSnapshot.objects.filter(last=now.astimezone(shops[0].zone).date()).exists()
    assert_same_as_the_ledger(shops, now)
    for shop in shops:
        add_history(rng, shop, now - timedelta(days=20), now, customers=3, events=30)
        settle_some(rng, shop, now - timedelta(minutes=1), now)
    assert_same_as_the_ledger(shops, now)
    roll_up(until=now)
    assert_same_as_the_ledger(shops, now)  # no tail at all
    incremental = rollup_rows()
    rebuild(until=now)
    assert rollup_rows() == incremental
    assert_same_as_the_ledger(shops, now)


def test_a_run_is_idempotent_and_does_nothing_when_up_to_date():
    rng = random.Random(7)
    now = timezone.now()
    shop = make_shop("idem", "Asia/Bangkok")
    add_history(rng, shop, now - timedelta(days=40), now, customers=10, events=60)
    first = roll_up(until=now - timedelta(days=1))
    assert first is not None
    assert first.businesses == 1
    rows = rollup_rows()
    assert roll_up(until=now - timedelta(days=1)) is None
    assert roll_up(until=now - timedelta(days=2)) is None
    assert rollup_rows() == rows
    assert RollupState.objects.get().rolled_until == now - timedelta(days=1)


def test_a_quiet_run_recomputes_nothing():
    rng = random.Random(8)
    now = timezone.now()
    shop = make_shop("quiet", "Asia/Bangkok")
    add_history(
        rng, shop, now - timedelta(days=40), now - timedelta(days=2), customers=5, events=30
    )
    roll_up(until=now - timedelta(days=1))
    run = roll_up(until=now)
    assert run is not None
    assert (run.businesses, run.days) == (0, 0)


def test_a_stamp_written_after_the_rollup_is_read_live(business, staff_actor):
    from stampcard.loyalty.services import add_stamps

    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    roll_up(until=timezone.now())
    add_stamps(business=business, actor=staff_actor, source="staff", card_id=card.pk)
    period = Period.ending(
        last=timezone.now().astimezone(ZoneInfo(business.time_zone)).date(),
        days=7,
        grain="day",
        time_zone=business.time_zone,
    )
    figures = rolled.business_analytics(business=business, period=period)
    assert (figures.totals.stamps, figures.totals.customers_visiting) == (1, 1)
    assert StampDay.objects.count() == 0  # nothing rolled up: it is the tail's
    assert program_totals(business=business) == {
        card.program_id: ProgramTotals(cards=1, stamps=1, rewards=0)
    }
    assert ProgramDay.objects.filter(figure="stamps").count() == 0


def test_the_command_rolls_up_and_rebuilds(business, capsys):
    from django.core.management import call_command

    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    StampEvent.objects.create(
        business=business,
        card=card,
        kind="stamp",
        delta=1,
        source="staff",
        actor_kind="staff",
        balance_after=1,
        created_at=timezone.now() - timedelta(days=2),
    )
    call_command("roll_up_stats")
    assert "1 businesses" in capsys.readouterr().out
    assert StampDay.objects.get().stamps == 1
    call_command("roll_up_stats", "--rebuild")
    assert StampDay.objects.get().stamps == 1
