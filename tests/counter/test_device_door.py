"""The device door: a paired device's token, in a header or a cookie, is its only way in."""

import pytest
from django.http import HttpResponse

from stampcard.tenancy.middleware import DEVICE_COOKIE, remember_device
from stampcard.tenancy.models import Device
from stampcard.tenancy.services import pair_device, revoke_device


@pytest.fixture
def paired(business, shop, staff_actor):
    return pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )


def device_header(token):
    return {"HTTP_AUTHORIZATION": f"Device {token}"}


def test_a_device_learns_who_it_is_and_is_seen(client, paired, business, shop):
    assert Device.objects.get().last_seen_at is None
    response = client.get("/device/", **device_header(paired.token))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["name"] == "Till 1"
    assert body["kind"] == "scanner"
    assert body["business"] == {"name": "Corner Cafe", "slug": "corner-cafe"}
    assert body["location"] == {"id": shop.pk, "name": "Riverside"}
    assert body["time_zone"] == "Asia/Bangkok"
    assert body["now"].endswith("+07:00")  # the business's time zone is open
    assert Device.objects.get().last_seen_at is not None


def test_the_token_may_come_in_the_httponly_cookie(client, paired):
    response = HttpResponse()
    remember_device(response, paired.token)
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    client.cookies[DEVICE_COOKIE] = paired.token
    assert client.get("/device/").json()["name"] == "Till 1"


def test_a_revoked_device_is_refused_at_once_and_not_marked_seen(
    client, paired, business, staff_actor
):
    revoke_device(business=business, actor=staff_actor, device=paired.device)
    response = client.get("/device/", **device_header(paired.token), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 403
    assert response.json()["code"] == "device_revoked"
    assert "Привяжите" in response.json()["message"]
    assert Device.objects.get().last_seen_at is None


def test_a_revoked_kiosk_reopened_in_the_browser_gets_a_page_back_to_pairing(
    client, paired, business, staff_actor
):
    """An installed full-screen app has no address bar: a bare JSON refusal would trap it."""
    revoke_device(business=business, actor=staff_actor, device=paired.device)
    client.cookies[DEVICE_COOKIE] = paired.token
    page = client.get(
        "/device/kiosk/", HTTP_ACCEPT="text/html,application/xhtml+xml", HTTP_ACCEPT_LANGUAGE="th"
    )
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert 'href="/device/pair/"' in html
    assert "Pair it again" not in html  # in Thai, as the browser asked
    # The kiosk's own scripts still get the refusal as JSON.
    assert client.get("/device/kiosk/").json()["code"] == "device_revoked"


def test_an_unpaired_browser_opening_a_device_screen_gets_the_way_to_pairing(client):
    page = client.get("/device/scanner/", HTTP_ACCEPT="text/html")
    assert page.status_code == 401
    assert 'href="/device/pair/"' in page.content.decode()


@pytest.mark.parametrize(
    "headers",
    [
        {},  # nothing at all
        {"HTTP_AUTHORIZATION": "Device "},
        {"HTTP_AUTHORIZATION": "Device"},
        {"HTTP_AUTHORIZATION": "Bearer " + "A" * 43},  # another scheme
        {"HTTP_AUTHORIZATION": "Device " + "A" * 43},  # well formed, never paired
        {"HTTP_AUTHORIZATION": "Device " + "A" * 100_000},  # huge
        {"HTTP_AUTHORIZATION": "Device " + "A" * 20 + "\x00" + "A" * 22},  # NUL byte
        {"HTTP_AUTHORIZATION": "Device " + "ä" * 43},  # not ASCII
        {"HTTP_AUTHORIZATION": "Device ' OR 1=1 --"},
    ],
    ids=["none", "empty", "no-token", "bearer", "unknown", "huge", "nul", "non-ascii", "sql"],
)
def test_missing_unknown_and_malformed_tokens_get_a_clear_401(client, paired, headers):
    response = client.get("/device/", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Device"
    assert response.json() == {
        "code": "device_unknown",
        "message": "This device is not paired. Pair it again from the dashboard.",
    }
    assert Device.objects.get().last_seen_at is None


def test_a_malformed_header_is_not_rescued_by_a_good_cookie(client, paired):
    client.cookies[DEVICE_COOKIE] = paired.token
    assert client.get("/device/", HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==").status_code == 401


def test_a_logged_in_owner_is_no_device(client, owner):
    client.force_login(owner)
    assert client.get("/device/").status_code == 401


def test_the_device_page_only_answers_get(client, paired):
    assert client.post("/device/", **device_header(paired.token)).status_code == 405
    assert Device.objects.get().last_seen_at is None
