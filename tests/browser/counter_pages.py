"""Opening the counter's screens in the browser tests: the kiosk (with or without a camera),
the staff scanner fed a code by its camera, and a stamp left waiting on Autopilot while the
network is down. One way to open each, so the tests only say what they check."""

from playwright.sync_api import Page, expect

from stampcard.tenancy.middleware import DEVICE_COOKIE

PHONE = (390, 844)
TABLET = (1024, 768)  # landscape, as a kiosk stands
SLOW = 20_000  # two shared cores: generous, and never part of what is asserted


def open_kiosk_screen(
    browser, live_server, kiosk, *, viewport=TABLET, locale="en-US", touch=False, script=None
) -> Page:
    """The kiosk's page with no camera (it waits at idle), for what the screen itself does: full
    screen, wake lock, language. Close it with ``page.context.close()``."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale=locale, has_touch=touch
    )
    context.add_cookies([{"name": DEVICE_COOKIE, "value": kiosk.token, "url": live_server.url}])
    page = context.new_page()
    if script:
        page.add_init_script(script)
    page.goto(f"{live_server.url}/device/kiosk/")
    expect(page.locator("#kiosk")).to_have_attribute("data-ready", "1", timeout=SLOW)
    return page
