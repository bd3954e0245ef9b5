"""Reading a card for the stamp rules: the columns they need, with the row lock or without.

The stamp's statements run on one cursor that, on PostgreSQL, binds on the server and
prepares each statement once per connection (``stampcard.hot_path``); corrections read the
card through it too.
"""

import functools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from stampcard.hot_path import _PreparingCursor, hot_path_cursor
from stampcard.loyalty.models import Card, Milestone, Program

CARD_TABLE = Card._meta.db_table
_PROGRAM = Program._meta.db_table
MILESTONE_TABLE = Milestone._meta.db_table
# The cursor moved to stampcard.hot_path (the scan's other statements use it too); the engine
# and its tests still reach it here.
__all__ = [
    "CARD_TABLE",
    "MILESTONE_TABLE",
    "CardState",
    "_PreparingCursor",
    "hot_path_cursor",
    "read_card",
]


@dataclass(frozen=True, slots=True)
class CardState:
    """The columns the stamp rules need, as read (with the card's row lock, or without)."""

    id: int
    business_id: int
    code: str
    version: int
    stamps: int
    cycles_completed: int
    last_stamp_at: datetime | None
    stamp_day: date | None
    stamps_on_day: int
    program_id: int
    program_status: str
    goal: int
    reward_kind: str
    allowed_sources: list[str]
    cooldown_seconds: int
    max_stamps_per_visit: int
    max_stamps_per_day: int | None
    # The stamp count of the program's next milestone after the card's stamps in this cycle,
    # if there is one: a stamp reaching it earns a reward.
    next_milestone: int | None
    # How a visit earns stamps (loyalty.models.StampRule) and, by amount, the rule's settings.
    stamp_rule: str
    amount_per_stamp: int | None
    amount_rounding: str
    minimum_spend: int | None

    def stamps_today(self, today: date) -> int:
        """Stamps the card got on ``today`` (the business's local day) before this one."""
        return self.stamps_on_day if self.stamp_day == today else 0


@functools.cache
def _read_card_sql(column: str, *, row_locks: bool) -> str:
    sql = (
        "SELECT c.id, c.business_id, c.code, c.version, c.stamps, c.cycles_completed,"  # noqa: S608
        " c.last_stamp_at,"
        " c.stamp_day, c.stamps_on_day, p.id, p.status, p.stamps_goal, p.reward_kind,"
        " p.allowed_sources, p.cooldown_seconds, p.max_stamps_per_visit, p.max_stamps_per_day,"
        " p.stamp_rule, p.amount_per_stamp, p.amount_rounding, p.minimum_spend,"
        f" (SELECT min(m.stamps) FROM {MILESTONE_TABLE} m"
        "  WHERE m.program_id = c.program_id AND m.stamps > c.stamps)"
        f" FROM {CARD_TABLE} c JOIN {_PROGRAM} p ON p.id = c.program_id"
        f" WHERE c.{column} = %s AND c.business_id = %s"
    )
    # SQLite has no row locks; its IMMEDIATE transactions give the same exclusion.
    return sql + " FOR UPDATE OF c" if row_locks else sql


# Card ids are 64-bit; larger numbers, and codes that no card can have, find nothing (rather
# than an error from the database driver).
_MAX_ID = 2**63 - 1
_MAX_CODE_LENGTH = 16


def read_card(
    db: BaseDatabaseWrapper,
    cursor: Any,
    *,
    business_id: int,
    card_id: int | None,
    card_code: str | None,
    lock: bool,
) -> CardState | None:
    """The card of ``business_id`` with this id or canonical code, or None.

    A card of another business is not found either: the caller cannot tell it from a card
    that does not exist, so a code cannot be probed across businesses.
    """
    value: int | str
    if card_id is not None:
        if isinstance(card_id, bool) or not isinstance(card_id, int) or not 0 < card_id <= _MAX_ID:
            return None
        column, value = "id", card_id
    else:
        if not card_code or len(card_code) > _MAX_CODE_LENGTH or "\x00" in card_code:
            return None
        column, value = "code", card_code
    row_locks = lock and db.features.has_select_for_update_of
    cursor.execute(_read_card_sql(column, row_locks=row_locks), [value, business_id])
    row = cursor.fetchone()
    if row is None:
        return None
    (card_id, business_id, code, version, stamps, cycles, last_stamp_at, stamp_day, stamps_on_day,
     program_id, status, goal, reward_kind, sources, cooldown, visit_max, day_max,
     stamp_rule, per_stamp, rounding, minimum_spend, next_milestone) = row  # fmt: skip
    if last_stamp_at is not None and last_stamp_at.tzinfo is None:
        last_stamp_at = last_stamp_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return CardState(
        id=card_id,
        business_id=business_id,
        code=code,
        version=version,
        stamps=stamps,
        cycles_completed=cycles,
        last_stamp_at=last_stamp_at,
        stamp_day=date.fromisoformat(stamp_day) if isinstance(stamp_day, str) else stamp_day,
        stamps_on_day=stamps_on_day,
        program_id=program_id,
        program_status=status,
        goal=goal,
        reward_kind=reward_kind,
        allowed_sources=json.loads(sources) if isinstance(sources, str) else sources,
        cooldown_seconds=cooldown,
        max_stamps_per_visit=visit_max,
        max_stamps_per_day=day_max,
        next_milestone=next_milestone,
        stamp_rule=stamp_rule,
        amount_per_stamp=per_stamp,
        amount_rounding=rounding,
        minimum_spend=minimum_spend,
    )
