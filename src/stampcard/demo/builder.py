"""The demo business "Demo Coffee": what a new owner sees after ``make run``.

Everything is created through the same services the product uses, so the demo's ledgers,
counters and rewards obey the same invariants as real data; the history is then spread over
the last 90 days.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.test.utils import override_settings
from django.utils import timezone

from stampcard.loyalty.models import (
    Card,
    JoinChannel,
    Milestone,
    Program,
    Reward,
    StampEvent,
    StampSource,
)
from stampcard.loyalty.services import add_stamps, enroll_customer, hand_over_reward
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business, DeviceKind, Location, Membership, Role
from stampcard.tenancy.services import add_member, create_business, pair_device
from stampcard.vouchers.claims import create_claim_batch
from stampcard.vouchers.models import (
    CodeDisplay,
    CodePoolKind,
    RedemptionMethod,
    Validity,
    Voucher,
    VoucherOrigin,
    VoucherTemplate,
)
from stampcard.vouchers.services import (
    create_code_pool,
    generate_codes,
    issue_voucher,
    redeem_voucher,
)

DEMO_SLUG = "demo-coffee"
OWNER_USERNAME = "demo"
FIRST = ["Anna", "Somchai", "Aigerim", "Olena", "Dmitry", "Ploy", "Nurlan", "Iryna", "Max", "Mali"]
LAST = ["Smith", "Suksawat", "Nurpeisova", "Kovalenko", "Ivanov", "Chaiyaporn", "Bekov", "Lee"]


def build_demo(*, customers: int = 300, seed: int = 7) -> Business:
    """Create Demo Coffee with its staff, locations, two programs and customer history."""
    rng = random.Random(seed)
    owner, _ = User.objects.get_or_create(username=OWNER_USERNAME)
    barista, _ = User.objects.get_or_create(username="barista")
    with transaction.atomic():
        business = create_business(
            owner=owner,
            name="Demo Coffee",
            slug=DEMO_SLUG,
            time_zone="Asia/Bangkok",
            currency="THB",
            country="TH",
            brand_color="#6b3e26",
        )
        # The owner, as the dashboard door admits her: every service checks her permissions.
        membership = Membership.objects.get(business=business, user=owner)
        actor = Actor.for_member(membership)
        sukhumvit = Location.objects.create(
            business=business,
            name="Sukhumvit",
            address="Sukhumvit Soi 11, Bangkok",
            latitude=Decimal("13.743700"),
            longitude=Decimal("100.555100"),
            relevant_text="Your coffee card is ready at Demo Coffee Sukhumvit",
        )
        silom = Location.objects.create(
            business=business,
            name="Silom",
            address="Silom Road 120, Bangkok",
            latitude=Decimal("13.728500"),
            longitude=Decimal("100.534000"),
            relevant_text="Demo Coffee Silom is around the corner",
        )
        add_member(
            business=business, actor=actor, user=barista, role=Role.STAFF, locations=[sukhumvit]
        )
        pair_device(
            business=business,
            actor=actor,
            name="Counter kiosk",
            kind=DeviceKind.KIOSK,
            location=sukhumvit,
        )
        pair_device(
            business=business,
            actor=actor,
            name="Silom Autopilot",
            kind=DeviceKind.AUTOPILOT,
            location=silom,
        )

        pool = create_code_pool(
            business=business,
            actor=actor,
            name="Pastry codes",
            kind=CodePoolKind.GENERATED,
            code_length=8,
        )
        generate_codes(business=business, actor=actor, pool=pool, count=200)
        coffee = Program.objects.create(
            business=business,
            name="Coffee card",
            status="active",
            stamps_goal=10,
            reward_kind="simple",
            reward_title="Free coffee of any size",
            background_color="#6b3e26",
            foreground_color="#ffffff",
            label_color="#f3d9b1",
            terms="One stamp per drink. Not valid with other offers.",
            # Thai customers read the card in Thai; other languages fall back to English.
            translations={
                "th": {
                    "name": "บัตรสะสมแต้มกาแฟ",
                    "reward_title": "กาแฟฟรีทุกขนาด",
                    "terms": "หนึ่งแต้มต่อเครื่องดื่มหนึ่งแก้ว ใช้ร่วมกับโปรโมชันอื่นไม่ได้",
                }
            },
        )
        Milestone.objects.create(
            business=business,
            program=coffee,
            stamps=5,
            reward_title="Free cookie",
            translations={"th": {"reward_title": "คุกกี้ฟรี"}},
        )
        pastry = Program.objects.create(
            business=business,
            name="Pastry club",
            status="active",
            stamps_goal=6,
            reward_kind="smart_voucher",
            reward_title="Free croissant",
            max_stamps_per_visit=3,
            background_color="#f3d9b1",
            foreground_color="#3b2416",
            label_color="#6b3e26",
        )
        VoucherTemplate.objects.create(
            program=pastry,
            redemption_method=RedemptionMethod.STAFF_SCAN,
            code_display=CodeDisplay.CODE128,
            code_pool=pool,
            validity=Validity.DAYS,
            validity_amount=30,
        )
        create_claim_batch(
            business=business, actor=actor, program=coffee, count=50, label="Delivery bag inserts"
        )
        at_the_counter = [Actor.for_member(membership, location=loc) for loc in (sukhumvit, silom)]
        # The history is written now and spread over 90 days after: the least cooldown of
        # self-service stamps, judged against now, is no rule of that past.
        with override_settings(SELF_SERVICE_MIN_COOLDOWN_SECONDS=0):
            _customers_with_history(business, actor, at_the_counter, rng, coffee, pastry, customers)
        issue_voucher(
            business=business,
            actor=actor,
            title="Welcome drink",
            description="For anyone who brings this paper to the counter.",
            origin=VoucherOrigin.MANUAL,
            redemption_method=RedemptionMethod.STAFF_SCAN,
        )
        # The rules a real counter needs, switched on once the history is in place.
        Program.objects.filter(pk=coffee.pk).update(cooldown_seconds=300)
    return business


def _customers_with_history(
    business: Business,
    actor: Actor,
    at_the_counter: list[Actor],
    rng: random.Random,
    coffee: Program,
    pastry: Program,
    count: int,
) -> None:
    now = timezone.now()
    sources = [StampSource.STAFF, StampSource.STAFF, StampSource.KIOSK, StampSource.AUTOPILOT]
    for n in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        card = enroll_customer(
            business=business,
            program=coffee,
            name=name,
            email=f"customer{n}@demo-coffee.test",
            phone=f"+6681{n:07d}",
            language=rng.choice(["en", "th", "th", "ru", "uk", "kk"]),
            marketing_consent=rng.random() < 0.6,
            join_channel=rng.choice([JoinChannel.QR, JoinChannel.QR, JoinChannel.STAFF]),
        )
        cards = [card]
        if rng.random() < 0.35:
            cards.append(
                enroll_customer(business=business, program=pastry, email=card.customer.email)
            )
        for each in cards:
            for _visit in range(int(rng.expovariate(1 / 7))):
                add_stamps(
                    business=business,
                    actor=rng.choice(at_the_counter),
                    source=rng.choice(sources),
                    card_id=each.pk,
                    count=rng.choice([1, 1, 1, 2]) if each.program_id == pastry.pk else 1,
                )
    # Spread the ledger over the last 90 days, keeping each card's order of events.
    events = list(StampEvent.objects.filter(business=business).order_by("id"))
    moments = sorted(now - timedelta(minutes=rng.randrange(90 * 24 * 60)) for _ in events)
    for event, moment in zip(events, moments, strict=True):
        event.created_at = moment
    StampEvent.objects.bulk_update(events, ["created_at"], batch_size=1000)
    # A reward is earned at the time of the ledger row that earned it: it moves with it.
    Reward.objects.filter(business=business, earned_by__isnull=False).update(
        created_at=Subquery(
            StampEvent.objects.filter(pk=OuterRef("earned_by_id")).values("created_at")[:1]
        )
    )
    # The cards' last stamp is a cache of the ledger too: it moves back with it.
    last_stamps = (
        StampEvent.objects.filter(business=business, kind="stamp")
        .values("card")
        .annotate(last=Max("created_at"))
    )
    cards = list(Card.objects.filter(business=business, last_stamp_at__isnull=False))
    last_of = {row["card"]: row["last"] for row in last_stamps}
    for each in cards:
        each.last_stamp_at = last_of[each.pk]
    Card.objects.bulk_update(cards, ["last_stamp_at"], batch_size=1000)
    for reward in Reward.objects.filter(business=business, status="ready"):
        if rng.random() < 0.7:
            hand_over_reward(business=business, actor=actor, reward_id=reward.pk)
    for voucher in Voucher.objects.filter(business=business, origin="goal"):
        if rng.random() < 0.5:
            redeem_voucher(business=business, actor=actor, token=voucher.token)
