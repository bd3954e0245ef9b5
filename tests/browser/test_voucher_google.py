"""With Google Wallet set up, each voucher offers its own "Save to Google Wallet": the
Self-Redeem voucher page under its hold-to-redeem form, and the card page in each voucher."""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import ValidityRule, issue_voucher
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SAVE = {
    "en-US": "Save this voucher to Google Wallet",
    "th-TH": "บันทึกบัตรกำนัลนี้ลงใน Google Wallet",
}


@pytest.fixture
def shots(tmp_path):
    where = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_the_voucher_page_offers_google_wallet(browser, live_server, shots, settings, locale):
    # Only the page is looked at: the link leads to our own redirect, which calls Google.
    settings.GOOGLE_WALLET_ISSUER_ID = "3388000000012345678"
    settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = "/nonexistent/service-account.json"
    card = factories.CardFactory(program__name="Coffee card")
    voucher = issue_voucher(
        business=card.business,
        actor=Actor.system(),
        card=card,
        title="Free cake",
        description="One slice of any cake.",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
        validity=ValidityRule(kind="days", amount=7),
    )
    path = reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})
    save = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": card.token, "voucher_id": voucher.pk},
    )
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        page.goto(live_server.url + path)
        link = page.get_by_role("link", name=SAVE[locale])
        assert link.get_attribute("href") == save
        assert link.is_visible()
        page.screenshot(path=shots / f"voucher-google-{name}-{locale}.png", full_page=True)
        context.close()


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
    card = factories.CardFactory(program__name="Coffee card")
    voucher = issue_voucher(
        business=card.business,
        actor=Actor.system(),
        card=card,
        title="10% off",
        origin=VoucherOrigin.MANUAL,
        redemption_method="redeem_code",
        code="TENOFF24",
        validity=ValidityRule(kind="days", amount=7),
    )
    save = reverse(
        "wallet:google_card_voucher_save",
        kwargs={"card_token": card.token, "voucher_id": voucher.pk},
    )
    path = reverse("customer:card", kwargs={"card_token": card.token})
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        page.goto(live_server.url + path)
        voucher_box = page.locator("article.c-voucher")
        link = voucher_box.get_by_role("link", name=SAVE[locale])
        assert link.get_attribute("href") == save
        voucher_box.scroll_into_view_if_needed()
        page.screenshot(path=shots / f"card-voucher-google-{name}-{locale}.png", full_page=True)
        context.close()
    google.reset_client()
