"""The invitation's life through a real SMTP server on loopback: the mail, its link, acceptance."""

import re
from email.header import decode_header, make_header
from email.message import Message
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils.translation import gettext, override

from stampcard.background import business_scope
from stampcard.outbox import dispatch
from stampcard.outbox.models import MessageStatus, OutboxMessage, Topic
from stampcard.tenancy import team
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Invitation, Membership
from tests.mail_server import deliver_mail, smtp_inbox

pytestmark = pytest.mark.django_db
User = get_user_model()
BASE = "https://cards.example.test"


@pytest.fixture
def public_base(settings):
    settings.PUBLIC_BASE_URL = BASE + "/"


def parts(message: Message) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def links(text: str) -> list[str]:
    return re.findall(re.escape(BASE) + r"/invite/[A-Za-z0-9_-]+/", text)


def test_invite_mail_accept_with_a_new_account(client, business, owner, shop, public_base):
    business.default_language = "th"
    business.save(update_fields=["default_language"])
    User.objects.filter(pk=owner.pk).update(first_name="Alice")
    client.force_login(owner)
    with smtp_inbox() as inbox:
        response = client.post(
            "/b/corner-cafe/team/",
            {"email": "nok@example.org", "role": "staff", "locations": [shop.pk]},
        )
        assert inbox.messages == []  # sent from the outbox after the request, not in it
        assert deliver_mail() == 1
    assert response.status_code == 302
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "nok@example.org"
    with override("th"):
        subject = gettext("Join %(business)s on stampcard") % {"business": "Corner Cafe"}
        welcome = gettext("Open this link to accept:")
    assert str(make_header(decode_header(message["Subject"]))) == subject
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    assert welcome in bodies["text/plain"]
    assert "Riverside" in bodies["text/plain"]
    assert "Alice" in bodies["text/plain"]
    (link,) = set(links(bodies["text/plain"]))
    assert link in bodies["text/html"]

    # The stranger who received it follows the link from the mail itself.
    client.logout()
    path = urlsplit(link).path
    page = client.get(path, follow=True)
    assert page.status_code == 200
    assert page.redirect_chain == [("/invite/accept/", 302)]
    response = client.post("/invite/accept/", {"name": "Nok", "password": "kaffee-und-kuchen-42"})
    assert response.status_code == 302
    nok = User.objects.get(username="nok@example.org")
    membership = Membership.objects.get(user=nok)
    assert (membership.role, list(membership.locations.all())) == ("staff", [shop])
    assert client.get(path).status_code == 410  # once


def test_a_resent_mail_kills_the_first_link(client, business, owner, public_base):
    actor = Actor.for_member(Membership.objects.get(user=owner))
    with smtp_inbox() as inbox:
        issued = team.invite_member(
            business=business, actor=actor, email="nok@example.org", role="manager"
        )
        team.resend_invitation(business=business, actor=actor, invitation=issued.invitation)
        assert deliver_mail() == 2
    first, second = (links(parts(m)["text/plain"])[0] for m in inbox.messages)
    assert first != second
    assert client.get(urlsplit(first).path).status_code == 404
    nok = User.objects.create_user("nok@example.org", email="nok@example.org", password="p-1234567")
    client.force_login(nok)
    assert client.post(urlsplit(first).path).status_code == 404
    assert client.get(urlsplit(second).path, follow=True).status_code == 200
    assert client.post("/invite/accept/").status_code == 302
    assert Membership.objects.get(user=nok).role == "manager"


def test_a_mail_server_that_is_down_delays_the_invitation_mail_without_losing_it(
    client, business, owner, settings, public_base
):
    """The page never waits on the mail server: the mail waits in the outbox for it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens: connection refused
    settings.EMAIL_TIMEOUT = 5
    client.force_login(owner)
    response = client.post(
        "/b/corner-cafe/team/", {"email": "nok@example.org", "role": "staff"}, follow=True
    )
    assert "Invitation sent to nok@example.org." in response.content.decode()
    assert Invitation.objects.get().is_open
    waiting = OutboxMessage.objects.get(topic=Topic.MAIL_SEND)
    with business_scope(business.pk):
        assert dispatch.deliver(waiting.pk) == MessageStatus.FAILED
    with smtp_inbox() as inbox:
        OutboxMessage.objects.filter(pk=waiting.pk).update(status=MessageStatus.PENDING)
        assert deliver_mail() == 1
    (message,) = inbox.messages
    assert links(parts(message)["text/plain"])
