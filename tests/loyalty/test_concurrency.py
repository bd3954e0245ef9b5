"""The ledger invariant under real parallel requests on PostgreSQL."""

import pytest
from django.db.models import Sum

from stampcard.idempotency.services import AlreadyDone
from stampcard.loyalty.models import Card, Customer, Reward, StampEvent, StampSource
from stampcard.loyalty.selectors import cards_out_of_balance
from stampcard.loyalty.services import add_stamps, enroll_customer, hand_over_reward
from stampcard.tenancy.actors import Actor
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system()  # these tests are about counting, not who stamps


def test_200_parallel_stamps_on_one_card_are_all_counted_once():
    program = factories.ProgramFactory(stamps_goal=7)
    card = factories.CardFactory(program=program)

    results = run_in_parallel(
        lambda i: add_stamps(
            business=card.business, actor=ACTOR, source=StampSource.STAFF, card_id=card.pk
        ),
        200,
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    card.refresh_from_db()
    events = StampEvent.objects.filter(card=card)
    assert events.count() == 200
    assert events.aggregate(total=Sum("delta"))["total"] == 200 == card.lifetime_stamps
    assert Reward.objects.filter(card=card).count() == 200 // 7 == card.cycles_completed
    # Counter = ledger: what the cycles used plus what is on the card.
    assert card.stamps == 200 - 7 * (200 // 7)
    assert sorted(Reward.objects.filter(card=card).values_list("cycle", flat=True)) == list(
        range(1, 200 // 7 + 1)
    )
    assert not cards_out_of_balance().exists()
    # Each stamp saw a distinct state of the card: no two read the same count.
    assert sorted(r.stamps + 7 * r.cycles_completed for r in results) == list(range(1, 201))


def test_parallel_stamps_with_a_daily_limit_stop_exactly_at_it(settings):
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 0  # only the daily limit stops them
    program = factories.ProgramFactory(max_stamps_per_day=5)
    card = factories.CardFactory(program=program)

    results = run_in_parallel(
        lambda i: add_stamps(
            business=card.business, actor=ACTOR, source=StampSource.KIOSK, card_id=card.pk
        ),
        40,
    )

    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(refusals) == 35
    assert {r.code for r in refusals} == {"daily_limit"}
    card.refresh_from_db()
    assert card.stamps == 5 == StampEvent.objects.filter(card=card).count()


def test_one_idempotency_key_sent_100_times_in_parallel_applies_once():
    card = factories.CardFactory()

    results = run_in_parallel(
        lambda i: add_stamps(
            business=card.business,
            actor=ACTOR,
            source=StampSource.API,
            card_id=card.pk,
            idempotency_key="pos-receipt-4711",
        ),
        100,
    )

    successes = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(successes) == 1
    assert all(isinstance(r, AlreadyDone) for r in refusals), refusals[:3]
    assert {r.code for r in refusals} == {"already_done"}
    assert all(r.outcome == successes[0].as_dict() for r in refusals)
    assert Card.objects.get(pk=card.pk).stamps == 1 == StampEvent.objects.filter(card=card).count()


def test_one_idempotency_key_on_different_cards_applies_once():
    program = factories.ProgramFactory()
    cards = [factories.CardFactory(program=program) for _ in range(20)]

    results = run_in_parallel(
        lambda i: add_stamps(
            business=program.business,
            actor=ACTOR,
            source=StampSource.API,
            card_id=cards[i].pk,
            idempotency_key="same-key",
        ),
        20,
    )

    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert StampEvent.objects.filter(card__program=program).count() == 1


def test_100_parallel_hand_overs_of_one_reward_succeed_once():
    program = factories.ProgramFactory(stamps_goal=1)
    card = factories.CardFactory(program=program)
    reward_id = add_stamps(
        business=card.business, actor=ACTOR, source=StampSource.STAFF, card_id=card.pk
    ).reward_ids[0]

    results = run_in_parallel(
        lambda i: hand_over_reward(business=card.business, actor=ACTOR, reward_id=reward_id), 100
    )

    assert sum(isinstance(r, Reward) for r in results) == 1
    assert {r.code for r in results if isinstance(r, BaseException)} == {"reward_not_ready"}


def test_parallel_joins_of_one_person_make_one_customer_and_one_card():
    program = factories.ProgramFactory()

    results = run_in_parallel(
        lambda i: enroll_customer(
            business=program.business, program=program, name="Ann", email="ann@example.org"
        ),
        16,
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len({card.pk for card in results}) == 1
    assert Customer.objects.filter(business=program.business).count() == 1


def test_200_parallel_stamps_of_random_sizes_earn_each_milestone_as_the_ledger_implies():
    import random

    program = factories.ProgramFactory(stamps_goal=10, max_stamps_per_visit=5)
    milestones = {
        stamps: factories.MilestoneFactory(program=program, stamps=stamps) for stamps in (3, 6, 8)
    }
    card = factories.CardFactory(program=program)
    sizes = [random.Random(i).randint(1, 5) for i in range(200)]

    results = run_in_parallel(
        lambda i: add_stamps(
            business=card.business,
            actor=ACTOR,
            source=StampSource.STAFF,
            count=sizes[i],
            card_id=card.pk,
        ),
        200,
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    card.refresh_from_db()
    total = sum(sizes)
    assert StampEvent.objects.filter(card=card).aggregate(t=Sum("delta"))["t"] == total
    assert card.lifetime_stamps == total
    assert (card.cycles_completed, card.stamps) == divmod(total, 10)
    assert not cards_out_of_balance().exists()
    rewards = Reward.objects.filter(card=card)
    assert rewards.filter(milestone=None).count() == total // 10
    for stamps, milestone in milestones.items():
        # Every cycle that got past the milestone's count earned it, exactly once.
        passed = sum(1 for cycle in range(total // 10 + 1) if cycle * 10 + stamps <= total)
        earned = rewards.filter(milestone=milestone)
        assert earned.count() == passed, stamps
        assert sorted(earned.values_list("cycle", flat=True)) == list(range(1, passed + 1))
