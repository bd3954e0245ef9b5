"""E-mail from the outbox (stampcard.mail), against a real SMTP server on loopback."""

import contextvars
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import ScopeError

from stampcard import mail
from stampcard.outbox import dispatch
from stampcard.outbox.models import MessageStatus, OutboxMessage, Receipt, Topic
from stampcard.outbox.tasks import deliver_message, wipe_stale_mail
from stampcard.vouchers.models import Voucher
from tests.concurrency import needs_postgres
from tests.mail_server import Inbox, _free_port, deliver_mail, smtp_inbox

SECRET_LINK = "https://cards.example.test/j/one-time-secret/"


def send(**kwargs):
    values = {"to": ["ann@example.org"], "subject": "Your card", "body": f"Open {SECRET_LINK}"}
    return mail.send_later(**{**values, **kwargs})


def mail_message():
    return OutboxMessage.objects.get(topic=Topic.MAIL_SEND)


def look(seen: list[object]) -> None:
    try:
        seen.append(dispatch.claim_due())
    finally:
        connections.close_all()


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_an_e_mail_leaves_only_after_its_transaction_commits():
    seen_by_dispatcher: list[object] = []
    with smtp_inbox() as inbox, transaction.atomic():
        send()
        # A dispatcher (another connection) cannot take what is not committed yet.
        looker = threading.Thread(target=look, args=(seen_by_dispatcher,))
        looker.start()
        looker.join()
        assert inbox.messages == []
    assert seen_by_dispatcher == [[]]
    with smtp_inbox() as inbox:
        # What `make run` does without a broker: the dispatcher process delivers it.
        call_command("deliver_outbox", "--once", "--threads", "1")
        (received,) = inbox.messages
    assert received["To"] == "ann@example.org"
    assert received["Subject"] == "Your card"
    assert received["Message-ID"].startswith(f"<stampcard-mail-{mail_message().pk}@")
    assert SECRET_LINK in inbox.body()
    message = mail_message()
    assert message.status == MessageStatus.DELIVERED
    assert message.payload == mail.WIPED  # the link is not kept once sent


def change_that_fails() -> None:
    with transaction.atomic():
        send()
        raise RuntimeError("the change failed")


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing():
    with smtp_inbox() as inbox:
        with pytest.raises(RuntimeError):
            change_that_fails()
        assert not OutboxMessage.objects.exists()
        assert deliver_mail() == 0
        assert inbox.messages == []


@pytest.mark.django_db
def test_a_mail_server_down_then_up_gets_the_e_mail_on_a_retry(settings):
    port = _free_port()  # nothing listens there yet
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    send()
    deliver_mail()
    message = mail_message()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now()  # backs off
    assert dispatch.claim_due() == []
    assert message.payload["to"] == ["ann@example.org"]  # kept for the retry

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        for message_id, business_id in dispatch.claim_due():
            assert business_id is None  # an e-mail of no business: no scope is opened
            assert dispatch.deliver(message_id) == MessageStatus.DELIVERED
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    assert SECRET_LINK in inbox.body()
    assert mail_message().payload == mail.WIPED


@pytest.mark.django_db
def test_a_repeated_delivery_sends_no_second_e_mail():
    with smtp_inbox() as inbox:
        send()
        deliver_mail()
        message = mail_message()
        # A crash after the server took it, before the receipt: delivered again.
        Receipt.objects.filter(message=message).delete()
        OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.PENDING)
        assert dispatch.deliver(message.pk) == MessageStatus.DELIVERED
        assert len(inbox.messages) == 1


@pytest.mark.django_db
def test_an_e_mail_past_its_use_is_wiped_unsent_even_when_dead(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()
    dead = send(valid_for=timedelta(minutes=15))
    waiting = send(to=["bo@example.org"], valid_for=timedelta(minutes=15))
    fresh = send(to=["cy@example.org"], valid_for=timedelta(hours=1))
    dispatch.deliver(dead.pk)
    assert OutboxMessage.objects.get(pk=dead.pk).status == MessageStatus.DEAD

    assert mail.wipe_stale(now=timezone.now() + timedelta(minutes=16)) == 2
    payloads = dict(OutboxMessage.objects.values_list("pk", "payload"))
    assert payloads[dead.pk] == payloads[waiting.pk] == mail.WIPED
    assert payloads[fresh.pk]["to"] == ["cy@example.org"]
    with smtp_inbox() as inbox:
        assert dispatch.deliver(waiting.pk) == MessageStatus.DELIVERED
        assert inbox.messages == []  # nothing left to send, and nothing sent


@pytest.mark.django_db
def test_a_late_delivery_drops_the_e_mail_and_its_text():
    message = send(valid_for=timedelta(minutes=15))
    OutboxMessage.objects.filter(pk=message.pk).update(
        payload={**message.payload, "discard_after": "2000-01-01T00:00:00Z"}
    )
    with smtp_inbox() as inbox:
        deliver_mail()
        assert inbox.messages == []
    assert mail_message().payload == mail.WIPED


@pytest.mark.django_db
def test_the_wipe_is_a_periodic_job(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "stampcard.outbox.tasks.wipe_stale_mail" in tasks
    assert wipe_stale_mail.name == "stampcard.outbox.tasks.wipe_stale_mail"


@pytest.mark.django_db
def test_an_e_mail_of_no_business_is_delivered_with_no_scope_open(settings):
    settings.OUTBOX_CONSUMERS = {Topic.MAIL_SEND: ["tests.test_mail.read_vouchers"]}
    message = send()
    # The Celery door opens no scope for it (the test's own disabled scope left behind, as
    # in a worker): a business's data cannot be read.
    result = contextvars.Context().run(
        deliver_message.apply, kwargs={"message_id": message.pk, "business_id": None}
    )
    assert result.get() == MessageStatus.FAILED
    assert ScopeError.__name__ in OutboxMessage.objects.get(pk=message.pk).last_error


def read_vouchers(message: OutboxMessage) -> None:
    Voucher.objects.count()  # raises without a scope


def test_an_e_mail_needs_a_recipient():
    with pytest.raises(ValueError, match="recipient"):
        mail.send_later(to=[""], subject="x", body="y")


@pytest.mark.django_db
def test_a_password_reset_e_mail_is_sent_from_the_outbox(client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("ann", email="ann@example.org", password="pw-12345678x")
    with smtp_inbox() as inbox:
        response = client.post(reverse("password_reset"), {"email": "ann@example.org"})
        assert response.status_code == 302
        assert inbox.messages == []  # not from the request
        assert deliver_mail() == 1
        (received,) = inbox.messages
        assert received["To"] == "ann@example.org"
        assert "/accounts/password/reset/" in inbox.body()
    assert mail_message().payload == mail.WIPED
