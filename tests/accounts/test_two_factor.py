"""Owners and operators with an authenticator app give its code after their password."""

import re
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from stampcard.accounts.middleware import TwoFactorMiddleware
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


def _sent_to_verify(answer, path):
    return answer.status_code == 302 and answer["Location"] == (
        f"{reverse('otp_verify')}?next={quote(path, safe='')}"
    )


def test_a_password_alone_opens_no_other_signed_in_page(client, account, username, device):
    # The guard is an allowlist: the password change, the device door and a page nobody has
    # listed yet all wait for the code.
    log_in(client, username)
    for path in (reverse("password_change"), "/device/", "/some-page-added-later/"):
        assert _sent_to_verify(client.get(path), path), path
    changed = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "x-new-pass-9",
            "new_password2": "x-new-pass-9",
        },
    )
    assert _sent_to_verify(changed, reverse("password_change"))
    account.refresh_from_db()
    assert account.check_password(PASSWORD)


def test_before_the_code_the_pages_that_lead_to_it_stay_open(client, account, username, device):
    log_in(client, username)
    assert client.get(reverse("otp_verify")).status_code == 200
    # The setup page is reachable; its own rule then asks for the code of the existing device.
    setup = client.get(reverse("otp_setup"))
    assert setup["Location"].startswith(reverse("otp_verify"))
    assert "next=%2Faccounts%2Ftwo-factor%2Fsetup%2F" in setup["Location"]
    assert client.get("/healthz").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "th", "next": "/"}).status_code == 302
    assert client.get(reverse("login")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert not client.session.get("_auth_user_id")


def test_static_files_are_served_before_the_code(client, account, username, device, settings):
    log_in(client, username)
    assert client.get(f"{settings.STATIC_URL}css/app.css").status_code == 200
    assert TwoFactorMiddleware._open(f"{settings.STATIC_URL}css/app.css")
    assert not TwoFactorMiddleware._open("/staticky/")


def test_with_otp_required_every_page_waits_for_the_setup(client, account, settings):
    settings.OTP_REQUIRED = True
    client.force_login(account)
    answer = client.get(reverse("password_change"))
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("otp_setup"))
    assert client.get(reverse("otp_setup")).status_code == 200
