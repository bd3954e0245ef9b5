"""Passwords: Argon2, at least 12 characters, changed and reset through our pages."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core import mail

from tests.accounts.conftest import PASSWORD
from tests.mail_server import deliver_mail


def test_new_passwords_are_hashed_with_argon2(account):
    assert identify_hasher(account.password).algorithm == "argon2"


def test_a_password_shorter_than_12_characters_is_refused(client, account):
    client.force_login(account)
    answer = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "Zq8#kLm2!x", "new_password2": "Zq8#kLm2!x"},
    )
    assert answer.status_code == 200
    assert "at least 12 characters" in answer.content.decode()
    account.refresh_from_db()
    assert account.check_password(PASSWORD)


def test_an_owner_changes_their_password(client, account):
    client.force_login(account)
    new = "Zq8#kLm2!xVw-stamp"
    answer = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/password/change/done/"
    account.refresh_from_db()
    assert account.check_password(new)


def test_a_forgotten_password_is_reset_through_a_mailed_link(client, account, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    answer = client.post("/accounts/password/reset/", {"email": account.email})
    assert answer.status_code == 302
    assert mail.outbox == []  # not from the request: the outbox sends it
    assert deliver_mail() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [account.email]
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/\S+/)", mail.outbox[0].body)
    assert link is not None

    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    new = "Zq8#kLm2!xVw-reset"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/password/reset/done/"
    assert get_user_model().objects.get(pk=account.pk).check_password(new)


def test_no_mail_tells_whether_an_address_has_an_account(client, db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    answer = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/password/reset/sent/"
    assert deliver_mail() == 0
    assert mail.outbox == []
