"""Money as integers of minor units: exponents, parsing what a cashier types, formatting."""

from decimal import Decimal

import pytest
from django.utils.translation import override
from hypothesis import given
from hypothesis import strategies as st

from stampcard.money import (
    MAX_MINOR,
    InvalidAmount,
    WrongCurrency,
    check_minor,
    currency_exponent,
    format_money,
    is_currency,
    to_minor,
)


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("THB", 2), ("JPY", 0), ("KZT", 2), ("UAH", 2), ("RUB", 2), ("USD", 2), ("KWD", 3)],
)
def test_exponent_of_the_currencies_in_use(code, exponent):
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize("code", ["THB", "EUR", "XOF"])
def test_currencies_in_use_are_currencies(code):
    assert is_currency(code)


@pytest.mark.parametrize("code", ["thb", "XXX", "XAU", "DEM", "ZZZ", "", "TH", None, 764])
def test_codes_that_are_no_currency_in_use(code):
    assert not is_currency(code)
    with pytest.raises(ValueError, match="currency"):
        currency_exponent(code)


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("120", "THB", 12000),
        ("120.50", "THB", 12050),
        ("120,50", "THB", 12050),
        ("120.5", "THB", 12050),
        ("0", "THB", 0),
        (" 1 234.5 ", "THB", 123450),
        ("1\u00a0234,50", "THB", 123450),  # a no-break space, as ru/kk/uk write thousands
        ("1,234.56", "THB", 123456),
        ("1,250", "THB", 125000),  # as format_money writes it
        ("1.250", "THB", 125000),
        ("1,250", "KWD", 1250),
        ("1.234,56", "THB", 123456),
        ("1'234.50", "THB", 123450),
        ("12,34,567.00", "THB", 123456700),
        ("฿120", "THB", 12000),
        ("120 ฿", "THB", 12000),
        ("THB 120", "THB", 12000),
        ("thb120", "THB", 12000),
        ("๑๒๐", "THB", 12000),  # Thai digits
        ("\uff11\uff12\uff10", "JPY", 120),  # full-width digits, from a Japanese input method
        ("¥1,234", "JPY", 1234),
        ("1.234", "JPY", 1234),
        ("100.00", "JPY", 100),
        ("1.234", "KWD", 1234),
        ("0.005", "KWD", 5),
        ("5000", "KZT", 500000),
        ("$12.34", "USD", 1234),
        (Decimal("120.50"), "THB", 12050),
        (Decimal("1.2300"), "THB", 123),
        (Decimal("1E+3"), "JPY", 1000),
        (Decimal("-0"), "THB", 0),
    ],
)
def test_what_a_cashier_types_becomes_minor_units(typed, currency, minor):
    amount = to_minor(typed, currency)
    assert amount == minor
    assert type(amount) is int


@pytest.mark.parametrize(
    ("typed", "currency", "digits"),
    [
        ("120.5055", "THB", 2),
        ("0.001", "USD", 2),
        ("0,505", "THB", 2),
        ("1,2345", "KWD", 3),
        (Decimal("0.001"), "THB", 2),
        (Decimal("1.0000000000000000000000000000001"), "THB", 2),  # beyond Decimal's precision
    ],
)
def test_more_decimals_than_the_currency_has_are_refused(typed, currency, digits):
    with pytest.raises(InvalidAmount) as refused:
        to_minor(typed, currency)
    assert refused.value.code == "invalid_amount"
    assert refused.value.http_status == 400
    assert refused.value.message == (
        f"An amount in {currency} has at most {digits} decimal places."
    )


@pytest.mark.parametrize("typed", ["120.50", "120,5", "0.1", Decimal("1.5")])
def test_yen_have_no_decimals(typed):
    with pytest.raises(InvalidAmount) as refused:
        to_minor(typed, "JPY")
    assert refused.value.message == "Enter a whole amount: JPY has no smaller unit."


@pytest.mark.parametrize(
    "typed", ["-120", "\u2212120", "฿-120", "-฿120", "120-", "(120)", Decimal("-0.01")]
)
def test_negative_amounts_are_refused(typed):
    with pytest.raises(InvalidAmount) as refused:
        to_minor(typed, "THB")
    assert refused.value.message == "The amount cannot be negative."


@pytest.mark.parametrize(
    ("typed", "currency"),
    [
        ("10000000000.01", "THB"),
        ("10 000 000 001", "THB"),
        ("1000000000000", "THB"),
        ("1000000001", "KWD"),
        ("1000000000001", "JPY"),
        (Decimal("1E+999999"), "THB"),
    ],
)
def test_absurdly_large_amounts_are_refused(typed, currency):
    with pytest.raises(InvalidAmount) as refused:
        to_minor(typed, currency)
    assert refused.value.message.startswith("The amount is too large: at most ")
    assert format_money(MAX_MINOR, currency, "en") in refused.value.message


