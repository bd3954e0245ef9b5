"""A reward records the ledger row that earned it: where, how and by whom it was earned."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from stampcard.loyalty.models import Reward, StampEvent, StampSource
from stampcard.loyalty.services import add_stamps, correct_stamps
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business, Membership
from tests import factories


@pytest.mark.django_db
def test_each_reward_a_stamp_reaches_records_that_stamp(business, shop, owner):
    program = factories.ProgramFactory(business=business, stamps_goal=4, max_stamps_per_visit=10)
    factories.MilestoneFactory(program=program, stamps=2, reward_title="Cookie")
    card = factories.CardFactory(program=program)
    at_shop = Actor.for_member(Membership.objects.get(user=owner), location=shop)
    add_stamps(business=business, actor=at_shop, source=StampSource.STAFF, card_id=card.pk)
    # From 1 to 7: the milestone, the goal, the next cycle's milestone, all by this stamp.
    outcome = add_stamps(
        business=business, actor=at_shop, source=StampSource.STAFF, card_id=card.pk, count=6
    )
    rewards = Reward.objects.filter(card=card).order_by("pk")
    assert len(rewards) == 3
    assert [r.pk for r in rewards] == outcome.reward_ids
    event = StampEvent.objects.get(pk=outcome.event_id)
    assert (event.location_id, event.actor_user_id, event.source) == (shop.pk, owner.pk, "staff")
    assert {r.earned_by_id for r in rewards} == {outcome.event_id}


@pytest.mark.django_db
def test_a_correction_that_reaches_the_goal_records_the_correction(card, staff_actor):
    event = correct_stamps(
        business=card.business, actor=staff_actor, card=card, delta=10, reason="paper card"
    )
    assert Reward.objects.get(card=card).earned_by_id == event.pk


# --- the migration that finds the earning row of the rewards from before -------------------

BEFORE = [("loyalty", "0013_milestone_translations")]
AFTER = [("loyalty", "0014_reward_earned_by")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """Leave the schema as the tests after this one expect it, whatever happened."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_the_rewards_from_before_get_the_row_written_with_them_or_none():
    old = migrate(BEFORE)
    # The businesses' table is today's (only loyalty goes back): made with today's model.
    business = old.get_model("tenancy", "Business").objects.get(
        pk=Business.objects.create(name="Old", slug="old").pk
    )
    program = old.get_model("loyalty", "Program").objects.create(
        business=business, name="Coffee", reward_title="Coffee"
    )
    Card = old.get_model("loyalty", "Card")
    Event = old.get_model("loyalty", "StampEvent")
    Reward = old.get_model("loyalty", "Reward")
    now = timezone.now()
    second = now.replace(microsecond=0) - timezone.timedelta(hours=1)

    def card(code):
        customer = old.get_model("loyalty", "Customer").objects.create(business=business)
        return Card.objects.create(
            business=business, program=program, customer=customer, token=code, code=code
        )

    def event(card, at, delta=1):
        return Event.objects.create(
            business=business,
            card=card,
            kind="stamp" if delta > 0 else "correction",
            delta=delta,
            source="staff",
            actor_kind="staff",
            balance_after=0,
            created_at=at,
        )

    def reward(card, at, cycle=1):
        return Reward.objects.create(
            business=business,
            card=card,
            kind="simple",
            status="ready",
            cycle=cycle,
            stamps_used=10,
            created_at=at,
        )

    # The stamp written with the reward, beside an earlier stamp and a correction at its time.
    plain = card("A")
    event(plain, now - timezone.timedelta(minutes=5))
    earning = event(plain, now)
    found = reward(plain, now)
    other = card("B")
    event(other, now, delta=-1)  # the same time, another card and no stamps added
    # Moved in time (as the demo's history): no row at the reward's time.
    moved = card("C")
    event(moved, now - timezone.timedelta(days=3))
    lost = reward(moved, now)
    # Two rows adding stamps at the very time of the reward: not guessed.
    twice = card("D")
    event(twice, second)
    event(twice, second)
    ambiguous = reward(twice, second)

    new = migrate(AFTER)
    earned_by = dict(new.get_model("loyalty", "Reward").objects.values_list("pk", "earned_by_id"))
    assert earned_by == {found.pk: earning.pk, lost.pk: None, ambiguous.pk: None}
