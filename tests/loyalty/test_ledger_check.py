from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from stampcard.loyalty.models import Card, StampSource
from stampcard.loyalty.selectors import cards_out_of_balance
from stampcard.loyalty.services import add_stamps
from tests import factories


def test_the_check_finds_a_counter_that_drifted_from_its_ledger(card, staff_actor, capsys):
    card.program.stamps_goal = 3
    card.program.save()
    for _ in range(4):
        add_stamps(
            business=card.business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk
        )
    assert list(cards_out_of_balance()) == []
    call_command("check_ledger")
    assert "equal its ledger" in capsys.readouterr().out

    Card.objects.filter(pk=card.pk).update(stamps=2)
    assert list(cards_out_of_balance()) == [card]
    with pytest.raises(CommandError, match=card.code):
        call_command("check_ledger")


@pytest.mark.parametrize(
    "tampered",
    [
        {"cycles_completed": 2},
        {"last_stamp_at": None},
        {"last_stamp_at": datetime(2020, 1, 1, tzinfo=UTC)},
    ],
)
def test_the_check_covers_every_counter_the_card_caches(card, staff_actor, tampered):
    card.program.stamps_goal = 3
    card.program.save()
    for _ in range(4):
        add_stamps(
            business=card.business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk
        )
    fresh = factories.CardFactory(program=card.program)  # never stamped: nothing to disagree
    assert list(cards_out_of_balance()) == []
    Card.objects.filter(pk=card.pk).update(**tampered)
    assert list(cards_out_of_balance()) == [card]
    assert fresh not in cards_out_of_balance()
