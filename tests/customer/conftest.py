"""A program whose join page asks for everything, and a real SMTP server on loopback."""

import socket
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from tests import factories


@pytest.fixture
def join_program(business):
    business.country = "TH"
    business.save(update_fields=["country"])
    return factories.ProgramFactory(
        business=business,
        name="Coffee card",
        stamps_goal=8,
        reward_title="Free coffee",
        join_name="required",
        join_email="optional",
        join_phone="optional",
        join_birthday="optional",
        join_marketing_consent="optional",
    )


@dataclass
class Inbox:
    messages: list[dict[str, object]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's name
        self.messages.append({"to": list(envelope.rcpt_tos), "data": bytes(envelope.content)})
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp(settings):
    """Django's SMTP backend pointed at an aiosmtpd server on loopback; yields its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.PUBLIC_BASE_URL = "https://cards.example.test"
    try:
        yield inbox
    finally:
        controller.stop()
