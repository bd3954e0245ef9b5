"""The loyalty services ask ``tenancy.permissions`` first: a refused actor writes nothing."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.models import Card, Reward, StampEvent, StampSource
from stampcard.loyalty.services import (
    add_claimed_stamps,
    add_stamps,
    correct_stamps,
    hand_over_reward,
)
from stampcard.loyalty.services.card_state import _PreparingCursor
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device, Membership
from tests import factories


def written():
    """Everything a loyalty write leaves behind, counted."""
    return (
        StampEvent.objects.count(),
        Reward.objects.count(),
        OutboxMessage.objects.count(),
        AuditEntry.objects.count(),
        list(Card.objects.order_by("id").values_list("stamps", "version")),
    )


def stamp(card, actor, source=StampSource.STAFF):
    return add_stamps(business=card.business, actor=actor, source=source, card_id=card.pk)


@pytest.fixture
def bob_at(bob, business):
    """Bob (staff, limited to the shop) as the dashboard door admits him, at a location."""
    membership = Membership.objects.get(business=business, user=bob)
    return lambda location=None: Actor.for_member(membership, location=location)


def device(business, kind, location=None):
    return Device.objects.create(
        business=business, name=kind, kind=kind, location=location, token_hash=f"{kind}-hash"
    )


def test_a_member_limited_to_a_shop_stamps_there_and_nowhere_else(card, bob_at, shop, other_shop):
    before = written()
    for where in (other_shop, None):  # another shop, or not saying where
        with pytest.raises(NotAllowed):
            stamp(card, bob_at(where))
        assert written() == before
    stamp(card, bob_at(shop))
    event = StampEvent.objects.get(card=card)
    assert (event.actor_kind, event.location_id) == ("staff", shop.pk)


def test_staff_may_not_correct_stamps(card, bob_at, shop, staff_actor):
    stamp(card, staff_actor)
    before = written()
    with pytest.raises(NotAllowed):
        correct_stamps(business=card.business, actor=bob_at(shop), card=card, delta=-1, reason="x")
    assert written() == before


@pytest.mark.parametrize(
    "source",
    [StampSource.STAFF, StampSource.KIOSK, StampSource.AUTOPILOT, StampSource.API, "admin"],
)
def test_a_customer_stamps_only_with_a_claim_code(card, source):
    before = written()
    with pytest.raises(NotAllowed):
        stamp(card, Actor.customer(business_id=card.business_id), source=source)
    assert written() == before


@pytest.mark.django_db(transaction=True)
def test_receipt_stamps_come_only_with_the_claim_code_they_consume(card):
    """A receipt stamp asks CLAIM_CODES, not STAMP: never without the code it consumes."""
    customer = Actor.customer(business_id=card.business_id)
    before = written()
    with pytest.raises(NotAllowed):  # a customer may not stamp, whatever the source says
        stamp(card, customer, source=StampSource.RECEIPT)
    with pytest.raises(loyalty_errors.SourceNotAllowed):  # nor anyone else as a "receipt"
        stamp(card, Actor.system(), source=StampSource.RECEIPT)
    assert written() == before
    # The claimed path exists only inside the transaction that consumes a code.
    with pytest.raises(RuntimeError):
        add_claimed_stamps(business=card.business, actor=customer, card_id=card.pk, count=1)


def test_a_revoked_device_or_one_of_another_business_may_not_stamp(
    card, business, other_business, shop
):
    till = device(business, "autopilot", location=shop)
    by_hand = Actor(kind=ActorKind.DEVICE, device_id=till.pk, location_id=shop.pk)
    Device.objects.filter(pk=till.pk).update(revoked_at=timezone.now())
    rival = device(other_business, "scanner")
    before = written()
    for actor in (by_hand, Actor.for_device(rival)):
        with pytest.raises(NotAllowed):
            stamp(card, actor, source=StampSource.AUTOPILOT)
    assert written() == before


def test_a_member_of_another_business_may_not_stamp_correct_or_hand_over(
    card, other_staff_actor, staff_actor
):
    card.program.stamps_goal = 1
    card.program.save()
    reward_id = stamp(card, staff_actor).reward_ids[0]
    before = written()
    with pytest.raises(NotAllowed):
        stamp(card, other_staff_actor)
    with pytest.raises(NotAllowed):
        correct_stamps(
            business=card.business, actor=other_staff_actor, card=card, delta=1, reason="x"
        )
    with pytest.raises(NotAllowed):
        hand_over_reward(business=card.business, actor=other_staff_actor, reward_id=reward_id)
    assert written() == before


def test_an_autopilot_station_may_not_hand_a_reward_over(card, business, shop, staff_actor):
    card.program.stamps_goal = 1
    card.program.save()
    reward_id = stamp(card, staff_actor).reward_ids[0]
    before = written()
    with pytest.raises(NotAllowed):
        hand_over_reward(
            business=business,
            actor=Actor.for_device(device(business, "autopilot", location=shop)),
            reward_id=reward_id,
        )
    assert written() == before
    assert Reward.objects.get(pk=reward_id).status == "ready"


@pytest.mark.django_db(transaction=True)
def test_a_door_built_actor_costs_the_hot_path_no_query():
    """The plain stamp stays at its two statements, and Django runs none beside them."""
    if connection.vendor != "postgresql":
        pytest.skip("the unlocked hot path is PostgreSQL's")
    card = factories.CardFactory()
    shop = factories.LocationFactory(business=card.business)
    membership = factories.MembershipFactory(business=card.business, locations=[shop])
    actors = {
        "member": Actor.for_member(membership, location=shop),
        "device": Actor.for_device(device(card.business, "scanner", location=shop)),
    }
    stamp(card, actors["member"])  # connection, prepared statements: not what is measured
    statements = []
    execute = _PreparingCursor.execute

    def counting(self, query, params=None, **kwargs):
        statements.append(query)
        return execute(self, query, params, **kwargs)

    for actor in actors.values():
        statements.clear()
        with (
            mock.patch.object(_PreparingCursor, "execute", counting),
            CaptureQueriesContext(connection) as orm,
        ):
            stamp(card, actor)
        assert len(statements) == 2  # read the card; move it, write the ledger and the message
        assert len(orm.captured_queries) == 0
    assert StampEvent.objects.filter(card=card).count() == 3
