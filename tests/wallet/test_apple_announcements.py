"""Milestones on the Apple lock screen: announced within the pass's notification budget,
everything else silent."""

import json

import pytest

from stampcard.loyalty.models import RewardKind
from stampcard.loyalty.services import add_stamps
from stampcard.outbox.dispatch import deliver
from stampcard.outbox.models import MessageStatus, OutboxMessage, Topic
from stampcard.wallet import apple
from stampcard.wallet.models import PassRegistration, PassSend, Wallet
from stampcard.wallet.notifications import NOTIFY_LIMIT, Why
from tests import factories
from tests.wallet.test_apple_pass import unzip

pytestmark = pytest.mark.django_db

EARNED = "You earned a reward! Rewards earned: %@"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def speaking(document):
    return {
        field["key"]: field["changeMessage"]
        for group in document["storeCard"].values()
        if isinstance(group, list)
        for field in group
        if "changeMessage" in field
    }


def earn_reward(card):
    """One stamp that completes a one-stamp reward; the reward's outbox messages delivered."""
    owner = factories.member_actor(card.business)
    add_stamps(business=card.business, actor=owner, source="staff", card_id=card.pk)
    milestones = OutboxMessage.objects.filter(
        topic__in=(Topic.REWARD_EARNED, Topic.VOUCHER_ISSUED), attempts=0
    )
    for message in milestones.order_by("pk"):
        assert deliver(message.pk) == MessageStatus.DELIVERED
    card.refresh_from_db()


def one_stamp_cycles(card):
    """Every stamp completes the card and earns its reward."""
    type(card.program).objects.filter(pk=card.program_id).update(stamps_goal=1)
    card.refresh_from_db()
    card.program.refresh_from_db()


@pytest.fixture
def registered(card):
    one_stamp_cycles(card)
    PassRegistration.objects.create(
        business=card.business,
        card=card,
        device_library_id="device-1",
        pass_type_id="pass.local.stampcard",
        push_token="phone",
    )
    return card


def test_a_new_pass_says_nothing(card):
    assert speaking(apple.pass_json(card)) == {}


def test_a_reward_is_announced_once_recorded_as_notified_and_pushed(registered):
    card = registered
    before = apple.card_pass(card)
    earn_reward(card)
    document = json.loads(unzip(apple.card_pass(card))["pass.json"])
    assert speaking(document) == {"earned": EARNED}
    assert document["storeCard"]["secondaryFields"][1]["value"] == 1
    assert apple.card_pass(card) != before
    (send,) = PassSend.objects.filter(wallet=Wallet.APPLE)
    assert (send.notified, send.reason, send.card_id) == (True, Why.REWARD_READY, card.pk)
    assert PassRegistration.objects.get().push_due_at is not None


def test_past_the_budget_the_reward_is_silent(registered):
    card = registered
    for _reward in range(NOTIFY_LIMIT):
        earn_reward(card)
    assert speaking(apple.pass_json(card)) == {"earned": EARNED}
    earn_reward(card)
    assert speaking(apple.pass_json(card)) == {}
    sends = PassSend.objects.filter(wallet=Wallet.APPLE).order_by("pk")
    assert [s.notified for s in sends] == [True] * NOTIFY_LIMIT + [False]
    assert sends.last().reason == Why.OVER_BUDGET


def test_without_an_apple_pass_the_budget_is_kept(card):
    one_stamp_cycles(card)
    earn_reward(card)
    assert not PassSend.objects.filter(wallet=Wallet.APPLE).exists()
    assert speaking(apple.pass_json(card)) == {}


def test_a_voucher_issued_by_hand_leaves_the_card_pass_and_the_budget_alone(
    registered, staff_actor
):
    from tests.wallet.test_voucher_pass import issue

    card = registered
    issue(card.business, staff_actor, card=card)
    message = OutboxMessage.objects.get(topic=Topic.VOUCHER_ISSUED)
    assert deliver(message.pk) == MessageStatus.DELIVERED
    assert not PassSend.objects.filter(wallet=Wallet.APPLE).exists()
    assert speaking(apple.pass_json(card)) == {}


def test_a_smart_voucher_reward_is_announced_once_by_its_voucher(registered):
    card = registered
    type(card.program).objects.filter(pk=card.program_id).update(
        reward_kind=RewardKind.SMART_VOUCHER
    )
    card.program.refresh_from_db()
    earn_reward(card)
    assert speaking(apple.pass_json(card)) == {"earned": EARNED}
    (send,) = PassSend.objects.filter(wallet=Wallet.APPLE)
    assert (send.notified, send.reason) == (True, Why.VOUCHER_ISSUED)
