"""Money as integers: an amount is a whole number of minor units of one currency.

A business has one currency (ISO 4217 code). An amount is stored and compared as an ``int`` of
that currency's minor units (satang, cents, fils; yen have none), never as a float. The number of
minor-unit digits comes from Babel's currency data (CLDR), which is what people see written; it
matches ISO 4217 for the currencies this product is used with (THB 2, JPY 0, KZT 2, UAH 2, RUB 2,
USD 2, KWD 3) but CLDR drops minor units nobody uses any more (IQD, IDR, HUF, COP … have 0 here).

An amount is refused when it is negative, not a number, finer than the currency's minor unit, in
another currency, or above ``MAX_MINOR`` — one bound for every currency, far above any purchase at
a counter and small enough for a 64-bit column and a JavaScript number.
"""

import copy
import functools
import re
import unicodedata
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, get_territory_currencies
from django.conf import settings
from django.utils.translation import get_language, ngettext_lazy, to_locale
from django.utils.translation import gettext_lazy as _

from stampcard.refusals import Refusal

MAX_MINOR = 10**12
# Longer text than this is not an amount anybody typed; it is refused before it is parsed.
MAX_TEXT = 40


class InvalidAmount(Refusal):
    code = "invalid_amount"
    default_message = _("Enter the amount as a number, such as 120.50.")
    http_status = 400

    NEGATIVE = _("The amount cannot be negative.")
    TOO_LARGE = _("The amount is too large: at most %(most)s.")
    NO_DECIMALS = _("Enter a whole amount: %(currency)s has no smaller unit.")
    TOO_MANY_DECIMALS = ngettext_lazy(
        "An amount in %(currency)s has at most %(digits)d decimal place.",
        "An amount in %(currency)s has at most %(digits)d decimal places.",
        "digits",
    )


class WrongCurrency(Refusal):
    code = "wrong_currency"
    default_message = _("This amount is in %(given)s, but this business takes %(currency)s.")
    http_status = 400


@functools.cache
def _currencies() -> frozenset[str]:
    """Every currency that is legal tender somewhere today (no metals, funds or test codes)."""
    territories = map(str, Locale.parse("en").territories)
    return frozenset(
        code for territory in territories for code in get_territory_currencies(territory)
    )


def is_currency(code: object) -> bool:
    """True for an upper-case ISO 4217 code of a currency in use, such as ``"THB"``."""
    return isinstance(code, str) and code in _currencies()


def currency_exponent(code: str) -> int:
    """How many digits the minor unit has: THB 2, JPY 0, KWD 3."""
    if not is_currency(code):
        raise ValueError(f"not a currency in use: {code!r}")
    return get_currency_precision(code)


def check_minor(amount: object, currency: str) -> int:
    """An amount already in minor units (from the API or the database), checked and returned.

    Only a real ``int`` is accepted: a ``bool`` or a ``float`` is refused, not converted.
    """
    currency_exponent(currency)  # an unknown currency is the caller's bug, not the amount's
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount()
    if amount < 0:
        raise InvalidAmount(InvalidAmount.NEGATIVE)
    if amount > MAX_MINOR:
        raise _too_large(currency)
    return amount


def to_minor(value: object, currency: str) -> int:
    """What a cashier typed (``"120"``, ``"120.50"``, ``"120,50"``, ``"1 234.5"``, ``"฿120"``) or a
    ``Decimal``, as an ``int`` of minor units.

    An ``int`` is refused here: whether 120 means baht or satang is for the caller to say, with
    ``check_minor`` for minor units or ``str`` for whole baht. Floats are refused too.
    Trailing zeros beyond the minor unit are fine (``"100.00"`` yen); other digits are not.
    """
    exponent = currency_exponent(currency)
    if isinstance(value, str):
        amount = _parse(value, currency, exponent)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise InvalidAmount()
    if not amount.is_finite():
        raise InvalidAmount()
    if amount < 0:
        raise InvalidAmount(InvalidAmount.NEGATIVE)
    return _scale(amount, currency, exponent)


def _scale(amount: Decimal, currency: str, exponent: int) -> int:
    """``amount`` times 10^exponent, exactly: no rounding context, whatever the Decimal holds."""
    _sign, digits, power = amount.as_tuple()
    assert isinstance(power, int)  # finite, checked by the caller
    text = "".join(map(str, digits)).rstrip("0")
    if not text:
        return 0
    power += len(digits) - len(text) + exponent
    if len(text) + power > len(str(MAX_MINOR)):
        raise _too_large(currency)
    if power < 0:
        raise _too_many_decimals(currency, exponent)
    minor = int(text) * 10**power
    if minor > MAX_MINOR:
        raise _too_large(currency)
    return minor


def _too_large(currency: str) -> InvalidAmount:
    return InvalidAmount(InvalidAmount.TOO_LARGE, most=lazy_money(MAX_MINOR, currency))


def _too_many_decimals(currency: str, exponent: int) -> InvalidAmount:
    if exponent == 0:
        return InvalidAmount(InvalidAmount.NO_DECIMALS, currency=currency)
    return InvalidAmount(InvalidAmount.TOO_MANY_DECIMALS, currency=currency, digits=exponent)


