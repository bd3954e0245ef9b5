"""Wrong passwords in a row lock a login out, on the dashboard and on the admin alike."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.accounts.conftest import PASSWORD

LOGIN = "/accounts/login/"
LIMIT = settings.AXES_FAILURE_LIMIT


def log_in(client, url, username, password, **headers):
    return client.post(url, {"username": username, "password": password}, **headers)


def test_fifty_wrong_passwords_are_not_answered_like_the_first(client, account, username):
    first = log_in(client, LOGIN, username, "wrong-password-0")
    assert first.status_code == 200
    assert "not right" in first.content.decode()

    answers = [log_in(client, LOGIN, username, f"wrong-{n}").status_code for n in range(1, 50)]
    # The limit-th wrong password is the first one answered with the lockout, and so are all
    # the ones after it.
    assert answers[: LIMIT - 2] == [200] * (LIMIT - 2)
    assert set(answers[LIMIT - 2 :]) == {429}

    # Even the right password is refused while the lockout lasts, and the page says why.
    right = log_in(client, LOGIN, username, PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    body = right.content.decode()
    assert "too many wrong passwords" in body
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes" in body  # a cool-off, not a lock for ever


def test_the_lockout_page_speaks_the_visitors_language(client, account, username):
    for n in range(LIMIT):
        log_in(client, LOGIN, username, f"wrong-{n}", HTTP_ACCEPT_LANGUAGE="ru")
    answer = log_in(client, LOGIN, username, PASSWORD, HTTP_ACCEPT_LANGUAGE="ru")
    assert answer.status_code == 429
    body = answer.content.decode()
    assert '<html lang="ru">' in body
    assert "Слишком много попыток" in body
    assert "Account locked" not in body  # not django-axes' bare English default


def test_the_admin_login_is_locked_out_too(client, db, username):
    get_user_model().objects.create_superuser(username, password=PASSWORD)
    url = reverse("admin:login")
    for n in range(LIMIT):
        log_in(client, url, username, f"wrong-{n}")
    answer = log_in(client, url, username, PASSWORD)
    assert answer.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_holds_one_username_from_one_address(client, account, username, owner):
    for n in range(LIMIT):
        log_in(client, LOGIN, username, f"wrong-{n}")
    # Another user from the same address is not locked out by someone else's mistakes.
    other = log_in(client, LOGIN, "owner", "pw-owner-1234")
    assert other.status_code == 302


def test_a_right_password_before_the_limit_clears_the_count(client, account, username):
    for n in range(LIMIT - 1):
        log_in(client, LOGIN, username, f"wrong-{n}")
    assert log_in(client, LOGIN, username, PASSWORD).status_code == 302
    client.logout()
    for n in range(LIMIT - 1):
        log_in(client, LOGIN, username, f"again-{n}")
    assert log_in(client, LOGIN, username, PASSWORD).status_code == 302
