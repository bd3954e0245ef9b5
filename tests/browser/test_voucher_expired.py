"""An expired Self-Redeem voucher in a real Chromium: it says so, and offers nothing to hold."""

from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.vouchers.services import ValidityRule
from stampcard.vouchers.services.expiring import expire_vouchers
from tests.browser.voucher_pages import at_each_size, coffee_card_voucher, voucher_path

pytestmark = pytest.mark.django_db(transaction=True)

EXPIRED = {"en-US": "This voucher expired on", "th-TH": "คูปองนี้หมดอายุแล้วเมื่อ"}


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_an_expired_voucher_page_says_so_on_a_phone_and_a_desktop(
    browser, live_server, shots, locale
):
    card, voucher = coffee_card_voucher(
        title="Free cake",
        description="One slice of any cake.",
        redemption_method="self",
        validity=ValidityRule(kind="days", amount=1),
        now=timezone.now() - timedelta(days=2),
    )
    expire_vouchers()
    for name, page in at_each_size(browser, live_server.url + voucher_path(card, voucher), locale):
        status = page.get_by_role("status")
        assert EXPIRED[locale] in status.inner_text()
        assert page.locator("[data-hold-button]").count() == 0
        page.screenshot(path=shots / f"voucher-expired-{name}-{locale}.png", full_page=True)