# Minus signs and dashes, and the brackets accounting writes around a negative amount.
_SIGNS = "-\u2212\u2010\u2011\u2012\u2013\u2014\ufe63()"
# Control characters (NUL among them), lone surrogates, private and unassigned code points.
_UNREADABLE = frozenset({"Cc", "Cs", "Co", "Cn"})
# Marks people put between groups of digits or before decimals (1'234.50 is Swiss).
_MARKS = " ,.'\u2019"
_NUMBER = re.compile(f"[0-9][0-9{_MARKS}]*")


def _parse(text: str, currency: str, exponent: int) -> Decimal:
    text = text.strip()
    if len(text) > MAX_TEXT or any(unicodedata.category(c) in _UNREADABLE for c in text):
        raise InvalidAmount()
    # Full-width digits and separators (Japanese input methods) and no-break spaces become
    # plain ones; digits of other scripts (Thai ๑๒๐) become 0-9; invisible marks go.
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c
        for c in text
        if unicodedata.category(c) != "Cf"
    )
    text = " ".join(text.split())
    match = _NUMBER.search(text)
    if match is None:
        raise InvalidAmount()
    prefix, suffix = text[: match.start()], text[match.end() :]
    if any(c in _SIGNS for c in prefix + suffix):
        raise InvalidAmount(InvalidAmount.NEGATIVE)
    for affix in (prefix.strip(), suffix.strip()):
        if affix:
            _check_affix(affix, currency)
    return Decimal(_plain(match.group().strip(), exponent))


def _check_affix(affix: str, currency: str) -> None:
    """A currency code or symbol written with the amount must be the business's."""
    owners = _symbols().get(affix.upper() if affix.isascii() else affix)
    if owners is None:
        raise InvalidAmount()
    if currency not in owners:
        raise WrongCurrency(given=affix, currency=currency)


@functools.cache
def _symbols() -> dict[str, frozenset[str]]:
    """Every code and symbol the product's languages write for a currency, and whose it is."""
    owners: dict[str, set[str]] = {}
    for code in _currencies():
        owners.setdefault(code, set()).add(code)
    for language, _name in settings.LANGUAGES:
        for code, symbol in _locale(language).currency_symbols.items():
            if code in _currencies():
                owners.setdefault(symbol.upper() if symbol.isascii() else symbol, set()).add(code)
    return {symbol: frozenset(codes) for symbol, codes in owners.items()}


def _plain(number: str, exponent: int) -> str:
    """``"1 234,50"`` → ``"1234.50"``: which mark is the decimal one, and groups that make sense.

    The last ``.`` or ``,`` is the decimal mark when it occurs once, except where it is the only
    mark and three digits follow it in a currency with fewer than three decimals: "฿1,250" (which
    is how ``format_money`` writes it) and "1.250" are thousands, since three decimals of baht
    are no amount at all. In dinars (three decimals) "1,250" is one dinar and a quarter.
    """
    marks = [i for i, c in enumerate(number) if c in ".,"]
    decimal_at: int | None = None
    if marks:
        last = marks[-1]
        lone = sum(1 for i in marks if number[i] == number[last]) == 1
        after = number[last + 1 :]
        thousands = len(marks) == 1 and len(after) == 3 and exponent < 3
        if lone and not (thousands and not number.startswith("0")):
            decimal_at = last
    whole, fraction = (
        (number[:decimal_at], number[decimal_at + 1 :]) if decimal_at is not None else (number, "")
    )
    if not fraction.isdigit() and fraction:
        raise InvalidAmount()
    groups = re.split(f"[{_MARKS}]", whole)
    if len(groups) > 1 and not _grouped(groups):
        raise InvalidAmount()
    digits = "".join(groups)
    if not digits.isdigit() or (decimal_at is not None and not fraction):
        raise InvalidAmount()
    return f"{digits}.{fraction}" if fraction else digits


def _grouped(groups: list[str]) -> bool:
    """Thousands (1,234,567) or lakh (12,34,567) grouping; anything else is a typo."""
    first, *middle, last = groups
    return (
        1 <= len(first) <= 3
        and first.isdigit()
        and not first.startswith("0")
        and len(last) == 3
        and last.isdigit()
        and all(len(g) in (2, 3) and g.isdigit() for g in middle)
    )


@functools.cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@functools.cache
def _whole_pattern(language: str) -> Any:
    """The locale's currency pattern without its decimals, for amounts with no minor part."""
    pattern = copy.copy(_locale(language).currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def format_money(minor: int, currency: str, language: str | None = None) -> str:
    """An amount for a sentence, as the language writes it: "฿100", "฿120.50", "100 ₸".

    Whole amounts are written without the minor part ("฿100", not "฿100.00"); any other amount
    with all of the currency's decimals ("฿120.50").
    """
    exponent = currency_exponent(currency)
    language = language or get_language() or settings.LANGUAGE_CODE
    locale = _locale(language)
    value = Decimal(minor).scaleb(-exponent)
    if minor % 10**exponent == 0:
        return format_currency(
            value, currency, format=_whole_pattern(language), locale=locale, currency_digits=False
        )
    return format_currency(value, currency, locale=locale)


class _LazyMoney:
    """An amount that is written in the language active when a refusal's message is read."""

    def __init__(self, minor: int, currency: str) -> None:
        self.minor = minor
        self.currency = currency

    def __str__(self) -> str:
        return format_money(self.minor, self.currency)

    def __repr__(self) -> str:
        return f"<money {self.minor} {self.currency}>"


def lazy_money(minor: int, currency: str) -> Any:
    """For a refusal's parameters: formatted when the sentence is, in the same language."""
    return _LazyMoney(minor, currency)
