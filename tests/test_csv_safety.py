import csv
import io

import pytest

from stampcard.csv_safety import exact_cell, safe_cell, safe_row, unquoted


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


@pytest.mark.parametrize("code", ["-5OFF", "--", "-SUM1", "A-1", "_x", "PLAIN", ""])
def test_an_inert_value_is_written_exactly_and_read_back_unchanged(code):
    assert exact_cell(code) == code
    assert unquoted(code) == code


@pytest.mark.parametrize(
    "formula",
    ["=1+1", "-1+1", "-A1:A2", "@SUM(A1)", "+1", '-HYPERLINK("http://x")', "-cmd|' /C calc'!A0"],
)
def test_anything_else_starting_like_a_formula_still_gets_the_quote(formula):
    assert exact_cell(formula) == "'" + formula
    assert unquoted(str(exact_cell(formula))) == formula


@pytest.mark.parametrize(
    ("cell", "read"),
    [("'-5OFF", "-5OFF"), ("'=1", "=1"), ("'Ann", "'Ann"), ("''-1", "''-1"), ("'", "'")],
)
def test_only_the_one_quote_before_a_formula_start_is_taken_off(cell, read):
    assert unquoted(cell) == read
