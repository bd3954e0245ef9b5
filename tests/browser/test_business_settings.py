"""The business settings page in real Chromium, at phone and desktop size: the owner finds it in
the navigation and corrects the name, currency, languages and colour."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.tenancy.models import Business
from tests.browser.test_customers import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_corrects_the_business_settings(page, live_server, business, owner, shots):
    log_in(page, live_server)
    page.get_by_role("link", name="Customers").first.click()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Business settings")).to_be_visible()
    page.get_by_label("Business name").fill("Corner Cafe & Bakery")
    page.get_by_label("Currency").select_option("THB")
    page.get_by_label("Country").select_option("TH")
    page.get_by_label("Kazakh").uncheck()
    page.get_by_label("Brand colour").fill("#aa3300")
    page.set_viewport_size(PHONE)
    page.screenshot(path=shots / "business-settings-phone.png", full_page=True)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("Settings saved.")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=shots / "business-settings-desktop.png", full_page=True)
    with scopes_disabled():
        saved = Business.objects.get(pk=business.pk)
    assert (saved.name, saved.currency, saved.country, saved.brand_color) == (
        "Corner Cafe & Bakery",
        "THB",
        "TH",
        "#aa3300",
    )
    assert saved.languages == ["en", "th", "uk", "ru"]
