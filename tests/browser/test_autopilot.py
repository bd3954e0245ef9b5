"""Autopilot in real Chromium: a keyboard-wedge scanner is keystrokes at scanner speed.

A scanner types a code a few milliseconds a character and Enter; a person is slower and must
confirm. While the network is down scans wait in IndexedDB and are applied once it returns.
"""

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.services import pair_device
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = 20_000  # two shared cores: generous, and never part of what is asserted


@pytest.fixture
def station(business, shop, staff_actor):
    return pair_device(
        business=business, actor=staff_actor, name="Door", kind="autopilot", location=shop
    )


@pytest.fixture
def open_station(browser, live_server, station):
    contexts = []

    def open_page(*, viewport=(1024, 768), locale="en-US"):
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale=locale
        )
        context.add_cookies(
            [{"name": DEVICE_COOKIE, "value": station.token, "url": live_server.url}]
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/device/autopilot/")
        expect(page.locator("#autopilot")).to_have_attribute("data-ready", "1", timeout=SLOW)
        expect(page.locator("#wedge")).to_be_focused()
        return page

    yield open_page
    for context in contexts:
        context.close()


# A wedge scanner's keystrokes come this far apart, by the time the device gave them.
SCANNER_KEY_MS = 5


def scanner_types(page, code):
    """Type ``code`` and Enter as a keyboard-wedge scanner does: every key event stamped
    SCANNER_KEY_MS after the one before, as the system stamps a real scanner's keys.

    The events carry that time (DevTools' ``Input.dispatchKeyEvent`` ``timestamp``, which is
    the page's ``event.timeStamp``) instead of being paced by the test: on a busy machine a
    paced key can reach the page late, and a scanner's burst would then look like a person
    typing. What the page judges (the keys' own times) is what a scanner sends.
    """
    session = page.context.new_cdp_session(page)
    start = time.time()
    try:
        for n, key in enumerate([*code, "Enter"]):
            when = start + n * SCANNER_KEY_MS / 1000
            event = (
                {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}
                if key == "Enter"
                else {"key": key, "text": key}
            )
            session.send("Input.dispatchKeyEvent", {"type": "keyDown", "timestamp": when, **event})
            up = {name: value for name, value in event.items() if name != "text"}
            session.send("Input.dispatchKeyEvent", {"type": "keyUp", "timestamp": when, **up})
    finally:
        session.detach()


def stamps_of(card):
    return list(StampEvent.objects.filter(card=card, kind="stamp").values_list("delta", "source"))


def test_scans_at_scanner_speed_stamp_once_each_and_survive_a_dropped_network(
    open_station, program, card
):
    page = open_station()
    last = page.locator("#last")
    scanner_types(page, card.code)
    expect(last).to_have_attribute("data-state", "ok", timeout=SLOW)
    expect(last).to_contain_text("1 of 10 stamps")
    assert stamps_of(card) == [(1, "autopilot")]

    # A burst of the same card: ignored on the station, nothing more written.
    for _ in range(3):
        scanner_types(page, card.code)
    expect(last).to_have_attribute("data-state", "duplicate")
    expect(page.locator("#wedge")).to_be_focused()
    assert stamps_of(card) == [(1, "autopilot")]

    # The network drops: scans wait on the station, and the screen says so.
    others = [factories.CardFactory(program=program) for _ in range(3)]
    page.context.set_offline(True)
    for other in others:
        scanner_types(page, other.code)
        expect(last).to_have_attribute("data-state", "queued", timeout=SLOW)
    scanner_types(page, others[0].code)  # a duplicate while offline is still a duplicate
    expect(page.locator("#autopilot")).to_have_attribute("data-pending", "3", timeout=SLOW)
    expect(page.locator("#pending")).to_contain_text("3")
    assert all(stamps_of(other) == [] for other in others)

    # It returns: every waiting scan is applied, exactly once.
    page.context.set_offline(False)
    expect(page.locator("#autopilot")).to_have_attribute("data-pending", "0", timeout=SLOW)
    expect(page.locator("#pending")).to_be_hidden()
    for other in others:
        assert stamps_of(other) == [(1, "autopilot")]
    assert stamps_of(card) == [(1, "autopilot")]

    # A reload sends nothing again: the queue is empty.
    page.reload()
    expect(page.locator("#autopilot")).to_have_attribute("data-ready", "1", timeout=SLOW)
    expect(page.locator("#wedge")).to_be_focused()
    expect(page.locator("#autopilot")).to_have_attribute("data-pending", "0")
    assert StampEvent.objects.filter(kind="stamp").count() == 4


def test_a_person_typing_must_confirm_and_a_refusal_is_shown(open_station, program, card):
    program.cooldown_seconds = 3600
    program.save()
    page = open_station()
    page.keyboard.type(card.code, delay=150)
    page.keyboard.press("Enter")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#typed-code")).to_have_text(card.code)
    assert stamps_of(card) == []
    page.locator("#confirm-stamp").click()
    expect(page.locator("#last")).to_have_attribute("data-state", "ok", timeout=SLOW)
    expect(page.locator("#wedge")).to_be_focused()
    assert stamps_of(card) == [(1, "autopilot")]

    # A code the server does not know: refused, and said so.
    scanner_types(page, "NOT-A-CARD-CODE")
    expect(page.locator("#last")).to_have_attribute("data-state", "refused", timeout=SLOW)
    assert stamps_of(card) == [(1, "autopilot")]


@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
@pytest.mark.parametrize("viewport", [(1024, 768), (390, 844)])
def test_screenshots(open_station, card, tmp_path, locale, viewport):
    folder = Path(os.environ.get("STAMPCARD_SCREENSHOTS") or tmp_path)
    page = open_station(viewport=viewport, locale=locale)
    # The field's label stands clear of its focus ring (the field has the focus all along).
    label_bottom, ring_top = page.evaluate(
        """() => {
          const field = document.getElementById("wedge");
          const ring = getComputedStyle(field);
          const around = parseFloat(ring.outlineWidth) + parseFloat(ring.outlineOffset);
          const label = document.querySelector("label[for=wedge]").getBoundingClientRect();
          return [label.bottom, field.getBoundingClientRect().top - around];
        }"""
    )
    assert label_bottom <= ring_top
    scanner_types(page, card.code)
    expect(page.locator("#last")).to_have_attribute("data-state", "ok", timeout=SLOW)
    page.screenshot(path=str(folder / f"autopilot-{locale}-{viewport[0]}.png"), full_page=True)


def test_the_staff_scanner_queues_a_stamp_while_offline_and_applies_it_once(
    browser, live_server, business, shop, staff_actor, card
):
    scanner = pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    context.add_cookies([{"name": DEVICE_COOKIE, "value": scanner.token, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/device/scanner/")
    page.locator("#code").fill(card.code)
    page.locator("#code").press("Enter")
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "shown", timeout=SLOW)
    context.set_offline(True)
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    expect(page.locator("#pending")).to_contain_text("1")
    assert stamps_of(card) == []
    context.set_offline(False)
    expect(page.locator("#scanner")).to_have_attribute("data-pending", "0", timeout=SLOW)
    expect(page.locator("#pending")).to_be_hidden()
    assert stamps_of(card) == [(1, "staff")]
    context.close()


def test_a_scan_while_a_typed_code_waits_is_a_scan_and_its_enter_confirms_nothing(
    open_station, program, card
):
    page = open_station()
    typed_by_hand = factories.CardFactory(program=program)
    page.keyboard.type(typed_by_hand.code, delay=150)
    page.keyboard.press("Enter")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#wedge")).to_be_focused()  # the confirm box does not take the focus
    scanner_types(page, card.code)
    last = page.locator("#last")
    expect(last).to_have_attribute("data-state", "ok", timeout=SLOW)
    expect(page.locator("#customer")).to_have_text(card.customer.name)
    assert stamps_of(card) == [(1, "autopilot")]
    assert stamps_of(typed_by_hand) == []  # the scanner's Enter did not confirm it
    expect(page.locator("#confirm")).to_be_visible()  # still the person's to decide

    # Even with a button focused (reached with Tab), a scan goes to the field.
    page.locator("#confirm-cancel").focus()
    other = factories.CardFactory(program=program)
    scanner_types(page, other.code)
    expect(page.locator("#customer")).to_have_text(other.customer.name, timeout=SLOW)
    assert stamps_of(other) == [(1, "autopilot")]
    assert stamps_of(typed_by_hand) == []
    expect(page.locator("#wedge")).to_be_focused()
    page.locator("#confirm-stamp").click()
    expect(page.locator("#customer")).to_have_text(typed_by_hand.customer.name, timeout=SLOW)
    assert stamps_of(typed_by_hand) == [(1, "autopilot")]
