"""Autopilot's page through the device door: each kind of device opens its own screen."""

import pytest

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.services import create_pairing_code, pair_device, revoke_device

pytestmark = pytest.mark.django_db


def paired(business, staff_actor, shop, kind):
    return pair_device(business=business, actor=staff_actor, name="D", kind=kind, location=shop)


@pytest.mark.parametrize(
    ("kind", "page"),
    [
        ("scanner", "/device/scanner/"),
        ("kiosk", "/device/kiosk/"),
        ("autopilot", "/device/autopilot/"),
    ],
)
def test_each_kind_opens_its_own_page_and_is_refused_the_others(
    client, business, staff_actor, shop, kind, page
):
    device = paired(business, staff_actor, shop, kind)
    client.cookies[DEVICE_COOKIE] = device.token
    response = client.get(page)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    for other in {"/device/scanner/", "/device/kiosk/", "/device/autopilot/"} - {page}:
        refused = client.get(other, HTTP_ACCEPT_LANGUAGE="th")
        assert refused.status_code == 403
        assert refused.templates[0].name == "counter/wrong_device.html"
        assert f'href="{page}"' in refused.content.decode()


@pytest.mark.parametrize(
    ("kind", "page"),
    [
        ("scanner", "/device/scanner/"),
        ("kiosk", "/device/kiosk/"),
        ("autopilot", "/device/autopilot/"),
    ],
)
def test_the_installed_app_opens_each_kind_of_device_on_its_own_screen(
    client, business, staff_actor, shop, kind, page
):
    """The counter app's manifest starts at /scanner/: a kiosk or an Autopilot station that
    was sent on to the scanner page would meet "wrong device" there."""
    device = paired(business, staff_actor, shop, kind)
    client.cookies[DEVICE_COOKIE] = device.token
    assert client.get("/scanner/")["Location"] == page
    revoke_device(business=business, actor=staff_actor, device=device.device)
    assert client.get("/scanner/")["Location"] == "/device/pair/"


def test_autopilot_page_needs_no_webassembly_and_the_kiosk_does(
    client, business, staff_actor, shop
):
    client.cookies[DEVICE_COOKIE] = paired(business, staff_actor, shop, "autopilot").token
    assert "wasm-unsafe-eval" not in client.get("/device/autopilot/")["Content-Security-Policy"]
    client.cookies[DEVICE_COOKIE] = paired(business, staff_actor, shop, "kiosk").token
    assert "wasm-unsafe-eval" in client.get("/device/kiosk/")["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("kind", "page"),
    [
        ("scanner", "/device/scanner/"),
        ("kiosk", "/device/kiosk/"),
        ("autopilot", "/device/autopilot/"),
    ],
)
def test_pairing_sends_each_kind_to_its_page(client, business, staff_actor, kind, page):
    code = create_pairing_code(business=business, actor=staff_actor, name="D", kind=kind)
    response = client.post("/device/pair/", {"code": code.code})
    assert response.status_code == 302
    assert response["Location"] == page


def test_a_revoked_station_is_refused_its_page_and_its_scans(
    client, business, staff_actor, shop, card, scan
):
    station = paired(business, staff_actor, shop, "autopilot")
    revoke_device(business=business, actor=staff_actor, device=station.device)
    client.cookies[DEVICE_COOKIE] = station.token
    assert client.get("/device/autopilot/").status_code == 403
    refused = scan(card.code, token=station.token, action="stamp")
    assert refused.status_code == 403
    assert refused.json()["code"] == "device_revoked"
    assert not StampEvent.objects.exists()


def test_autopilot_stamps_once_per_nonce_with_its_own_source(
    business, staff_actor, shop, card, scan
):
    station = paired(business, staff_actor, shop, "autopilot")
    first = scan(card.code, token=station.token, action="stamp", nonce="offline-queued-1")
    again = scan(card.code, token=station.token, action="stamp", nonce="offline-queued-1")
    assert first.json()["outcome"] == "stamped"
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert list(StampEvent.objects.values_list("source", "delta")) == [("autopilot", 1)]


def test_an_unknown_card_code_at_autopilot_is_an_unknown_card(business, staff_actor, shop, scan):
    """A well-formed code no card has is not tried as a redeem code by a station that
    redeems nothing: the cashier reads "card not found", not "not allowed"."""
    from stampcard.loyalty.card_codes import check_symbol

    station = paired(business, staff_actor, shop, "autopilot")
    code = "ZZZZZZZZ" + check_symbol("ZZZZZZZZ")
    refused = scan(code, token=station.token, action="stamp")
    assert refused.status_code == 404
    assert refused.json()["refusal"] == "card_not_found"
    assert not StampEvent.objects.exists()
