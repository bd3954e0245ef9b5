"""The owner sets how long a receipt key's stamp codes stay valid, on the receipt keys page,
on a phone and on a desktop; a number out of range is refused in their language."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.vouchers.models import ReceiptKey
from stampcard.vouchers.receipts import create_receipt_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("viewport", "locale", "refused"),
    [
        ((390, 844), "en-US", "A receipt code stays valid for 1 to 366 days"),
        ((1280, 900), "uk-UA", "Код чека дійсний від 1 до 366 днів"),
    ],
)
def test_the_owner_sets_the_days_a_code_stays_valid(
    browser, live_server, owner, business, staff_actor, viewport, locale, refused, shots
):
    with scopes_disabled():
        key = create_receipt_key(business=business, actor=staff_actor)
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale=locale
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill("owner")
    page.locator("input[name=password]").fill("pw-owner-1234")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/b/{business.slug}/receipt-keys/")
    days = page.locator("input[name=valid_days]")
    expect(days).to_have_value("30")
    # The browser's own check is stepped around: the server's sentence is what is tested.
    days.evaluate("input => input.removeAttribute('max')")
    days.fill("400")
    page.locator("form.inline-form button").click()
    expect(page.get_by_role("alert")).to_contain_text(refused)
    page.screenshot(path=str(shots / f"receipt-key-days-refused-{locale}.png"), full_page=True)
    with scopes_disabled():
        assert ReceiptKey.objects.get(pk=key.pk).valid_days == 30
    page.locator("input[name=valid_days]").fill("90")
    page.locator("form.inline-form button").click()
    expect(page.locator(".saved")).to_be_visible()
    expect(page.locator("input[name=valid_days]")).to_have_value("90")
    page.screenshot(path=str(shots / f"receipt-key-days-saved-{locale}.png"), full_page=True)
    with scopes_disabled():
        assert ReceiptKey.objects.get(pk=key.pk).valid_days == 90
    context.close()
