"""An undone stamp no longer counts for the cooldown or the per-day maximum."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.loyalty.services.corrections import undo_stamp
from tests import factories

pytestmark = pytest.mark.django_db


def stamp(business, actor, card, count=1):
    return add_stamps(
        business=business, actor=actor, source=StampSource.STAFF, count=count, card_id=card.pk
    )


def test_gave_one_meant_two_undo_then_stamp_two_is_not_refused(business, staff_actor):
    program = factories.ProgramFactory(
        business=business, cooldown_seconds=3600, max_stamps_per_day=2, max_stamps_per_visit=2
    )
    card = factories.CardFactory(program=program)
    slip = stamp(business, staff_actor, card)
    undo_stamp(business=business, actor=staff_actor, event_id=slip.event_id)

    again = stamp(business, staff_actor, card, count=2)

    assert again.added == 2
    with pytest.raises(errors.Cooldown):
        stamp(business, staff_actor, card)


def test_with_cooldown_and_one_a_day_stamp_undo_stamp_again_succeeds(business, staff_actor):
    program = factories.ProgramFactory(
        business=business, cooldown_seconds=3600, max_stamps_per_day=1
    )
    card = factories.CardFactory(program=program)
    first = stamp(business, staff_actor, card)
    undo_stamp(business=business, actor=staff_actor, event_id=first.event_id)

    assert stamp(business, staff_actor, card).added == 1


def test_an_earlier_stamp_still_counts_after_an_undo(business, staff_actor):
    program = factories.ProgramFactory(business=business, cooldown_seconds=0, max_stamps_per_day=2)
    card = factories.CardFactory(program=program)
    kept = stamp(business, staff_actor, card)
    slip = stamp(business, staff_actor, card)
    undo_stamp(business=business, actor=staff_actor, event_id=slip.event_id)

    card.refresh_from_db()
    kept_at = card.events.get(pk=kept.event_id).created_at
    assert (card.last_stamp_at, card.stamps_on_day) == (kept_at, 1)
    stamp(business, staff_actor, card)
    with pytest.raises(errors.DailyLimit):
        stamp(business, staff_actor, card)


def test_undone_twice_the_card_is_as_if_never_stamped(business, staff_actor):
    program = factories.ProgramFactory(business=business, cooldown_seconds=0)
    card = factories.CardFactory(program=program)
    for _ in range(2):
        given = stamp(business, staff_actor, card)
        undo_stamp(business=business, actor=staff_actor, event_id=given.event_id)

    card = Card.objects.get(pk=card.pk)
    assert (card.last_stamp_at, card.stamp_day, card.stamps_on_day) == (None, None, 0)


def test_a_stamp_of_another_day_keeps_its_own_day(business, staff_actor):
    program = factories.ProgramFactory(business=business, cooldown_seconds=3600)
    card = factories.CardFactory(program=program)
    earlier = stamp(business, staff_actor, card)
    yesterday = timezone.now() - timedelta(days=1)
    card.events.filter(pk=earlier.event_id).update(created_at=yesterday)
    slip_at = timezone.now()
    Card.objects.filter(pk=card.pk).update(last_stamp_at=slip_at - timedelta(hours=2))
    slip = stamp(business, staff_actor, card)
    undo_stamp(business=business, actor=staff_actor, event_id=slip.event_id)

    card.refresh_from_db()
    assert card.last_stamp_at == yesterday
    assert card.stamps_on_day == 1
    assert card.stamp_day == timezone.localtime(yesterday, ZoneInfo(business.time_zone)).date()
