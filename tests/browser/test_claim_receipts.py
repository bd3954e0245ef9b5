"""A receipt code typed from paper on the public claim page, in Chromium: as printed or near it
(lower case, spaces), it opens the claim; with two cards on offer, the customer picks one.
Screenshots on a phone and a desktop, in English and Thai."""

import re

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from stampcard.tenancy.actors import Actor
from stampcard.vouchers.receipts import create_receipt_key, sign_stamp_receipt
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("locale", "viewport", "gives", "which"),
    [
        ("en-US", (390, 844), "This code gives 2 stamps.", "Which card should get the stamps?"),
        ("th-TH", (1280, 900), "รหัสนี้ให้ 2 แสตมป์", "จะเพิ่มแสตมป์ลงบัตรใบไหน"),
    ],
)
def test_a_typed_receipt_code_opens_its_claim(
    browser, live_server, shots, locale, viewport, gives, which
):
    with scopes_disabled():
        business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
        coffee = factories.ProgramFactory(
            business=business, name="Coffee card", max_stamps_per_visit=2
        )
        key = create_receipt_key(business=business, actor=Actor.system())
        today = timezone.localdate()
        first = sign_stamp_receipt(
            business=business, key=key, order_id="A1", stamps=2, issued=today
        )
        second = sign_stamp_receipt(
            business=business, key=key, order_id="A2", stamps=2, issued=today
        )
    tag = f"{locale[:2]}-{viewport[0]}"
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale=locale
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/k/{business.slug}/")
    page.locator("#claim-code").fill(first.lower().replace(".", " "))
    page.screenshot(path=shots / f"claim-receipt-typed-{tag}.png", full_page=True)
    page.keyboard.press("Enter")
    page.get_by_text(gives).wait_for()
    assert page.url.endswith(f"/j/{business.slug}/{coffee.pk}/k/{first}/")
    page.screenshot(path=shots / f"claim-receipt-claim-{tag}.png", full_page=True)
    # A second card on offer: a receipt is not tied to one, so the customer picks.
    with scopes_disabled():
        cake = factories.ProgramFactory(business=business, name="Cake card")
    page.goto(f"{live_server.url}/k/{business.slug}/")
    page.locator("#claim-code").fill(second)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=which).wait_for()
    page.screenshot(path=shots / f"claim-receipt-which-{tag}.png", full_page=True)
    page.get_by_role("link", name="Cake card").click()
    page.wait_for_url(re.compile(rf"/j/{business.slug}/{cake.pk}/k/"))
    context.close()
