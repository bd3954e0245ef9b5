"""The self-service kiosk in real Chromium, its camera fed a video of a real QR code.

The customer shows their card: one stamp for the visit, their progress, and the screen
returns to idle by itself. A Self-Redeem voucher shown is first shown back (its title,
description and validity), and redeemed only after the same press-and-hold as on the web
card; one that cannot be used here is explained as the engine words it; a revoked kiosk
stops.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.services import revoke_device
from stampcard.vouchers.models import Voucher
from tests.browser import test_scanner
from tests.browser.counter_pages import open_kiosk, pair_kiosk, voucher_for_counter
from tests.browser.fake_camera import code128_image, qr_image

pytestmark = pytest.mark.django_db(transaction=True)
# The staff scanner's Chromium with a fake camera, and its check that nothing left this server.
camera = test_scanner.camera
only_this_server = test_scanner.only_this_server
DECODE_TIMEOUT = 30_000  # two shared cores: generous, and never part of what is asserted


@pytest.fixture
def kiosk(business, shop, staff_actor):
    return pair_kiosk(business=business, shop=shop, actor=staff_actor)


def shoot(page, name, tmp_path):
    folder = Path(os.environ.get("STAMPCARD_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(folder / f"kiosk-{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("viewport", "locale", "says"),
    [
        ((1024, 768), "en-US", "1 of 10 stamps"),
        ((390, 844), "th-TH", "1 จาก 10 ตรา"),
        ((390, 844), "kk-KZ", "10 мөртаңбаның 1"),
    ],
)
def test_a_card_shown_to_the_kiosk_is_stamped_once_shows_progress_and_returns_to_idle(
    camera,
    live_server,
    kiosk,
    card,
    viewport,
    locale,
    says,
    tmp_path,
):
    page = open_kiosk(
        camera,
        live_server,
        kiosk,
        qr_image(card.code),
        viewport=viewport,
        locale=locale,
    )
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    expect(page.locator("#stamps-text")).to_have_text(says)
    # Nothing pushes the screen sideways (the count stays on one line, long in Kazakh).
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport[0]
    shoot(page, f"{locale}-{viewport[0]}-stamped", tmp_path)
    expect(root).to_have_attribute("data-state", "idle", timeout=DECODE_TIMEOUT)
    expect(page.locator("#idle")).to_be_visible()
    shoot(page, f"{locale}-{viewport[0]}-idle", tmp_path)
    # The card still in front of the camera is not a second visit.
    assert list(StampEvent.objects.values_list("card_id", "delta", "source")) == [
        (card.pk, 1, "kiosk")
    ]
    only_this_server(page, live_server)


@pytest.mark.parametrize(
    ("viewport", "locale", "hold_label", "validity"),
    [
        ((1024, 768), "en-US", "Hold to redeem", "Valid with no end date."),
        ((390, 844), "th-TH", "กดค้างเพื่อใช้", "ใช้ได้โดยไม่มีวันหมดอายุ"),
    ],
)
def test_a_self_redeem_voucher_is_redeemed_only_after_a_hold_then_the_kiosk_idles(
    camera,
    live_server,
    business,
    kiosk,
    tmp_path,
    viewport,
    locale,
    hold_label,
    validity,
):
    voucher = voucher_for_counter(
        business,
        title="Free cookie",
        method="self",
        description="Any cookie from the jar.",
    )
    page = open_kiosk(
        camera,
        live_server,
        kiosk,
        qr_image(f"{live_server.url}/v/{voucher.token}"),
        viewport=viewport,
        locale=locale,
    )
    root = page.locator("#kiosk")
    # Seen by the camera, the voucher is only shown and offered: nothing is used up yet.
    expect(root).to_have_attribute("data-state", "confirm", timeout=DECODE_TIMEOUT)
    expect(page.locator("#voucher-title")).to_have_text("Free cookie")
    expect(page.locator("#voucher-description")).to_have_text("Any cookie from the jar.")
    expect(page.locator("#voucher-validity")).to_have_text(validity)
    hold = page.locator("#hold")
    expect(hold).to_have_text(hold_label)
    expect(hold).to_be_focused()
    shoot(page, f"{locale}-{viewport[0]}-voucher-confirm", tmp_path)
    # A tap is not the gesture.
    hold.click()
    expect(hold).not_to_have_class(re.compile(r"\bholding\b"))
    expect(root).to_have_attribute("data-state", "confirm")
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
    # Held until full (the keyboard's Enter here on the phone, a pointer on the tablet).
    if viewport[0] < 500:
        page.keyboard.down("Enter")
    else:
        box = hold.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
    expect(root).to_have_attribute("data-state", "redeemed", timeout=DECODE_TIMEOUT)
    if viewport[0] < 500:
        page.keyboard.up("Enter")
    else:
        page.mouse.up()
    if locale == "en-US":
        expect(page.locator("#message")).to_have_text("Voucher redeemed: Free cookie.")
    shoot(page, f"{locale}-{viewport[0]}-voucher-redeemed", tmp_path)
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    # Then back to idle by itself; the voucher still in front of the camera asks nothing more.
    expect(root).to_have_attribute("data-state", "idle", timeout=DECODE_TIMEOUT)
    expect(page.locator("#confirm")).to_be_hidden()
    only_this_server(page, live_server)


@pytest.mark.parametrize(
    ("method", "change", "says"),
    [
        ("self", {"valid_until": timezone.now() - timedelta(hours=1)}, "This voucher expired on "),
        ("self", {"status": "redeemed", "redeemed_at": timezone.now()},
         "This voucher was already redeemed on "),
        ("staff_scan", {}, "A team member scans this voucher to redeem it."),
    ],
)  # fmt: skip
def test_a_voucher_that_cannot_be_used_here_is_explained_without_a_hold(
    camera, live_server, business, kiosk, method, change, says, tmp_path
):
    voucher = voucher_for_counter(business, title="Free cookie", method=method)
    Voucher.objects.filter(pk=voucher.pk).update(**change)
    before = Voucher.objects.values("status", "redeemed_at").get(pk=voucher.pk)
    page = open_kiosk(camera, live_server, kiosk, qr_image(voucher.token))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "refused", timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_contain_text(says)
    expect(page.locator("#confirm")).to_be_hidden()
    # The holder's own voucher is named; a Staff-Scan one is only sent to the staff.
    expect(page.locator("#voucher")).to_have_text("Free cookie" if method == "self" else "")
    shoot(page, f"refused-{method}-{'-'.join(change) or 'staff'}", tmp_path)
    assert Voucher.objects.values("status", "redeemed_at").get(pk=voucher.pk) == before


def test_a_claim_code_shown_to_the_kiosk_is_sent_to_the_phone(
    camera, live_server, business, staff_actor, program, kiosk, tmp_path
):
    from stampcard.loyalty.links import claim_url
    from stampcard.vouchers.claims import create_claim_batch
    from stampcard.vouchers.models import ClaimCode

    printed = create_claim_batch(
        business=business, actor=staff_actor, program=program, count=1
    ).codes.get()
    page = open_kiosk(camera, live_server, kiosk, qr_image(claim_url(business, printed.code)))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "refused", timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_contain_text("Codes from receipts are claimed on a phone")
    shoot(page, "claim-code", tmp_path)
    assert ClaimCode.objects.get().claimed_at is None
    assert not StampEvent.objects.exists()


def test_not_now_leaves_the_voucher_unused(camera, live_server, business, kiosk):
    voucher = voucher_for_counter(business, title="Free cookie", method="self")
    page = open_kiosk(camera, live_server, kiosk, qr_image(voucher.token))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "confirm", timeout=DECODE_TIMEOUT)
    page.locator("#cancel").click()
    expect(root).to_have_attribute("data-state", "idle")
    assert Voucher.objects.get(pk=voucher.pk).status == "active"


def test_a_revoked_kiosk_stops_at_once(camera, live_server, business, staff_actor, kiosk, card):
    page = open_kiosk(camera, live_server, kiosk, qr_image(card.code))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    revoke_device(business=business, actor=staff_actor, device=kiosk.device)
    page.locator("#done").click()
    expect(root).to_have_attribute("data-state", "off", timeout=DECODE_TIMEOUT)
    expect(page.locator("#off")).to_be_visible()
    expect(page.locator("#video")).to_be_hidden()
    assert StampEvent.objects.count() == 1
    # Its page is refused too.
    assert page.goto(f"{live_server.url}/device/kiosk/").status == 403


def test_a_card_left_in_front_of_the_kiosk_is_sent_once(camera, live_server, kiosk, card, settings):
    # No least cooldown: only the screen keeps a card held in view from being stamped again.
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 0
    # Shorter screen timers than a shop's, in the same order (the answer stays on screen longer
    # than a code needs to be out of view to count as shown again), so the whole cycle is
    # covered without waiting out the real ones.
    settings.KIOSK_IDLE_SECONDS = 4
    settings.KIOSK_GONE_SECONDS = 3
    page = open_kiosk(camera, live_server, kiosk, qr_image(card.code))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-idle-ms", "4000")
    expect(root).to_have_attribute("data-gone-ms", "3000")
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    expect(root).to_have_attribute("data-state", "idle", timeout=DECODE_TIMEOUT)
    # Well past the screen's return to idle (three times the time after which a code out of
    # view would be a new presentation), the card has not left the camera: the same
    # presentation, not a new visit.
    page.wait_for_timeout(3 * settings.KIOSK_GONE_SECONDS * 1000)
    expect(root).to_have_attribute("data-state", "idle")
    assert sum(url.endswith("/device/scan") for url in page.requests) == 1
    assert StampEvent.objects.count() == 1


def test_a_self_redeem_voucher_shown_by_its_redeem_code_waits_for_the_hold(
    camera, live_server, business, kiosk, shots
):
    voucher = voucher_for_counter(business, title="Free cookie", method="self", code="COOKIE-4821")
    page = open_kiosk(camera, live_server, kiosk, qr_image("COOKIE-4821"))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "confirm", timeout=DECODE_TIMEOUT)
    expect(page.locator("#voucher-title")).to_have_text("Free cookie")
    page.screenshot(path=str(shots / "kiosk-redeem-code-confirm.png"), full_page=True)
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
    page.keyboard.down("Enter")
    expect(root).to_have_attribute("data-state", "redeemed", timeout=DECODE_TIMEOUT)
    page.keyboard.up("Enter")
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"


def test_a_stamp_while_the_network_is_down_waits_on_the_kiosk_and_is_applied_once(
    camera, live_server, kiosk, card, shots
):
    page = camera(qr_image(card.code), live_server=live_server, cookie=kiosk.token)
    # The scans cannot reach the server; the page itself and its decoder still load.
    page.route("**/device/scan", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{live_server.url}/device/kiosk/")
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "queued", timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_have_text(
        "No connection: saved on this device, it will be sent when the connection returns."
    )
    expect(page.locator("#pending")).to_have_text("Waiting to be sent: 1")
    page.screenshot(path=str(shots / "kiosk-queued.png"), full_page=True)
    assert not StampEvent.objects.exists()

    page.unroute("**/device/scan")
    expect(root).to_have_attribute("data-pending", "0", timeout=DECODE_TIMEOUT)
    expect(page.locator("#pending")).to_be_hidden()
    assert list(StampEvent.objects.values_list("card_id", "delta", "source")) == [
        (card.pk, 1, "kiosk")
    ]


def test_a_cards_self_redeem_voucher_is_offered_when_the_card_is_shown_and_held_to_redeem(
    camera, live_server, business, kiosk, card, shots
):
    """A Self-Redeem voucher on the card has no code of its own to show: the card shown to the
    kiosk lists it, and it is redeemed by its id on that card after the hold, never on sight."""
    voucher = voucher_for_counter(business, title="Birthday cake", method="self", card=card)
    page = open_kiosk(camera, live_server, kiosk, qr_image(card.code), viewport=(390, 844))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    use = page.locator(f'.kiosk-use[data-voucher-id="{voucher.pk}"]')
    expect(use).to_have_text("Use your voucher: Birthday cake")
    page.screenshot(path=str(shots / "kiosk-card-voucher-offered.png"), full_page=True)
    use.click()
    expect(root).to_have_attribute("data-state", "confirm")
    expect(page.locator("#voucher-title")).to_have_text("Birthday cake")
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
    page.keyboard.down("Enter")
    expect(root).to_have_attribute("data-state", "redeemed", timeout=DECODE_TIMEOUT)
    page.keyboard.up("Enter")
    page.screenshot(path=str(shots / "kiosk-card-voucher-redeemed.png"), full_page=True)
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    only_this_server(page, live_server)


@pytest.mark.parametrize(
    ("viewport", "locale", "says", "use"),
    [
        ((1024, 768), "en-US", "1 of 10 stamps", "Use your voucher: Birthday cake"),
        ((390, 844), "th-TH", "1 จาก 10 ตรา", "ใช้คูปองของคุณ: Birthday cake"),
    ],
)
def test_a_card_shown_as_code_128_is_stamped_shows_progress_and_its_voucher_is_held_to_redeem(
    camera, live_server, business, kiosk, card, viewport, locale, says, use, shots
):
    """The pass of a program printing Code 128 (a till's laser scanner reads it) carries the
    same card code: the kiosk's camera reads it too. The clip holds only the barcode, so
    without Code 128 in the decoder's formats nothing is ever read here."""
    assert normalize_card_code(card.code) == card.code  # a real card code, check symbol and all
    voucher = voucher_for_counter(business, title="Birthday cake", method="self", card=card)
    page = open_kiosk(
        camera,
        live_server,
        kiosk,
        code128_image(card.code),
        viewport=viewport,
        locale=locale,
    )
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    expect(page.locator("#stamps-text")).to_have_text(says)
    expect(page.locator("#progress")).to_have_js_property("value", 1)
    offered = page.locator(f'.kiosk-use[data-voucher-id="{voucher.pk}"]')
    expect(offered).to_have_text(use)
    page.screenshot(path=str(shots / f"kiosk-code128-{locale}-{viewport[0]}-stamped.png"))
    assert list(StampEvent.objects.values_list("card_id", "delta", "source")) == [
        (card.pk, 1, "kiosk")
    ]
    offered.click()
    expect(root).to_have_attribute("data-state", "confirm")
    assert Voucher.objects.get(pk=voucher.pk).status == "active"  # seen and chosen, not used
    page.keyboard.down("Enter")
    expect(root).to_have_attribute("data-state", "redeemed", timeout=DECODE_TIMEOUT)
    page.keyboard.up("Enter")
    page.screenshot(path=str(shots / f"kiosk-code128-{locale}-{viewport[0]}-redeemed.png"))
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    # Back to idle by itself; the barcode still in view is the same presentation.
    expect(root).to_have_attribute("data-state", "idle", timeout=DECODE_TIMEOUT)
    page.screenshot(path=str(shots / f"kiosk-code128-{locale}-{viewport[0]}-idle.png"))
    assert StampEvent.objects.count() == 1
    only_this_server(page, live_server)


def test_a_self_redeem_voucher_printed_as_code_128_waits_for_the_hold(
    camera, live_server, business, kiosk, shots
):
    voucher = voucher_for_counter(
        business,
        title="Free cookie",
        method="self",
        code="COOKIE-4821",
        code_display="code128",
    )
    page = open_kiosk(
        camera,
        live_server,
        kiosk,
        code128_image("COOKIE-4821"),
        viewport=(1024, 768),
    )
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "confirm", timeout=DECODE_TIMEOUT)
    expect(page.locator("#voucher-title")).to_have_text("Free cookie")
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
    hold = page.locator("#hold")
    box = hold.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    expect(root).to_have_attribute("data-state", "redeemed", timeout=DECODE_TIMEOUT)
    page.mouse.up()
    expect(page.locator("#message")).to_have_text("Voucher redeemed: Free cookie.")
    page.screenshot(path=str(shots / "kiosk-code128-voucher-redeemed.png"))
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    assert not StampEvent.objects.exists()
    only_this_server(page, live_server)


