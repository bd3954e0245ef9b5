"""Stamps set aside on a counter device, in real Chromium: queued offline, refused once sent,
then sent again (with their original nonce) or discarded. The ledger takes each at most once.
"""

import json

import pytest
from playwright.sync_api import expect

from stampcard.loyalty.card_codes import format_card_code
from tests import factories
from tests.browser.counter_pages import pair_scanner, queue_offline
from tests.browser.test_autopilot import open_station, station  # noqa: F401
from tests.browser.test_counter_queue import (
    SLOW,
    folder,
    open_scanner,
    posted,
    show_card,
    stamps_of,
)
from tests.browser.test_customers import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def queue_a_refused_stamp(page, code):
    """Stamp ``code`` online, then once more offline: sent when the network is back, the
    second is refused by the cooldown and set aside."""
    show_card(page, code)
    page.locator("#stamp").click()
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "stamped", timeout=SLOW)
    page.context.set_offline(True)
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    page.context.set_offline(False)
    expect(page.locator("#scanner")).to_have_attribute("data-pending", "0", timeout=SLOW)


def test_a_set_aside_stamp_is_sent_again_once_and_another_discarded(
    browser, live_server, business, shop, staff_actor, program, tmp_path
):
    program.cooldown_seconds = 3600
    program.save()
    first = factories.CardFactory(program=program, customer__name="Anna Smith")
    second = factories.CardFactory(program=program, customer__name="Boris Ivanov")
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner(
        browser, live_server, f"{live_server.url}/device/scanner/", cookie=scanner.token
    )
    queue_a_refused_stamp(page, first.code)
    queue_a_refused_stamp(page, second.code)
    late = page.locator("#late-view")
    expect(late).to_be_visible(timeout=SLOW)
    lines = page.locator("#late li")
    expect(lines).to_have_count(2, timeout=SLOW)
    anna = lines.filter(has_text="Anna Smith")
    boris = lines.filter(has_text="Boris Ivanov")
    expect(anna).to_have_attribute("data-refusal", "cooldown")
    expect(anna).to_contain_text(format_card_code(first.code))
    original = anna.get_attribute("data-nonce")
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder(tmp_path) / f"set-aside-{name}.png"), full_page=True)
    assert stamps_of(first) == [1]
    assert stamps_of(second) == [1]

    # Still refused: it says so, and stays.
    anna.get_by_role("button", name="Send again").click()
    expect(anna.locator(".late-note")).to_contain_text("refused again", timeout=SLOW)
    assert stamps_of(first) == [1]

    # The manager lifts the cooldown; the stamp is sent again and reaches the server, but
    # its answer is lost on the way back: it stays set aside, and says why.
    program.cooldown_seconds = 0
    program.save()
    sent = []

    def answer_lost(route):
        sent.append(posted(route)["nonce"])
        route.fetch()  # the server carries it out…
        route.fulfill(status=502, content_type="text/html", body="Bad Gateway")  # …unheard

    page.route("**/device/scan", answer_lost)
    anna.get_by_role("button", name="Send again").click()
    expect(anna.locator(".late-note")).to_have_text(
        "The server could not answer. It stays here.", timeout=SLOW
    )
    assert stamps_of(first) == [1, 1]
    page.unroute("**/device/scan")

    # Sent again once more, with the same nonce: the server answers what it did, once.
    with page.expect_request("**/device/scan") as request:
        anna.get_by_role("button", name="Send again").click()
    sent.append(json.loads(request.value.post_data or "{}")["nonce"])
    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "stamped", timeout=SLOW)
    expect(page.locator("#message")).to_contain_text("Sent again: 1 stamp added.")
    expect(lines).to_have_count(1, timeout=SLOW)
    assert set(sent) == {original}
    assert stamps_of(first) == [1, 1]

    # The other is discarded, after a confirmation that can be declined.
    boris.get_by_role("button", name="Discard").click()
    expect(boris).to_contain_text("Discard this stamp? It will not be sent.")
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        shot = folder(tmp_path) / f"set-aside-discard-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
    boris.get_by_role("button", name="Keep it").click()
    expect(lines).to_have_count(1)
    boris.get_by_role("button", name="Discard").click()
    boris.get_by_role("button", name="Yes, discard").click()
    expect(late).to_be_hidden(timeout=SLOW)
    assert stamps_of(second) == [1]
    # Nothing comes back after a reload: it was forgotten on the device.
    page.reload()
    expect(page.locator("#scanner")).to_have_attribute("data-set-aside", "0", timeout=SLOW)
    expect(late).to_be_hidden()
    assert stamps_of(first) == [1, 1]
    assert stamps_of(second) == [1]
    page.context.close()


