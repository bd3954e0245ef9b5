"""Milestones: rewards on the way to the goal, each earned once per cycle."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from stampcard.loyalty.models import Reward, RewardKind, StampSource
from stampcard.loyalty.selectors import cards_out_of_balance
from stampcard.loyalty.services import add_stamps, correct_stamps, hand_over_reward
from stampcard.loyalty.services.card_state import hot_path_cursor, read_card
from stampcard.loyalty.services.cycles import earns_rewards
from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import Voucher, VoucherTemplate
from tests import factories

ACTOR = Actor.system()
pytestmark = pytest.mark.django_db


@pytest.fixture
def program():
    """Goal 10 (a coffee), milestones at 3 (a cookie) and 6 (a cake)."""
    program = factories.ProgramFactory(stamps_goal=10, max_stamps_per_visit=10)
    factories.MilestoneFactory(program=program, stamps=3, reward_title="Cookie")
    factories.MilestoneFactory(program=program, stamps=6, reward_title="Cake")
    return program


@pytest.fixture
def card(program):
    return factories.CardFactory(program=program)


def stamp(card, count=1):
    return add_stamps(
        business=card.business, actor=ACTOR, source=StampSource.STAFF, count=count, card_id=card.pk
    )


def earned(card):
    """(cycle, what) of every reward, in the order earned."""
    return [
        (r.cycle, r.milestone.reward_title if r.milestone else "goal", r.stamps_used)
        for r in Reward.objects.filter(card=card).select_related("milestone").order_by("id")
    ]


def test_one_stamp_reaching_a_milestone_earns_it(card):
    stamp(card, 2)
    assert earned(card) == []
    outcome = stamp(card)
    assert earned(card) == [(1, "Cookie", 0)]
    assert outcome.reward_ids == [Reward.objects.get(card=card).pk]
    card.refresh_from_db()
    assert (card.stamps, card.cycles_completed) == (3, 0)  # a milestone closes nothing


def test_a_visit_of_several_stamps_earns_every_milestone_it_crosses(card):
    stamp(card, 7)
    assert earned(card) == [(1, "Cookie", 0), (1, "Cake", 0)]


def test_crossing_the_goal_closes_the_cycle_and_carries_over_into_the_next(card):
    stamp(card, 5)  # cookie
    stamp(card, 10)  # 5 -> 15: cake, the goal, then the next cycle's cookie
    assert earned(card) == [(1, "Cookie", 0), (1, "Cake", 0), (1, "goal", 10), (2, "Cookie", 0)]
    card.refresh_from_db()
    assert (card.stamps, card.cycles_completed) == (5, 1)
    assert not cards_out_of_balance().exists()


def test_a_correction_up_earns_what_it_crosses(card):
    correct_stamps(business=card.business, actor=ACTOR, card=card, delta=4, reason="paper card")
    assert earned(card) == [(1, "Cookie", 0)]


def test_a_correction_below_a_milestone_does_not_earn_it_twice(card):
    stamp(card, 4)
    cookie = Reward.objects.get(card=card)
    hand_over_reward(business=card.business, actor=ACTOR, reward_id=cookie.pk)
    correct_stamps(business=card.business, actor=ACTOR, card=card, delta=-2, reason="double scan")
    stamp(card, 2)  # passes 3 again in the same cycle
    assert earned(card) == [(1, "Cookie", 0)]
    card.refresh_from_db()
    assert card.stamps == 4
    assert not cards_out_of_balance().exists()


def test_a_claim_code_worth_several_stamps_earns_each_milestone(card):
    from stampcard.vouchers.claims import claim_code, create_claim_batch

    batch = create_claim_batch(
        business=card.business, actor=ACTOR, program=card.program, count=1, stamps_per_code=7
    )
    claim_code(business=card.business, actor=ACTOR, code=batch.codes.get().code, card=card)
    assert earned(card) == [(1, "Cookie", 0), (1, "Cake", 0)]


def test_the_card_as_read_knows_whether_a_stamp_reaches_a_reward(card):
    """The unlocked stamp is only for stamps that earn nothing: this decides it."""
    with hot_path_cursor(connection) as cursor:
        read = read_card(
            connection, cursor, business_id=card.business_id, card_id=card.pk, card_code=None,
            lock=False,
        )  # fmt: skip
    assert read is not None
    assert read.next_milestone == 3
    assert not earns_rewards(read, 2)
    assert earns_rewards(read, 3)
    stamp(card, 9)
    with hot_path_cursor(connection) as cursor:
        read = read_card(
            connection, cursor, business_id=card.business_id, card_id=card.pk, card_code=None,
            lock=False,
        )  # fmt: skip
    assert read is not None
    assert read.next_milestone is None
    assert earns_rewards(read, 1)


def test_a_smart_voucher_milestone_issues_its_own_voucher(program):
    cake = program.milestones.get(stamps=6)
    cake.reward_kind = RewardKind.SMART_VOUCHER
    cake.save()
    VoucherTemplate.objects.create(milestone=cake, redemption_method="redeem_code")
    card = factories.CardFactory(program=program)
    stamp(card, 6)
    voucher = Voucher.objects.get(card=card)
    assert (voucher.title, voucher.redemption_method) == ("Cake", "redeem_code")
    assert voucher.reward.milestone == cake


def test_milestones_come_before_the_goal_and_change_the_design(program):
    program.refresh_from_db()
    before = program.design_version
    factories.MilestoneFactory(program=program, stamps=8)
    program.refresh_from_db()
    assert program.design_version == before + 1
    with pytest.raises(ValidationError):
        factories.MilestoneFactory.build(program=program, stamps=10).full_clean()
    program.stamps_goal = 6
    with pytest.raises(ValidationError) as refused:
        program.full_clean()
    assert "stamps_goal" in refused.value.message_dict


def test_progress_names_the_next_reward_in_every_language(card):
    from django.utils.translation import override

    from stampcard.loyalty.progress import progress_of

    stamp(card, 1)
    card.refresh_from_db()
    assert progress_of(card).text == "2 more stamps to Cookie"
    stamp(card, 5)
    card.refresh_from_db()
    where = progress_of(card)
    assert (where.stamps, where.goal, where.to_go) == (6, 10, 4)
    assert where.text == "4 more stamps to Free coffee"  # past every milestone: the goal
    stamp(card, 3)
    card.refresh_from_db()
    assert progress_of(card).text == "1 more stamp to Free coffee"
    for language in ("th", "kk", "uk", "ru"):
        with override(language):
            text = progress_of(card).text
        assert "Free coffee" in text
        assert text != "1 more stamp to Free coffee", language


def test_the_card_page_shows_the_progress_and_each_rewards_name(client, card):
    stamp(card, 4)
    owner = factories.UserFactory()
    factories.MembershipFactory(business=card.business, user=owner, role="owner")
    client.force_login(owner)
    page = client.get(f"/b/{card.business.slug}/cards/{card.code}/").content.decode()
    assert "2 more stamps to Cake" in page
    assert "Cookie" in page
    listing = client.get(f"/b/{card.business.slug}/").content.decode()
    assert "2 more stamps to Cake" in listing
