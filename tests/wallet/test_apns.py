"""APNs pushes against a stand-in HTTP/2 server on loopback (h2c, prior knowledge)."""

import logging
import time
from datetime import timedelta

import jwt
import pytest
from bench.wallet_apns_stand_in import WAIT, StandIn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.wallet import apns, changes, checks
from stampcard.wallet.consumers import PushFailed, push_card_changed, send_apple_pushes
from stampcard.wallet.models import PassRegistration
from tests import factories

PASS_TYPE = "pass.local.stampcard"


@pytest.fixture
def stand_in():
    servers = []

    def start(answers=None, delay=0.0):
        server = StandIn(answers, delay).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def p8_key(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "AuthKey_KEY1234567.p8"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key.public_key()


@pytest.fixture
def apns_on(settings, stand_in, p8_key, tmp_path):
    """APNs enabled with token auth, pointed at a stand-in; returns a function to start it."""
    settings.DATA_DIR = tmp_path
    settings.APNS_ENABLED = True
    settings.APNS_KEY_ID = "KEY1234567"
    settings.APNS_KEY_FILE = str(p8_key[0])
    settings.APNS_TIMEOUT_SECONDS = WAIT
    # No debounce: a push owed is due at once.
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    apns.reset_client()

    def start(answers=None, delay=0.0):
        server = stand_in(answers, delay)
        settings.APNS_URL = server.url
        apns.reset_client()
        return server

    yield start
    apns.reset_client()


def message_for(card):
    card.refresh_from_db()
    return OutboxMessage(
        business_id=card.business_id,
        topic=Topic.CARD_CHANGED,
        payload={"card_id": card.pk, "version": card.version},
    )


def push_messages():
    return OutboxMessage.objects.filter(topic=changes.APPLE_PUSH).order_by("pk")


def push_card(card):
    """``card.changed`` through both consumers: the push owed, then sent."""
    push_card_changed(message_for(card))
    for message in push_messages():
        send_apple_pushes(message)


def register(card, token, device=None, *, ago=None):
    """A registration of ``card``'s pass; ``ago``: last renewed that long ago."""
    registration = PassRegistration.objects.create(
        business=card.business,
        card=card,
        device_library_id=device or f"device-{token}",
        pass_type_id=PASS_TYPE,
        push_token=token,
    )
    if ago is not None:
        registration.updated_at = timezone.now() - ago
        PassRegistration.objects.filter(pk=registration.pk).update(
            updated_at=registration.updated_at
        )
    return registration


def test_the_consumer_is_registered_for_card_changed():
    from django.conf import settings

    assert (
        "stampcard.wallet.consumers.push_card_changed" in settings.OUTBOX_CONSUMERS["card.changed"]
    )


def test_a_push_is_the_empty_payload_to_the_pass_type_topic(apns_on):
    server = apns_on()
    result = apns.client().send("tok-ok")
    assert result == apns.Result("tok-ok", apns.Outcome.OK, 200)
    (request,) = server.requests
    assert request["headers"][":method"] == "POST"
    assert request["headers"][":path"] == "/3/device/tok-ok"
    assert request["headers"]["apns-topic"] == PASS_TYPE
    assert "apns-push-type" not in request["headers"]
    assert request["body"] == b"{}"
    # Delivered at once, and kept a week for a device that is offline.
    assert request["headers"]["apns-priority"] == "10"
    week_ahead = time.time() + 7 * 24 * 3600
    assert abs(int(request["headers"]["apns-expiration"]) - week_ahead) < 60


def test_each_answer_has_its_outcome(apns_on):
    server = apns_on({"gone": "410", "slow": "429", "broken": "500"})
    server.unregistered_at_ms = 1700000000000
    client = apns.client()
    gone = client.send("gone")
    assert gone.outcome is apns.Outcome.UNREGISTERED
    assert gone.reason == "Unregistered"
    assert gone.timestamp is not None
    assert gone.timestamp.year == 2023
    assert client.send("slow").outcome is apns.Outcome.RETRY
    assert client.send("broken").outcome is apns.Outcome.RETRY


def test_a_dropped_connection_is_retried_and_the_client_reconnects(apns_on):
    server = apns_on({"drop": "drop"})
    client = apns.client()
    assert client.send("drop").outcome is apns.Outcome.RETRY
    assert client.send("fine").outcome is apns.Outcome.OK
    assert server.connections == 2


def test_many_pushes_go_at_once_over_one_connection(apns_on):
    server = apns_on(delay=0.2)
    tokens = [f"tok-{i}" for i in range(12)]
    results = apns.client().send_many(tokens)
    assert [r.token for r in results] == tokens
    assert all(r.outcome is apns.Outcome.OK for r in results)
    assert server.connections == 1
    # Streams overlapped on that connection (timing is left out: the cores are shared).
    assert server.most_in_flight > 1


def test_the_provider_token_is_reused_and_verifies(apns_on, p8_key):
    server = apns_on()
    client = apns.client()
    client.send_many(["a", "b", "c"])
    client.send("d")
    values = {r["headers"]["authorization"] for r in server.requests}
    assert len(values) == 1
    (value,) = values
    scheme, token = value.split(" ")
    assert scheme == "bearer"
    assert jwt.get_unverified_header(token)["kid"] == "KEY1234567"
    claims = jwt.decode(token, p8_key[1], algorithms=["ES256"])
    assert claims["iss"] == "LOCALTEAM1"
    assert abs(claims["iat"] - time.time()) < 60


def test_the_provider_token_is_renewed_when_due(p8_key):
    token = apns.ProviderToken(
        key_file=str(p8_key[0]), key_id="K", team_id="T", refresh_seconds=2400
    )
    first = token.get()
    assert token.get() == first
    token._issued_at -= 2400
    assert token.get() != first


def test_certificate_auth_sends_no_provider_token(settings, stand_in, tmp_path):
    settings.DATA_DIR = tmp_path  # the development chain stands in for the pass certificate
    server = stand_in()
    settings.APNS_URL = server.url
    apns.reset_client()
    try:
        assert apns.client().provider_token is None
        assert apns.client().send("tok").outcome is apns.Outcome.OK
    finally:
        apns.reset_client()
    assert "authorization" not in server.requests[0]["headers"]


@pytest.mark.django_db
def test_the_consumer_pushes_every_registration_of_the_card(apns_on, card):
    server = apns_on()
    register(card, "one")
    register(card, "two")
    register(factories.CardFactory(program=card.program), "elsewhere")
    push_card(card)
    assert sorted(r["headers"][":path"] for r in server.requests) == [
        "/3/device/one",
        "/3/device/two",
    ]
    assert PassRegistration.objects.count() == 3
    # Nothing is owed any more, nor held in a batch.
    assert not PassRegistration.objects.filter(push_due_at__isnull=False).exists()
    assert not PassRegistration.objects.filter(push_batch__isnull=False).exists()


@pytest.mark.django_db
def test_410_deletes_the_registration(apns_on, card):
    apns_on({"gone": "410"})
    register(card, "gone", ago=timedelta(hours=1))
    kept = register(card, "fine")
    push_card(card)
    assert list(PassRegistration.objects.all()) == [kept]


@pytest.mark.django_db
def test_410_keeps_a_registration_renewed_after_the_push_began(apns_on, card):
    apns_on({"gone": "410"})
    registration = register(card, "gone")
    PassRegistration.objects.filter(pk=registration.pk).update(
        updated_at=timezone.now() + timedelta(minutes=1)
    )
    push_card(card)
    assert PassRegistration.objects.filter(pk=registration.pk).exists()


@pytest.mark.django_db
def test_410_keeps_a_registration_made_after_apns_last_knew_the_token(apns_on, card):
    """Apple's rule: a 410's timestamp is when the token was last valid; a device that
    registered after it keeps its registration, even if before this push began."""
    server = apns_on({"gone": "410", "old": "410"})
    server.unregistered_at_ms = int((timezone.now() - timedelta(minutes=10)).timestamp() * 1000)
    renewed = register(card, "gone", ago=timedelta(minutes=5))
    register(card, "old", ago=timedelta(minutes=20))
    push_card(card)
    assert list(PassRegistration.objects.all()) == [renewed]


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["429", "500", "drop"])
def test_a_push_to_retry_fails_the_message_and_deletes_nothing(apns_on, card, answer):
    # "a-gone" goes first, alone; the other two then share the connection.
    server = apns_on({"trouble": answer, "a-gone": "410"})
    register(card, "a-gone", ago=timedelta(hours=1))
    trouble = register(card, "trouble")
    fine = register(card, "fine")
    with pytest.raises(PushFailed):
        push_card(card)
    assert server.requests
    # The 410 still counts; the one to retry stays, in the batch its message sends again.
    assert sorted(PassRegistration.objects.values_list("push_token", flat=True)) == [
        "fine",
        "trouble",
    ]
    (message,) = push_messages()
    trouble.refresh_from_db()
    fine.refresh_from_db()
    assert trouble.push_batch == message.pk
    if answer != "drop":  # a dropped connection fails every push in flight on it
        assert fine.push_batch is None
    server.answers["trouble"] = "200"
    server.requests.clear()
    send_apple_pushes(message)
    sent = [r["headers"][":path"] for r in server.requests]
    assert "/3/device/trouble" in sent
    if answer != "drop":
        assert sent == ["/3/device/trouble"]
    assert not PassRegistration.objects.filter(push_batch__isnull=False).exists()


