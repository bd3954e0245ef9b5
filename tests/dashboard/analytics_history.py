"""A small, known history for the analytics tests, made through the real services.

Stamps, joins and rewards are made by the services as they happen at the counter, then moved
back to the days below (the ledger records when a stamp happened; a test cannot wait days).
Days are Corner Cafe's own (Asia/Bangkok). ``today`` is the business's date.

- Ann joined 40 days ago; a stamp 2 days ago at the shop (by the owner) and one yesterday at
  00:30 Bangkok time (by the manager, at no location): still the day before in UTC;
- Ben joined yesterday; 3 stamps yesterday at the shop (by the owner), which reach the goal
  of 3: one reward, handed over the same day;
- Cat joined today; 1 stamp today at a kiosk-source stamp by the owner, at no location.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from stampcard.loyalty.models import (
    Customer,
    JoinChannel,
    Program,
    Reward,
    StampEvent,
    StampSource,
)
from stampcard.loyalty.services import add_stamps, enroll_customer, hand_over_reward
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business, Location, Membership
from stampcard.vouchers.models import Voucher
from stampcard.vouchers.services import redeem_voucher
from tests import factories

BANGKOK = ZoneInfo("Asia/Bangkok")


@dataclass
class History:
    business: Business
    program: Program
    shop: Location
    today: date


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BANGKOK)


def make_history(*, business: Business, shop: Location, owner, manager) -> History:
    today = timezone.now().astimezone(BANGKOK).date()
    program = Program.objects.create(
        business=business, name="Coffee card", status="active", stamps_goal=3, reward_title="Tea"
    )
    owner_member = Membership.objects.get(business=business, user=owner)
    manager_member = Membership.objects.get(business=business, user=manager)
    at_shop = Actor.for_member(owner_member, location=shop)
    owner_anywhere = Actor.for_member(owner_member)
    manager_actor = Actor.for_member(manager_member)

    def stamp(card, actor, when, source=StampSource.STAFF):
        outcome = add_stamps(business=business, actor=actor, source=source, card_id=card.pk)
        StampEvent.objects.filter(pk=outcome.event_id).update(created_at=when)
        return outcome

    ann = enroll_customer(business=business, program=program, name="Ann", email="ann@example.org")
    Customer.objects.filter(pk=ann.customer_id).update(created_at=at(today - timedelta(40), 9))
    stamp(ann, at_shop, at(today - timedelta(2), 10))
    stamp(ann, manager_actor, at(today - timedelta(1), 0, 30))

    ben = enroll_customer(business=business, program=program, name="Ben", email="ben@example.org")
    Customer.objects.filter(pk=ben.customer_id).update(created_at=at(today - timedelta(1), 8))
    for minute in (0, 10, 20):
        outcome = stamp(ben, at_shop, at(today - timedelta(1), 12, minute))
    (reward_id,) = outcome.reward_ids
    Reward.objects.filter(pk=reward_id).update(created_at=at(today - timedelta(1), 12, 20))
    hand_over_reward(business=business, actor=at_shop, reward_id=reward_id)
    Reward.objects.filter(pk=reward_id).update(settled_at=at(today - timedelta(1), 12, 30))

    cat = enroll_customer(business=business, program=program, name="Cat", email="cat@example.org")
    Customer.objects.filter(pk=cat.customer_id).update(created_at=at(today, 0, 5))
    stamp(cat, owner_anywhere, at(today, 0, 10), source=StampSource.KIOSK)
    return History(business=business, program=program, shop=shop, today=today)


def make_rate_history(*, business: Business, shop: Location, owner) -> date:
    """The history of ``tests.dashboard.test_analytics_rates`` (its docstring counts it by
    hand); returns its ``M``, the Monday two weeks before this week's."""
    today = timezone.now().astimezone(BANGKOK).date()
    monday = today - timedelta(days=today.weekday() + 14)
    program = Program.objects.create(
        business=business, name="Coffee card", status="active", stamps_goal=2, reward_title="Tea"
    )
    actor = Actor.for_member(Membership.objects.get(business=business, user=owner), location=shop)

    def customer(name: str, first: int):
        card = enroll_customer(business=business, program=program, name=name)
        Customer.objects.filter(pk=card.customer_id).update(
            created_at=at(monday, 8) + timedelta(first)
        )
        return card

    def stamp(card, offset: int) -> list[int]:
        outcome = add_stamps(
            business=business, actor=actor, source=StampSource.STAFF, card_id=card.pk
        )
        when = at(monday + timedelta(offset), 10)
        StampEvent.objects.filter(pk=outcome.event_id).update(created_at=when)
        Reward.objects.filter(pk__in=outcome.reward_ids).update(created_at=when)
        return list(outcome.reward_ids)

    def hand_over(reward_id: int, offset: int) -> None:
        hand_over_reward(business=business, actor=actor, reward_id=reward_id)
        Reward.objects.filter(pk=reward_id).update(settled_at=at(monday + timedelta(offset), 11))

    dan, eve, fay = customer("Dan", -40), customer("Eve", 2), customer("Fay", 3)
    stamp(dan, -40)
    (dans,) = stamp(dan, 1)
    hand_over(dans, 1)
    stamp(eve, 2)
    (eves,) = stamp(eve, 4)
    stamp(fay, 3)
    stamp(fay, 8)
    hand_over(eves, 8)
    return monday


def make_breakdown_history(*, business: Business, shop: Location, owner, manager) -> None:
    """The history of ``tests.dashboard.test_analytics_breakdowns`` (its docstring counts
    it by hand), all of it today."""
    coffee = factories.ProgramFactory(business=business, name="Coffee card", stamps_goal=2)
    tea = factories.ProgramFactory(
        business=business, name="Tea card", stamps_goal=1, reward_kind="smart_voucher"
    )
    at_shop = Actor.for_member(Membership.objects.get(user=owner), location=shop)
    maria_anywhere = Actor.for_member(Membership.objects.get(user=manager))

    def join(name, program, channel):
        return enroll_customer(business=business, program=program, name=name, join_channel=channel)

    def stamp(card):
        return add_stamps(
            business=business, actor=at_shop, source=StampSource.STAFF, card_id=card.pk
        )

    def redeem(card, actor):
        voucher = Voucher.objects.get(card=card, reward__isnull=False)
        redeem_voucher(business=business, actor=actor, token=voucher.token)

    ann = join("Ann", coffee, JoinChannel.POSTER)
    stamp(ann)
    (reward_id,) = stamp(ann).reward_ids
    hand_over_reward(business=business, actor=at_shop, reward_id=reward_id)
    ben = join("Ben", tea, JoinChannel.POSTER)
    stamp(ben)
    redeem(ben, at_shop)
    cat = join("Cat", tea, JoinChannel.QR)
    stamp(cat)
    redeem(cat, maria_anywhere)
    dan = join("Dan", tea, JoinChannel.FLYER)
    Customer.objects.filter(pk=dan.customer_id).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    stamp(dan)
