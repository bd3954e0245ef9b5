"""The outbox: messages written with their change, delivered at least once, applied once."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from stampcard.background import business_scope
from stampcard.loyalty import errors
from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.loyalty.services.card_state import _PreparingCursor
from stampcard.outbox import dispatch
from stampcard.outbox.models import MessageStatus, OutboxMessage, Receipt, Topic
from stampcard.outbox.services import publish
from stampcard.tenancy.actors import Actor
from tests import factories
from tests.outbox import consumers

ACTOR = Actor.system()  # these tests are about the messages, not who stamps
RECORD = "tests.outbox.consumers.record"
FAIL = "tests.outbox.consumers.fail"


def stamp(card, **kwargs):
    return add_stamps(
        business=card.business, actor=ACTOR, source=StampSource.STAFF, card_id=card.pk, **kwargs
    )


def deliver_all():
    """What a dispatcher does: take what is due, deliver each in its business's scope."""
    for message_id, business_id in dispatch.claim_due():
        with business_scope(business_id):
            dispatch.deliver(message_id)


@pytest.fixture
def consumers_of_card_changed(settings):
    def configure(*paths):
        settings.OUTBOX_CONSUMERS = {Topic.CARD_CHANGED: list(paths)}

    return configure


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["unlocked", "locked"])
def test_every_stamp_tells_the_card_changed_with_its_new_version(card, path):
    key = "scan-1" if path == "locked" else None  # a key takes the locked path
    stamp(card, idempotency_key=key)
    card.refresh_from_db()
    (message,) = OutboxMessage.objects.all()
    assert message.topic == Topic.CARD_CHANGED
    assert message.payload == {"card_id": card.pk, "version": card.version}
    assert message.business_id == card.business_id
    assert message.status == MessageStatus.PENDING


@pytest.mark.django_db
def test_a_refused_stamp_tells_nothing(card):
    card.program.status = "draft"
    card.program.save()
    with pytest.raises(errors.ProgramInactive):
        stamp(card)
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_plain_stamp_writes_its_message_in_its_one_write_statement(card):
    if connection.vendor != "postgresql":
        pytest.skip("the single-statement write is PostgreSQL's")
    statements = []
    execute = _PreparingCursor.execute

    def counting(self, query, params=None, **kwargs):
        statements.append(query)
        return execute(self, query, params, **kwargs)

    with mock.patch.object(_PreparingCursor, "execute", counting):
        stamp(card)
    assert len(statements) == 2  # read the card; then move it, write the ledger and the message
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_publish_belongs_inside_the_transaction_of_the_change(business):
    with pytest.raises(RuntimeError):
        publish(business_id=business.pk, topic=Topic.CUSTOMER_JOINED, customer_id=1)
    with transaction.atomic():
        publish(business_id=business.pk, topic=Topic.CUSTOMER_JOINED, customer_id=1)
    assert OutboxMessage.objects.get().payload == {"customer_id": 1}


@pytest.mark.django_db
def test_a_message_delivered_twice_is_applied_once(card, consumers_of_card_changed):
    consumers_of_card_changed(RECORD)
    stamp(card)
    message = OutboxMessage.objects.get()
    with business_scope(card.business_id):
        assert dispatch.deliver(message.pk) == MessageStatus.DELIVERED
        # A redelivery (a worker died after applying, a broker handed the task out twice):
        OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.PENDING)
        assert dispatch.deliver(message.pk) == MessageStatus.DELIVERED
    assert consumers.applied() == {message.pk: 1}
    message.refresh_from_db()
    assert message.delivered_at is not None


@pytest.mark.django_db
def test_a_failing_consumer_is_retried_later_then_dead_and_replayable(
    card, consumers_of_card_changed, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    consumers_of_card_changed(RECORD, FAIL)
    stamp(card)
    message = OutboxMessage.objects.get()
    delays = []
    for attempt in range(1, 4):
        before = timezone.now()
        with business_scope(card.business_id):
            status = dispatch.deliver(message.pk)
        message.refresh_from_db()
        assert message.attempts == attempt
        assert message.last_error == "ConnectionError: the receiving end is down"
        delays.append((message.next_attempt_at - before).total_seconds())
        # Not due before its pause is over: nothing takes it now.
        assert dispatch.claim_due() == []
    assert status == MessageStatus.DEAD
    assert message.status == MessageStatus.DEAD
    assert delays[0] < delays[1] < delays[2]  # the pause grows
    # The consumer that worked applied the message once, however often it was retried.
    assert consumers.applied() == {message.pk: 1}
    assert list(Receipt.objects.values_list("consumer", flat=True)) == [RECORD]

    consumers_of_card_changed(RECORD)  # the receiving end is fixed; an operator replays
    assert dispatch.replay([message.pk]) == 1
    deliver_all()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.DELIVERED, 0)
    assert consumers.applied() == {message.pk: 1}


