"""A session ends after a while without requests, and 12 hours after login at the latest."""

import time

from django.conf import settings

from stampcard.accounts.middleware import SESSION_SEEN, SESSION_STARTED
from tests.accounts.conftest import PASSWORD

BUSINESS_PAGE = "/b/corner-cafe/"


def backdate(client, **seconds_ago):
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_limits_are_at_most_twelve_hours_and_idle_is_shorter():
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert 0 < settings.SESSION_IDLE_TIMEOUT < settings.SESSION_COOKIE_AGE


def test_a_login_starts_the_clock(client, account, username):
    client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    session = client.session
    assert abs(session[SESSION_STARTED] - time.time()) < 60
    assert session[SESSION_SEEN] == session[SESSION_STARTED]


def test_a_session_idle_too_long_is_logged_out(client, account):
    client.force_login(account)
    backdate(client, **{SESSION_SEEN: settings.SESSION_IDLE_TIMEOUT - 120})
    assert client.get(BUSINESS_PAGE).status_code == 200  # still within the idle limit

    backdate(client, **{SESSION_SEEN: settings.SESSION_IDLE_TIMEOUT + 1})
    answer = client.get(BUSINESS_PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_a_request_keeps_a_session_alive(client, account):
    client.force_login(account)
    backdate(client, **{SESSION_SEEN: settings.SESSION_IDLE_TIMEOUT - 120})
    client.get(BUSINESS_PAGE)
    assert time.time() - client.session[SESSION_SEEN] < 60


def test_a_busy_session_still_ends_twelve_hours_after_login(client, account):
    client.force_login(account)
    backdate(client, **{SESSION_STARTED: settings.SESSION_COOKIE_AGE + 1, SESSION_SEEN: 0})
    answer = client.get(BUSINESS_PAGE)
    assert answer.status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_cookie_itself_expires_by_the_absolute_limit(client, account, username):
    answer = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    cookie = answer.cookies[settings.SESSION_COOKIE_NAME]
    assert 0 < int(cookie["max-age"]) <= 12 * 3600
    assert cookie["httponly"]