def test_the_bound_itself_is_accepted():
    assert to_minor("10,000,000,000.00", "THB") == MAX_MINOR
    assert to_minor("1000000000000", "JPY") == MAX_MINOR
    assert check_minor(MAX_MINOR, "THB") == MAX_MINOR


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "abc",
        "12\x0034",
        "\x00",
        "120\n5",
        "1e3",
        "NaN",
        "inf",
        "120.",
        ".50",
        "1.2.3",
        "12 34",
        "1,23,4",
        "01 234",
        "0 123",
        "120 baht",
        "๑๒๐ บาท",
        "1" * 41,
        "\ud800120",
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        120.5,
        120.0,
        True,
        None,
        120,  # minor units or baht? check_minor takes minor units
        b"120",
    ],
)
def test_junk_is_refused_clearly(typed):
    with pytest.raises(InvalidAmount) as refused:
        to_minor(typed, "THB")
    assert refused.value.message == "Enter the amount as a number, such as 120.50."


@pytest.mark.parametrize(
    ("typed", "given"), [("$120", "$"), ("USD 120", "USD"), ("120 €", "€"), ("¥120", "¥")]
)
def test_an_amount_written_in_another_currency_is_refused(typed, given):
    with pytest.raises(WrongCurrency) as refused:
        to_minor(typed, "THB")
    assert refused.value.code == "wrong_currency"
    assert refused.value.http_status == 400
    assert refused.value.message == f"This amount is in {given}, but this business takes THB."


@given(st.text(max_size=30))
def test_any_text_is_an_amount_or_a_refusal(text):
    try:
        amount = to_minor(text, "THB")
    except (InvalidAmount, WrongCurrency):
        return
    assert type(amount) is int
    assert 0 <= amount <= MAX_MINOR


@given(st.integers(min_value=0, max_value=MAX_MINOR))
def test_minor_units_written_and_read_back(minor):
    assert to_minor(format_money(minor, "THB", "en"), "THB") == minor
    assert to_minor(str(Decimal(minor).scaleb(-2)), "THB") == minor


def test_minor_units_are_checked():
    assert check_minor(0, "THB") == 0
    assert check_minor(12050, "THB") == 12050
    for junk in (True, False, 120.0, Decimal(120), "120", None):
        with pytest.raises(InvalidAmount):
            check_minor(junk, "THB")
    with pytest.raises(InvalidAmount, match="negative"):
        check_minor(-1, "THB")
    with pytest.raises(InvalidAmount, match="too large"):
        check_minor(MAX_MINOR + 1, "THB")
    with pytest.raises(ValueError, match="currency"):
        check_minor(1, "XXX")


@pytest.mark.parametrize(
    ("minor", "currency", "language", "written"),
    [
        (10000, "THB", "th", "฿100"),
        (12050, "THB", "th", "฿120.50"),
        (10000, "THB", "en", "THB100"),
        (10000, "THB", "ru", "100\u00a0฿"),
        (12050, "THB", "ru", "120,50\u00a0฿"),
        (500000, "KZT", "kk", "5\u00a0000\u00a0₸"),
        (1234, "JPY", "en", "¥1,234"),
        (1500, "KWD", "en", "KWD1.500"),
        (1000, "KWD", "en", "KWD1"),
        (5, "USD", "en", "$0.05"),
        (0, "USD", "en", "$0"),
    ],
)
def test_format_money_as_the_language_writes_it(minor, currency, language, written):
    assert format_money(minor, currency, language) == written


def test_format_money_follows_the_active_language():
    with override("ru"):
        assert format_money(12050, "THB") == "120,50\u00a0฿"
    with override("th"):
        assert format_money(12050, "THB") == "฿120.50"


def test_an_unknown_language_is_written_in_english():
    assert format_money(12050, "USD", "xx") == "$120.50"


@pytest.mark.parametrize("language", ["th", "kk", "uk", "ru"])
def test_every_refusal_sentence_is_translated(language):
    refusals = [
        InvalidAmount(),
        InvalidAmount(InvalidAmount.NEGATIVE),
        to_minor_refusal("1" * 14, "THB"),
        to_minor_refusal("1.5", "JPY"),
        to_minor_refusal("1.5055", "THB"),
        WrongCurrency(given="$", currency="THB"),
    ]
    for refusal in refusals:
        english = refusal.message
        with override(language):
            assert refusal.message != english, (language, english)


def test_the_limit_in_a_refusal_is_written_in_the_language_it_is_read_in():
    refusal = to_minor_refusal("1" * 14, "THB")
    with override("ru"):
        assert format_money(MAX_MINOR, "THB") in refusal.message
        assert refusal.message.startswith("Сумма слишком велика")
    with override("th"):
        assert format_money(MAX_MINOR, "THB") in refusal.message


def to_minor_refusal(typed, currency):
    with pytest.raises(InvalidAmount) as refused:
        to_minor(typed, currency)
    return refused.value
