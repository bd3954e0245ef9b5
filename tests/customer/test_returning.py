"""A returning customer proves they own the e-mail address: a real SMTP server on loopback."""

import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.urls import reverse
from django.utils import timezone

from stampcard.customer import services
from stampcard.customer.models import ReturnLink
from stampcard.loyalty.models import Card
from stampcard.outbox.models import OutboxMessage
from tests import factories
from tests.mail_server import deliver_mail

pytestmark = pytest.mark.django_db


def urls(program):
    kwargs = {"slug": program.business.slug, "program_id": program.pk}
    return (
        reverse("customer:return_request", kwargs=kwargs),
        reverse("customer:return_code", kwargs=kwargs),
    )


def ask(client, program, email):
    request_url, _ = urls(program)
    response = client.post(request_url, {"email": email})
    assert response.status_code == 200
    deliver_mail()  # the outbox sends it after the request
    ticket = re.search(r'name="ticket" value="([^"]+)"', response.content.decode())
    assert ticket is not None
    return ticket.group(1)


def body(message: dict[str, object]) -> str:
    data = message["data"]
    assert isinstance(data, bytes)
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text: str = parsed.get_content()
    return text


def link_and_code(message):
    text = body(message)
    link = re.search(r"https://cards\.example\.test(/j/\S+/)", text)
    code = re.search(r"\b(\d{6})\b", text)
    assert link is not None
    assert code is not None
    return link.group(1), code.group(1)


@pytest.fixture
def known(join_program):
    customer = factories.CustomerFactory(
        business=join_program.business, email="ann@example.org", language="th"
    )
    return factories.CardFactory(program=join_program, customer=customer)


def test_the_e_mailed_link_opens_the_card_once(client, join_program, known, smtp):
    ask(client, join_program, "ANN@example.org ")
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["to"] == ["ann@example.org"]
    link, _code = link_and_code(smtp.messages[0])
    assert re.search(r"[\u0e00-\u0e7f]", body(smtp.messages[0]))  # in the customer's language

    # Opening the link (as a mail scanner would) spends nothing; its button does.
    assert client.get(link).status_code == 200
    opened = client.post(link)
    assert opened.status_code == 302
    assert opened["Location"] == f"/c/{known.token}/"
    assert client.post(link).status_code == 410


def test_the_e_mailed_code_opens_the_card_once(client, join_program, known, smtp):
    ticket = ask(client, join_program, "ann@example.org")
    _link, code = link_and_code(smtp.messages[0])
    _, code_url = urls(join_program)
    opened = client.post(code_url, {"ticket": ticket, "code": f"{code[:3]} {code[3:]}"})
    assert opened["Location"] == f"/c/{known.token}/"
    again = client.post(code_url, {"ticket": ticket, "code": code})
    assert again.status_code == 400
    assert known.token not in again.content.decode()


def test_wrong_codes_lock_the_ticket(client, join_program, known, smtp):
    ticket = ask(client, join_program, "ann@example.org")
    _link, code = link_and_code(smtp.messages[0])
    _, code_url = urls(join_program)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _attempt in range(services.MAX_CODE_ATTEMPTS):
        assert client.post(code_url, {"ticket": ticket, "code": wrong}).status_code == 400
    assert client.post(code_url, {"ticket": ticket, "code": code}).status_code == 400
    assert ReturnLink.objects.get().used_at is None


def test_late_links_and_codes_open_nothing(client, join_program, known, smtp):
    ticket = ask(client, join_program, "ann@example.org")
    link, code = link_and_code(smtp.messages[0])
    ReturnLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _, code_url = urls(join_program)
    assert client.post(code_url, {"ticket": ticket, "code": code}).status_code == 400
    assert client.post(link).status_code == 410


def test_an_unknown_address_is_sent_nothing(client, join_program, known, smtp):
    ask(client, join_program, "nobody@example.org")
    assert smtp.messages == []
    assert ReturnLink.objects.count() == 0


def test_sends_to_one_address_are_limited(client, join_program, known, smtp):
    for _attempt in range(services.RETURN_LINKS_PER_HOUR + 2):
        ask(client, join_program, "ann@example.org")
    assert len(smtp.messages) == services.RETURN_LINKS_PER_HOUR


def test_only_hashes_are_kept(client, join_program, known, smtp):
    ticket = ask(client, join_program, "ann@example.org")
    link, code = link_and_code(smtp.messages[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    row = ReturnLink.objects.values().get()
    kept = " ".join(str(value) for value in row.values())
    # The sent e-mail's text is gone from the outbox too.
    kept += " ".join(str(p) for p in OutboxMessage.objects.values_list("payload", flat=True))
    for secret in (ticket, token, code):
        assert secret not in kept


def test_a_link_opens_only_on_its_own_program(client, join_program, known, smtp):
    other = factories.ProgramFactory(business=join_program.business, name="Cake card")
    ask(client, join_program, "ann@example.org")
    link, _code = link_and_code(smtp.messages[0])
    foreign = link.replace(f"/{join_program.pk}/", f"/{other.pk}/")
    assert client.post(foreign).status_code == 410
    assert client.post(link).status_code == 302


def test_a_known_person_joining_another_program_gets_a_card_there_after_proof(
    client, join_program, known, smtp
):
    cakes = factories.ProgramFactory(business=join_program.business, name="Cake card")
    join = reverse("customer:join", kwargs={"slug": cakes.business.slug, "program_id": cakes.pk})
    answer = client.post(join, {"name": "Ann", "email": "ann@example.org"})
    assert "Check your e-mail" in answer.content.decode()
    assert not Card.objects.filter(program=cakes).exists()
    deliver_mail()
    link, _code = link_and_code(smtp.messages[0])
    opened = client.post(link)
    card = Card.objects.get(program=cakes)
    assert card.customer_id == known.customer_id
    assert opened["Location"] == f"/c/{card.token}/"


def test_a_broken_mail_server_changes_nothing_the_customer_sees(
    client, join_program, known, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens: the connection is refused
    request_url, _ = urls(join_program)
    response = client.post(request_url, {"email": "ann@example.org"})
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    deliver_mail()  # fails, and is left for a retry
    waiting = OutboxMessage.objects.get(topic="mail.send")
    assert waiting.status == "failed"
    assert waiting.payload["to"] == ["ann@example.org"]


@pytest.mark.parametrize("ticket", ["", "x" * 5000, "../../etc", "\x00"])
def test_hostile_tickets_and_codes_open_nothing(client, join_program, known, ticket):
    _, code_url = urls(join_program)
    response = client.post(code_url, {"ticket": ticket, "code": "123456"})
    assert response.status_code == 400
    assert known.token not in response.content.decode()
