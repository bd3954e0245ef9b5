"""Changes reaching Apple Wallet: program, business and location changes refresh every pass,
and pushes are debounced per pass and sent once per registration."""

from datetime import timedelta

import pytest
from bench.wallet_apns_stand_in import WAIT, StandIn
from django.utils import timezone

from stampcard.loyalty.models import Card
from stampcard.outbox.dispatch import deliver
from stampcard.outbox.models import MessageStatus, OutboxMessage, Topic
from stampcard.wallet import apns, changes, passkit
from stampcard.wallet.consumers import push_card_changed, send_apple_pushes
from stampcard.wallet.models import PassRegistration
from tests import factories

PASS_TYPE = "pass.local.stampcard"


@pytest.fixture
def apns_server(settings, tmp_path):
    """APNs on, pointed at a stand-in (certificate auth with the development chain)."""
    settings.DATA_DIR = tmp_path
    settings.APNS_ENABLED = True
    settings.APNS_TIMEOUT_SECONDS = WAIT
    server = StandIn().start()
    settings.APNS_URL = server.url
    apns.reset_client()
    yield server
    apns.reset_client()
    server.stop()


def register(card, token):
    return PassRegistration.objects.create(
        business=card.business,
        card=card,
        device_library_id=f"device-{token}",
        pass_type_id=PASS_TYPE,
        push_token=token,
    )


def messages(topic):
    return list(OutboxMessage.objects.filter(topic=topic).order_by("pk"))


def card_changed(card):
    return OutboxMessage(
        business_id=card.business_id,
        topic=Topic.CARD_CHANGED,
        payload={"card_id": card.pk, "version": card.version},
    )


def deliver_all(topic):
    for message in messages(topic):
        assert deliver(message.pk) == MessageStatus.DELIVERED


def pushed(server):
    return sorted(r["headers"][":path"].rsplit("/", 1)[-1] for r in server.requests)


@pytest.mark.django_db
def test_many_changes_of_one_pass_in_the_window_make_one_push(apns_server, settings, card):
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 30
    register(card, "phone")
    for _change in range(10):
        push_card_changed(card_changed(card))
    (message,) = messages(changes.APPLE_PUSH)
    registration = PassRegistration.objects.get()
    # Due at the end of the window, and the message with it.
    assert registration.push_due_at == message.next_attempt_at
    assert registration.push_due_at > timezone.now() + timedelta(seconds=20)
    # Not due yet: a push run now sends nothing.
    send_apple_pushes(message)
    assert server_requests(apns_server) == []
    # The window has passed.
    PassRegistration.objects.update(push_due_at=timezone.now() - timedelta(seconds=1))
    send_apple_pushes(message)
    assert pushed(apns_server) == ["phone"]
    # A change after the push owes a new one.
    push_card_changed(card_changed(card))
    assert len(messages(changes.APPLE_PUSH)) == 2


def server_requests(server):
    return list(server.requests)


@pytest.mark.django_db
def test_a_redelivered_push_message_sends_its_batch_again(apns_server, settings, card):
    """A crash after the take and before the receipt loses no push."""
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    register(card, "phone")
    push_card_changed(card_changed(card))
    (message,) = messages(changes.APPLE_PUSH)
    # The take happened, the sending did not: the batch is written, nothing is due.
    PassRegistration.objects.update(push_due_at=None, push_batch=message.pk)
    send_apple_pushes(message)
    assert pushed(apns_server) == ["phone"]


