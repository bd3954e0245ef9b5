"""A customer scans the join QR on a phone, joins in their language and keeps the web card.

Real Chromium at a phone's size; screenshots are kept (``STAMPCARD_SCREENSHOTS`` names a
folder to keep them in, else the test's temporary folder) for people to look at.
"""

import io
import re

import pytest
import zxingcpp
from django_scopes import scopes_disabled
from PIL import Image

from stampcard.loyalty import links
from stampcard.loyalty.models import Card, JoinChannel
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def program(db):
    business = factories.BusinessFactory(name="Baan Kafe", slug="baan-kafe", country="TH")
    program = factories.ProgramFactory(
        business=business,
        name="Coffee card",
        stamps_goal=8,
        reward_title="Free latte",
        background_color="#7c2d12",
        foreground_color="#fff7ed",
        label_color="#fed7aa",
        join_name="required",
        join_email="optional",
        join_phone="optional",
        join_birthday="optional",
        join_marketing_consent="optional",
    )
    factories.MilestoneFactory(program=program, stamps=4, reward_title="Milestone treat")
    return program


def read_qr(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


def join(browser, live_server, program, *, locale, viewport, shots, name, email, phone, tag):
    context = browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1)
    page = context.new_page()
    page.goto(live_server.url + links.join_path(program, "table_tent"))
    page.locator("h1", has_text="Coffee card").wait_for()
    page.screenshot(path=shots / f"join-{tag}.png", full_page=True)
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=marketing_consent]").check()
    page.locator("form.c-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/c/[A-Za-z0-9_-]{32,}/$"))
    page.locator(".c-card-code").wait_for()
    page.screenshot(path=shots / f"card-{tag}.png", full_page=True)
    return context, page


def test_a_thai_customer_joins_on_a_phone_down_to_the_web_card(
    browser, live_server, program, shots
):
    context, page = join(
        browser,
        live_server,
        program,
        locale="th-TH",
        viewport=PHONE,
        shots=shots,
        name="สมชาย ใจดี",
        email="somchai@example.org",
        phone="081 234 5678",
        tag="th-phone",
    )
    assert page.locator("html").get_attribute("lang") == "th"
    with scopes_disabled():
        card = Card.objects.select_related("customer").get(program=program)
    assert card.customer.language == "th"
    assert card.customer.join_channel == JoinChannel.TABLE_TENT
    assert str(card.customer.phone) == "+66812345678"
    assert page.locator(".c-card-code").inner_text() == card.display_code
    assert card.token in page.url
    # The card's own QR, as the counter's camera sees it, is the card's code.
    assert read_qr(page.locator(".c-qr").screenshot()) == [card.code]
    # Thai text on the card page, from the catalogue.
    assert re.search(r"[\u0e00-\u0e7f]", page.locator(".c-counter h2").inner_text())
    assert page.locator("a.c-apple").is_visible()
    context.close()


def test_an_english_customer_joins_and_switches_language(browser, live_server, program, shots):
    context, page = join(
        browser,
        live_server,
        program,
        locale="en-GB",
        viewport=PHONE,
        shots=shots,
        name="Ann Lee",
        email="ann@example.org",
        phone="+44 7911 123456",
        tag="en-phone",
    )
    assert page.get_by_role("heading", name="Show this at the counter").is_visible()
    assert page.get_by_text("4 more stamps to Milestone treat").is_visible()
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=shots / "card-en-desktop.png", full_page=True)
    page.get_by_label("Language").select_option("ru")
    page.get_by_role("heading", name="Покажите это на кассе").wait_for()
    page.screenshot(path=shots / "card-ru-desktop.png", full_page=True)
    context.close()


def test_desktop_join_page_in_thai(browser, live_server, program, shots):
    context = browser.new_context(viewport=DESKTOP, locale="th-TH")
    page = context.new_page()
    page.goto(live_server.url + links.join_path(program))
    page.locator("form.c-form button[type=submit]").click()  # no name: the program needs one
    page.get_by_role("alert").wait_for()
    page.screenshot(path=shots / "join-th-desktop-error.png", full_page=True)
    assert re.search(r"[\u0e00-\u0e7f]", page.get_by_role("alert").inner_text())
    context.close()


def test_the_installed_card_shows_its_code_offline(browser, live_server, program, shots):
    with scopes_disabled():
        card = factories.CardFactory(program=program)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    url = f"{live_server.url}/c/{card.token}/"
    page.goto(url)
    # The worker installs, keeps the page and takes control of it.
    # (evaluate, not wait_for_function: the page's policy allows no eval.)
    page.evaluate(
        """() => new Promise((resolve) => {
          if (navigator.serviceWorker.controller) { resolve(true); return; }
          navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
        })"""
    )
    context.set_offline(True)
    response = page.reload()
    assert response is not None
    assert response.from_service_worker
    assert page.locator(".c-card-code").inner_text() == card.display_code
    page.screenshot(path=shots / "card-offline.png", full_page=True)
    # And the network is really off: a page the worker never kept does not load.
    with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(f"{live_server.url}/healthz")
    context.close()


