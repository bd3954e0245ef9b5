"""The notification budget: milestones notify, at most 3 times a day per pass and wallet."""

from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.wallet.models import PassSend, Wallet
from stampcard.wallet.notifications import (
    NOTIFY_LIMIT,
    Why,
    may_notify,
    milestone_of,
    record_apple_pushes,
    record_send,
    release_notification,
    reserve_notification,
)
from tests.concurrency import needs_postgres, run_in_parallel
from tests.wallet.test_apns import StandIn

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        ("reward.earned", {"reward_id": 1, "kind": "simple", "status": "ready"}, Why.REWARD_READY),
        # The voucher it turns into notifies instead, so the customer hears of it once.
        (
            "reward.earned",
            {"reward_id": 1, "kind": "smart_voucher", "status": "voucher_issued"},
            None,
        ),
        ("reward.earned", {"reward_id": 1, "kind": "lottery", "status": "draw_pending"}, None),
        ("voucher.issued", {"voucher_id": 2, "card_id": 5}, Why.VOUCHER_ISSUED),
        ("voucher.issued", {"voucher_id": 2, "card_id": None}, None),
        ("voucher.redeemed", {"voucher_id": 2, "card_id": 5}, None),
        ("voucher.voided", {"voucher_id": 2, "card_id": 5}, None),
        ("card.changed", {"card_id": 5, "version": 3}, None),
        ("customer.joined", {"card_id": 5}, None),
    ],
)
def test_only_milestones_notify(topic, payload, why):
    found = milestone_of(topic, payload)
    assert (found.why if found else None) == why


def send(card, n, *, wallet=Wallet.GOOGLE, notified=True, at=None):
    message = OutboxMessage.objects.create(
        business=card.business, topic=Topic.REWARD_EARNED, payload={}
    )
    record_send(
        message=message,
        card_id=card.pk,
        wallet=wallet,
        notified=notified,
        why=Why.REWARD_READY if notified else Why.UPDATE,
        now=at or timezone.now(),
    )
    return message


def test_three_notifications_a_day_per_pass_then_silence(card):
    now = timezone.now()
    for n in range(NOTIFY_LIMIT):
        assert may_notify(card.pk, Wallet.GOOGLE, now)
        send(card, n, at=now - timedelta(hours=1))
    assert not may_notify(card.pk, Wallet.GOOGLE, now)
    # Per wallet: the Apple pass of the same card has its own budget.
    assert may_notify(card.pk, Wallet.APPLE, now)
    # A day after the first, one may go again.
    assert may_notify(card.pk, Wallet.GOOGLE, now + timedelta(hours=23, minutes=1))


def test_silent_sends_do_not_spend_the_budget(card):
    for n in range(10):
        send(card, n, notified=False)
    assert may_notify(card.pk, Wallet.GOOGLE, timezone.now())


def test_the_budget_is_per_card(card, program):
    from tests import factories

    other = factories.CardFactory(program=program)
    for n in range(NOTIFY_LIMIT):
        send(card, n)
    assert may_notify(other.pk, Wallet.GOOGLE, timezone.now())


def test_a_message_is_recorded_once_per_pass_and_wallet(card):
    message = send(card, 0)
    record_send(
        message=message,
        card_id=card.pk,
        wallet=Wallet.GOOGLE,
        notified=True,
        why=Why.REWARD_READY,
        now=timezone.now(),
    )
    record_apple_pushes(message, [card.pk], timezone.now())
    assert sorted(PassSend.objects.values_list("wallet", flat=True)) == ["apple", "google"]


@pytest.fixture
def apns_stand_in(settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from stampcard.wallet import apns

    key = tmp_path / "AuthKey.p8"
    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = StandIn().start()
    settings.APNS_ENABLED = True
    settings.APNS_KEY_ID = "KEY1234567"
    settings.APNS_KEY_FILE = str(key)
    settings.APNS_URL = server.url
    apns.reset_client()
    yield server
    apns.reset_client()
    server.stop()


def test_an_apple_push_is_recorded_as_a_silent_send(apns_stand_in, card, settings):
    from stampcard.wallet import changes
    from stampcard.wallet.consumers import push_card_changed, send_apple_pushes
    from stampcard.wallet.models import PassRegistration

    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    PassRegistration.objects.create(
        business=card.business,
        card=card,
        device_library_id="device-1",
        pass_type_id="pass.local.stampcard",
        push_token="tok-1",
    )
    card.refresh_from_db()
    change = OutboxMessage.objects.create(
        business=card.business,
        topic=Topic.CARD_CHANGED,
        payload={"card_id": card.pk, "version": card.version},
    )
    push_card_changed(change)
    push = OutboxMessage.objects.get(topic=changes.APPLE_PUSH)
    send_apple_pushes(push)
    (sent,) = PassSend.objects.all()
    assert (sent.wallet, sent.card_id, sent.message_id, sent.notified) == (
        "apple",
        card.pk,
        push.pk,
        False,
    )


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_milestones_of_one_card_take_no_more_than_the_budget(card):
    messages = [
        OutboxMessage.objects.create(business=card.business, topic=Topic.REWARD_EARNED, payload={})
        for _ in range(16)
    ]

    def take(i):
        return reserve_notification(
            message=messages[i],
            card_id=card.pk,
            wallet=Wallet.GOOGLE,
            why=Why.REWARD_READY,
            now=timezone.now(),
        )

    results = run_in_parallel(take, len(messages), workers=16)
    assert results.count(True) == NOTIFY_LIMIT
    assert results.count(False) == len(messages) - NOTIFY_LIMIT
    assert PassSend.objects.filter(notified=True).count() == NOTIFY_LIMIT


def test_a_released_reservation_gives_the_notification_back(card):
    message = OutboxMessage.objects.create(
        business=card.business, topic=Topic.REWARD_EARNED, payload={}
    )
    for _ in range(NOTIFY_LIMIT - 1):
        send(card, 0)
    now = timezone.now()
    kwargs = {"message": message, "card_id": card.pk, "wallet": Wallet.GOOGLE}
    assert reserve_notification(**kwargs, why=Why.REWARD_READY, now=now)
    assert not may_notify(card.pk, Wallet.GOOGLE, now)
    release_notification(**kwargs)
    assert may_notify(card.pk, Wallet.GOOGLE, now)
