"""Stamps by amount: the rule, its rounding at every boundary, and what it refuses."""

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import override
from hypothesis import given
from hypothesis import strategies as st

from stampcard.loyalty.amounts import (
    AmountRequired,
    AmountRule,
    AmountTooSmall,
    BelowMinimumSpend,
    InvalidAmount,
    Rounding,
    WrongCurrency,
    amount_settings_problems,
    validate_amount_settings,
)
from stampcard.money import MAX_MINOR, format_money

BAHT = 100  # minor units (satang) in one baht
PER_100_BAHT = 100 * BAHT


@pytest.mark.parametrize(
    ("rounding", "amount", "stamps"),
    [
        # one stamp per 100 baht
        (Rounding.DOWN, 0, 0),
        (Rounding.DOWN, 1, 0),
        (Rounding.DOWN, PER_100_BAHT - 1, 0),
        (Rounding.DOWN, PER_100_BAHT, 1),
        (Rounding.DOWN, PER_100_BAHT + 1, 1),
        (Rounding.DOWN, 2 * PER_100_BAHT - 1, 1),
        (Rounding.DOWN, 2 * PER_100_BAHT, 2),
        (Rounding.UP, 0, 0),
        (Rounding.UP, 1, 1),
        (Rounding.UP, PER_100_BAHT - 1, 1),
        (Rounding.UP, PER_100_BAHT, 1),
        (Rounding.UP, PER_100_BAHT + 1, 2),
        (Rounding.UP, 2 * PER_100_BAHT, 2),
        (Rounding.NEAREST, 0, 0),
        (Rounding.NEAREST, PER_100_BAHT // 2 - 1, 0),
        (Rounding.NEAREST, PER_100_BAHT // 2, 1),  # half rounds up
        (Rounding.NEAREST, PER_100_BAHT // 2 + 1, 1),
        (Rounding.NEAREST, PER_100_BAHT - 1, 1),
        (Rounding.NEAREST, PER_100_BAHT, 1),
        (Rounding.NEAREST, PER_100_BAHT + 1, 1),
        (Rounding.NEAREST, PER_100_BAHT * 3 // 2 - 1, 1),
        (Rounding.NEAREST, PER_100_BAHT * 3 // 2, 2),
    ],
)
def test_rounding_at_the_boundaries(rounding, amount, stamps):
    assert AmountRule(PER_100_BAHT, rounding).stamps_for(amount) == stamps


@pytest.mark.parametrize(
    ("rounding", "amount", "stamps"),
    [
        (Rounding.NEAREST, 1, 0),  # a third
        (Rounding.NEAREST, 2, 1),  # two thirds
        (Rounding.NEAREST, 4, 1),  # one and a third
        (Rounding.NEAREST, 5, 2),  # one and two thirds
        (Rounding.UP, 4, 2),
        (Rounding.DOWN, 5, 1),
    ],
)
def test_rounding_with_an_odd_amount_per_stamp(rounding, amount, stamps):
    assert AmountRule(3, rounding).stamps_for(amount) == stamps


def test_the_rule_is_down_without_a_minimum_by_default():
    rule = AmountRule(PER_100_BAHT)
    assert rule.rounding == Rounding.DOWN
    assert rule.minimum_spend is None


@given(
    amount=st.integers(min_value=0, max_value=MAX_MINOR),
    per_stamp=st.integers(min_value=1, max_value=MAX_MINOR),
)
def test_down_never_exceeds_and_up_never_falls_below_the_quotient(amount, per_stamp):
    down = AmountRule(per_stamp, Rounding.DOWN).stamps_for(amount)
    nearest = AmountRule(per_stamp, Rounding.NEAREST).stamps_for(amount)
    up = AmountRule(per_stamp, Rounding.UP).stamps_for(amount)
    assert all(type(stamps) is int for stamps in (down, nearest, up))
    assert down == amount // per_stamp
    assert up >= amount // per_stamp
    assert down <= nearest <= up <= down + 1
    assert up * per_stamp >= amount >= down * per_stamp
    # Half up: nearest is one more than down exactly when the remainder is at least half.
    assert nearest - down == (2 * (amount % per_stamp) >= per_stamp)


def test_check_returns_the_stamps():
    rule = AmountRule(PER_100_BAHT, minimum_spend=50 * BAHT)
    assert rule.check(350 * BAHT, "THB", "THB") == 3
    assert rule.check(350 * BAHT, None, "THB") == 3
    assert rule.check(350 * BAHT, "thb", "THB") == 3


def test_an_amount_is_required():
    with pytest.raises(AmountRequired) as refused:
        AmountRule(PER_100_BAHT).check(None, None, "THB")
    assert refused.value.code == "amount_required"
    assert refused.value.http_status == 400
    assert refused.value.message == "Enter the amount spent: this card gives stamps by amount."


def test_minimum_spend_boundary():
    rule = AmountRule(10 * BAHT, minimum_spend=100 * BAHT)
    assert rule.check(100 * BAHT, None, "THB") == 10
    with pytest.raises(BelowMinimumSpend) as refused:
        rule.check(100 * BAHT - 1, None, "THB")
    assert refused.value.code == "below_minimum_spend"
    assert refused.value.http_status == 400
    assert refused.value.message == "The minimum spend for a stamp is THB100."
    with override("th"):
        assert refused.value.message == "ยอดใช้จ่ายขั้นต่ำสำหรับแสตมป์คือ ฿100"
    with override("ru"):
        assert refused.value.message == "Минимальная сумма для штампа — 100\u00a0฿."


def test_a_minimum_of_zero_refuses_nothing():
    rule = AmountRule(10 * BAHT, Rounding.UP, minimum_spend=0)
    assert rule.check(1, None, "THB") == 1


def test_an_amount_that_earns_no_stamp():
    rule = AmountRule(PER_100_BAHT)
    assert rule.check(PER_100_BAHT, None, "THB") == 1
    with pytest.raises(AmountTooSmall) as refused:
        rule.check(PER_100_BAHT - 1, None, "THB")
    assert refused.value.code == "amount_too_small"
    assert refused.value.http_status == 400
    assert refused.value.message == "This amount earns no stamp: one stamp per THB100."
    with override("ru"):
        assert format_money(PER_100_BAHT, "THB") in refused.value.message
        assert refused.value.message.startswith("За эту сумму")  # noqa: RUF001
    with override("th"):
        assert "฿100" in refused.value.message


def test_zero_earns_no_stamp_whatever_the_rounding():
    for rounding in Rounding:
        with pytest.raises(AmountTooSmall):
            AmountRule(PER_100_BAHT, rounding).check(0, None, "THB")


def test_the_minimum_is_checked_before_the_stamps():
    rule = AmountRule(PER_100_BAHT, minimum_spend=50 * BAHT)
    with pytest.raises(BelowMinimumSpend):
        rule.check(10 * BAHT, None, "THB")


def test_amounts_in_a_language_given_explicitly():
    rule = AmountRule(PER_100_BAHT, minimum_spend=150 * BAHT)
    with pytest.raises(BelowMinimumSpend) as refused:
        rule.check(BAHT, None, "THB", language="th")
    # The amount is written as Thai writes it even where the sentence is read in English.
    assert refused.value.message == "The minimum spend for a stamp is ฿150."


def test_an_amount_in_another_currency_is_refused():
    with pytest.raises(WrongCurrency) as refused:
        AmountRule(PER_100_BAHT).check(500 * BAHT, "USD", "THB")
    assert refused.value.code == "wrong_currency"
    assert refused.value.message == "This amount is in USD, but this business takes THB."
    with override("uk"):
        assert refused.value.message == "Ця сума в USD, а цей заклад приймає THB."  # noqa: RUF001


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        (-1, "The amount cannot be negative."),
        (MAX_MINOR + 1, "The amount is too large: at most THB10,000,000,000."),
        (True, "Enter the amount as a number, such as 120.50."),
        (12000.0, "Enter the amount as a number, such as 120.50."),
        ("12000", "Enter the amount as a number, such as 120.50."),
    ],
)
def test_invalid_amounts_are_refused(amount, says):
    with pytest.raises(InvalidAmount) as refused:
        AmountRule(PER_100_BAHT).check(amount, None, "THB")
    assert refused.value.code == "invalid_amount"
    assert refused.value.message == says


@pytest.mark.parametrize("language", ["th", "kk", "uk", "ru"])
def test_every_sentence_is_translated(language):
    rule = AmountRule(PER_100_BAHT, minimum_spend=200 * BAHT)
    refusals = []
    for amount in (None, BAHT):
        with pytest.raises((AmountRequired, BelowMinimumSpend)) as refused:
            rule.check(amount, None, "THB")
        refusals.append(refused.value)
    with pytest.raises(AmountTooSmall) as too_small:
        AmountRule(PER_100_BAHT).check(BAHT, None, "THB")
    refusals.append(too_small.value)
    for refusal in refusals:
        english = refusal.message
        with override(language):
            assert refusal.message != english
    labels = [str(choice.label) for choice in Rounding]
    with override(language):
        assert all(str(choice.label) not in labels for choice in Rounding)


@pytest.mark.parametrize(
    ("per_stamp", "minimum"),
    [(0, None), (-100, None), (MAX_MINOR + 1, None), (True, None), (1.5, None), (None, None)],
)
def test_a_rule_with_bad_settings_is_a_bug(per_stamp, minimum):
    with pytest.raises(ValueError, match="invalid amount rule"):
        AmountRule(per_stamp, minimum_spend=minimum)


def test_a_rule_with_an_unknown_rounding_is_a_bug():
    with pytest.raises(ValueError, match="invalid amount rule"):
        AmountRule(PER_100_BAHT, "sideways")
    with pytest.raises(ValueError, match="invalid amount rule"):
        AmountRule(PER_100_BAHT, minimum_spend=-1)


def test_the_rule_is_frozen():
    rule = AmountRule(PER_100_BAHT)
    with pytest.raises(AttributeError):
        rule.per_stamp = 1


def test_stamps_for_refuses_a_negative_amount():
    with pytest.raises(ValueError, match="negative"):
        AmountRule(PER_100_BAHT).stamps_for(-1)


def test_good_settings_validate():
    validate_amount_settings(PER_100_BAHT, None, "THB")
    validate_amount_settings(1, 0, "THB")
    validate_amount_settings(MAX_MINOR, MAX_MINOR, "THB")
    assert amount_settings_problems(PER_100_BAHT, 50 * BAHT, "THB") == {}


@pytest.mark.parametrize(
    ("per_stamp", "minimum", "fields"),
    [
        (0, None, {"amount_per_stamp"}),
        (-1, 0, {"amount_per_stamp"}),
        (MAX_MINOR + 1, None, {"amount_per_stamp"}),
        (True, None, {"amount_per_stamp"}),
        ("100", None, {"amount_per_stamp"}),
        (100, -1, {"minimum_spend"}),
        (100, MAX_MINOR + 1, {"minimum_spend"}),
        (100, 1.0, {"minimum_spend"}),
        (0, -1, {"amount_per_stamp", "minimum_spend"}),
    ],
)
def test_bad_settings_are_keyed_by_field(per_stamp, minimum, fields):
    with pytest.raises(ValidationError) as refused:
        validate_amount_settings(per_stamp, minimum, "THB")
    assert set(refused.value.message_dict) == fields
    problems = amount_settings_problems(per_stamp, minimum, "THB")
    assert set(problems) == fields
    for problem in refused.value.message_dict.values():
        assert "THB10,000,000,000" in problem[0]


def test_settings_problems_in_the_program_language():
    problems = amount_settings_problems(0, -1, "THB")
    with override("ru"):
        messages = ValidationError(problems).message_dict
    limit = "10\u00a0000\u00a0000\u00a0000\u00a0฿"
    assert messages["amount_per_stamp"] == [
        f"Сумма за один штамп должна быть больше нуля и не больше {limit}."
    ]
    assert messages["minimum_spend"][0].startswith("Минимальная сумма должна быть")
