"""A Self-Redeem voucher page with Google Wallet set up: its own "Save to Google Wallet"
button, under the hold-to-redeem form, on a phone and a desktop."""

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
SAVE = {"en-US": "Save to Google Wallet", "th-TH": "บันทึกลงใน Google Wallet"}


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
