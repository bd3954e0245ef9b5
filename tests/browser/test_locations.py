"""The Shops page in real Chromium at phone size: add a shop, give it a map point and a
lock-screen text, see a refusal for a wrong coordinate, remove it; English and Thai."""

from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from stampcard.tenancy.models import Device, Location
from stampcard.wallet import apple
from tests import factories
from tests.browser.test_designer import PHONE, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", {"add": "Add shop", "save": "Save", "edit": "Edit", "remove": "Remove"}),
        ("th", {"add": "เพิ่มสาขา", "save": "บันทึก", "edit": "แก้ไข", "remove": "ลบ"}),
    ],
    ids=["en", "th"],
)
def test_an_owner_adds_places_and_removes_a_shop_on_a_phone(
    browser, live_server, owner, business, shots, language, words
):
    with scopes_disabled():
        card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    context, page = logged_in(browser, live_server, PHONE, language)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shops = f"{live_server.url}/b/{business.slug}/locations/"
    page.goto(shops)

    page.locator("input[name=name]").fill("Riverside")
    page.locator("textarea[name=address]").fill("12 River Road, Bangkok")
    page.get_by_role("button", name=words["add"], exact=True).click()
    page.wait_for_url(shops)
    page.locator(".shop", has_text="Riverside").wait_for()
    with scopes_disabled():
        added = Location.objects.get(business=business, name="Riverside")
    assert added.latitude is None

    page.get_by_role("link", name=f"{words['edit']} Riverside").click()
    page.wait_for_url(f"{shops}{added.pk}/")
    page.locator("input[name=latitude]").fill("200")
    page.locator("input[name=longitude]").fill("100.5018")
    page.get_by_role("button", name=words["save"], exact=True).click()
    page.locator(".errorlist").first.wait_for()  # a latitude past 90 is refused on the page
    page.screenshot(path=shots / f"shops-phone-{language}-refused.png", full_page=True)
    with scopes_disabled():
        assert Location.objects.get(pk=added.pk).latitude is None  # nothing half-written

    page.locator("input[name=latitude]").fill("13.7563")
    page.locator("input[name=relevant_text]").fill("Your stamp card works at Riverside")
    page.get_by_role("button", name=words["save"], exact=True).click()
    page.wait_for_url(shops)
    shop = page.locator(".shop", has_text="Riverside")
    shop.get_by_text("13.756300, 100.501800").wait_for()
    shop.get_by_text("Your stamp card works at Riverside").wait_for()
    page.screenshot(path=shops_shot(shots, language), full_page=True)
    with scopes_disabled():
        placed = Location.objects.get(pk=added.pk)
        assert (placed.latitude, placed.longitude) == (Decimal("13.7563"), Decimal("100.5018"))
        # The pass lists it, with its text for the lock screen.
        assert apple.pass_json(card)["locations"] == [
            {
                "latitude": 13.7563,
                "longitude": 100.5018,
                "relevantText": "Your stamp card works at Riverside",
            }
        ]

    shop.get_by_role("button", name=f"{words['remove']} Riverside").click()
    page.wait_for_url(shops)
    page.locator(".shop", has_text="Riverside").wait_for(state="detached")
    with scopes_disabled():
        assert not Location.objects.filter(pk=added.pk).exists()
    # Only the refused save's 400 (and no favicon) reaches the console: no script or policy error.
    assert [e for e in errors if "Failed to load resource" not in e] == []
    context.close()


def shops_shot(shots: Path, language: str) -> Path:
    return shots / f"shops-phone-{language}.png"


def test_a_shop_with_a_device_has_no_remove_button(browser, live_server, owner, business, shop):
    with scopes_disabled():
        Device.objects.create(
            business=business, name="Till", kind="scanner", location=shop, token_hash="a" * 64
        )
    context, page = logged_in(browser, live_server, PHONE)
    page.goto(f"{live_server.url}/b/{business.slug}/locations/")
    row = page.locator(".shop", has_text=shop.name)
    row.get_by_text("1 active device").wait_for()
    assert row.get_by_role("button", name=f"Remove {shop.name}").count() == 0
    context.close()
