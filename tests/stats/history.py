"""Random ledgers for the rollup tests, written straight to the tables (seeded, repeatable).

Stamps and corrections (undos) at random shops, workflows and staff members, many of them
within minutes of a business's midnight; customers joining, some on two programs; rewards
earned (most by a stamp, some by a row not known), some handed over; reward vouchers, some
redeemed. Every row gets the time it is given.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from stampcard import tokens
from stampcard.loyalty.card_codes import new_card_code
from stampcard.loyalty.models import Card, Customer, Program, Reward, StampEvent, StampSource
from stampcard.tenancy.models import Business, Location, Membership
from stampcard.vouchers.models import Voucher


@dataclass
class Shop:
    business: Business
    programs: list[Program]
    locations: list[Location]
    staff: list[int]
    cards: list[Card] = field(default_factory=list)
    cycles: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business.time_zone)


def make_shop(slug: str, time_zone: str) -> Shop:
    business = Business.objects.create(name=slug, slug=slug, time_zone=time_zone)
    programs = [
        Program.objects.create(
            business=business, name=f"Card {n}", status="active", reward_title="Coffee"
        )
        for n in range(2)
    ]
    locations = [Location.objects.create(business=business, name=f"Shop {n}") for n in range(3)]
    staff = []
    for n in range(3):
        user = get_user_model().objects.create_user(f"{slug}-staff-{n}")
        Membership.objects.create(business=business, user=user, role="staff")
        staff.append(user.pk)
    return Shop(business, programs, locations, staff)


def moment(rng: random.Random, shop: Shop, start: datetime, end: datetime) -> datetime:
    """A random time in [start, end): a third of them within ten minutes of a midnight."""
    assert start < end, (start, end)
    while True:
        when = start + (end - start) * rng.random()
        if rng.random() < 0.33:
            midnight = datetime.combine(
                when.astimezone(shop.zone).date(), time.min, tzinfo=shop.zone
            )
            when = midnight + timedelta(seconds=rng.randint(-600, 600))
        if start <= when < end:
            return when


def add_history(
    rng: random.Random, shop: Shop, start: datetime, end: datetime, *, customers: int, events: int
) -> None:
    business = shop.business
    for _ in range(customers):
        customer = Customer.objects.create(business=business, name="x", join_channel="qr")
        joined = moment(rng, shop, start, end)
        Customer.objects.filter(pk=customer.pk).update(created_at=joined)
        # One customer in four has a second card, taken up to a month later.
        programs = rng.sample(shop.programs, 2 if rng.random() < 0.25 else 1)
        for n, program in enumerate(programs):
            card = Card.objects.create(
                business=business,
                program=program,
                customer=customer,
                token=tokens.new_secret(),
                code=new_card_code(),
            )
            taken = min(joined + timedelta(days=30 * rng.random() * n), end - timedelta(seconds=1))
            Card.objects.filter(pk=card.pk).update(created_at=taken)
            card.created_at = taken
            shop.cards.append(card)
    written = []
    for _ in range(events):
        card = rng.choice(shop.cards)
        correction = rng.random() < 0.15
        event = StampEvent.objects.create(
            business=business,
            card=card,
            kind="correction" if correction else "stamp",
            delta=-1 if correction else rng.randint(1, 3),
            source=rng.choice(list(StampSource)),
            reason="undo" if correction else "",
            actor_kind="staff",
            actor_user_id=rng.choice([*shop.staff, None]),
            location=rng.choice([*shop.locations, None]),
            balance_after=1,
            created_at=moment(rng, shop, start, end),
        )
        if not correction:
            written.append(event)
    for _ in range(events // 5):
        shop.cycles += 1
        card = rng.choice(shop.cards)
        earned = moment(rng, shop, start, end)
        reward = Reward.objects.create(
            business=business,
            card=card,
            kind="simple",
            status="ready",
            cycle=shop.cycles,
            stamps_used=10,
            # Most rewards know the stamp that earned them (its shop, workflow and staff
            # member); some, as those from before it was recorded, do not.
            earned_by=rng.choice(written) if written and rng.random() < 0.8 else None,
            created_at=earned,
        )
        if rng.random() < 0.4:
            Voucher.objects.create(
                business=business,
                card=card,
                reward=reward,
                token=tokens.new_secret(),
                title="Coffee",
                redemption_method="staff_scan",
                valid_from=earned,
                origin="goal",
            )


def settle_some(rng: random.Random, shop: Shop, start: datetime, end: datetime) -> None:
    """Hand over some ready rewards and redeem some vouchers, at times in [start, end)."""
    for reward in Reward.objects.filter(business=shop.business, status="ready"):
        if rng.random() < 0.5:
            if hasattr(reward, "voucher"):
                Voucher.objects.filter(pk=reward.voucher.pk).update(
                    status="redeemed",
                    redeemed_at=moment(rng, shop, start, end),
                    redeemed_at_location=rng.choice([*shop.locations, None]),
                    redeemed_by_user_id=rng.choice([*shop.staff, None]),
                )
            else:
                Reward.objects.filter(pk=reward.pk).update(
                    status="redeemed", settled_at=moment(rng, shop, start, end)
                )
