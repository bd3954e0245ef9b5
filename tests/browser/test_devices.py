"""The devices page in real Chromium: cancel a pairing code, rename and move a device, at
phone and desktop size."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.tenancy.models import Device
from stampcard.tenancy.services import create_pairing_code, pair_device
from tests.browser.test_customers import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_cancels_a_code_and_renames_and_moves_a_device(
    page, live_server, business, owner, shop, other_shop, staff_actor, shots
):
    with scopes_disabled():
        till = pair_device(
            business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
        ).device
        create_pairing_code(
            business=business, actor=staff_actor, name="Door kiosk", kind="kiosk", location=shop
        )
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/b/{business.slug}/devices/")
    page.get_by_role("button", name="Cancel the code for “Door kiosk”").click()
    expect(page.get_by_text("Codes not used yet")).to_have_count(0)
    page.get_by_text("Rename or move").click()
    change = page.locator(".device-change form")
    change.get_by_label("Device name").fill("Front till")
    change.get_by_label("Location").select_option(label="Old Town")
    page.screenshot(path=shots / "devices-change-phone.png", full_page=True)
    change.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Front till")).to_be_visible()
    expect(page.get_by_role("cell", name="Old Town")).to_be_visible()
    page.set_viewport_size(DESKTOP)
    page.get_by_text("Rename or move").click()
    page.screenshot(path=shots / "devices-desktop.png", full_page=True)
    with scopes_disabled():
        moved = Device.objects.get(pk=till.pk)
    assert (moved.name, moved.location_id) == ("Front till", other_shop.pk)
