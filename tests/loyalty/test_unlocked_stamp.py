"""The unlocked stamp on PostgreSQL: written only from the card's version it read."""

from unittest import mock

import pytest
from django.db import connection
from django.db.models import F

from stampcard.loyalty.models import Card, StampEvent, StampSource
from stampcard.loyalty.selectors import cards_out_of_balance
from stampcard.loyalty.services import add_stamps
from stampcard.loyalty.services import stamping as services
from tests import factories
from tests.concurrency import needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def stamp(card):
    # A member as the dashboard door admits them: the hot path checks them in memory.
    actor = factories.member_actor(card.business, role="staff")
    return add_stamps(
        business=card.business, actor=actor, source=StampSource.STAFF, card_id=card.pk
    )


def test_a_plain_stamp_takes_no_lock_and_no_transaction_of_its_own():
    card = factories.CardFactory()
    with mock.patch.object(services.transaction, "atomic", side_effect=AssertionError):
        outcome = stamp(card)
    card.refresh_from_db()
    assert (outcome.stamps, card.stamps, card.version) == (1, 1, 1)
    assert StampEvent.objects.filter(card=card).count() == 1
    assert connection.get_autocommit()


def test_a_card_that_moved_after_the_read_is_stamped_again_under_the_lock():
    card = factories.CardFactory()
    plan = services._Stamp.plan
    calls = []

    def someone_else_stamps_first(self, state):
        calls.append(state.version)
        if len(calls) == 1:  # between our unlocked read and our write
            Card.objects.filter(pk=card.pk).update(version=F("version") + 1)
        return plan(self, state)

    with mock.patch.object(services._Stamp, "plan", someone_else_stamps_first):
        outcome = stamp(card)

    assert calls == [0, 1]  # the unlocked try saw version 0; the locked one version 1
    card.refresh_from_db()
    assert (outcome.stamps, card.stamps, card.version) == (1, 1, 2)
    assert StampEvent.objects.filter(card=card).count() == 1
    assert not cards_out_of_balance().exists()


def test_closing_a_cycle_goes_under_the_lock_and_writes_the_reward():
    card = factories.CardFactory(program=factories.ProgramFactory(stamps_goal=2))
    stamp(card)
    outcome = stamp(card)
    assert len(outcome.reward_ids) == 1
    card.refresh_from_db()
    assert (card.stamps, card.cycles_completed, card.version) == (0, 1, 2)
    assert not cards_out_of_balance().exists()


def test_refusals_on_the_unlocked_path_write_nothing():
    card = factories.CardFactory(program=factories.ProgramFactory(status="draft"))
    with pytest.raises(services.errors.ProgramInactive):
        stamp(card)
    card.refresh_from_db()
    assert (card.stamps, card.version) == (0, 0)
