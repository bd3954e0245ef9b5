"""The customers pages in real Chromium: search, filters, a profile, a CSV import with bad
rows, and the pages at phone and desktop size in English and Thai."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.loyalty.models import Customer, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor, ActorKind
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def crowd(business, program, owner):
    with scopes_disabled():
        anna = factories.CardFactory(
            program=program,
            customer__name="Anna Smith",
            customer__email="anna@example.org",
            customer__phone="+66812345678",
        )
        factories.CardFactory(program=program, customer__name="Boris Ivanov")
        factories.CardFactory(program=program, customer__name="สมชาย ใจดี")
        for _ in range(3):
            add_stamps(
                business=business,
                actor=Actor(kind=ActorKind.STAFF, user_id=owner.pk),
                source=StampSource.STAFF,
                card_id=anna.pk,
            )
    return anna


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("pw-owner-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/b/**")


def test_search_filter_and_open_a_profile(page, live_server, business, crowd):
    log_in(page, live_server)
    page.get_by_role("link", name="Customers").first.click()
    rows = page.locator("table.rows tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Search").fill(crowd.display_code)
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Search").fill("")
    page.get_by_label("At least stamps").fill("2")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="Anna Smith").click()
    expect(page.get_by_role("heading", name="Anna Smith")).to_be_visible()
    expect(page.locator("table.rows tbody tr")).to_have_count(3)
    # A correction with its reason, from the profile.
    page.get_by_text("Correct stamps").click()
    page.get_by_label("Stamps to add (or take back, with a minus)").fill("-1")
    page.get_by_label("Reason").fill("Scanned twice")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_role("cell", name="Scanned twice")).to_be_visible()


def test_a_csv_with_bad_rows_imports_nothing_and_says_which(
    page, live_server, business, program, crowd
):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/b/{business.slug}/customers/import/")
    page.get_by_label("Stamp card").select_option(str(program.pk))
    bad = (
        b"name,email,phone,birthday,language,marketing_consent\n"
        b"Good,good@example.org,,,,yes\n"
        b"Broken,not-an-email,,,,\n"
        b"Late,late@example.org,,31.12.1999,,\n"
    )
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.get_by_role("button", name="Import").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was imported")
    expect(alert.locator("tbody tr")).to_have_count(2)
    expect(alert.locator("tbody tr").first).to_contain_text("3")
    with scopes_disabled():
        assert not Customer.objects.filter(email="good@example.org").exists()


@pytest.mark.parametrize("language", ["en", "th"])
def test_screenshots(browser, live_server, business, crowd, shots, language):
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=size, locale="en-US")
        page = context.new_page()
        log_in(page, live_server)
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for name, path in (
            ("customers", "customers/"),
            ("customer", f"customers/{crowd.customer_id}/"),
            ("import", "customers/import/"),
        ):
            page.goto(f"{live_server.url}/b/{business.slug}/{path}")
            page.screenshot(path=shots / f"{name}-{language}-{size_name}.png", full_page=True)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
        context.close()
