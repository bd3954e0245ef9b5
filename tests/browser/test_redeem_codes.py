"""The Redeem codes page in real Chromium, at phone and desktop size: an owner creates a
pool, generates codes, imports a file with a bad line (named, nothing imported), then a good
one, and downloads the unused codes."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.vouchers.models import CodePool, PoolCode

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("pw-owner-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/b/**")


def create_pool(page, name, kind):
    form = page.locator("form", has=page.locator('button[value="create"]'))
    form.get_by_label("Name").fill(name)
    form.get_by_label("Codes", exact=True).select_option(kind)
    form.get_by_role("button", name="Create the pool").click()
    expect(
        page.get_by_role("status").filter(has_text=f"The pool “{name}” was created.")
    ).to_be_visible()
    return page.locator("section.pool", has=page.get_by_role("heading", name=name))


@pytest.mark.parametrize("size_name", ["phone", "desktop"])
def test_an_owner_creates_generates_and_imports_codes(
    browser, live_server, owner, business, shots, size_name
):
    size = SIZES[size_name]
    context = browser.new_context(viewport=size, locale="en-US", accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/b/{business.slug}/redeem-codes/")
    expect(page.get_by_role("heading", name="Redeem codes", exact=True)).to_be_visible()
    page.screenshot(path=shots / f"redeem-codes-empty-{size_name}.png", full_page=True)

    bakery = create_pool(page, "Bakery codes", "generated")
    expect(bakery.locator(".warning")).to_contain_text("No free codes left.")
    bakery.get_by_label("Number of codes").fill("1500")
    bakery.get_by_role("button", name="Generate codes").click()
    expect(page.get_by_role("status").filter(has_text="1500 codes generated.")).to_be_visible()
    bakery = page.locator("section.pool", has=page.get_by_role("heading", name="Bakery codes"))
    expect(bakery.locator("[data-free]")).to_have_text("1500")

    till = create_pool(page, "Till codes", "imported")
    till.get_by_label("CSV or text file").set_input_files(
        files=[
            {
                "name": "pos.csv",
                "mimeType": "text/csv",
                "buffer": b"code,value\nPOS-0001,5\nPOS 0002,5\nPOS-0003,5\n",
            }
        ]
    )
    till.get_by_role("button", name="Import codes").click()
    till = page.locator("section.pool", has=page.get_by_role("heading", name="Till codes"))
    refusal = till.get_by_role("alert").first
    expect(refusal).to_contain_text("Line 3: “POS 0002”: a code cannot hold spaces")
    expect(refusal).to_contain_text("Nothing was imported.")
    page.screenshot(path=shots / f"redeem-codes-bad-line-{size_name}.png", full_page=True)
    with scopes_disabled():
        assert not PoolCode.objects.filter(pool__name="Till codes").exists()

    till.get_by_label("Or paste the codes").fill("POS-0001\nPOS-0002\nPOS-0003\n")
    till.get_by_role("button", name="Import codes").click()
    expect(page.get_by_role("status").filter(has_text="3 codes imported.")).to_be_visible()
    till = page.locator("section.pool", has=page.get_by_role("heading", name="Till codes"))
    expect(till.locator("[data-free]")).to_have_text("3")
    expect(till).to_contain_text("Only 3 free codes left.")
    with page.expect_download() as download:
        till.get_by_role("link", name="Download unused codes (CSV) for the POS").click()
    assert download.value.suggested_filename.endswith(".csv")
    with open(download.value.path(), encoding="utf-8") as saved:
        assert sorted(saved.read().split()) == ["POS-0001", "POS-0002", "POS-0003", "code"]
    page.screenshot(path=shots / f"redeem-codes-{size_name}.png", full_page=True)
    # Nothing is wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
    with scopes_disabled():
        assert CodePool.objects.filter(business=business).count() == 2
    context.close()