def test_autopilot_lists_a_refused_stamp_and_sends_it_again_once(
    open_station,  # noqa: F811  (the fixture of test_autopilot.py)
    program,
    card,
    tmp_path,
):
    page = open_station()
    last = queue_offline(page, card.code)
    # The program is switched off meanwhile: once sent, the stamp is refused and set aside.
    program.status = "archived"
    program.save()
    page.context.set_offline(False)
    late = page.locator("#late-view")
    expect(late).to_be_visible(timeout=SLOW)
    line = page.locator("#late li")
    expect(line).to_have_attribute("data-refusal", "program_inactive")
    expect(page.locator("#wedge")).to_be_focused()
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(
            path=str(folder(tmp_path) / f"autopilot-set-aside-{name}.png"), full_page=True
        )
    assert stamps_of(card) == []

    # Switched on again: sent again, applied once, and the field has the focus back.
    program.status = "active"
    program.save()
    line.get_by_role("button", name="Send again").click()
    expect(late).to_be_hidden(timeout=SLOW)
    expect(last).to_have_attribute("data-state", "ok")
    expect(last).to_contain_text("Sent again: 1 stamp added.")
    expect(page.locator("#wedge")).to_be_focused()
    assert stamps_of(card) == [1]


def test_a_final_refusal_is_not_offered_again_only_discarded(
    browser, live_server, business, shop, staff_actor, program, tmp_path
):
    gone = factories.CardFactory(program=program, customer__name="Carla Gone")
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner(
        browser, live_server, f"{live_server.url}/device/scanner/", cookie=scanner.token
    )
    show_card(page, gone.code)
    page.context.set_offline(True)
    page.locator("#stamp").click()
    expect(page.locator("#result")).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    gone.delete()  # the customer asked to be erased meanwhile
    page.context.set_offline(False)
    line = page.locator("#late li")
    expect(line).to_have_attribute("data-refusal", "card_not_found", timeout=SLOW)
    expect(line).to_contain_text("It cannot be sent again.")
    expect(line.get_by_role("button", name="Send again")).to_have_count(0)
    page.screenshot(path=str(folder(tmp_path) / "set-aside-final-phone.png"), full_page=True)
    line.get_by_role("button", name="Discard").click()
    line.get_by_role("button", name="Yes, discard").click()
    expect(page.locator("#late-view")).to_be_hidden(timeout=SLOW)
    page.context.close()


def test_the_scanner_says_what_became_of_a_queued_stamp_once_it_is_sent(
    browser, live_server, business, shop, staff_actor, program, tmp_path
):
    program.cooldown_seconds = 3600
    program.save()
    first = factories.CardFactory(program=program, customer__name="Anna Smith")
    second = factories.CardFactory(program=program, customer__name="Boris Ivanov")
    scanner = pair_scanner(business=business, shop=shop, actor=staff_actor)
    page = open_scanner(
        browser, live_server, f"{live_server.url}/device/scanner/", cookie=scanner.token
    )
    result = page.locator("#result")
    message = page.locator("#message")
    # Queued offline, then sent once the network is back: the result no longer says "saved".
    show_card(page, first.code)
    page.context.set_offline(True)
    page.locator("#stamp").click()
    expect(result).to_have_attribute("data-outcome", "queued", timeout=SLOW)
    expect(message).to_contain_text("No connection: saved on this device")
    page.context.set_offline(False)
    expect(result).to_have_attribute("data-outcome", "stamped", timeout=SLOW)
    expect(result).to_have_attribute("data-late", "1")
    expect(message).to_have_text("Sent: 1 stamp added.")
    assert stamps_of(first) == [1]
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder(tmp_path) / f"late-sent-{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)

    # Refused once sent (the cooldown): the result says so, and the line is in the list.
    page.locator("#next").click()
    queue_a_refused_stamp(page, second.code)
    expect(result).to_have_attribute("data-outcome", "refused", timeout=SLOW)
    expect(message).to_contain_text("Sent, but refused:")
    expect(message).to_contain_text("It waits in the list of stamps set aside.")
    line = page.locator("#late li")
    expect(line).to_have_attribute("data-status", "refused")
    expect(line).to_contain_text("Refused: ")
    expect(page.locator("#late-view h2")).to_have_text("Stamps set aside")
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder(tmp_path) / f"late-refused-{name}.png"), full_page=True)
    assert stamps_of(second) == [1]
    page.context.close()


def test_autopilot_says_a_queued_stamp_was_sent(
    open_station,  # noqa: F811  (the fixture of test_autopilot.py)
    program,
    card,
    tmp_path,
):
    page = open_station()
    last = queue_offline(page, card.code)
    page.context.set_offline(False)
    expect(last).to_have_attribute("data-state", "ok", timeout=SLOW)
    expect(page.locator("#message")).to_have_text("Sent: 1 stamp added.")
    expect(page.locator("#wedge")).to_be_focused()
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder(tmp_path) / f"autopilot-late-{name}.png"), full_page=True)
    assert stamps_of(card) == [1]
