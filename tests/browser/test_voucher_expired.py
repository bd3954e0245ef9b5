"""An expired Self-Redeem voucher in a real Chromium: it says so, and offers nothing to hold."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import ValidityRule, issue_voucher
from stampcard.vouchers.services.expiring import expire_vouchers
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
EXPIRED = {"en-US": "This voucher expired on", "th-TH": "คูปองนี้หมดอายุแล้วเมื่อ"}


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_an_expired_voucher_page_says_so_on_a_phone_and_a_desktop(
    browser, live_server, shots, locale
):
    card = factories.CardFactory(program__name="Coffee card")
    voucher = issue_voucher(
        business=card.business,
        actor=Actor.system(),
        card=card,
        title="Free cake",
        description="One slice of any cake.",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
        validity=ValidityRule(kind="days", amount=1),
        now=timezone.now() - timedelta(days=2),
    )
    expire_vouchers()
    path = reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        page.goto(live_server.url + path)
        status = page.get_by_role("status")
        assert EXPIRED[locale] in status.inner_text()
        assert page.locator("[data-hold-button]").count() == 0
        page.screenshot(path=shots / f"voucher-expired-{name}-{locale}.png", full_page=True)
        context.close()
