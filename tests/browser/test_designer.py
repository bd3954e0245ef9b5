"""The program designer in real Chromium: the preview follows what the owner types, the
pages read well in Thai and Kazakh, at phone and desktop size."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from stampcard.loyalty.models import Program
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def logged_in(browser, live_server, viewport, language="en"):
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill("owner")
    page.locator("input[name=password]").fill("pw-owner-1234")
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/b/**")
    return context, page


def test_the_preview_follows_what_the_owner_types(browser, live_server, owner, business, shots):
    context, page = logged_in(browser, live_server, DESKTOP)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/b/{business.slug}/programs/new/")
    preview = page.locator("#preview")
    page.get_by_label("Card name").first.fill("Bakery card")
    page.get_by_label("Reward", exact=True).first.fill("Free croissant")
    preview.get_by_text("Free croissant").first.wait_for()
    assert preview.get_by_text("Bakery card").count() >= 2  # Apple, Google and web card
    page.get_by_label("Stamps to the goal").fill("6")
    expect(preview.locator("figure:nth-child(3) circle")).to_have_count(6)
    page.get_by_label("Background colour").evaluate(
        "el => { el.value = '#7c2d12'; el.dispatchEvent(new Event('input', {bubbles: true})) }"
    )
    preview.locator('rect[fill="#7c2d12"]').first.wait_for()
    page.locator("input[name=ms-0-stamps]").fill("3")
    page.locator("input[name=ms-0-reward_title]").fill("Free cookie")
    preview.get_by_text("At stamp 3: Free cookie").wait_for()
    page.get_by_label("Preview in").select_option("th")
    page.locator("#preview .previews[lang=th]").wait_for()
    page.screenshot(path=shots / "designer-desktop-en.png", full_page=True)
    page.get_by_label("Stamp icon").scroll_into_view_if_needed()
    page.screenshot(path=shots / "designer-desktop-en-scrolled.png")
    assert preview.is_visible()  # the preview stays in sight while the owner scrolls
    with scopes_disabled():
        assert not Program.objects.exists()  # the preview saves nothing
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved. Issued cards show the change.").wait_for()
    with scopes_disabled():
        program = Program.objects.get()
        assert (program.name, program.stamps_goal, program.background_color) == (
            "Bakery card",
            6,
            "#7c2d12",
        )
        assert [m.stamps for m in program.milestones.all()] == [3]
    assert [e for e in errors if "Content Security Policy" in e] == []
    context.close()


def test_a_refused_value_is_shown_next_to_its_field(browser, live_server, owner, business):
    context, page = logged_in(browser, live_server, PHONE)
    page.goto(f"{live_server.url}/b/{business.slug}/programs/new/")
    page.get_by_label("Card name").first.fill("Card")
    page.get_by_label("Reward", exact=True).first.fill("Tea")
    page.get_by_label("Most stamps per visit").fill("5")
    page.get_by_label("Most stamps per day").fill("2")
    page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert").filter(has_text="at least as many stamps")
    alert.wait_for()
    with scopes_disabled():
        assert not Program.objects.exists()
    context.close()


@pytest.mark.parametrize("language", ["th", "kk"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_pages_in_thai_and_kazakh(
    browser, live_server, owner, business, language, viewport, shots
):
    program = factories.ProgramFactory(
        business=business,
        name="Coffee card",
        translations={
            "th": {"name": "บัตรสะสมแต้มกาแฟ", "reward_title": "กาแฟฟรี 1 แก้ว"},
            "kk": {"name": "Кофе картасы", "reward_title": "Тегін кофе"},
        },
    )
    factories.MilestoneFactory(program=program, stamps=5, reward_title="Cookie")
    context, page = logged_in(browser, live_server, viewport, language)
    size = "phone" if viewport is PHONE else "desktop"
    base = f"{live_server.url}/b/{business.slug}"
    for name, path in [
        ("designer", f"/programs/{program.pk}/edit/"),
        ("done", f"/start/{program.pk}/"),
        ("print", f"/programs/{program.pk}/print/"),
        ("program", f"/programs/{program.pk}/"),
        ("location", "/start/location/"),
    ]:
        response = page.goto(base + path)
        assert response is not None
        assert response.status == 200
        assert page.locator("html").get_attribute("lang") == language
        page.screenshot(path=shots / f"{name}-{size}-{language}.png", full_page=True)
    page.goto(f"{base}/programs/{program.pk}/edit/")
    page.get_by_label(
        {"th": "ดูตัวอย่างเป็นภาษา", "kk": "Алдын ала қарау тілі"}[language]
    ).select_option(language)
    expected = {"th": "กาแฟฟรี 1 แก้ว", "kk": "Тегін кофе"}[language]
    page.locator("#preview").get_by_text(expected).first.wait_for()
    page.screenshot(path=shots / f"designer-preview-{size}-{language}.png", full_page=True)
    context.close()
