"""The kiosk through the scan endpoint: it cannot stamp freely, and Self-Redeem is its own.
Its page can be installed to a tablet's home screen, full screen."""

import io
import json
import re
from urllib.parse import urljoin

import pytest
from PIL import Image

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.services import pair_device, revoke_device
from stampcard.vouchers.models import Voucher
from tests.counter.test_scan_vouchers import issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def kiosk(business, staff_actor, shop):
    return pair_device(business=business, actor=staff_actor, name="K", kind="kiosk", location=shop)


def test_a_kiosk_stamps_once_per_visit_within_the_cooldown(kiosk, card, scan):
    card.program.cooldown_seconds = 3600
    card.program.max_stamps_per_visit = 1
    card.program.save()
    first = scan(card.code, token=kiosk.token, action="stamp")
    assert first.json()["outcome"] == "stamped"
    assert first.json()["card"]["stamps"] == 1
    # Asked for more than one, or again inside the cooldown: refused, with the progress.
    many = scan(card.code, token=kiosk.token, action="stamp", count=5)
    again = scan(card.code, token=kiosk.token, action="stamp")
    assert many.json()["ok"] is False
    assert again.json()["refusal"] == "cooldown"
    assert again.json()["card"]["stamps"] == 1
    assert list(StampEvent.objects.values_list("delta", "source")) == [(1, "kiosk")]


def test_a_kiosk_redeems_a_self_redeem_voucher_and_not_a_staff_one(business, kiosk, scan):
    own = issue(business, redemption_method="self")
    done = scan(own.token, token=kiosk.token, action="redeem")
    assert done.json()["outcome"] == "redeemed"
    staff_only = issue(business)
    refused = scan(staff_only.token, token=kiosk.token, action="redeem")
    assert refused.json()["ok"] is False
    assert Voucher.objects.get(pk=staff_only.pk).status == "active"
    assert Voucher.objects.get(pk=own.pk).status == "redeemed"


def test_a_revoked_kiosk_is_refused_at_once(business, staff_actor, kiosk, card, scan, client):
    assert scan(card.code, token=kiosk.token, action="stamp").status_code == 200
    revoke_device(business=business, actor=staff_actor, device=kiosk.device)
    refused = scan(card.code, token=kiosk.token, action="stamp", language="th")
    assert refused.status_code == 403
    assert refused.json()["code"] == "device_revoked"
    whoami = client.get("/device/", HTTP_AUTHORIZATION=f"Device {kiosk.token}")
    assert whoami.status_code == 403
    assert StampEvent.objects.count() == 1


@pytest.mark.parametrize("shown", ["token", "code"])
@pytest.mark.parametrize("action", ["stamp", "scan"])
def test_a_voucher_seen_by_the_kiosk_is_only_looked_at_until_held(
    business, kiosk, scan, shown, action
):
    voucher = issue(business, redemption_method="self", code="CAKE-4821")
    code = voucher.token if shown == "token" else "CAKE-4821"

    seen = scan(code, token=kiosk.token, action=action)

    assert seen.status_code == 200
    assert seen.json()["outcome"] == "looked"
    assert seen.json()["voucher"]["title"] == "Free cake"
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
    held = scan(code, token=kiosk.token, action="redeem")
    assert held.json()["outcome"] == "redeemed"
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"


def test_redeem_is_no_way_to_stamp_a_card(kiosk, card, scan):
    refused = scan(card.code, token=kiosk.token, action="redeem")
    assert refused.json()["ok"] is False
    assert not StampEvent.objects.exists()


def _manifest_link(page: str) -> str:
    links = re.findall(r'<link rel="manifest" href="([^"]+)"', page)
    assert len(links) == 1, links
    return links[0]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_kiosk_page_links_a_full_screen_manifest_that_opens_the_kiosk(client, kiosk):
    client.cookies[DEVICE_COOKIE] = kiosk.token
    page = client.get("/device/kiosk/")
    assert page.status_code == 200
    href = _manifest_link(page.content.decode())
    assert href.endswith("/counter/kiosk.webmanifest")

    served = client.get(href)
    assert served.status_code == 200
    assert served["Content-Type"] == "application/manifest+json"
    manifest = json.loads(_body(served))
    assert manifest["display"] == "fullscreen"
    assert manifest["orientation"] == "any"
    assert manifest["start_url"].startswith(manifest["scope"])
    # Its start page opens the paired kiosk's screen.
    assert client.get(manifest["start_url"])["Location"] == "/device/kiosk/"
    # Installed next to the staff scanner's app on the same tablet, it is an app of its own.
    assert manifest["id"] != "/scanner/"
    sizes = set()
    for icon in manifest["icons"]:
        image = client.get(urljoin(href, icon["src"]))
        assert image.status_code == 200
        assert image["Content-Type"] == icon["type"] == "image/png"
        with Image.open(io.BytesIO(_body(image))) as picture:
            assert f"{picture.width}x{picture.height}" == icon["sizes"]
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes


def test_the_kiosk_app_starts_unpaired_on_pairing_never_on_a_refusal_or_a_members_scanner(
    client, business, staff_actor, kiosk, owner
):
    """A full-screen app has no address bar to leave a dead end by: a tablet not (or no longer)
    paired opens on pairing, also with a member logged in on it, for it faces customers."""
    assert client.get("/kiosk/")["Location"] == "/device/pair/"
    client.force_login(owner)
    assert client.get("/kiosk/")["Location"] == "/device/pair/"
    client.cookies[DEVICE_COOKIE] = kiosk.token
    assert client.get("/kiosk/")["Location"] == "/device/kiosk/"
    revoke_device(business=business, actor=staff_actor, device=kiosk.device)
    assert client.get("/kiosk/")["Location"] == "/device/pair/"


def test_the_scanner_keeps_its_own_manifest(client, scanner):
    client.cookies[DEVICE_COOKIE] = scanner.token
    href = _manifest_link(client.get("/device/scanner/").content.decode())
    assert href.endswith("/counter/scanner.webmanifest")


def test_the_kiosk_page_carries_its_screen_timers_from_the_settings(client, kiosk, settings):
    client.cookies[DEVICE_COOKIE] = kiosk.token
    page = client.get("/device/kiosk/").content.decode()
    for attribute in ('data-idle-ms="8000"', 'data-confirm-ms="20000"', 'data-gone-ms="5000"',
                      'data-again-ms="5000"'):  # fmt: skip
        assert attribute in page
    settings.KIOSK_IDLE_SECONDS = 1.5
    settings.KIOSK_CONFIRM_SECONDS = 3
    settings.KIOSK_GONE_SECONDS = 0.25
    settings.KIOSK_AGAIN_SECONDS = 2
    page = client.get("/device/kiosk/").content.decode()
    for attribute in ('data-idle-ms="1500"', 'data-confirm-ms="3000"', 'data-gone-ms="250"',
                      'data-again-ms="2000"'):  # fmt: skip
        assert attribute in page