def test_without_full_screen_or_wake_lock_the_kiosk_still_stamps(
    camera, live_server, kiosk, card, shots
):
    """An iPhone has no full screen for pages and older browsers no wake lock: nothing offered
    that cannot work, and the kiosk does its job."""
    no_such_apis = """
        delete Navigator.prototype.wakeLock;
        delete Element.prototype.requestFullscreen;
        delete Element.prototype.webkitRequestFullscreen;
        Object.defineProperty(Document.prototype, "fullscreenEnabled", { get: () => false });
    """
    page = open_kiosk(camera, live_server, kiosk, qr_image(card.code), script=no_such_apis)
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-fullscreen", "unsupported")
    expect(root).to_have_attribute("data-wake-lock", "unsupported")
    expect(page.locator("#tap-start")).to_be_hidden()
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    page.locator("#done").click()
    expect(root).to_have_attribute("data-state", "idle")
    assert StampEvent.objects.count() == 1
    assert not [e for e in page.console_errors if "Uncaught" in e or "TypeError" in e]


def test_a_kiosk_revoked_while_it_waits_stops_at_its_next_request(
    camera, live_server, business, staff_actor, kiosk, card
):
    """Revoked between loading the page and the next customer: the scan sent next is refused
    and the kiosk switches off, with nothing stamped and no tap from anyone."""
    page = camera(qr_image(card.code), live_server=live_server, cookie=kiosk.token)

    def revoke_then_send(route):
        # Playwright calls this in a greenlet of its own, outside the test's disabled scopes.
        with scopes_disabled():
            revoke_device(business=business, actor=staff_actor, device=kiosk.device)
        route.continue_()

    page.route("**/device/scan", revoke_then_send)
    # The camera's context grants the camera alone, which refuses every other permission.
    page.context.grant_permissions(["camera", "screen-wake-lock"])
    page.goto(f"{live_server.url}/device/kiosk/")
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-state", "off", timeout=DECODE_TIMEOUT)
    expect(page.locator("#off")).to_be_visible()
    expect(page.locator("#tap-start")).to_be_hidden()
    expect(root).to_have_attribute("data-wake-lock", "off")  # held, then let go: it may sleep
    assert not StampEvent.objects.exists()


def test_a_revoked_kiosk_back_at_idle_by_itself_switches_off(
    camera, live_server, business, staff_actor, kiosk, card, settings
):
    """No one taps "Done": the kiosk returns to idle on its own and learns there that it was
    revoked."""
    settings.KIOSK_IDLE_SECONDS = 1  # nothing is looked at on the answer's screen here
    page = open_kiosk(camera, live_server, kiosk, qr_image(card.code))
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-idle-ms", "1000")
    expect(root).to_have_attribute("data-state", "stamped", timeout=DECODE_TIMEOUT)
    revoke_device(business=business, actor=staff_actor, device=kiosk.device)
    expect(root).to_have_attribute("data-state", "off", timeout=DECODE_TIMEOUT)
    assert StampEvent.objects.count() == 1