@pytest.mark.django_db
def test_a_program_change_reaches_every_pass_of_the_program_once(
    apns_server, settings, client, business, program, other_business
):
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    cards = [factories.CardFactory(program=program) for _ in range(25)]
    for number, card in enumerate(cards):
        register(card, f"tok-{number}")
    # The same device holding two passes of the program gets one push.
    twin = factories.CardFactory(program=program)
    PassRegistration.objects.create(
        business=business,
        card=twin,
        device_library_id="device-tok-0",
        pass_type_id=PASS_TYPE,
        push_token="tok-0",
    )
    elsewhere = factories.CardFactory(program=factories.ProgramFactory(business=business))
    register(elsewhere, "other-program")
    theirs = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    register(theirs, "other-business")
    before = passkit.tag_of(timezone.now())

    program.name = "Coffee club"
    program.save()

    # The save wrote one message and touched no card: the request does not wait on them.
    (refresh,) = messages(changes.PASSES_CHANGED)
    assert refresh.payload == {"program_id": program.pk}
    assert all(passkit.tag_of(c.updated_at) <= before for c in Card.objects.all())
    deliver_all(changes.PASSES_CHANGED)
    moved = {c.pk for c in Card.objects.all() if passkit.tag_of(c.updated_at) > before}
    assert moved == {c.pk for c in [*cards, twin]}
    assert len(messages(changes.APPLE_PUSH)) == 1
    deliver_all(changes.APPLE_PUSH)
    assert pushed(apns_server) == sorted(f"tok-{n}" for n in range(25))

    # Every device is told its card's serial by "serials updated since".
    for number, card in enumerate(cards):
        response = client.get(
            f"/passkit/v1/devices/device-tok-{number}/registrations/{PASS_TYPE}",
            {"passesUpdatedSince": str(before)},
        )
        expected = sorted([card.code, twin.code]) if number == 0 else [card.code]
        assert response.json()["serialNumbers"] == expected
    response = client.get(
        f"/passkit/v1/devices/device-other-program/registrations/{PASS_TYPE}",
        {"passesUpdatedSince": str(before)},
    )
    assert response.status_code == 204


@pytest.mark.django_db
def test_a_save_without_a_design_change_refreshes_nothing(program):
    program.cooldown_seconds = 60
    program.save()
    assert messages(changes.PASSES_CHANGED) == []


@pytest.mark.django_db
def test_a_milestone_is_a_change_of_the_program(program):
    milestone = factories.MilestoneFactory(program=program, stamps=3)
    assert len(messages(changes.PASSES_CHANGED)) == 1
    milestone.delete()
    assert [m.payload for m in messages(changes.PASSES_CHANGED)] == [
        {"program_id": program.pk},
        {"program_id": program.pk},
    ]


@pytest.mark.django_db
def test_a_business_name_change_refreshes_its_passes(business, card, other_business):
    business.currency = "EUR"
    business.save()
    assert messages(changes.PASSES_CHANGED) == []
    business.name = "Corner Cafe & Bakery"
    business.save()
    (message,) = messages(changes.PASSES_CHANGED)
    assert message.business_id == business.pk
    assert message.payload == {}
    before = Card.objects.get(pk=card.pk).updated_at
    deliver_all(changes.PASSES_CHANGED)
    assert Card.objects.get(pk=card.pk).updated_at > before


@pytest.mark.django_db
def test_location_changes_that_passes_show_refresh_them(business):
    shop = factories.LocationFactory(business=business, latitude=None, longitude=None)
    assert messages(changes.PASSES_CHANGED) == []
    shop.name = "Renamed"  # not on passes
    shop.save()
    assert messages(changes.PASSES_CHANGED) == []
    shop.latitude, shop.longitude = 13.7563, 100.5018
    shop.save()
    assert len(messages(changes.PASSES_CHANGED)) == 1
    shop.delete()
    assert len(messages(changes.PASSES_CHANGED)) == 2


@pytest.mark.django_db
def test_the_consumers_are_registered(settings):
    consumers = settings.OUTBOX_CONSUMERS
    assert consumers[changes.PASSES_CHANGED] == [
        "stampcard.wallet.consumers.refresh_passes",
        "stampcard.wallet.google_consumers.sync_google_program",
    ]
    assert consumers[changes.APPLE_PUSH] == ["stampcard.wallet.consumers.send_apple_pushes"]
    assert "stampcard.wallet.consumers.push_voucher_changed" in consumers["voucher.voided"]
