"""The language menu in Chromium: keyboard users move past it without being switched; Enter
or a pick with the mouse changes the language."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_arrow_keys_do_not_switch_the_language_but_enter_does(page, live_server, shots):
    page.goto(f"{live_server.url}/accounts/login/")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    menu = page.get_by_label("Language")
    menu.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert menu.input_value() == "kk"  # the menu moved...
    page.keyboard.press("Tab")
    page.wait_for_timeout(700)
    assert navigations == []  # ...but nothing was sent
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Log in").is_visible()
    page.screenshot(path=shots / "language-menu-keyboard-en.png")

    menu.focus()
    page.keyboard.press("ArrowDown")  # kk → uk
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'uk'")
    assert page.get_by_label("Мова").input_value() == "uk"


def test_a_pick_with_the_mouse_still_switches_at_once(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    menu = page.get_by_label("Language")
    menu.focus()
    page.keyboard.press("ArrowDown")
    assert page.locator("html").get_attribute("lang") == "en"
    menu.click()  # a pointer again: the next pick is sent as it is made
    menu.select_option("ru")
    page.wait_for_function("document.documentElement.lang === 'ru'")
