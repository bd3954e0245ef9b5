"""Every change of what a card shows reaches both wallets, through the outbox only.

The issue's list: a stamp, a correction, a reward (earned, handed over), a voucher issued,
redeemed, voided or expired, a design change of the program; and what the audit added: a
customer erased (the pass then shows the card's code, no name) and a program archived (the
Google object turns INACTIVE, and comes back ACTIVE). Each change is made by its service; the
request writes messages only, and delivering them patches the stand-in for Google and owes
the Apple passes a push.
"""

from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from stampcard.background import business_scope
from stampcard.loyalty.models import ProgramStatus, Reward, RewardStatus
from stampcard.loyalty.services import add_stamps, correct_stamps, hand_over_reward
from stampcard.loyalty.services.customers import erase_customer
from stampcard.loyalty.services.programs import set_program_status
from stampcard.outbox import dispatch
from stampcard.outbox.models import MessageStatus, OutboxMessage
from stampcard.vouchers.models import Voucher, VoucherOrigin, VoucherStatus
from stampcard.vouchers.services import ValidityRule, issue_voucher, redeem_voucher, void_voucher
from stampcard.vouchers.services.expiring import expire_vouchers
from stampcard.wallet.models import GoogleInstall, PassRegistration
from tests import factories
from tests.wallet.google_standin import ISSUER, Signer, configured

pytestmark = pytest.mark.django_db

GOOGLE = "stampcard.wallet.google_consumers.sync_google_object"
APPLE_CARD = "stampcard.wallet.consumers.push_card_changed"
APPLE_VOUCHER = "stampcard.wallet.consumers.push_voucher_changed"


@pytest.fixture
def google_on(settings, tmp_path):
    yield from configured(settings, tmp_path, Signer())


@pytest.fixture
def owner_actor(card):
    return factories.member_actor(card.business, role="owner")


@pytest.fixture
def saved(card, settings):
    """The card's pass is in Google Wallet and on an iPhone (its pushes owed for a minute)."""
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 60
    type(card.program).objects.filter(pk=card.program_id).update(max_stamps_per_visit=5)
    card.refresh_from_db()
    card.customer.name = "Ann Example"
    card.customer.save(update_fields=["name"])
    GoogleInstall.objects.create(
        business=card.business, card=card, saved=True, event_at=timezone.now()
    )
    PassRegistration.objects.create(
        business=card.business,
        card=card,
        device_library_id="device-1",
        pass_type_id="pass.test.stampcard",
        push_token="token-1",
    )
    return card


def deliver_due() -> list[str]:
    """What a dispatcher does after the request: every due message, in its business's scope."""
    topics = []
    while due := dispatch.claim_due():
        for message_id, business_id in due:
            topics.append(OutboxMessage.objects.get(pk=message_id).topic)
            with business_scope(business_id):
                assert dispatch.deliver(message_id) == MessageStatus.DELIVERED
    return topics


def google_object(standin, card):
    return standin.resources[("loyaltyObject", f"{ISSUER}.card-{card.code}")]


def apple_push_owed(card) -> bool:
    owed = PassRegistration.objects.filter(card=card, push_due_at__isnull=False).exists()
    PassRegistration.objects.update(push_due_at=None)  # as if pushed, for the next change
    return owed


def vouchers_shown(standin, card) -> str:
    modules = {m["id"]: m["body"] for m in google_object(standin, card)["textModulesData"]}
    return modules.get("vouchers", "")


def test_every_topic_of_a_card_reaches_both_wallets():
    consumers = django_settings.OUTBOX_CONSUMERS
    for topic in ("card.changed", "voucher.redeemed", "voucher.voided", "voucher.expired"):
        assert GOOGLE in consumers[topic], topic
    assert APPLE_CARD in consumers["card.changed"]
    for topic in ("voucher.redeemed", "voucher.voided", "voucher.expired"):
        assert APPLE_VOUCHER in consumers[topic], topic
    for topic in ("customer.joined", "reward.earned", "voucher.issued"):
        # The Apple card pass shows none of these by itself: a stamp or a reward's
        # card.changed comes with them, and a new voucher's pass is fetched when added.
        assert GOOGLE in consumers[topic], topic
    assert {
        "stampcard.wallet.consumers.refresh_passes",
        "stampcard.wallet.google_consumers.sync_google_program",
    } <= set(consumers["wallet.passes_changed"])


