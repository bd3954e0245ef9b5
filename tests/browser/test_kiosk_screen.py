"""The kiosk's screen in real Chromium: full screen from the first tap, kept awake (again after
the tablet hid the page), and a language menu that the first tap opens and leaves open.

Headless Chromium never hides a page, so the page's visibility is set by the test here, and the
wake lock is let go as a browser lets it go for a hidden page: through the lock's own
``release()``, whose "release" event the kiosk hears.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.counter_pages import PHONE, TABLET, open_kiosk_screen, pair_kiosk

pytestmark = pytest.mark.django_db(transaction=True)

HIDE_AND_SHOW = """
(() => {
  let state = "visible";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state !== "visible" });
  window.wakeLockRequests = 0;
  window.wakeLocks = [];
  const request = WakeLock.prototype.request;
  WakeLock.prototype.request = async function (...args) {
    window.wakeLockRequests += 1;
    const sentinel = await request.apply(this, args);
    window.wakeLocks.push(sentinel);
    return sentinel;
  };
  window.setVisibility = async (next) => {
    state = next;
    if (next === "hidden") {
      await Promise.all(wakeLocks.filter((lock) => !lock.released).map((lock) => lock.release()));
    }
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""

COUNT_FULLSCREEN = """
(() => {
  window.fullscreenRequests = 0;
  const request = Element.prototype.requestFullscreen;
  Element.prototype.requestFullscreen = function (...args) {
    window.fullscreenRequests += 1;
    return request.apply(this, args);
  };
})();
"""
MENU_OPEN = "() => document.querySelector('.lang select').matches(':open')"


@pytest.fixture
def kiosk(business, shop, staff_actor):
    return pair_kiosk(business=business, shop=shop, actor=staff_actor)


def test_the_first_tap_makes_the_kiosk_full_screen_and_it_keeps_the_screen_awake(
    browser, live_server, kiosk, shots
):
    page = open_kiosk_screen(browser, live_server, kiosk)
    root = page.locator("#kiosk")
    # No gesture yet: no full screen (a browser refuses it), and a quiet hint on the idle screen.
    expect(root).to_have_attribute("data-fullscreen", "off")
    start = page.locator("#tap-start")
    expect(start).to_be_visible()
    expect(start).to_have_text("Tap to start")
    page.screenshot(path=str(shots / "kiosk-tap-to-start-1024.png"))
    assert page.evaluate("() => document.fullscreenElement") is None
    # The screen's wake lock, asked for by the page itself through navigator.wakeLock.
    expect(root).to_have_attribute("data-wake-lock", "on")

    page.mouse.click(20, 300)  # anywhere on the screen
    expect(root).to_have_attribute("data-fullscreen", "on")
    assert page.evaluate("() => document.fullscreenElement === document.documentElement")
    expect(start).to_be_hidden()
    expect(root).to_have_attribute("data-wake-lock", "on")

    # Left (a swipe, Escape): the hint is back, and the next tap goes full screen again.
    page.evaluate("() => document.exitFullscreen()")
    expect(root).to_have_attribute("data-fullscreen", "off")
    expect(start).to_be_visible()
    start.click()
    expect(root).to_have_attribute("data-fullscreen", "on")

    # The home-screen app: the manifest linked from the page, as the browser fetches it.
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    served = page.request.get(f"{live_server.url}{href}")
    assert served.ok
    assert served.headers["content-type"] == "application/manifest+json"
    manifest = served.json()
    assert (manifest["display"], manifest["orientation"]) == ("fullscreen", "any")
    # Installed, it opens this kiosk's screen.
    page.goto(f"{live_server.url}{manifest['start_url']}")
    assert page.url == f"{live_server.url}/device/kiosk/"
    page.context.close()


def test_the_wake_lock_let_go_while_hidden_is_asked_for_again_when_the_kiosk_is_shown(
    browser, live_server, kiosk
):
    page = open_kiosk_screen(browser, live_server, kiosk, script=HIDE_AND_SHOW)
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-wake-lock", "on")
    assert page.evaluate("wakeLockRequests") == 1

    # Another app in front: the browser lets the lock go, and a hidden page asks for none.
    page.evaluate("setVisibility('hidden')")
    expect(root).to_have_attribute("data-wake-lock", "off")
    assert page.evaluate("wakeLockRequests") == 1

    # The kiosk in front again: asked for again, and held.
    page.evaluate("setVisibility('visible')")
    expect(root).to_have_attribute("data-wake-lock", "on")
    assert page.evaluate("wakeLockRequests") == 2
    assert page.evaluate("wakeLocks.at(-1).released") is False
    page.context.close()


def test_a_wake_lock_the_system_let_go_is_asked_for_again_when_the_kiosk_is_shown(
    browser, live_server, kiosk
):
    """A battery saver lets the lock go while the kiosk is on screen: the kiosk hears it, and
    asks again the next time it is shown."""
    page = open_kiosk_screen(browser, live_server, kiosk, script=HIDE_AND_SHOW)
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-wake-lock", "on")
    page.evaluate("wakeLocks[0].release()")
    expect(root).to_have_attribute("data-wake-lock", "off")

    page.evaluate("setVisibility('hidden')")
    page.evaluate("setVisibility('visible')")
    expect(root).to_have_attribute("data-wake-lock", "on")
    assert page.evaluate("wakeLockRequests") == 2
    assert page.evaluate("wakeLocks.at(-1).released") is False
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_the_first_tap_on_the_language_menu_opens_it_and_a_language_is_chosen(
    browser, live_server, kiosk, viewport, shots
):
    """Any first tap asks for full screen, but not the one on the language menu: a page that
    goes full screen while its menu is open closes the menu (Chromium closes it on the
    ``fullscreenchange``). The next tap elsewhere goes full screen."""
    page = open_kiosk_screen(
        browser, live_server, kiosk, viewport=viewport, touch=True, script=COUNT_FULLSCREEN
    )
    root = page.locator("#kiosk")
    expect(root).to_have_attribute("data-fullscreen", "off")
    menu = page.get_by_label("Language")
    menu.tap()
    assert page.evaluate(MENU_OPEN)
    assert page.evaluate("fullscreenRequests") == 0
    expect(root).to_have_attribute("data-fullscreen", "off")
    expect(page.locator("#tap-start")).to_be_visible()
    assert page.evaluate(MENU_OPEN)
    page.screenshot(path=str(shots / f"kiosk-language-menu-{viewport[0]}.png"))

    menu.select_option("kk")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_label("Тіл")).to_have_value("kk")
    expect(root).to_have_attribute("data-ready", "1")
    page.touchscreen.tap(20, 300)
    expect(root).to_have_attribute("data-fullscreen", "on")
    page.screenshot(path=str(shots / f"kiosk-language-chosen-{viewport[0]}.png"))
    page.context.close()
