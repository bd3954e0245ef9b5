"""Two rollup runs at once on PostgreSQL: one does the work, and the figures stay exact."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.stats.models import RollupState
from stampcard.stats.rollup import RollupRun, rebuild, roll_up
from tests.concurrency import needs_postgres, run_in_parallel
from tests.stats.history import add_history, make_shop, settle_some
from tests.stats.test_rollups import assert_same_as_the_ledger, rollup_rows

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_runs_started_together_roll_up_once_and_exactly():
    rng = random.Random(11)
    now = timezone.now()
    shops = [make_shop("par-a", "Asia/Bangkok"), make_shop("par-b", "Europe/Kyiv")]
    for shop in shops:
        add_history(rng, shop, now - timedelta(days=300), now, customers=20, events=200)
    for step in range(3):
        until = now - timedelta(days=30 * (2 - step))
        results = run_in_parallel(lambda _i, until=until: roll_up(until=until), 4, workers=4)
        assert not [r for r in results if isinstance(r, BaseException)], results
        # The first to lock the state row does the work; the others find it locked (or
        # already done) and leave it alone.
        assert len([r for r in results if isinstance(r, RollupRun)]) == 1
        assert RollupState.objects.get().rolled_until == until
        assert_same_as_the_ledger(shops, now)
        if until < now:
            for shop in shops:
                add_history(rng, shop, until, now, customers=5, events=40)
                settle_some(rng, shop, until, now)
    assert_same_as_the_ledger(shops, now)


def test_runs_to_different_moments_at_once_leave_the_same_rows_as_one_run():
    rng = random.Random(12)
    now = timezone.now()
    shop = make_shop("par-c", "America/Los_Angeles")
    add_history(rng, shop, now - timedelta(days=100), now, customers=20, events=200)
    moments = [now - timedelta(hours=h) for h in (48, 30, 12, 0)]
    results = run_in_parallel(lambda i: roll_up(until=moments[i]), 4, workers=4)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert_same_as_the_ledger([shop], now)
    roll_up(until=now)  # nothing to do if the run to ``now`` came last
    assert RollupState.objects.get().rolled_until == now
    together = rollup_rows()
    rebuild(until=now)
    assert rollup_rows() == together
    assert_same_as_the_ledger([shop], now)
