"""Keyset paging for the dashboard's long histories: newest first, one page at a time.

A page is the ``size`` rows just older (or just newer) than a cursor: the time and id of the
row at the edge of the page the reader came from, carried in the link itself. The rows are
read in (time, id) order from an index on the time column, so a page far back costs what the
first one does — no OFFSET walked, no COUNT of the whole history — and rows that share a time
are ordered by id, so none is skipped or shown twice from one page to the next. A cursor is
only a position: a made-up one shows another window of the same scoped rows, nothing more.

Several histories can share one page: each reads its own ``<prefix>before`` and
``<prefix>after`` parameters and its links keep the others' as they are.

How long a history is, is counted only up to a cap (``count_up_to``): the count reads at most
``cap + 1`` index entries, so a customer with years of visits costs what a new one does.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

M = TypeVar("M", bound=Model)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Microseconds since 1970 (up to year 5138), an underscore, the row's id.
_CURSOR = re.compile(r"\A(\d{1,17})_(\d{1,18})\Z")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a history: the time and id of one row."""

    moment: datetime
    pk: int

    def __str__(self) -> str:
        return f"{(self.moment - _EPOCH) // _MICROSECOND}_{self.pk}"

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        """The cursor a link carried, or None for anything else (then the first page)."""
        found = _CURSOR.match(text or "")
        if found is None:
            return None
        try:
            moment = _EPOCH + int(found[1]) * _MICROSECOND
        except OverflowError:
            return None
        return cls(moment, int(found[2]))


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    """One page of a history, newest first, with the query strings of its neighbours ("" for
    none: this is the newest, or the oldest, page)."""

    rows: list[M]
    newer: str
    older: str
    # The link asked for this page (a cursor of this history was in it), so the reader is
    # paging here: a collapsed section showing it opens.
    paged: bool = False


def keyset_page(
    rows: QuerySet[M],
    *,
    params: QueryDict,
    size: int,
    prefix: str = "",
    field: str = "created_at",
) -> Page[M]:
    """The page of ``rows`` that ``params`` asks for (``size`` rows at most, newest first).

    ``rows`` is already scoped and filtered; it is ordered here by ``field`` (a time column
    no row leaves empty) then id. Reads ``size + 1`` rows, to know whether more lie beyond.
    """
    before = Cursor.parse(params.get(f"{prefix}before"))
    after = None if before else Cursor.parse(params.get(f"{prefix}after"))
    paged = before is not None or after is not None
    if after is not None:
        newer_first = rows.filter(
            Q(**{f"{field}__gt": after.moment}) | Q(**{field: after.moment, "pk__gt": after.pk})
        ).order_by(field, "pk")
        found = list(newer_first[: size + 1])
        if found:
            shown = found[:size][::-1]
            return Page(
                rows=shown,
                newer=_link(params, prefix, "after", shown[0], field) if len(found) > size else "",
                # The row the cursor names is older than this page, so an older page exists.
                older=_link(params, prefix, "before", shown[-1], field),
                paged=True,
            )
        before = None  # nothing newer any more: the newest page
    ordered = rows.order_by(f"-{field}", "-pk")
    if before is not None:
        ordered = ordered.filter(
            Q(**{f"{field}__lt": before.moment}) | Q(**{field: before.moment, "pk__lt": before.pk})
        )
    found = list(ordered[: size + 1])
    shown = found[:size]
    newer = ""
    if before is not None:
        # The cursor's own row is newer than this page.
        newer = _link(params, prefix, "after", shown[0], field) if shown else _link(params, prefix)
    older = _link(params, prefix, "before", shown[-1], field) if len(found) > size else ""
    return Page(rows=shown, newer=newer, older=older, paged=paged)


@dataclass(frozen=True, slots=True)
class Count:
    """How many rows a history holds, up to a cap: ``number`` exactly when ``more`` is false,
    else more than ``number`` (which is then the cap)."""

    number: int
    more: bool


def count_up_to(rows: QuerySet[M], *, cap: int) -> Count:
    """Count ``rows`` (already scoped and filtered), stopping after ``cap + 1``: one
    ``SELECT COUNT(*) FROM (… LIMIT cap + 1)``, whatever the history's length."""
    found = rows.order_by()[: cap + 1].count()
    return Count(number=min(found, cap), more=found > cap)


def _link(
    params: QueryDict,
    prefix: str,
    direction: str = "",
    row: Model | None = None,
    field: str = "",
) -> str:
    """The query string of a neighbouring page: ``params`` with this history's cursor set
    to ``row`` in ``direction`` (none: its newest page)."""
    query = params.copy()
    query.pop(f"{prefix}before", None)
    query.pop(f"{prefix}after", None)
    if row is not None:
        query[f"{prefix}{direction}"] = str(Cursor(getattr(row, field), row.pk))
    return f"?{query.urlencode()}"
