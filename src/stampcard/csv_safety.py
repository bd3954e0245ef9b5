"""CSV cells that a spreadsheet will not run as a formula (CSV injection).

A customer can type ``=HYPERLINK(...)`` as their name; opened in a spreadsheet, an export
would run it. As OWASP advises, a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is prefixed with a single quote, so it is shown as text. Every CSV
export writes its rows through ``safe_row``; ``csv.writer`` then quotes what needs quoting.
"""

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows as text; numbers and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]
