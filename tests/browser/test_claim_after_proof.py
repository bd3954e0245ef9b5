"""A returning customer claims a printed code on a phone in Chromium: asked to prove their
e-mail, they follow the mailed link (real mail, an SMTP server on loopback) and the stamps
land on their card, without opening the code again. Screenshots in English and Thai."""

import re

import pytest
from django_scopes import scopes_disabled

from stampcard.loyalty import links
from stampcard.vouchers.claims import create_claim_batch
from stampcard.vouchers.models import ClaimCode
from tests import factories
from tests.mail_server import deliver_mail, smtp_inbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("locale", "viewport", "added", "open_card"),
    [
        ("en-US", (390, 844), "2 stamps added to your card.", "Open my card"),
        ("th-TH", (1280, 900), "เพิ่ม 2 แสตมป์ลงในบัตรของคุณแล้ว", "เปิดบัตรของฉัน"),
    ],
)
def test_the_mailed_link_finishes_the_claim(
    browser, live_server, settings, shots, locale, viewport, added, open_card
):
    settings.PUBLIC_BASE_URL = live_server.url
    with scopes_disabled():
        business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
        program = factories.ProgramFactory(
            business=business,
            name="Coffee card",
            stamps_goal=8,
            max_stamps_per_visit=2,
            join_name="required",
            join_email="optional",
            join_phone="off",
            join_birthday="off",
            join_marketing_consent="off",
        )
        customer = factories.CustomerFactory(
            business=business, email="ann@example.org", language=locale[:2]
        )
        card = factories.CardFactory(program=program, customer=customer)
        batch = create_claim_batch(
            business=business,
            actor=factories.member_actor(business, role="manager"),
            program=program,
            count=1,
            stamps_per_code=2,
        )
        code = batch.codes.get().code
    tag = f"{locale[:2]}-{viewport[0]}"
    with smtp_inbox() as inbox:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale=locale
        )
        page = context.new_page()
        page.goto(live_server.url + links.claim_path(business, code))
        page.locator("input[name=name]").fill("Ann")
        page.locator("input[name=email]").fill("ann@example.org")
        page.screenshot(path=shots / f"claim-proof-form-{tag}.png", full_page=True)
        page.locator("form.c-form button[type=submit]").click()
        page.locator("input[name=code]").wait_for()
        page.screenshot(path=shots / f"claim-proof-check-email-{tag}.png", full_page=True)
        assert deliver_mail() == 1
        assert len(inbox.messages) == 1
        link = re.search(r"(/j/\S+/back/\S+/)", inbox.body())
        assert link is not None
    with scopes_disabled():
        assert ClaimCode.objects.get(code=code).claimed_at is None
    # The link, opened in the mail app's browser: nothing of the claim page is remembered there.
    mail_app = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale=locale
    )
    opened = mail_app.new_page()
    opened.goto(live_server.url + link.group(1))
    opened.get_by_role("button", name=open_card).click()
    opened.get_by_role("status").get_by_text(added).wait_for()
    opened.screenshot(path=shots / f"claim-proof-done-{tag}.png", full_page=True)
    with scopes_disabled():
        card.refresh_from_db()
        assert card.stamps == 2
        assert ClaimCode.objects.get(code=code).claimed_by_id == card.pk
    opened.get_by_role("link", name=open_card).click()
    opened.wait_for_url(re.compile(rf"/c/{card.token}/$"))
    context.close()
    mail_app.close()