@pytest.mark.django_db
def test_nothing_is_sent_unless_apns_is_enabled(apns_on, settings, card):
    server = apns_on()
    settings.APNS_ENABLED = False
    register(card, "one")
    push_card(card)
    assert server.requests == []
    assert not PassRegistration.objects.filter(push_batch__isnull=False).exists()


def test_a_push_given_up_on_frees_its_stream(apns_on, settings):
    server = apns_on({"slow": "200"}, delay=WAIT)
    settings.APNS_TIMEOUT_SECONDS = 0.2
    apns.reset_client()
    client = apns.client()
    client.concurrency = 5
    results = client.send_many([f"slow-{n}" for n in range(8)])
    assert {r.outcome for r in results} == {apns.Outcome.RETRY}
    connections = [c for c in client._connections if c is not None]
    # Every stream given up on was cancelled: none still holds a place on its connection.
    assert [c._h2.open_outbound_streams for c in connections] == [0] * len(connections)
    # No connection was given up on for it: 8 pushes, 5 at most on each, take two.
    assert server.connections == len(connections) == 2


def test_the_streams_in_flight_on_one_connection_stay_under_its_limit(apns_on):
    server = apns_on(delay=0.05)
    server.max_streams = 4
    apns.reset_client()
    client = apns.client()
    client.concurrency = 100
    results = client.send_many([f"one-{i}" for i in range(30)])
    assert {r.outcome for r in results} == {apns.Outcome.OK}
    # 30 tokens fit one connection's share: one connection, never more than 4 at once (h2 on
    # the stand-in refuses a stream over the limit, which would fail the connection).
    assert server.connections == 1
    assert server.most_in_flight <= 4
    assert server.most_in_flight > 1


