"""Sign-ups are limited per client address and per e-mail address, with a clear answer."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from stampcard.accounts import signup
from tests.mail_server import deliver_mail, smtp_inbox
from tests.test_settings import run

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def inbox():
    with smtp_inbox() as received:
        yield received


def sign_up(client, address, ip="198.51.100.7", **headers):
    return client.post(
        reverse("signup"), {"email": address, "password": PASSWORD}, REMOTE_ADDR=ip, **headers
    )


def test_one_email_address_is_signed_up_a_few_times_then_refused(client, inbox, settings):
    # From different addresses each time: the e-mail's own limit refuses it.
    answers = [
        sign_up(client, "Target@example.org", ip=f"198.51.100.{n}").status_code
        for n in range(settings.SIGNUPS_PER_EMAIL)
    ]
    assert answers == [302] * settings.SIGNUPS_PER_EMAIL
    refused = sign_up(client, "target@EXAMPLE.org", ip="203.0.113.9")
    assert refused.status_code == 429
    assert "Too many sign-ups for this e-mail address" in refused.content.decode()
    # The refused one sent nothing: the inbox holds one message per accepted sign-up.
    deliver_mail()
    assert len(inbox.messages) == settings.SIGNUPS_PER_EMAIL
    # Another address from the same place is not held back by it.
    assert sign_up(client, "someone-else@example.org", ip="203.0.113.9").status_code == 302


def test_one_client_address_starts_a_few_accounts_then_is_refused(client, inbox, settings):
    for n in range(settings.SIGNUPS_PER_ADDRESS):
        assert sign_up(client, f"person{n}@example.org").status_code == 302
    refused = sign_up(client, "one-more@example.org")
    assert refused.status_code == 429
    assert "Too many accounts were started from here" in refused.content.decode()
    assert not get_user_model().objects.filter(username="one-more@example.org").exists()
    deliver_mail()
    assert len(inbox.messages) == settings.SIGNUPS_PER_ADDRESS
    # Someone elsewhere still signs up.
    assert sign_up(client, "one-more@example.org", ip="192.0.2.44").status_code == 302


def test_invalid_forms_do_not_count(client, inbox, settings):
    for _ in range(settings.SIGNUPS_PER_ADDRESS + 2):
        answer = client.post(
            reverse("signup"), {"email": "x@example.org", "password": "1"}, REMOTE_ADDR="192.0.2.1"
        )
        assert answer.status_code == 200
    assert sign_up(client, "x@example.org", ip="192.0.2.1").status_code == 302


def test_the_refusal_speaks_the_visitors_language(client, inbox, settings):
    for n in range(settings.SIGNUPS_PER_EMAIL):
        sign_up(client, "thai@example.org", ip=f"192.0.2.{n + 10}")
    refused = sign_up(client, "thai@example.org", ip="192.0.2.99", HTTP_ACCEPT_LANGUAGE="th")
    assert refused.status_code == 429
    body = refused.content.decode()
    assert '<html lang="th">' in body
    assert "Too many sign-ups" not in body
    assert "มีการสมัครด้วยอีเมลนี้มากเกินไป" in body


def test_the_email_is_kept_only_as_a_hash(client, inbox):
    from django.core.cache import cache

    sign_up(client, "private@example.org")
    by_address, by_email = signup._throttle_keys(_Request("198.51.100.7"), "private@example.org")
    assert "private@example.org" not in by_email
    assert cache.get(by_email) == 1
    assert cache.get(by_address) == 1


class _Request:
    def __init__(self, ip: str) -> None:
        self.META = {"REMOTE_ADDR": ip}
        self.headers: dict[str, str] = {}


def test_a_lower_limit_set_for_the_installation_holds(client, inbox, settings):
    settings.SIGNUPS_PER_EMAIL = 1
    settings.SIGNUPS_PER_ADDRESS = 2
    assert sign_up(client, "once@example.org", ip="192.0.2.50").status_code == 302
    assert sign_up(client, "once@example.org", ip="192.0.2.51").status_code == 429
    assert sign_up(client, "twice@example.org", ip="192.0.2.50").status_code == 302
    refused = sign_up(client, "thrice@example.org", ip="192.0.2.50")
    assert refused.status_code == 429
    assert "Too many accounts were started from here" in refused.content.decode()


LIMITS = "SIGNUPS_PER_ADDRESS", "SIGNUPS_PER_EMAIL", "SIGNUP_WINDOW_SECONDS"
SHOW = f"from django.conf import settings as s; print([getattr(s, n) for n in {LIMITS!r}])"


def test_the_limits_come_from_the_environment_with_today_s_defaults(tmp_path):
    defaults = run(SHOW, {}, tmp_path)
    assert defaults.stdout.strip() == "[10, 3, 3600]", defaults.stderr
    chosen = run(
        SHOW,
        {"SIGNUPS_PER_ADDRESS": "50", "SIGNUPS_PER_EMAIL": "5", "SIGNUP_WINDOW_SECONDS": "600"},
        tmp_path,
    )
    assert chosen.stdout.strip() == "[50, 5, 600]", chosen.stderr


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_limit_that_makes_no_sense_stops_the_start(tmp_path, name, value):
    result = run(SHOW, {name: value}, tmp_path)
    assert result.returncode != 0
    assert name in result.stderr or "invalid literal" in result.stderr
