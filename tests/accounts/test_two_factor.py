"""Owners and operators with an authenticator app give its code after their password."""

import re
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import PASSWORD, current_code

BUSINESS_PAGE = "/b/corner-cafe/"


def log_in(client, username, next_url=BUSINESS_PAGE):
    return client.post(
        f"/accounts/login/?next={quote(next_url)}", {"username": username, "password": PASSWORD}
    )


def test_an_owner_with_a_device_gives_the_code_before_the_business_page(
    client, account, username, device
):
    answer = log_in(client, username)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("otp_verify"))

    # A password alone does not open the business's pages.
    blocked = client.get(BUSINESS_PAGE)
    assert blocked.status_code == 302
    assert blocked["Location"] == f"{reverse('otp_verify')}?next=%2Fb%2Fcorner-cafe%2F"

    page = client.get(blocked["Location"])
    assert page.status_code == 200
    wrong = client.post(
        blocked["Location"],
        {"otp_device": device.persistent_id, "otp_token": "000000", "next": BUSINESS_PAGE},
    )
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    assert client.get(BUSINESS_PAGE).status_code == 302

    # django-otp makes the next try wait after a wrong code; the test does not wait.
    device.refresh_from_db()
    device.throttle_reset()
    right = client.post(
        reverse("otp_verify"),
        {
            "otp_device": device.persistent_id,
            "otp_token": current_code(device),
            "next": BUSINESS_PAGE,
        },
    )
    assert right.status_code == 302
    assert right["Location"] == BUSINESS_PAGE
    assert client.get(BUSINESS_PAGE).status_code == 200


def test_an_operator_with_a_device_gives_the_code_before_the_admin(client, db, username):
    operator = get_user_model().objects.create_superuser(username, password=PASSWORD)
    device = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    index = reverse("admin:index")
    client.post(reverse("admin:login"), {"username": username, "password": PASSWORD})
    blocked = client.get(index)
    assert blocked.status_code == 302
    assert blocked["Location"].startswith(reverse("otp_verify"))

    client.post(
        reverse("otp_verify"),
        {"otp_device": device.persistent_id, "otp_token": current_code(device), "next": index},
    )
    assert client.get(index).status_code == 200


def test_the_admin_site_itself_refuses_an_unverified_operator_with_a_device(rf, db, username):
    from django.contrib import admin

    operator = get_user_model().objects.create_superuser(username, password=PASSWORD)
    request = rf.get("/")
    request.user = operator
    operator.is_verified = lambda: False
    assert admin.site.has_permission(request)  # no device yet: the password is enough
    TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    assert not admin.site.has_permission(request)
    operator.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_an_owner_without_a_device_is_urged_to_set_one_up(client, account, username):
    client.force_login(account)
    page = client.get(BUSINESS_PAGE)
    assert page.status_code == 200
    assert "turn on two-step login" in page.content.decode()


def test_a_member_who_is_not_an_owner_is_not_urged(client, business, db, username):
    from tests import factories

    user = get_user_model().objects.create_user(username, password=PASSWORD)
    factories.MembershipFactory(business=business, user=user, role="staff")
    client.force_login(user)
    assert "turn on two-step login" not in client.get(BUSINESS_PAGE).content.decode()


def test_setting_up_shows_a_qr_code_and_confirms_with_the_first_code(client, account):
    client.force_login(account)
    page = client.get(reverse("otp_setup"), {"next": BUSINESS_PAGE})
    assert page.status_code == 200
    body = page.content.decode()
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;charset=utf-8,%3Csvg', body)
    device = TOTPDevice.objects.get(user=account)
    assert not device.confirmed
    assert client.get(reverse("otp_setup")).status_code == 200
    assert TOTPDevice.objects.filter(user=account).count() == 1  # the same draft on reload

    wrong = client.post(reverse("otp_setup"), {"token": "000000", "next": BUSINESS_PAGE})
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()

    done = client.post(reverse("otp_setup"), {"token": current_code(device), "next": BUSINESS_PAGE})
    assert done.status_code == 302
    assert done["Location"] == BUSINESS_PAGE
    device.refresh_from_db()
    assert device.confirmed
    # Verified in this session by the code just given; the prompt is gone.
    page = client.get(BUSINESS_PAGE)
    assert page.status_code == 200
    assert "turn on two-step login" not in page.content.decode()


def test_a_password_alone_cannot_add_a_second_device(client, account, device):
    client.force_login(account)
    answer = client.get(reverse("otp_setup"))
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("otp_verify"))
    assert TOTPDevice.objects.filter(user=account).count() == 1


def test_with_otp_required_an_owner_without_a_device_must_set_one_up(client, account, settings):
    settings.OTP_REQUIRED = True
    client.force_login(account)
    answer = client.get(BUSINESS_PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("otp_setup"))
    assert "Not now" not in client.get(answer["Location"]).content.decode()