def test_pushes_a_lost_connection_left_unsent_go_on_a_new_one(apns_on):
    server = apns_on({"tok-2": "drop"})
    server.max_streams = 1  # one at a time: the ones after the drop were never sent
    apns.reset_client()
    tokens = [f"tok-{i}" for i in range(6)]
    results = apns.client().send_many(tokens)
    assert [r.token for r in results] == tokens
    assert [r.outcome for r in results] == [
        apns.Outcome.OK,
        apns.Outcome.OK,
        apns.Outcome.RETRY,
        apns.Outcome.OK,
        apns.Outcome.OK,
        apns.Outcome.OK,
    ]
    assert server.connections == 2


def test_a_large_batch_spreads_over_a_few_connections(apns_on):
    server = apns_on(delay=0.02)
    client = apns.client()
    client.concurrency = 10
    tokens = [f"tok-{i}" for i in range(200)]
    results = client.send_many(tokens)
    assert [r.token for r in results] == tokens
    assert {r.outcome for r in results} == {apns.Outcome.OK}
    assert server.connections == apns.CONNECTIONS
    # Each connection's first push went alone (Apple's rule for token auth), then the rest.
    assert len(server.requests) == 200


def test_the_connections_are_a_setting(apns_on, settings):
    server = apns_on(delay=0.02)
    settings.APNS_CONNECTIONS = 2
    apns.reset_client()
    client = apns.client()
    client.concurrency = 10
    results = client.send_many([f"tok-{i}" for i in range(100)])
    assert {r.outcome for r in results} == {apns.Outcome.OK}
    assert server.connections == 2


@pytest.mark.parametrize(
    ("value", "errors"), [(1, 0), (4, 0), (16, 0), (0, 1), (17, 1), (-3, 1), ("4", 1), (True, 1)]
)
def test_the_connections_setting_is_checked(settings, value, errors):
    settings.APNS_CONNECTIONS = value
    found = checks.apns_connections()
    assert len(found) == errors
    assert all(error.id == "wallet.E002" for error in found)


