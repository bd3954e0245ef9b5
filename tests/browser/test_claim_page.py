"""A customer claims printed codes on a phone in Chromium: joining first, then with the card
this browser holds. Screenshots are kept (``STAMPCARD_SCREENSHOTS``) for people to look at."""

import re

import pytest
from django_scopes import scopes_disabled

from stampcard.loyalty import links
from stampcard.loyalty.models import Card
from stampcard.vouchers.claims import create_claim_batch
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def program(db):
    business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
    return factories.ProgramFactory(
        business=business,
        name="Coffee card",
        stamps_goal=8,
        max_stamps_per_visit=2,
        reward_title="Free latte",
        join_name="required",
        join_email="optional",
        join_phone="off",
        join_birthday="off",
        join_marketing_consent="off",
    )


def codes(program, count, stamps=1):
    with scopes_disabled():
        manager = factories.member_actor(program.business, role="manager")
        batch = create_claim_batch(
            business=program.business,
            actor=manager,
            program=program,
            count=count,
            stamps_per_code=stamps,
        )
        return list(batch.codes.values_list("code", flat=True))


@pytest.mark.parametrize(
    ("locale", "added", "confirm", "tag"),
    [
        ("th-TH", "เพิ่ม 2 แสตมป์ลงในบัตรของคุณแล้ว", "เพิ่มลงในบัตรของฉัน", "th"),
        ("en-US", "2 stamps added to your card.", "Add to my card", "en"),
    ],
)
def test_a_new_customer_joins_then_a_card_holder_claims_with_a_tap(
    browser, live_server, program, shots, locale, added, confirm, tag
):
    first, second = codes(program, 2, stamps=2)
    context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=1)
    page = context.new_page()
    # Scanned from a receipt: the printed URL, no card in this browser yet.
    page.goto(live_server.url + links.claim_path(program.business, first))
    page.locator("input[name=name]").wait_for()
    page.screenshot(path=shots / f"claim-join-{tag}.png", full_page=True)
    page.locator("input[name=name]").fill("Nok")
    page.locator("input[name=email]").fill(f"nok-{tag}@example.com")
    page.locator("form.c-form button[type=submit]").click()
    page.get_by_role("status").get_by_text(added).wait_for()
    page.screenshot(path=shots / f"claim-joined-{tag}.png", full_page=True)
    with scopes_disabled():
        card = Card.objects.get(customer__email=f"nok-{tag}@example.com")
        assert card.stamps == 2
    # The next receipt: this browser holds the card, so one tap adds the stamps.
    page.goto(live_server.url + links.claim_path(program.business, second.lower()))
    button = page.get_by_role("button", name=confirm)
    button.wait_for()
    page.screenshot(path=shots / f"claim-confirm-{tag}.png", full_page=True)
    button.focus()
    page.keyboard.press("Enter")
    page.get_by_role("status").wait_for()
    with scopes_disabled():
        card.refresh_from_db()
        assert card.stamps == 4
    page.get_by_role("link", name=re.compile(".+")).last.click()
    page.wait_for_url(re.compile(r"/c/[A-Za-z0-9_-]{32,}/$"))
    # Replayed: the same code again adds nothing.
    page.goto(live_server.url + links.claim_path(program.business, second))
    page.get_by_role("status").wait_for()
    with scopes_disabled():
        card.refresh_from_db()
        assert card.stamps == 4
    context.close()


@pytest.mark.parametrize("locale", ["th-TH", "en-US"])
def test_the_typed_code_page_on_a_desktop_and_a_phone(browser, live_server, program, shots, locale):
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1)
        page = context.new_page()
        page.goto(live_server.url + f"/k/{program.business.slug}/")
        page.locator("#claim-code").fill("NOT-A-CODE")
        page.keyboard.press("Enter")
        page.locator("p.c-error[role=alert]").wait_for()
        assert page.locator("#claim-code").get_attribute("aria-invalid") == "true"
        page.screenshot(path=shots / f"claim-typed-{locale[:2]}-{size}.png", full_page=True)
        context.close()
