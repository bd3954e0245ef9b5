"""An undo at the counter is counted under the workflow of the stamp it takes back."""

import pytest
from django.db.models import Sum

from stampcard.loyalty.models import StampEvent, StampSource
from stampcard.loyalty.services import add_stamps, correct_stamps
from stampcard.loyalty.services.corrections import undo_stamp
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.services import pair_device


@pytest.mark.parametrize("kind", ["kiosk", "autopilot", "scanner"])
def test_an_undo_keeps_the_source_of_the_stamp_it_undoes(card, business, shop, staff_actor, kind):
    device = pair_device(business=business, actor=staff_actor, name="T", kind=kind, location=shop)
    actor = Actor.for_device(device.device)
    source = {"kiosk": "kiosk", "autopilot": "autopilot", "scanner": "staff"}[kind]
    outcome = add_stamps(
        business=business, actor=actor, source=StampSource(source), count=1, card_id=card.pk
    )
    undone = undo_stamp(business=business, actor=actor, event_id=outcome.event_id)
    assert (undone.kind, undone.delta, undone.source) == ("correction", -1, source)
    # Counted from the ledger per workflow, the undo nets out of the same workflow.
    by_source = {
        row["source"]: row["total"]
        for row in StampEvent.objects.filter(card=card)
        .values("source")
        .annotate(total=Sum("delta"))
    }
    assert by_source == {source: 0}


def test_a_managers_correction_is_still_the_dashboards(card, business, staff_actor):
    add_stamps(
        business=business, actor=staff_actor, source=StampSource.STAFF, count=1, card_id=card.pk
    )
    event = correct_stamps(business=business, actor=staff_actor, card=card, delta=-1, reason="oops")
    assert event.source == "admin"
