"""The counter's offline queue in real Chromium when the server answers, but not with a scan's
answer: a session that ended, a CSRF page, a server error every time.

Only a missing answer is "no connection". A login redirect or a 401/403 page keeps the queue
and asks for a new sign-in; a 5xx is tried again, then set aside so the stamps behind it go on.
"""

import json
import os
import time
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from stampcard.loyalty.card_codes import format_card_code
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.services import pair_device
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = 20_000  # two shared cores: generous, and never part of what is asserted


# A server error is tried four times over 2 + 4 + 8 seconds before it is set aside.
SET_ASIDE = 45_000


def folder(tmp_path):
    return Path(os.environ.get("STAMPCARD_SCREENSHOTS") or tmp_path)


def wait_for_stamps(page, card, expected):
    """The page sends its queue once its script has run: the template's data-pending="0" says
    nothing before that, so wait for the ledger itself."""
    deadline = time.monotonic() + SLOW / 1000
    while stamps_of(card) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert stamps_of(card) == expected


def stamps_of(card):
    return list(StampEvent.objects.filter(card=card, kind="stamp").values_list("delta", flat=True))


def open_scanner(browser, live_server, url, *, cookie=None, locale="en-US"):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    if cookie is not None:
        context.add_cookies([{"name": DEVICE_COOKIE, "value": cookie, "url": live_server.url}])
    page = context.new_page()
    page.goto(url)
    return page


def show_card(page, code):
    page.locator("#code").fill(code)
    page.locator("#code").press("Enter")
    expect(page.locator("#result")).to_have_attribute("data-outcome", "shown", timeout=SLOW)


def posted(route):
    return json.loads(route.request.post_data or "{}")


def test_a_session_that_ended_keeps_the_queue_and_asks_to_sign_in_again(
    browser, live_server, business, owner, card, tmp_path
):
    scanner_url = f"{live_server.url}/b/{business.slug}/scanner/"
    page = open_scanner(
        browser, live_server, f"{live_server.url}/accounts/login/?next=/b/{business.slug}/scanner/"
    )
    page.locator("input[name=username]").fill("owner")
    page.locator("input[name=password]").fill("pw-owner-1234")
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(scanner_url, timeout=SLOW)  # loaded: its script is running
    show_card(page, card.code)

    Session.objects.all().delete()  # logged out after 30 minutes without a request
    page.locator("#stamp").click()
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    signed_out = page.locator("#signed-out")
    expect(signed_out).to_be_visible()
    expect(signed_out).to_contain_text("You were signed out.")
    expect(page.locator("#message")).not_to_contain_text("No connection")
    expect(page.locator("#pending")).to_contain_text("1")

    # Looking a card up while signed out says so too, never the status line ("OK", "Found").
    show_other = factories.CardFactory(program=card.program)
    page.locator("#code").fill(show_other.code)
    page.locator("#code").press("Enter")
    expect(result).to_have_attribute("data-refusal", "signed_out", timeout=SLOW)
    expect(page.locator("#message")).to_contain_text("You were signed out.")
    page.screenshot(path=str(folder(tmp_path) / "scanner-signed-out.png"), full_page=True)
    assert stamps_of(card) == []

    # Signing in again brings the scanner back, and the waiting stamp is sent, once.
    signed_out.get_by_role("link").click()
    page.locator("input[name=username]").fill("owner")
    page.locator("input[name=password]").fill("pw-owner-1234")
    page.locator("input[name=password]").press("Enter")
    expect(page).to_have_url(scanner_url, timeout=SLOW)
    wait_for_stamps(page, card, [1])
    expect(page.locator("#scanner")).to_have_attribute("data-pending", "0", timeout=SLOW)
    page.context.close()


