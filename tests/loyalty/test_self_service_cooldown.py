"""Kiosk and Autopilot stamps keep a least cooldown per card, whatever the program's."""

import pytest

from stampcard.loyalty import errors
from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.services import pair_device
from tests import factories

pytestmark = pytest.mark.django_db


def stamp_from(kind, business, staff_actor, card, source):
    device = pair_device(business=business, actor=staff_actor, name=kind, kind=kind)
    actor = Actor.for_device(device.device)
    return lambda: add_stamps(business=business, actor=actor, source=source, card_id=card.pk)


@pytest.mark.parametrize(
    ("kind", "source"), [("kiosk", StampSource.KIOSK), ("autopilot", StampSource.AUTOPILOT)]
)
def test_a_self_service_stamp_waits_out_the_least_cooldown_on_a_program_without_one(
    business, staff_actor, kind, source, settings
):
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 3600
    program = factories.ProgramFactory(business=business, cooldown_seconds=0)
    card = factories.CardFactory(program=program)
    stamp = stamp_from(kind, business, staff_actor, card, source)
    stamp()

    with pytest.raises(errors.Cooldown) as refused:
        stamp()

    assert "Try again in 60 minutes" in refused.value.message
    card.refresh_from_db()
    assert card.stamps == 1


def test_the_staff_scanner_keeps_the_programs_own_cooldown(business, staff_actor, settings):
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 3600
    program = factories.ProgramFactory(business=business, cooldown_seconds=0)
    card = factories.CardFactory(program=program)
    stamp = stamp_from("scanner", business, staff_actor, card, StampSource.STAFF)
    stamp()
    stamp()
    card.refresh_from_db()
    assert card.stamps == 2


def test_a_longer_program_cooldown_still_rules_the_kiosk(business, staff_actor, settings):
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 60
    program = factories.ProgramFactory(business=business, cooldown_seconds=7200)
    card = factories.CardFactory(program=program)
    stamp = stamp_from("kiosk", business, staff_actor, card, StampSource.KIOSK)
    stamp()
    with pytest.raises(errors.Cooldown) as refused:
        stamp()
    assert "Try again in 2 hours" in refused.value.message


def test_the_least_cooldown_comes_from_the_setting(business, staff_actor, settings):
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 0
    program = factories.ProgramFactory(business=business, cooldown_seconds=0)
    card = factories.CardFactory(program=program)
    stamp = stamp_from("kiosk", business, staff_actor, card, StampSource.KIOSK)
    stamp()
    stamp()
    card.refresh_from_db()
    assert card.stamps == 2
