"""A real SMTP server on loopback (aiosmtpd), for tests that send mail through Django's SMTP
backend."""

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

from aiosmtpd.controller import Controller
from django.test import override_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def body(self, index: int = -1) -> str:
        message = self.messages[index]
        part = message.get_payload(decode=True)
        assert isinstance(part, bytes)
        return part.decode(message.get_content_charset() or "utf-8")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    """Django's SMTP backend pointed at a fresh server; yields what it receives."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield inbox
    finally:
        controller.stop()


def deliver_mail() -> int:
    """Deliver the e-mails waiting in the outbox, as the dispatcher would; how many."""
    from stampcard.background import business_scope
    from stampcard.outbox import dispatch
    from stampcard.outbox.models import OutboxMessage, Topic

    waiting = list(
        OutboxMessage.objects.filter(topic=Topic.MAIL_SEND, status="pending").values_list(
            "pk", "business_id"
        )
    )
    for message_id, business_id in waiting:
        with business_scope(business_id):
            dispatch.deliver(message_id)
    return len(waiting)