def test_a_full_card_and_the_way_back_in_thai(browser, live_server, program, shots):
    from stampcard.loyalty.models import StampSource
    from stampcard.loyalty.services import add_stamps
    from stampcard.vouchers.models import VoucherOrigin
    from stampcard.vouchers.services import issue_voucher

    with scopes_disabled():
        card = factories.CardFactory(program=program)
        staff = factories.member_actor(program.business, role="staff")
        for _ in range(5):
            add_stamps(
                business=program.business, actor=staff, source=StampSource.STAFF, card_id=card.pk
            )
        manager = factories.member_actor(program.business, role="manager")
        for display, code in (("qr", "LATTE-2027"), ("code128", "99123456")):
            issue_voucher(
                business=program.business,
                actor=manager,
                card=card,
                title=f"Free latte ({display})",
                origin=VoucherOrigin.MANUAL,
                redemption_method="redeem_code",
                code=code,
                code_display=display,
            )
    context = browser.new_context(viewport=PHONE, locale="th-TH")
    page = context.new_page()
    page.goto(f"{live_server.url}/c/{card.token}/")
    assert page.locator(".c-filled").count() == 5
    assert page.locator(".c-rewards").inner_text().count("Milestone treat") == 1
    images = page.locator(".c-code-image")
    assert read_qr(images.nth(0).screenshot()) == ["LATTE-2027"]
    assert read_qr(images.nth(1).screenshot()) == ["99123456"]
    page.screenshot(path=shots / "card-full-th-phone.png", full_page=True)

    page.goto(live_server.url + links.join_path(program))
    page.locator("a[href$='/back/']").click()
    page.screenshot(path=shots / "return-th-phone.png", full_page=True)
    page.locator("input[name=email]").fill("someone@example.org")
    page.locator("form.c-form button[type=submit]").click()
    page.locator("input[name=code]").wait_for()
    page.screenshot(path=shots / "check-email-th-phone.png", full_page=True)
    page.locator("input[name=code]").fill("000000")
    page.locator("form.c-form button[type=submit]").click()
    page.get_by_role("alert").wait_for()
    page.screenshot(path=shots / "wrong-code-th-phone.png", full_page=True)
    context.close()


def test_self_redeem_takes_a_hold_and_then_shows_a_live_clock(browser, live_server, program, shots):
    from playwright.sync_api import expect

    from stampcard.vouchers.models import Voucher, VoucherOrigin, VoucherStatus
    from stampcard.vouchers.services import issue_voucher

    with scopes_disabled():
        card = factories.CardFactory(program=program)
        manager = factories.member_actor(program.business, role="manager")
        by_pointer, by_keyboard = (
            issue_voucher(
                business=program.business,
                actor=manager,
                card=card,
                title=title,
                origin=VoucherOrigin.MANUAL,
                redemption_method="self",
            )
            for title in ("Free cake", "Free tea")
        )
    context = browser.new_context(viewport=PHONE, locale="th-TH", has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/c/{card.token}/")
    page.locator(f"a[href$='/v/{by_pointer.pk}/']").click()
    button = page.locator("[data-hold-button]")
    page.screenshot(path=shots / "voucher-th-phone.png", full_page=True)

    # A tap is not the gesture: nothing is sent.
    button.click()
    page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => resolve(true)))")
    with scopes_disabled():
        assert Voucher.objects.get(pk=by_pointer.pk).status == VoucherStatus.ACTIVE

    # Held down until the fill completes, it is.
    button.hover()
    with page.expect_navigation():
        page.mouse.down()
    page.mouse.up()
    clock = page.locator("[data-live-clock]")
    first = clock.inner_text()
    expect(clock).not_to_have_text(first)  # the clock runs
    page.screenshot(path=shots / "voucher-redeemed-th-phone.png", full_page=True)
    with scopes_disabled():
        assert Voucher.objects.get(pk=by_pointer.pk).status == VoucherStatus.REDEEMED

    # From the keyboard: Enter held down.
    page.goto(f"{live_server.url}/c/{card.token}/v/{by_keyboard.pk}/")
    page.locator("[data-hold-button]").focus()
    with page.expect_navigation():
        page.keyboard.down("Enter")
    page.keyboard.up("Enter")
    page.locator("[data-live-clock]").wait_for()
    with scopes_disabled():
        assert Voucher.objects.get(pk=by_keyboard.pk).status == VoucherStatus.REDEEMED
    context.close()
