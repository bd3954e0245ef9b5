"""Stamps by amount spent: one stamp per N of the business's currency, rounded as the program says.

Amounts are ``int`` minor units (see ``stampcard.money``) and so is every step here: no floats.
The per-visit and per-day maxima are not applied here; the stamp engine caps what this returns.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from stampcard.money import (
    MAX_MINOR,
    InvalidAmount,
    WrongCurrency,
    check_minor,
    format_money,
    lazy_money,
)
from stampcard.refusals import Refusal

__all__ = [
    "AmountRefused",
    "AmountRequired",
    "AmountRule",
    "AmountTooSmall",
    "BelowMinimumSpend",
    "InvalidAmount",
    "Rounding",
    "WrongCurrency",
    "amount_settings_problems",
    "validate_amount_settings",
]


class Rounding(models.TextChoices):
    DOWN = "down", _("Down: only whole stamps")
    NEAREST = "nearest", _("To the nearest stamp: half a stamp earns one")
    UP = "up", _("Up: any part of a stamp earns one")


class AmountRefused(Refusal):
    http_status = 400


class AmountRequired(AmountRefused):
    code = "amount_required"
    default_message = _("Enter the amount spent: this card gives stamps by amount.")


class BelowMinimumSpend(AmountRefused):
    code = "below_minimum_spend"
    default_message = _("The minimum spend for a stamp is %(minimum)s.")


class AmountTooSmall(AmountRefused):
    code = "amount_too_small"
    default_message = _("This amount earns no stamp: one stamp per %(per_stamp)s.")


@dataclass(frozen=True)
class AmountRule:
    """A program's rule: ``per_stamp`` minor units earn one stamp, rounded by ``rounding``;
    below ``minimum_spend`` (minor units, if set) a visit earns nothing."""

    per_stamp: int
    rounding: Rounding = Rounding.DOWN
    minimum_spend: int | None = None

    def __post_init__(self) -> None:
        # A program's clean() refuses bad settings with validate_amount_settings; reaching
        # here with them is a bug, so it fails loudly rather than dividing by zero later.
        if _bad_fields(self.per_stamp, self.minimum_spend) or self.rounding not in Rounding.values:
            raise ValueError(f"invalid amount rule: {self!r}")

    def stamps_for(self, amount_minor: int) -> int:
        """How many stamps ``amount_minor`` earns, before the minimum spend and the maxima."""
        if amount_minor < 0:
            raise ValueError("a negative amount earns no stamps; check it first")
        if self.rounding == Rounding.UP:
            return -(-amount_minor // self.per_stamp)
        if self.rounding == Rounding.NEAREST:
            # Half up: a + n/2 floored, kept in integers by doubling both sides.
            return (2 * amount_minor + self.per_stamp) // (2 * self.per_stamp)
        return amount_minor // self.per_stamp

    def check(
        self,
        amount_minor: object,
        currency: str | None,
        business_currency: str,
        language: str | None = None,
    ) -> int:
        """The stamps a visit of ``amount_minor`` earns (at least 1), or the refusal saying why.

        ``currency`` is what the caller said the amount is in; ``None`` means the business's own.
        Amounts in sentences are written in ``language``, or by default in the language active
        when the sentence is read (the scanner's).
        """
        if amount_minor is None:
            raise AmountRequired()
        if currency is not None and currency.strip().upper() != business_currency:
            raise WrongCurrency(given=currency, currency=business_currency)
        amount = check_minor(amount_minor, business_currency)
        if self.minimum_spend is not None and amount < self.minimum_spend:
            raise BelowMinimumSpend(minimum=_money(self.minimum_spend, business_currency, language))
        stamps = self.stamps_for(amount)
        if stamps == 0:
            raise AmountTooSmall(per_stamp=_money(self.per_stamp, business_currency, language))
        return stamps


def _money(minor: int, currency: str, language: str | None) -> object:
    if language is None:
        return lazy_money(minor, currency)
    return format_money(minor, currency, language)


def amount_settings_problems(
    amount_per_stamp: object, minimum_spend: object, currency: str
) -> dict[str, ValidationError]:
    """What is wrong with a program's amount settings, keyed by field name (empty when nothing)."""
    problems: dict[str, ValidationError] = {}
    fields = _bad_fields(amount_per_stamp, minimum_spend)
    if "amount_per_stamp" in fields:
        problems["amount_per_stamp"] = ValidationError(
            _("The amount for one stamp must be more than zero and at most %(most)s."),
            code="amount_per_stamp",
            params={"most": lazy_money(MAX_MINOR, currency)},
        )
    if "minimum_spend" in fields:
        problems["minimum_spend"] = ValidationError(
            _("The minimum spend must be zero or more and at most %(most)s."),
            code="minimum_spend",
            params={"most": lazy_money(MAX_MINOR, currency)},
        )
    return problems


def validate_amount_settings(
    amount_per_stamp: object, minimum_spend: object, currency: str
) -> None:
    """For a program's ``clean()``: raises ``ValidationError`` keyed by field name."""
    problems = amount_settings_problems(amount_per_stamp, minimum_spend, currency)
    if problems:
        raise ValidationError(problems)


def _bad_fields(per_stamp: object, minimum_spend: object) -> set[str]:
    bad = set()
    if not _within(per_stamp, 1):
        bad.add("amount_per_stamp")
    if minimum_spend is not None and not _within(minimum_spend, 0):
        bad.add("minimum_spend")
    return bad


def _within(value: object, least: int) -> bool:
    """A whole number (not a bool) from ``least`` to ``MAX_MINOR``."""
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= MAX_MINOR
