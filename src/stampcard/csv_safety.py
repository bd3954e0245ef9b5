"""CSV cells that a spreadsheet will not run as a formula (CSV injection).

A customer can type ``=HYPERLINK(...)`` as their name; opened in a spreadsheet, an export
would run it. As OWASP advises, a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is prefixed with a single quote, so it is shown as text. Every CSV
export writes its rows through ``safe_row``; ``csv.writer`` then quotes what needs quoting.

Some cells are read back by a program, not a person: a redeem code is compared by the POS
exactly as written, so "'-5OFF" would be a code that does not exist. Those are written with
``exact_cell``, which leaves a value from an inert alphabet (letters, digits, ``-`` and
``_``) as it is: without brackets, quotes, ``|``, ``!`` or ``:`` a formula can call no
function, open no link to another program (DDE) and reach no other sheet, so the worst a
spreadsheet makes of "-5OFF" is an error shown in the cell. Anything else still gets the
quote. ``unquoted`` takes that quote off again when such a file comes back.
"""

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
INERT = re.compile(r"\A[A-Za-z0-9_-]*\Z")


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows as text; numbers and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]


def exact_cell(value: str) -> object:
    """``value`` as a CSV cell another program reads back exactly: unchanged when it uses
    only letters, digits, ``-`` and ``_`` (it can run nothing), else as ``safe_cell``."""
    return value if INERT.match(value) else safe_cell(value)


def unquoted(cell: str) -> str:
    """A cell read back from a CSV file, without the one quote ``safe_cell`` (or a
    spreadsheet) put before a value starting like a formula; any other cell unchanged."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell
