"""Opening the counter's screens in the browser tests: the kiosk (with or without a camera),
the staff scanner fed a code by its camera, and a stamp left waiting on Autopilot while the
network is down. One way to open each, so the tests only say what they check."""

from playwright.sync_api import Locator, Page, expect

from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.services import pair_device
from stampcard.vouchers.models import Voucher, VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests.browser.test_autopilot import scanner_types

PHONE = (390, 844)
TABLET = (1024, 768)  # landscape, as a kiosk stands
SLOW = 20_000  # two shared cores: generous, and never part of what is asserted


def open_kiosk(camera, live_server, kiosk, image, *, script=None, **options) -> Page:
    """The kiosk's page in a Chromium whose camera shows ``image`` (``camera`` is the staff
    scanner's fixture); ``script`` runs in the page before the kiosk's own; ``options`` are the
    camera's (viewport, locale)."""
    page = camera(image, live_server=live_server, cookie=kiosk.token, **options)
    if script:
        page.add_init_script(script)
    page.goto(f"{live_server.url}/device/kiosk/")
    return page


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


def open_scanner_camera(camera, live_server, device, image, **options) -> Page:
    """The paired staff scanner's page in a Chromium whose camera shows ``image``."""
    page = camera(image, live_server=live_server, cookie=device.token, **options)
    page.goto(f"{live_server.url}/device/scanner/")
    return page


def voucher_for_counter(business, *, title, method, **fields) -> Voucher:
    """A voucher the business hands out by hand, redeemed by ``method`` (self, staff_scan,
    redeem_code); ``fields`` as ``issue_voucher`` takes them (code, code_display, card, …)."""
    return issue_voucher(
        business=business,
        actor=Actor(kind=ActorKind.ADMIN),
        title=title,
        origin=VoucherOrigin.MANUAL,
        redemption_method=method,
        **fields,
    )


def queue_offline(page, code) -> Locator:
    """On Autopilot: the network drops and ``code`` is scanned; it waits on the station.
    Returns the station's last-scan line."""
    page.context.set_offline(True)
    scanner_types(page, code)
    last = page.locator("#last")
    expect(last).to_have_attribute("data-state", "queued", timeout=SLOW)
    return last


def pair_kiosk(*, business, shop, actor):
    """A kiosk paired at ``shop``; its ``token`` is the device cookie."""
    return pair_device(business=business, actor=actor, name="Tablet", kind="kiosk", location=shop)


def pair_scanner(*, business, shop, actor):
    """A staff scanner paired at ``shop``; its ``token`` is the device cookie."""
    return pair_device(business=business, actor=actor, name="Till 1", kind="scanner", location=shop)