@pytest.mark.django_db
def test_a_claimed_message_is_left_alone_until_its_lease_runs_out(card, settings):
    stamp(card)
    message = OutboxMessage.objects.get()
    assert dispatch.claim_due() == [(message.pk, card.business_id)]
    assert dispatch.claim_due() == []  # another dispatcher: it is taken
    # The first dispatcher died with it; its lease runs out and the message is due again.
    OutboxMessage.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert dispatch.claim_due() == [(message.pk, card.business_id)]


@pytest.mark.django_db
def test_messages_without_consumers_are_simply_delivered(card, consumers_of_card_changed):
    consumers_of_card_changed()
    stamp(card)
    deliver_all()
    assert OutboxMessage.objects.get().status == MessageStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_the_in_process_dispatcher_delivers_everything_due(consumers_of_card_changed):
    consumers_of_card_changed(RECORD)
    cards = [factories.CardFactory() for _ in range(5)]
    for card in cards:
        stamp(card)
    stamp(cards[1])
    # The tests' SQLite is one shared in-memory database, which locks whole tables: one thread.
    threads = "2" if connection.vendor == "postgresql" else "1"
    call_command("deliver_outbox", "--once", "--threads", threads)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"delivered"}
    assert sorted(consumers.applied().values()) == [1] * 6


@pytest.mark.django_db
def test_delivered_messages_are_purged_after_a_while(card, consumers_of_card_changed):
    consumers_of_card_changed()
    stamp(card)
    stamp(card)
    deliver_all()
    OutboxMessage.objects.filter(pk=OutboxMessage.objects.order_by("id").first().pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    assert dispatch.purge_delivered(older_than=timedelta(days=7)) == 1
    assert OutboxMessage.objects.count() == 1


def test_operators_see_trouble_and_replay_dead_messages_in_the_admin(
    db, client, card, consumers_of_card_changed, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    consumers_of_card_changed(FAIL)
    stamp(card)
    deliver_all()
    message = OutboxMessage.objects.get()
    assert message.status == MessageStatus.DEAD
    operator = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    page = client.get("/admin/outbox/outboxmessage/", {"status__exact": "dead"})
    assert page.status_code == 200
    assert f"/admin/outbox/outboxmessage/{message.pk}/change/" in page.content.decode()
    response = client.post(
        "/admin/outbox/outboxmessage/",
        {"action": "replay", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 0)


@pytest.mark.django_db
def test_the_celery_task_opens_the_business_scope_and_delivers(card, consumers_of_card_changed):
    from stampcard.outbox.tasks import deliver_message

    consumers_of_card_changed(RECORD)  # the recording consumer asserts the scope is open
    stamp(card)
    message = OutboxMessage.objects.get()
    # The test runs with scopes disabled; only the task's door can name the business.
    result = deliver_message.apply(
        kwargs={"message_id": message.pk, "business_id": card.business_id}
    )
    assert result.get() == "delivered"
    assert consumers.applied() == {message.pk: 1}


@pytest.mark.django_db(transaction=True)
def test_work_outside_the_database_runs_without_a_transaction_and_once_per_receipt(
    consumers_of_card_changed,
):
    """A slow receiver must hold no lock (on SQLite a write transaction stops every stamp)."""
    consumers_of_card_changed("tests.outbox.consumers.note_transaction")
    consumers.seen_in_transaction.clear()
    card = factories.CardFactory()
    stamp(card)
    message = OutboxMessage.objects.get()
    with business_scope(card.business_id):
        dispatch.deliver(message.pk)
        OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.PENDING)
        dispatch.deliver(message.pk)  # delivered again: its receipt says it was done
    assert consumers.seen_in_transaction == [False]


@pytest.mark.django_db(transaction=True)
def test_the_in_process_dispatcher_waits_out_a_database_that_went_away(
    consumers_of_card_changed, settings
):
    from django.db import OperationalError

    settings.OUTBOX_POLL_SECONDS = 0.01
    consumers_of_card_changed(RECORD)
    card = factories.CardFactory()
    stamp(card)
    claim = dispatch.claim_due
    calls = []

    def flaky(limit=100):
        calls.append(limit)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return claim(limit)

    with mock.patch.object(dispatch, "claim_due", flaky):
        call_command("deliver_outbox", "--once", "--threads", "1")
    assert len(calls) > 1
    assert OutboxMessage.objects.get().status == MessageStatus.DELIVERED