def test_stamps_a_correction_and_a_reward_handed_over_reach_both(google_on, saved, owner_actor):
    card, business = saved, saved.business
    add_stamps(business=business, actor=owner_actor, source="staff", count=3, card_id=card.pk)
    assert google_on.requests == []  # nothing from the request
    assert "card.changed" in deliver_due()
    assert google_object(google_on, card)["loyaltyPoints"]["balance"] == {"string": "3/10"}
    assert apple_push_owed(card)

    correct_stamps(business=business, actor=owner_actor, card=card, delta=-1, reason="twice")
    deliver_due()
    assert google_object(google_on, card)["loyaltyPoints"]["balance"] == {"string": "2/10"}
    assert apple_push_owed(card)

    reward = Reward.objects.create(
        business=business,
        card=card,
        cycle=1,
        stamps_used=10,
        kind="simple",
        status=RewardStatus.READY,
        created_at=timezone.now(),
    )
    card.refresh_from_db()
    add_stamps(business=business, actor=owner_actor, source="staff", count=1, card_id=card.pk)
    deliver_due()
    ready = google_object(google_on, card)["secondaryLoyaltyPoints"]["balance"]
    assert ready == {"int": 1}
    apple_push_owed(card)
    hand_over_reward(business=business, actor=owner_actor, reward_id=reward.pk)
    assert deliver_due() == ["card.changed"]
    assert google_object(google_on, card)["secondaryLoyaltyPoints"]["balance"] == {"int": 0}
    assert apple_push_owed(card)


def test_vouchers_issued_redeemed_voided_and_expired_follow_on_google(
    google_on, saved, owner_actor
):
    card, business = saved, saved.business

    def give(title, **extra):
        return issue_voucher(
            business=business,
            actor=owner_actor,
            card=card,
            title=title,
            origin=VoucherOrigin.MANUAL,
            redemption_method="staff_scan",
            **extra,
        )

    cake = give("Free cake")
    coffee = give("Free coffee")
    tea = give("Free tea")
    soon = give("Free soup", validity=ValidityRule(kind="days", amount=1))
    assert deliver_due().count("voucher.issued") == 4
    assert set(vouchers_shown(google_on, card).split("\n")) == {
        "Free cake",
        "Free coffee",
        "Free tea",
        "Free soup",
    }

    redeem_voucher(business=business, actor=owner_actor, token=cake.token)
    void_voucher(business=business, actor=owner_actor, voucher=coffee, reason="by mistake")
    assert sorted(deliver_due()) == ["voucher.redeemed", "voucher.voided"]
    assert set(vouchers_shown(google_on, card).split("\n")) == {"Free tea", "Free soup"}

    Voucher.objects.filter(pk=soon.pk).update(valid_until=timezone.now() - timedelta(minutes=1))
    assert expire_vouchers() == 1
    assert deliver_due() == ["voucher.expired"]
    assert vouchers_shown(google_on, card) == "Free tea"
    assert Voucher.objects.get(pk=soon.pk).status == VoucherStatus.EXPIRED
    assert tea.pk  # still listed: active, no end


def test_an_expired_voucher_pass_is_dated_and_pushed(google_on, saved, owner_actor):
    card = saved
    voucher = issue_voucher(
        business=card.business,
        actor=owner_actor,
        card=card,
        title="Free cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        validity=ValidityRule(kind="days", amount=1),
        now=timezone.now() - timedelta(days=2),
    )
    deliver_due()
    coupon = PassRegistration.objects.create(
        business=card.business,
        voucher=voucher,
        device_library_id="device-1",
        pass_type_id="pass.test.stampcard",
        push_token="token-1",
    )
    expire_vouchers()
    deliver_due()
    coupon.refresh_from_db()
    assert coupon.pass_changed_at is not None  # the device is told the pass changed
    assert coupon.push_due_at is not None
    assert OutboxMessage.objects.filter(topic="wallet.apple_push").exists()

    from stampcard.wallet.apple import voucher_pass_json

    voucher.refresh_from_db()
    document = voucher_pass_json(voucher)
    assert datetime.fromisoformat(document["expirationDate"]) < timezone.now()
    status = next(f for f in document["coupon"]["secondaryFields"] if f["key"] == "status")
    assert status["value"] == "Expired"


def test_an_erased_customer_leaves_no_name_on_either_pass(google_on, saved, owner_actor):
    card = saved
    add_stamps(business=card.business, actor=owner_actor, source="staff", count=1, card_id=card.pk)
    deliver_due()
    assert google_object(google_on, card)["accountName"] == "Ann Example"
    apple_push_owed(card)
    erase_customer(business=card.business, actor=owner_actor, customer=card.customer)
    deliver_due()
    shown = google_object(google_on, card)
    assert shown["accountName"] == card.display_code
    assert "Ann" not in str(shown)
    assert apple_push_owed(card)


def test_an_archived_program_turns_the_google_object_inactive_and_back(
    google_on, saved, owner_actor
):
    card = saved
    program = card.program
    program.status = ProgramStatus.ACTIVE
    program.save(update_fields=["status"])
    deliver_due()
    apple_push_owed(card)
    set_program_status(
        business=card.business, actor=owner_actor, program=program, status="archived"
    )
    assert deliver_due() == ["wallet.passes_changed"]
    assert google_object(google_on, card)["state"] == "INACTIVE"
    assert apple_push_owed(card)
    set_program_status(business=card.business, actor=owner_actor, program=program, status="active")
    deliver_due()
    assert google_object(google_on, card)["state"] == "ACTIVE"