@pytest.mark.django_db
def test_a_delivered_batch_is_recorded_once_per_card_pass(apns_on, card):
    from stampcard.wallet.models import PassSend

    apns_on()
    register(card, "one")
    register(card, "two")  # the same card on a second device
    other = factories.CardFactory(program=card.program)
    register(other, "three")
    push_card_changed(message_for(card))
    push_card_changed(message_for(other))
    # Each change owed a message; the first one sends every push due in the business.
    message = push_messages().first()
    send_apple_pushes(message)
    sends = sorted(PassSend.objects.values_list("card_id", "wallet", "message_id", "notified"))
    assert sends == sorted(
        [(card.pk, "apple", message.pk, False), (other.pk, "apple", message.pk, False)]
    )
    assert not PassRegistration.objects.filter(push_batch__isnull=False).exists()
    # Sent again (a redelivery after a crash): nothing recorded twice.
    PassRegistration.objects.update(push_batch=message.pk)
    send_apple_pushes(message)
    assert PassSend.objects.count() == 2


# 403: our credentials refused ------------------------------------------------------------

CREDENTIAL_REFUSALS = [
    "BadCertificate",
    "BadCertificateEnvironment",
    "InvalidProviderToken",
    "MissingProviderToken",
    "Forbidden",
]


@pytest.mark.parametrize("reason", CREDENTIAL_REFUSALS)
def test_a_403_refusing_our_credentials_is_a_configuration_error(apns_on, reason):
    apns_on({"tok": f"403 {reason}"})
    result = apns.client().send("tok")
    assert result == apns.Result("tok", apns.Outcome.CONFIG, 403, reason)


def test_an_expired_provider_token_is_retried_with_a_new_one(apns_on):
    server = apns_on({"tok": "403 ExpiredProviderToken"})
    client = apns.client()
    assert client.send("tok").outcome is apns.Outcome.RETRY
    server.answers["tok"] = "200"
    assert client.send("tok").outcome is apns.Outcome.OK
    first, second = (r["headers"]["authorization"] for r in server.requests)
    assert first != second


def test_after_an_invalid_provider_token_the_replaced_key_signs_the_next_one(apns_on, p8_key):
    server = apns_on({"tok": "403 InvalidProviderToken"})
    client = apns.client()
    assert client.send("tok").outcome is apns.Outcome.CONFIG
    # The operator puts the right key in place of the wrong one.
    new_key = ec.generate_private_key(ec.SECP256R1())
    p8_key[0].write_bytes(
        new_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server.answers["tok"] = "200"
    assert client.send("tok").outcome is apns.Outcome.OK
    token = server.requests[-1]["headers"]["authorization"].split(" ")[1]
    assert jwt.decode(token, new_key.public_key(), algorithms=["ES256"])["iss"] == "LOCALTEAM1"
    # And the connection the refused token was used on was not kept.
    assert server.connections == 2


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["BadCertificate", "InvalidProviderToken"])
def test_a_403_parks_the_push_message_at_once_and_a_replay_sends_it(apns_on, card, caplog, reason):
    from stampcard.outbox import dispatch
    from stampcard.outbox.models import MessageStatus

    server = apns_on({"refused-1": f"403 {reason}", "refused-2": f"403 {reason}"})
    register(card, "refused-1")
    register(card, "refused-2")
    push_card_changed(message_for(card))
    (message,) = push_messages()
    with caplog.at_level(logging.ERROR):
        assert dispatch.deliver(message.pk) == MessageStatus.DEAD
    message.refresh_from_db()
    # Tried once, not OUTBOX_MAX_ATTEMPTS times; the error says what and how to fix it.
    assert message.attempts == 1
    assert f"403 {reason}" in message.last_error
    assert "APNs refused this server's credentials (403 " + reason in caplog.text
    assert "replay" in caplog.text
    # No secret and no device in what is logged or kept.
    bearer = server.requests[0]["headers"]["authorization"].split(" ")[1]
    for secret in (bearer, "refused-1", "refused-2"):
        assert secret not in caplog.text
        assert secret not in message.last_error
    # The pushes stay in the parked message's batch ...
    assert set(PassRegistration.objects.values_list("push_batch", flat=True)) == {message.pk}
    # ... and go out when the operator, the key fixed, replays it.
    server.answers.clear()
    server.requests.clear()
    assert dispatch.replay([message.pk]) == 1
    assert dispatch.deliver(message.pk) == MessageStatus.DELIVERED
    assert sorted(r["headers"][":path"] for r in server.requests) == [
        "/3/device/refused-1",
        "/3/device/refused-2",
    ]
    assert not PassRegistration.objects.filter(push_batch__isnull=False).exists()
