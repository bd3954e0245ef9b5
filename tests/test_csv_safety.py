import csv
import io

import pytest

from stampcard.csv_safety import safe_cell, safe_row


@pytest.mark.parametrize(
    "formula",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")'],
)
def test_a_cell_a_spreadsheet_would_run_is_shown_as_text(formula):
    assert safe_cell(formula) == "'" + formula


@pytest.mark.parametrize("plain", ["Ann", "", "ann@example.org", "1 = 1", "'quoted", "a-b"])
def test_plain_text_is_unchanged(plain):
    assert safe_cell(plain) == plain


def test_numbers_and_none_are_unchanged_and_rows_are_written_safely():
    assert safe_cell(-5) == -5
    assert safe_cell(None) is None
    out = io.StringIO()
    csv.writer(out).writerow(safe_row(["Ann", '=cmd|" /C calc"!A0', -2]))
    assert out.getvalue() == 'Ann,"\'=cmd|"" /C calc""!A0",-2\r\n'
