"""Finding a customer by a number typed the local way, in real Chromium, phone and desktop."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests import factories
from tests.browser.test_customers import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_local_number_finds_the_customer(page, live_server, business, program, owner, shots):
    with scopes_disabled():
        business.country = "TH"
        business.save()
        factories.CardFactory(
            program=program, customer__name="Anna Smith", customer__phone="+66812345678"
        )
        factories.CardFactory(program=program, customer__name="Boris Ivanov")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/b/{business.slug}/customers/")
    rows = page.locator("table.rows tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").fill("081-234-5678")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Anna Smith")
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=shots / f"phone-search-{name}.png", full_page=True)
    # The overview's card search reads the number the same way.
    page.goto(f"{live_server.url}/b/{business.slug}/?q=081+234+5678")
    expect(page.get_by_text("Anna Smith").first).to_be_visible()
    expect(page.get_by_text("Boris Ivanov")).to_have_count(0)
    page.screenshot(path=shots / "phone-search-overview-phone.png", full_page=True)
