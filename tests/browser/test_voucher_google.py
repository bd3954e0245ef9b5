"""With Google Wallet set up, each voucher offers its own "Save to Google Wallet": the
Self-Redeem voucher page under its hold-to-redeem form, and the card page in each voucher."""

import pytest
from django.urls import reverse

from stampcard.vouchers.services import ValidityRule
from tests.browser.voucher_pages import at_each_size, card_path, coffee_card_voucher, voucher_path

pytestmark = pytest.mark.django_db(transaction=True)

SAVE = {
    "en-US": "Save this voucher to Google Wallet",
    "th-TH": "บันทึกบัตรกำนัลนี้ลงใน Google Wallet",
}


def save_path(card, voucher) -> str:
    return reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": card.token, "voucher_id": voucher.pk},
    )


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_the_voucher_page_offers_google_wallet(browser, live_server, shots, settings, locale):
    # Only the page is looked at: the link leads to our own redirect, which calls Google.
    settings.GOOGLE_WALLET_ISSUER_ID = "3388000000012345678"
    settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = "/nonexistent/service-account.json"
    card, voucher = coffee_card_voucher(
        title="Free cake",
        description="One slice of any cake.",
        redemption_method="self",
        validity=ValidityRule(kind="days", amount=7),
    )
    for name, page in at_each_size(browser, live_server.url + voucher_path(card, voucher), locale):
        link = page.get_by_role("link", name=SAVE[locale])
        assert link.get_attribute("href") == save_path(card, voucher)
        assert link.is_visible()
        page.screenshot(path=shots / f"voucher-google-{name}-{locale}.png", full_page=True)


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_the_card_page_offers_each_voucher_to_google_wallet(
    browser, live_server, shots, settings, tmp_path, locale
):
    from stampcard.wallet import google
    from tests.wallet.google_standin import service_account_key

    # The card's own save link is signed on the page: a key of the service account's.
    key_file = tmp_path / "service-account.json"
    service_account_key(key_file, "http://127.0.0.1:9/token")
    settings.GOOGLE_WALLET_ISSUER_ID = "3388000000012345678"
    settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = str(key_file)
    google.reset_client()
    card, voucher = coffee_card_voucher(
        title="10% off",
        redemption_method="redeem_code",
        code="TENOFF24",
        validity=ValidityRule(kind="days", amount=7),
    )
    for name, page in at_each_size(browser, live_server.url + card_path(card), locale):
        voucher_box = page.locator("article.c-voucher")
        link = voucher_box.get_by_role("link", name=SAVE[locale])
        assert link.get_attribute("href") == save_path(card, voucher)
        voucher_box.scroll_into_view_if_needed()
        page.screenshot(path=shots / f"card-voucher-google-{name}-{locale}.png", full_page=True)
    google.reset_client()
