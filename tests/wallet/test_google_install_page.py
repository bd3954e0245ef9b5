"""The card page in a real browser: where the card is installed, on a phone and a desk, en + th."""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import sync_playwright

from stampcard.wallet.models import GoogleInstall, PassRegistration
from tests.browser.conftest import CHROMIUM, QUIET

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def in_own_thread(work):
    """Run ``work`` in a fresh thread: Playwright's sync API refuses a thread whose event loop
    is busy (another browser test's session may hold this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


@pytest.mark.parametrize("language", ["en", "th"])
def test_the_card_page_says_where_the_card_is_installed(
    live_server, owner, card, tmp_path, language
):
    with scopes_disabled():
        for n in (1, 2):
            PassRegistration.objects.create(
                business=card.business,
                card=card,
                device_library_id=f"device-{n}",
                pass_type_id="pass.local.stampcard",
                push_token=f"tok-{n}",
            )
        GoogleInstall.objects.create(
            business=card.business, card=card, saved=True, event_at=timezone.now()
        )
    shots = Path(os.environ.get("STAMPCARD_SCREENSHOTS") or tmp_path)
    expected = {"en": ("Installed on 2 devices", "Saved ("), "th": ("ติดตั้งอยู่บน 2", "บันทึกแล้ว")}

    def look():
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
            try:
                for size, (width, height) in SIZES.items():
                    context = chromium.new_context(
                        viewport={"width": width, "height": height}, locale="en-US"
                    )
                    page = context.new_page()
                    page.goto(f"{live_server.url}/accounts/login/")
                    page.get_by_label("Username").fill("owner")
                    page.get_by_label("Password").fill("pw-owner-1234")
                    page.get_by_role("button", name="Log in").click()
                    page.get_by_role("heading", name="Corner Cafe").wait_for()
                    if language != "en":
                        with page.expect_navigation():
                            page.get_by_label("Language").select_option(language)
                    page.goto(f"{live_server.url}/b/{card.business.slug}/cards/{card.code}/")
                    facts = page.locator("dl.facts").inner_text()
                    assert expected[language][0] in facts
                    assert expected[language][1] in facts
                    page.screenshot(
                        path=shots / f"card-install-{language}-{size}.png", full_page=True
                    )
                    context.close()
            finally:
                chromium.close()

    in_own_thread(look)
