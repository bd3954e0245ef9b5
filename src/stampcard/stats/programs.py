"""Each program's totals for the dashboard, from the daily rollups plus the live tail.

The cards issued, the stamps on them (the sum of their ledger, so the cards' lifetime
stamps) and the rewards earned: the rolled-up days (``ProgramDay``) summed, plus what the
rollup job has not reached, read from the ledger with the very queries that fill the
rollup (``stats.ledger.program_rows``). A page then costs the program's days and the rows
since the last rollup, not its cards.
"""

from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Sum

from stampcard.stats.analytics import one_snapshot
from stampcard.stats.ledger import Ids, Window, program_rows
from stampcard.stats.models import ProgramDay, ProgramFigure, RollupState
from stampcard.tenancy.models import Business


@dataclass(frozen=True)
class ProgramTotals:
    cards: int = 0
    stamps: int = 0
    rewards: int = 0


def program_totals(*, business: Business) -> dict[int, ProgramTotals]:
    """Per program id of ``business``: its totals (a program without cards is missing).

    On PostgreSQL the reads share one snapshot, so a rollup committed meanwhile is counted
    neither twice nor not at all."""
    counts: Counter[tuple[int, str]] = Counter()
    with one_snapshot():
        state = RollupState.objects.filter(pk=1).first()
        rolled_until = state.rolled_until if state is not None else None
        if state is not None and rolled_until is not None:
            for program_id, figure, total in (
                ProgramDay.objects.filter(business=business)
                .values("program_id", "figure")
                .annotate(total=Sum("count"))
                .values_list("program_id", "figure", "total")
                .order_by()
            ):
                counts[(program_id, figure)] += total
        for window in _live_windows(business, state):
            for figure, rows in program_rows(window).items():
                for row in rows:
                    counts[(row["of_program"], figure)] += row["count"]
    return {
        program_id: ProgramTotals(
            cards=counts[(program_id, ProgramFigure.CARDS)],
            stamps=counts[(program_id, ProgramFigure.STAMPS)],
            rewards=counts[(program_id, ProgramFigure.REWARDS)],
        )
        for program_id in {program_id for program_id, _figure in counts}
    }


def _live_windows(business: Business, state: RollupState | None) -> list[Window]:
    """The rows not rolled up: created from ``rolled_until`` on, or before it with an id
    the job has not reached (two windows, each read through an index); every row before
    the first rollup."""
    zone = ZoneInfo(business.time_zone)
    if state is None or state.rolled_until is None:
        return [Window(business.pk, zone, None, None)]
    ids = Ids(
        event=state.last_event_id,
        customer=state.last_customer_id,
        reward=state.last_reward_id,
        voucher=state.last_voucher_id,
        card=state.last_card_id,
    )
    return [
        Window(business.pk, zone, state.rolled_until, None),
        Window(business.pk, zone, None, state.rolled_until, newer_than=ids),
    ]
