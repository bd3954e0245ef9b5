"""The staff scanner in real Chromium, its camera fed a video of a real code.

Chromium's fake camera plays a clip written by ``fake_camera``; the page decodes it with our
own WebAssembly decoder and posts the scan. Every request must stay on this server.
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.vouchers.models import Voucher, VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests.browser.conftest import CHROMIUM, QUIET
from tests.browser.counter_pages import open_scanner_camera, pair_scanner, voucher_for_counter
from tests.browser.fake_camera import code128_image, qr_image, write_y4m

pytestmark = pytest.mark.django_db(transaction=True)
DECODE_TIMEOUT = 30_000  # two shared cores: generous, and never part of what is asserted


@pytest.fixture
def camera(browser, tmp_path):
    """Open a Chromium whose camera plays ``image``; returns its page.

    Launched through the session's Playwright (``browser``): one Playwright per process.
    """
    launched = []

    def open_page(image, *, live_server, cookie=None, viewport=(390, 844), locale="en-US"):
        clip = write_y4m(image, tmp_path / f"camera-{len(launched)}.y4m")
        chromium = browser.browser_type.launch(
            executable_path=CHROMIUM,
            args=[
                *QUIET,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}",
            ],
        )
        launched.append(chromium)
        context = chromium.new_context(
            permissions=["camera"],
            viewport={"width": viewport[0], "height": viewport[1]},
            locale=locale,
        )
        if cookie is not None:
            context.add_cookies([{"name": DEVICE_COOKIE, "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.requests = []
        page.console_errors = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.on(
            "console",
            lambda message: message.type == "error" and page.console_errors.append(message.text),
        )
        return page

    yield open_page
    for chromium in launched:
        chromium.close()


def only_this_server(page, live_server):
    hosts = {urlsplit(url).hostname for url in page.requests if not url.startswith("data:")}
    assert hosts <= {urlsplit(live_server.url).hostname}, hosts


def test_a_qr_code_on_the_camera_shows_the_card_and_one_tap_stamps_it(
    camera, live_server, business, shop, staff_actor, card
):
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner_camera(camera, live_server, scanner, qr_image(card.code))
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "shown", timeout=DECODE_TIMEOUT)
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    expect(page.locator("#stamps-text")).to_have_text("0 of 10 stamps")
    assert StampEvent.objects.count() == 0  # showing writes nothing
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "stamped")
    expect(page.locator("#message")).to_have_text("1 stamp added.")
    expect(page.locator("#stamps-text")).to_have_text("1 of 10 stamps")
    # The camera still sees the card: it is not scanned again while it is on screen.
    page.locator("#undo").click()
    expect(result).to_have_attribute("data-outcome", "undone")
    assert [e.delta for e in StampEvent.objects.order_by("id")] == [1, -1]
    assert [e.actor_device_id for e in StampEvent.objects.all()] == [scanner.device.pk] * 2
    only_this_server(page, live_server)
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_a_card_pass_printed_as_code_128_on_the_camera_shows_the_card(
    camera, live_server, business, shop, staff_actor, program, card
):
    """A program may print its passes' card code as Code 128 (``card_barcode``): the camera
    reads it as it reads the QR code. The clip holds only the barcode."""
    program.card_barcode = "code128"
    program.save(update_fields=["card_barcode"])
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner_camera(camera, live_server, scanner, code128_image(card.code))
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "shown", timeout=DECODE_TIMEOUT)
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "stamped")
    expect(page.locator("#stamps-text")).to_have_text("1 of 10 stamps")
    assert list(StampEvent.objects.values_list("card_id", "delta")) == [(card.pk, 1)]
    only_this_server(page, live_server)


def test_a_code_128_redeem_code_on_the_camera_is_redeemed_once(
    camera, live_server, business, shop, staff_actor
):
    voucher = voucher_for_counter(
        business,
        title="Free cake",
        method="redeem_code",
        code="CAKE-4821",
        code_display="code128",
    )
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner_camera(camera, live_server, scanner, code128_image("CAKE-4821"))
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "redeemed", timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_have_text("Voucher redeemed: Free cake.")
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    # "Scan next", and the camera still holds the same code: now it is refused as used.
    page.locator("#next").click()
    expect(result).to_have_attribute("data-refusal", "already_used", timeout=DECODE_TIMEOUT)
    expect(page.locator("#voucher-when")).to_contain_text("Riverside")
    only_this_server(page, live_server)


def test_a_member_logs_in_and_redeems_a_staff_scan_voucher_by_its_qr_code(
    camera, live_server, business, owner
):
    voucher = voucher_for_counter(business, title="Birthday cake", method="staff_scan")
    page = camera(qr_image(voucher.token), live_server=live_server, locale="th-TH")
    page.goto(f"{live_server.url}/accounts/login/?next=/b/{business.slug}/scanner/")
    page.locator("input[name=username]").fill("owner")
    page.locator("input[name=password]").fill("pw-owner-1234")
    page.locator("input[name=password]").press("Enter")
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "redeemed", timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_have_text("แลกคูปองแล้ว: Birthday cake")
    assert Voucher.objects.get(pk=voucher.pk).redeemed_by_user_id == owner.pk
    only_this_server(page, live_server)


def test_a_claim_code_on_the_camera_asks_for_the_card_then_one_tap_claims_it(
    camera, live_server, business, shop, staff_actor, program, card, tmp_path
):
    from stampcard.loyalty.links import claim_url
    from stampcard.vouchers.claims import create_claim_batch
    from stampcard.vouchers.models import ClaimCode

    program.max_stamps_per_visit = 2
    program.save(update_fields=["max_stamps_per_visit"])
    batch = create_claim_batch(
        business=business, actor=staff_actor, program=program, count=1, stamps_per_code=2
    )
    printed = batch.codes.get()
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner_camera(
        camera, live_server, scanner, qr_image(claim_url(business, printed.code))
    )
    result = page.locator("#result")
    # No card on screen: the code asks for the customer's card first.
    expect(result).to_have_attribute("data-refusal", "card_first", timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_have_text("Scan the customer's card first, then this code.")
    # The customer's card typed in; the code still in front of the camera waits for the
    # cashier (it never replaces the card by itself), then is offered for that card.
    page.locator("#code").fill(card.code)
    page.locator("#typed button").click()
    page.locator("#switch-show").click(timeout=DECODE_TIMEOUT)
    claim = page.locator("#claim")
    expect(claim).to_be_visible(timeout=DECODE_TIMEOUT)
    expect(page.locator("#message")).to_have_text("A code for 2 stamps.")
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    expect(page.locator("#stamp")).to_be_hidden()
    page.screenshot(path=str(_shots(tmp_path) / "scanner-claim-offered.png"), full_page=True)
    assert StampEvent.objects.count() == 0  # offered, not claimed
    claim.click()
    expect(result).to_have_attribute("data-outcome", "claimed")
    expect(page.locator("#message")).to_have_text("2 stamps added.")
    expect(page.locator("#stamps-text")).to_have_text("2 of 10 stamps")
    expect(claim).to_be_hidden()
    page.screenshot(path=str(_shots(tmp_path) / "scanner-claimed.png"), full_page=True)
    assert ClaimCode.objects.get().claimed_by_id == card.pk
    assert list(StampEvent.objects.values_list("card_id", "delta")) == [(card.pk, 2)]
    only_this_server(page, live_server)


def _shots(tmp_path):
    import os
    from pathlib import Path

    return Path(os.environ.get("STAMPCARD_SCREENSHOTS") or tmp_path)


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_a_staff_scan_voucher_on_the_card_is_redeemed_with_one_tap(
    browser, live_server, business, shop, staff_actor, card, tmp_path, locale
):
    from django.utils import translation
    from django.utils.translation import gettext

    voucher = issue_voucher(
        business=business,
        actor=Actor(kind=ActorKind.ADMIN),
        title="Birthday cake",
        origin=VoucherOrigin.BIRTHDAY,
        redemption_method="staff_scan",
        card=card,
    )
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    context.add_cookies([{"name": DEVICE_COOKIE, "value": scanner.token, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/device/scanner/")
    page.locator("#code").fill(card.code)
    page.locator("#code").press("Enter")
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "shown", timeout=DECODE_TIMEOUT)
    offered = page.locator("#vouchers li")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text("Birthday cake")
    with translation.override(locale[:2]):
        redeem, validity = gettext("Redeem"), gettext("Valid with no end date.")
    expect(offered).to_contain_text(validity)
    page.screenshot(
        path=str(_shots(tmp_path) / f"scanner-card-voucher-{locale}.png"), full_page=True
    )
    offered.get_by_role("button", name=redeem).click()
    expect(result).to_have_attribute("data-outcome", "redeemed")
    expect(page.locator("#vouchers li")).to_have_count(0)
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    page.screenshot(
        path=str(_shots(tmp_path) / f"scanner-card-voucher-redeemed-{locale}.png"), full_page=True
    )
    assert Voucher.objects.get(pk=voucher.pk).redeemed_by_device_id == scanner.device.pk
    context.close()


def test_another_code_in_view_never_replaces_the_card_on_screen(
    camera, live_server, business, shop, staff_actor, program, card, tmp_path, settings
):
    from stampcard.loyalty.models import Card
    from tests import factories

    settings.SCANNER_DEBOUNCE_SECONDS = 1  # shorter than a shop's, not to wait out 4 s
    next_customer = factories.CardFactory(program=program)
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    # The next customer's phone is in front of the camera the whole time.
    page = open_scanner_camera(camera, live_server, scanner, qr_image(next_customer.code))
    expect(page.locator("#scanner")).to_have_attribute("data-debounce-ms", "1000")
    result = page.locator("#result")
    expect(page.locator("#customer")).to_have_text(
        next_customer.customer.name, timeout=DECODE_TIMEOUT
    )
    # The cashier types this customer's card: it stays on screen, the camera's code waits.
    page.locator("#code").fill(card.code)
    page.locator("#typed button").click()
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    switch = page.locator("#switch")
    expect(switch).to_be_visible(timeout=DECODE_TIMEOUT)  # after the camera's debounce
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    page.screenshot(path=str(_shots(tmp_path) / "scanner-another-code.png"), full_page=True)
    page.locator("#switch-keep").click()
    expect(switch).to_be_hidden()
    # Well past the debounce (2.5 times): the kept code does not come back.
    page.wait_for_timeout(2.5 * settings.SCANNER_DEBOUNCE_SECONDS * 1000)
    expect(switch).to_be_hidden()
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "stamped")
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    assert Card.objects.get(pk=card.pk).stamps == 1
    assert Card.objects.get(pk=next_customer.pk).stamps == 0
    # Switching is the cashier's choice: "Scan next", and the camera shows the next card.
    page.locator("#next").click()
    expect(page.locator("#customer")).to_have_text(
        next_customer.customer.name, timeout=DECODE_TIMEOUT
    )
