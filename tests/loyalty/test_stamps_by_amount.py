"""Stamps by the amount spent: integers in minor units, the program's rounding and minimum."""

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import override

from stampcard.loyalty import amounts
from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.models import Reward, StampEvent, StampSource
from stampcard.loyalty.selectors import cards_out_of_balance
from stampcard.loyalty.services import add_stamps
from stampcard.money import InvalidAmount, WrongCurrency
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor
from tests import factories

ACTOR = Actor.system()
pytestmark = pytest.mark.django_db
BAHT = 100  # satang


@pytest.fixture
def card():
    """100 ฿ a stamp, rounded down, from a 50 ฿ spend; at most 5 a visit and 8 a day."""
    business = factories.BusinessFactory(currency="THB")
    program = factories.ProgramFactory(
        business=business,
        stamp_rule="amount",
        amount_per_stamp=100 * BAHT,
        amount_rounding="down",
        minimum_spend=50 * BAHT,
        max_stamps_per_visit=5,
        max_stamps_per_day=8,
        stamps_goal=10,
    )
    return factories.CardFactory(program=program)


def spend(card, amount, **kwargs):
    return add_stamps(
        business=card.business,
        actor=ACTOR,
        source=StampSource.STAFF,
        card_id=card.pk,
        amount=amount,
        **kwargs,
    )


def written():
    return StampEvent.objects.count(), OutboxMessage.objects.count()


def test_the_amount_earns_its_stamps_and_is_kept_on_the_ledger_row(card):
    outcome = spend(card, 350 * BAHT)
    assert outcome.added == 3
    event = StampEvent.objects.get(card=card)
    assert (event.delta, event.amount) == (3, 35_000)
    card.refresh_from_db()
    assert card.stamps == 3


@pytest.mark.parametrize(
    ("rounding", "amount", "stamps"),
    [
        ("down", 199 * BAHT, 1),
        ("down", 200 * BAHT, 2),
        ("nearest", 149 * BAHT, 1),
        ("nearest", 150 * BAHT, 2),
        ("up", 100 * BAHT + 1, 2),
        ("up", 100 * BAHT, 1),
    ],
)
def test_rounding_as_the_program_states(card, rounding, amount, stamps):
    card.program.amount_rounding = rounding
    card.program.save()
    assert spend(card, amount).added == stamps


def test_the_maxima_cap_a_big_spend_and_then_refuse(card):
    assert spend(card, 1000 * BAHT).added == 5  # the visit's maximum
    assert spend(card, 1000 * BAHT).added == 3  # what is left of the day's 8
    with pytest.raises(loyalty_errors.DailyLimit):
        spend(card, 1000 * BAHT)
    card.refresh_from_db()
    assert card.stamps_on_day == 8


def test_below_the_minimum_spend_is_refused_in_plain_words(card):
    before = written()
    with pytest.raises(amounts.BelowMinimumSpend) as refused:
        spend(card, 49 * BAHT)
    assert refused.value.code == "below_minimum_spend"
    assert "50" in refused.value.message
    assert "฿" in refused.value.message or "THB" in refused.value.message
    with override("th"):
        assert "฿50" in refused.value.message
    assert written() == before


def test_an_amount_earning_no_stamp_is_refused(card):
    with pytest.raises(amounts.AmountTooSmall):
        spend(card, 60 * BAHT)  # above the minimum, below one stamp, rounded down
    assert not StampEvent.objects.exists()


@pytest.mark.parametrize(
    ("amount", "currency", "refusal"),
    [
        (-100, None, InvalidAmount),
        (10**15, None, InvalidAmount),
        (12.5, None, InvalidAmount),
        ("100", None, InvalidAmount),
        (True, None, InvalidAmount),
        (100 * BAHT, "USD", WrongCurrency),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(card, amount, currency, refusal):
    before = written()
    with pytest.raises(refusal):
        spend(card, amount, currency=currency)
    assert written() == before


def test_an_amount_card_wants_the_amount_not_a_count(card):
    with pytest.raises(amounts.AmountRequired):
        add_stamps(business=card.business, actor=ACTOR, source="staff", card_id=card.pk)
    with pytest.raises(loyalty_errors.StampsFromAmount):
        spend(card, 300 * BAHT, count=3)
    assert not StampEvent.objects.exists()


def test_the_amount_given_in_the_businesss_currency_by_name_is_taken(card):
    assert spend(card, 100 * BAHT, currency="thb").added == 1


def test_a_per_visit_card_keeps_one_stamp_and_records_the_amount(db):
    card = factories.CardFactory(program__business__currency="THB")
    outcome = add_stamps(
        business=card.business, actor=ACTOR, source="staff", card_id=card.pk, amount=12_345
    )
    assert outcome.added == 1
    assert StampEvent.objects.get(card=card).amount == 12_345


def test_a_spend_crossing_milestones_earns_them(card):
    factories.MilestoneFactory(program=card.program, stamps=3, reward_title="Cookie")
    spend(card, 400 * BAHT)
    assert list(Reward.objects.filter(card=card).values_list("milestone__stamps", flat=True)) == [3]
    assert not cards_out_of_balance().exists()


def test_a_program_by_amount_needs_a_sound_rule(card):
    program = card.program
    program.amount_per_stamp = None
    with pytest.raises(ValidationError) as refused:
        program.full_clean()
    assert "amount_per_stamp" in refused.value.message_dict
    program.amount_per_stamp = 0
    with pytest.raises(ValidationError):
        program.full_clean()