def test_a_server_error_every_time_is_set_aside_and_the_stamps_behind_it_go_on(
    browser, live_server, business, shop, staff_actor, program, card, tmp_path
):
    scanner = pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )
    behind = factories.CardFactory(program=program)
    page = open_scanner(
        browser, live_server, f"{live_server.url}/device/scanner/", cookie=scanner.token
    )
    tries = []

    def broken_for_the_first_card(route):
        scan = posted(route)
        if scan.get("action") == "stamp" and scan.get("code", "").replace("-", "") == card.code:
            tries.append(scan["nonce"])
            route.fulfill(status=500, content_type="text/html", body="<h1>Server Error (500)</h1>")
        else:
            route.continue_()

    page.route("**/device/scan", broken_for_the_first_card)
    show_card(page, card.code)
    page.locator("#stamp").click()
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    expect(page.locator("#message")).to_have_text(
        "The server could not answer: saved on this device, it will be sent again."
    )
    show_card(page, behind.code)
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    expect(page.locator("#scanner")).to_have_attribute("data-pending", "2")

    # Tried again with backoff, then set aside: the stamp behind it is sent.
    late = page.locator("#late-view")
    expect(late).to_be_visible(timeout=SET_ASIDE)
    expect(late).to_contain_text(format_card_code(card.code))
    # No answer is not a refusal: the server may have applied it, and the line says so.
    expect(late.locator("h2")).to_have_text("Stamps set aside")
    line = page.locator("#late li")
    expect(line).to_have_attribute("data-status", "no_answer")
    expect(line).to_contain_text("No answer from the server: it may have been added.")
    expect(line).not_to_contain_text("Refused")
    expect(page.locator("#scanner")).to_have_attribute("data-pending", "0", timeout=SLOW)
    page.screenshot(path=str(folder(tmp_path) / "scanner-set-aside.png"), full_page=True)
    assert stamps_of(behind) == [1]
    assert stamps_of(card) == []
    assert len(tries) == 4  # tried four times…
    assert len(set(tries)) == 1  # …as one scan, with its one nonce
    page.context.close()


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_a_lookup_answered_by_an_error_page_shows_a_sentence_not_the_status_line(
    browser, live_server, business, shop, staff_actor, card, locale
):
    scanner = pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )
    page = open_scanner(
        browser,
        live_server,
        f"{live_server.url}/device/scanner/",
        cookie=scanner.token,
        locale=locale,
    )
    page.route(
        "**/device/scan",
        lambda route: route.fulfill(status=502, content_type="text/html", body="Bad Gateway"),
    )
    page.locator("#code").fill(card.code)
    page.locator("#code").press("Enter")
    result = page.locator("#result")
    expect(result).to_have_attribute("data-refusal", "server_error", timeout=SLOW)
    with translation.override(locale[:2]):
        expected = gettext("The server could not answer. Try again in a moment.")
    expect(page.locator("#message")).to_have_text(expected)
    page.context.close()


def test_autopilot_keeps_its_queue_on_a_csrf_page_and_asks_for_a_reload(
    browser, live_server, business, shop, staff_actor, card
):
    station = pair_device(
        business=business, actor=staff_actor, name="Door", kind="autopilot", location=shop
    )
    page = open_scanner(
        browser, live_server, f"{live_server.url}/device/autopilot/", cookie=station.token
    )
    expect(page.locator("#autopilot")).to_have_attribute("data-ready", "1", timeout=SLOW)
    page.route(
        "**/device/scan",
        lambda route: route.fulfill(
            status=403, content_type="text/html", body="<h1>Forbidden (403)</h1> CSRF failed"
        ),
    )
    page.locator("#wedge").fill(card.code)
    page.locator("#wedge").press("Enter")
    page.locator("#confirm-stamp").click()
    last = page.locator("#last")
    expect(last).to_have_attribute("data-state", "queued", timeout=SLOW)
    expect(last).to_contain_text("This screen must be reloaded.")
    expect(page.locator("#autopilot")).to_have_attribute("data-pending", "1")
    # A new page (a fresh CSRF token) sends it.
    page.unroute("**/device/scan")
    page.reload()
    wait_for_stamps(page, card, [1])
    expect(page.locator("#autopilot")).to_have_attribute("data-pending", "0", timeout=SLOW)
    page.context.close()


def test_a_queued_stamp_refused_once_sent_is_shown_to_the_cashier(
    browser, live_server, business, shop, staff_actor, program, card, tmp_path
):
    program.cooldown_seconds = 3600
    program.save()
    scanner = pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )
    page = open_scanner(
        browser, live_server, f"{live_server.url}/device/scanner/", cookie=scanner.token
    )
    show_card(page, card.code)
    page.locator("#stamp").click()
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "stamped", timeout=SLOW)
    # The same card again while the network is down: queued, then refused by the cooldown.
    page.context.set_offline(True)
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    expect(page.locator("#late-view")).to_be_hidden()
    page.context.set_offline(False)
    expect(page.locator("#scanner")).to_have_attribute("data-pending", "0", timeout=SLOW)
    late = page.locator("#late-view")
    expect(late).to_be_visible(timeout=SLOW)
    line = page.locator("#late li")
    expect(line).to_have_count(1)
    expect(line).to_have_attribute("data-refusal", "cooldown")
    expect(line).to_contain_text(card.customer.name)
    expect(line).to_contain_text(format_card_code(card.code))
    page.screenshot(path=str(folder(tmp_path) / "scanner-late-refusal.png"), full_page=True)
    # It stays until it is sent again or discarded (test_set_aside.py).
    line.get_by_role("button", name="Discard").click()
    line.get_by_role("button", name="Yes, discard").click()
    expect(late).to_be_hidden()
    assert stamps_of(card) == [1]
    page.context.close()
