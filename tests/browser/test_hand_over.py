"""Handing a card over at the counter, in real Chromium: the manager finds a phone-only
customer, shows a one-time QR, and the customer's own phone (another browser) opens it."""

import io

import pytest
import zxingcpp
from django_scopes import scopes_disabled
from PIL import Image
from playwright.sync_api import expect

from stampcard.customer.models import HandOverLink
from tests import factories
from tests.browser.test_customers import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = 20_000


def decoded(locator):
    image = Image.open(io.BytesIO(locator.screenshot()))
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_the_manager_hands_a_card_over_to_the_customers_own_phone(
    browser, page, live_server, business, program, owner, shots, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    with scopes_disabled():
        niran = factories.CardFactory(
            program=program,
            customer__name="Niran Phonenumber",
            customer__email="",
            customer__phone="+66812345678",
        )
    log_in(page, live_server)
    page.goto(f"{live_server.url}/b/{business.slug}/scanner/")
    page.get_by_text("Customer forgot the phone?").click()
    page.locator("#query").fill("Niran")
    page.get_by_role("button", name="Find").click()
    page.locator("#search-results button").first.click()
    expect(page.locator("#customer")).to_have_text("Niran Phonenumber", timeout=SLOW)
    page.get_by_role("button", name="Hand the card over to their phone").click()
    view = page.locator("#hand-over")
    expect(view).to_be_visible(timeout=SLOW)
    expect(view).to_have_attribute("data-state", "shown")
    expect(page.locator("#hand-over-expires")).to_contain_text("Stops working in 4:")
    qr = page.locator("#hand-over-qr")
    expect(qr).to_be_visible()
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        qr.scroll_into_view_if_needed()
        page.screenshot(path=shots / f"hand-over-scanner-{name}.png", full_page=True)
    url = decoded(qr)
    assert len(url) == 1
    assert url[0].startswith(f"{live_server.url}/j/{business.slug}/")
    assert niran.token not in url[0]  # never the card's permanent address

    # The customer's own phone: another browser, nothing shared with the scanner's.
    phone = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    customer = phone.new_page()
    customer.goto(url[0])
    expect(customer).to_have_url(f"{live_server.url}/c/{niran.token}/", timeout=SLOW)
    expect(customer.get_by_text(program.name).first).to_be_visible()
    customer.screenshot(path=shots / "hand-over-opened-phone.png", full_page=True)
    # Remembered there: the program's join page offers the card again.
    customer.goto(f"{live_server.url}/j/{business.slug}/{program.pk}/")
    expect(customer.locator(f"a[href='/c/{niran.token}/']").first).to_be_attached()

    # A second open of the QR (a photo of the screen, a third phone) opens nothing.
    other = browser.new_context(viewport=PHONE, locale="en-US")
    late = other.new_page()
    response = late.goto(url[0])
    assert response.status == 410
    expect(late.get_by_role("heading")).to_have_text("This code no longer works")
    assert niran.token not in late.content()
    late.screenshot(path=shots / "hand-over-spent-phone.png", full_page=True)
    late.set_viewport_size(DESKTOP)
    late.screenshot(path=shots / "hand-over-spent-desktop.png", full_page=True)
    assert HandOverLink.objects.get().used_at is not None

    # Done: the QR leaves the staff screen.
    page.get_by_role("button", name="Done").click()
    expect(view).to_be_hidden()
    expect(page.locator("#hand-over-qr")).not_to_have_attribute("src", url[0])
    phone.close()
    other.close()


def test_a_cashier_is_not_offered_the_hand_over(page, live_server, business, program, bob):
    with scopes_disabled():
        factories.CardFactory(program=program, customer__name="Niran", customer__email="")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("pw-bob-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/b/**")
    page.goto(f"{live_server.url}/b/{business.slug}/scanner/")
    page.get_by_text("Customer forgot the phone?").click()
    page.locator("#query").fill("Niran")
    page.get_by_role("button", name="Find").click()
    page.locator("#search-results button").first.click()
    expect(page.locator("#customer")).to_have_text("Niran", timeout=SLOW)
    expect(page.get_by_role("button", name="Hand the card over to their phone")).to_have_count(0)


def test_the_return_page_sends_phone_only_customers_to_the_counter(
    page, live_server, business, program, shots
):
    page.goto(f"{live_server.url}/j/{business.slug}/{program.pk}/back/")
    expect(page.locator("#phone-only")).to_contain_text("Ask at the counter")
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=shots / f"return-page-{name}.png", full_page=True)
    # The page after asking for an e-mail says the same to a phone-only customer.
    hint = page.locator("#phone-only").inner_text()
    page.locator("input[name=email]").fill("nobody@example.org")
    page.locator("input[name=email]").press("Enter")
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    expect(page.locator("#phone-only")).to_have_text(hint)
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=shots / f"check-email-{name}.png", full_page=True)
