"""A double tap on a slow phone sends the join form once and lands on the one card."""

import re

import pytest
from django_scopes import scopes_disabled

from stampcard.loyalty import links
from stampcard.loyalty.models import Card
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def program(db):
    business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
    return factories.ProgramFactory(
        business=business,
        name="Coffee card",
        stamps_goal=8,
        reward_title="Free latte",
        join_name="required",
        join_email="optional",
        join_phone="off",
        join_birthday="off",
        join_marketing_consent="off",
    )


@pytest.mark.parametrize(
    ("locale", "viewport", "sending"),
    [
        ("ru-RU", {"width": 390, "height": 844}, "Получаем вашу карту…"),
        ("th-TH", {"width": 1280, "height": 800}, "กำลังรับบัตรของคุณ…"),
    ],
)
def test_the_button_sends_the_form_once(
    browser, live_server, program, shots, locale, viewport, sending
):
    context = browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1)
    page = context.new_page()
    held = []
    # The server answers slowly: each POST of the form is held until the test lets it go.
    page.route(
        re.compile(r".*/j/.*"),
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    page.goto(live_server.url + links.join_path(program))
    # First the look while sending, kept on screen: a listener after the page's own stops the
    # navigation (a screenshot waits for it otherwise).
    page.evaluate(
        """() => document.querySelector("form.c-form")
                 .addEventListener("submit", (event) => event.preventDefault(), { once: true })"""
    )
    page.locator("input[name=name]").fill("Анна")
    page.locator("form.c-form button[type=submit]").click()
    page.locator("form.c-form button[type=submit][disabled]").wait_for(state="attached")
    page.screenshot(path=shots / f"join-sending-{locale}-{viewport['width']}.png", full_page=True)
    # Then for real, on a fresh page.
    page.reload()
    page.locator("input[name=name]").fill("Анна")
    button = page.locator("form.c-form button[type=submit]")
    # Taps by the mouse, which (unlike Locator.click) does not wait for the navigation.
    box = button.bounding_box()
    assert box is not None
    tap = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(*tap)
    # Read in the page: locators wait for the pending navigation, which is held.
    label = page.evaluate(
        """() => new Promise((done) => {
          const button = document.querySelector("form.c-form button[type=submit]");
          const check = () => (button.disabled ? done(button.textContent) : setTimeout(check, 20));
          check();
        })"""
    )
    assert label == sending
    page.mouse.click(*tap)  # the second tap, and a third
    page.mouse.click(*tap)
    page.wait_for_timeout(300)  # nothing must come of it: wait a moment to be sure
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_url(re.compile(r"/c/[A-Za-z0-9_-]{32,}/$"))
    with scopes_disabled():
        card = Card.objects.get(program=program)
    assert page.url.endswith(f"/c/{card.token}/")
    # Back on the join page from the card, the form works again.
    page.go_back()
    page.locator("form.c-form button[type=submit]:not([disabled])").wait_for()
    context.close()
