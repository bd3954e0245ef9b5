"""From nothing to a live card: sign up, confirm the e-mail, business, shop, card, QR."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stampcard.loyalty.models import Program
from stampcard.tenancy.models import Business, Location, Membership
from tests.mail_server import deliver_mail, smtp_inbox

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def inbox():
    with smtp_inbox() as received:
        yield received


def link_in(body: str) -> str:
    found = re.search(r"https?://\S+/accounts/signup/confirm/\S+/", body)
    assert found is not None, body
    return found.group(0)


def sign_up(client, address="new@example.org", password=PASSWORD):
    response = client.post(reverse("signup"), {"email": address, "password": password})
    deliver_mail()  # the outbox sends it after the request
    return response


def test_sign_up_sends_a_link_that_confirms_once(client, inbox):
    response = sign_up(client, "New@Example.org")
    assert response.status_code == 302
    assert response["Location"] == reverse("signup_sent")
    user = get_user_model().objects.get(username="new@example.org")
    assert not user.is_active
    assert user.password.startswith("argon2")
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["To"] == "new@example.org"
    link = link_in(inbox.body())
    # Not signed in before the link is opened: an unconfirmed account cannot log in.
    refused = client.post(reverse("login"), {"username": "new@example.org", "password": PASSWORD})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session
    confirmed = client.post(link)
    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse("dashboard:start")
    user.refresh_from_db()
    assert user.is_active
    assert client.get(reverse("dashboard:start")).status_code == 200
    # The link works once.
    client.logout()
    assert client.get(link).status_code == 400
    assert client.post(link).status_code == 400


def test_opening_the_link_only_shows_a_button(client, inbox):
    # Mail scanners open links: a GET, however often, confirms nothing.
    sign_up(client)
    link = link_in(inbox.body())
    for _ in range(2):
        page = client.get(link)
        assert page.status_code == 200
        body = page.content.decode()
        assert "Confirm my e-mail" in body
        assert 'method="post"' in body
        assert "csrfmiddlewaretoken" in body
    assert not get_user_model().objects.get(username="new@example.org").is_active
    assert "_auth_user_id" not in client.session
    assert client.post(link).status_code == 302
    assert get_user_model().objects.get(username="new@example.org").is_active


def test_the_button_is_protected_against_forged_posts(client, inbox):
    guarded = Client(enforce_csrf_checks=True)
    sign_up(client)
    link = link_in(inbox.body())
    assert guarded.post(link).status_code == 403  # from another site: no CSRF token
    assert not get_user_model().objects.get(username="new@example.org").is_active
    page = guarded.get(link).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    confirmed = guarded.post(link, {"csrfmiddlewaretoken": token.group(1)})
    assert confirmed.status_code == 302
    assert get_user_model().objects.get(username="new@example.org").is_active


def test_signing_up_again_tells_nothing_to_strangers(client, inbox):
    sign_up(client)
    client.post(link_in(inbox.body()))
    client.logout()
    inbox.messages.clear()
    again = sign_up(client, "NEW@example.org", "another-long-password-2")
    assert again.status_code == 302
    assert again["Location"] == reverse("signup_sent")
    assert get_user_model().objects.filter(username__iexact="new@example.org").count() == 1
    assert "already has one" in inbox.body()
    assert "/accounts/signup/confirm/" not in inbox.body()
    assert get_user_model().objects.get(username="new@example.org").check_password(PASSWORD)


def test_an_unconfirmed_address_is_not_squatted(client, inbox):
    # Someone signs up with an address that is not theirs and never confirms it.
    sign_up(client, "owner@example.org", "squatters-long-password-1")
    squatters_link = link_in(inbox.body())
    inbox.messages.clear()
    # The owner of the address signs up: the same answer, and a fresh link in their mailbox.
    again = sign_up(client, "Owner@example.org", "owners-long-password-2")
    assert again["Location"] == reverse("signup_sent")
    assert len(inbox.messages) == 1
    assert "already has one" not in inbox.body()
    owners_link = link_in(inbox.body())
    user = get_user_model().objects.get(username="owner@example.org")
    assert not user.is_active  # nothing happens before the mailbox's owner confirms
    # The earlier link stopped working; the new one confirms with the owner's password.
    assert client.post(squatters_link).status_code == 400
    assert client.post(owners_link).status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert user.check_password("owners-long-password-2")
    assert not user.check_password("squatters-long-password-1")
    assert get_user_model().objects.filter(username__iexact="owner@example.org").count() == 1


def test_an_unconfirmed_account_older_than_its_link_is_replaced(client, inbox, settings):
    sign_up(client, "late@example.org", "first-long-password-1")
    first = get_user_model().objects.get(username="late@example.org")
    get_user_model().objects.filter(pk=first.pk).update(
        date_joined=timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    )
    inbox.messages.clear()
    sign_up(client, "late@example.org", "second-long-password-2")
    replacement = get_user_model().objects.get(username="late@example.org")
    assert replacement.pk != first.pk
    assert not replacement.is_active
    assert client.post(link_in(inbox.body())).status_code == 302
    replacement.refresh_from_db()
    assert replacement.is_active
    assert replacement.check_password("second-long-password-2")


def test_signing_up_again_is_limited_like_any_sign_up(client, inbox, settings):
    settings.SIGNUPS_PER_EMAIL = 2
    sign_up(client, "again@example.org")
    sign_up(client, "again@example.org")
    refused = sign_up(client, "again@example.org")
    assert refused.status_code == 429
    assert len(inbox.messages) == 2


def test_an_account_switched_off_is_not_reopened_by_a_sign_up(client, inbox):
    user = get_user_model().objects.create_user(
        "gone@example.org", email="gone@example.org", password=PASSWORD
    )
    get_user_model().objects.filter(pk=user.pk).update(is_active=False, last_login=timezone.now())
    sign_up(client, "gone@example.org", "another-long-password-2")
    assert "already has one" in inbox.body()
    assert "/accounts/signup/confirm/" not in inbox.body()
    user.refresh_from_db()
    assert not user.is_active
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        ({"email": "not an address", "password": PASSWORD}, "valid email"),
        ({"email": "a@" + "x" * 300 + ".org", "password": PASSWORD}, "at most 254"),
        ({"email": "short@example.org", "password": "12345678"}, "too short"),
        ({"email": "same@example.org", "password": "same@example.org"}, "too similar"),
        ({"email": "x\x00@example.org", "password": PASSWORD}, "Null characters"),
        ({"password": PASSWORD}, "required"),
    ],
)
def test_hostile_sign_ups_are_refused_clearly(client, inbox, data, refusal):
    response = client.post(reverse("signup"), data)
    assert deliver_mail() == 0
    assert response.status_code == 200
    assert refusal.encode() in response.content
    assert not get_user_model().objects.exists()
    assert inbox.messages == []


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/signup/confirm/MQ/not-a-token/",
        "/accounts/signup/confirm/" + "A" * 60 + "/x/",
        "/accounts/signup/confirm/%F0%9F%92%A9/abc-def/",
        "/accounts/signup/confirm/OTk5OTk5OTk5OTk5OTk5OTk5OTk5/abc-def/",
    ],
)
def test_forged_links_are_refused(client, db, path):
    get_user_model().objects.create_user("x@example.org", is_active=False)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert b"not valid" in response.content
    assert not get_user_model().objects.get(username="x@example.org").is_active


def test_onboarding_creates_business_shop_and_a_draft_card(client, inbox):
    sign_up(client)
    client.post(link_in(inbox.body()))
    response = client.post(
        reverse("dashboard:start"),
        {
            "name": "Baan Kafe",
            "country": "TH",
            "time_zone": "Asia/Bangkok",
            "currency": "THB",
            "default_language": "th",
        },
    )
    business = Business.objects.get(name="Baan Kafe")
    assert (business.country, business.time_zone, business.currency, business.default_language) == (
        "TH",
        "Asia/Bangkok",
        "THB",
        "th",
    )
    assert Membership.objects.get(business=business).role == "owner"
    assert response["Location"] == reverse("dashboard:start_location", args=[business.slug])
    response = client.post(response["Location"], {"name": "Sukhumvit", "address": "Soi 11"})
    assert Location.objects.get(business=business).name == "Sukhumvit"
    assert response["Location"].endswith("/programs/new/?start=1")
    designer = client.get(response["Location"])
    assert designer.status_code == 200
    assert b"hx-post" in designer.content


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"time_zone": "Mars/Olympus"}, "not one of the available choices"),
        ({"currency": "XYZ"}, "not one of the available choices"),
        ({"country": "ZZ"}, "not one of the available choices"),
        ({"default_language": "tlh"}, "not one of the available choices"),
        ({"name": "   "}, "required"),
        ({"name": "x" * 121}, "at most 120"),
    ],
)
def test_hostile_business_forms_are_refused(client, stranger, changes, refusal):
    client.force_login(stranger)
    data = {
        "name": "Baan Kafe",
        "country": "TH",
        "time_zone": "Asia/Bangkok",
        "currency": "THB",
        "default_language": "th",
    }
    data.update(changes)
    response = client.post(reverse("dashboard:start"), data)
    assert response.status_code == 200
    assert refusal.encode() in response.content
    assert not Business.objects.filter(name="Baan Kafe").exists()


def test_only_the_owner_adds_a_shop_and_bad_input_adds_none(client, business, owner, maria):
    url = reverse("dashboard:start_location", args=[business.slug])
    client.force_login(maria)
    assert client.post(url, {"name": "Sneaky"}).status_code == 403
    client.force_login(owner)
    response = client.post(url, {"name": "", "address": "x" * 300})
    assert response.status_code == 200
    assert b"required" in response.content
    assert not Location.objects.filter(business=business).exists()


def test_the_done_page_shows_the_join_qr_and_goes_live(client, owner, business):
    program = Program.objects.create(
        business=business, name="Coffee card", reward_title="Free coffee", status="draft"
    )
    client.force_login(owner)
    url = reverse("dashboard:start_done", args=[business.slug, program.pk])
    page = client.get(url)
    assert f"/j/corner-cafe/{program.pk}/?ch=poster".encode() in page.content
    assert b"<svg" in page.content
    status = reverse("dashboard:program_status", args=[business.slug, program.pk])
    response = client.post(status, {"status": "active", "next": "start"})
    assert response["Location"] == url
    program.refresh_from_db()
    assert program.status == "active"
