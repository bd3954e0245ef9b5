"""A new owner, from nothing to a printed join QR, in real Chromium with a real SMTP server."""

import re
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from stampcard.loyalty.links import join_url
from stampcard.loyalty.models import Program
from tests.mail_server import deliver_mail, smtp_inbox
from tests.pdf_images import font_names, qr_texts

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}


def test_owner_signs_up_and_prints_a_poster_whose_qr_opens_the_join_page(
    browser, live_server, shots
):
    context = browser.new_context(viewport=PHONE, locale="en-US", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    with smtp_inbox() as inbox:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("E-mail").fill("somchai@example.org")
        page.get_by_label("Password").fill("kaffee-und-kuchen-42")
        page.screenshot(path=shots / "signup-phone-en.png", full_page=True)
        page.get_by_role("button", name="Create account").click()
        page.get_by_role("heading", name="Check your e-mail").wait_for()
        assert inbox.messages == []  # not from the request: the outbox sends it
        assert deliver_mail() == 1
        assert len(inbox.messages) == 1
        link = re.search(r"http\S+/accounts/signup/confirm/\S+/", inbox.body())
        assert link is not None
    page.goto(link.group(0))
    page.get_by_role("heading", name="Confirm your e-mail").wait_for()
    page.get_by_role("button", name="Confirm my e-mail").click()

    page.get_by_role("heading", name="Your business").wait_for()
    page.get_by_label("Business name").fill("Baan Kafe")
    page.get_by_label("Country").select_option("TH")
    page.get_by_label("Time zone").select_option("Asia/Bangkok")
    page.get_by_label("Currency").select_option("THB")
    page.get_by_label("Language of your customers").select_option("th")
    page.screenshot(path=shots / "onboarding-business-phone-en.png", full_page=True)
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Your first shop").wait_for()
    page.get_by_label("Name of the shop").fill("Sukhumvit")
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Design your stamp card").wait_for()
    page.get_by_label("Card name").first.fill("Coffee card")
    page.get_by_label("Reward", exact=True).first.fill("Free latte")
    page.get_by_label("Stamps to the goal").fill("8")
    page.locator("#preview").get_by_text("Free latte").first.wait_for()
    page.screenshot(path=shots / "onboarding-designer-phone-en.png", full_page=True)
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_role("heading", name="Your join QR code").wait_for()
    page.get_by_role("button", name="Make the card live").click()
    page.get_by_text("Your card is live").wait_for()
    page.screenshot(path=shots / "onboarding-done-phone-en.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    context.close()

    with scopes_disabled():
        program = Program.objects.select_related("business").get(business__name="Baan Kafe")
        assert program.status == "active"
        assert program.stamps_goal == 8
        expected = join_url(program, "poster")
    assert download.value.suggested_filename == "poster-a4-th.pdf"
    assert qr_texts(pdf) == [expected]
    assert "Noto-Sans-Thai" in font_names(pdf)
    assert [e for e in errors if "Content Security Policy" in e] == []
