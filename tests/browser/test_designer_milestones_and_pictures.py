"""The designer in real Chromium: a milestone's reward in each language, and pictures sent
to the live preview once, when chosen, not with every keystroke; phone and desktop."""

import io
import random

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from PIL import Image

from stampcard.dashboard import programs
from stampcard.loyalty.models import Milestone, Program
from tests import factories
from tests.browser.test_designer import DESKTOP, PHONE, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

COOKIE_TH = "คุกกี้ฟรีหนึ่งชิ้น"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path


def noisy_png(seed: int, size=(900, 300)) -> bytes:
    """A logo that does not compress away (a few hundred KB): sending it shows in the body."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def preview_requests(monkeypatch):
    """The preview requests the server is sent (the live server runs in this process): each
    one's body size (Content-Length) and whether it carries a file. (Chromium does not show a
    body with a file in it to Playwright, so the count is taken where it arrives.)"""
    sent: list[tuple[int, bool]] = []
    real = programs._forms

    def recorded(request, program, picture_tokens=None):
        if picture_tokens is not None:  # only the preview passes tokens
            sent.append((int(request.META.get("CONTENT_LENGTH") or 0), bool(request.FILES)))
        return real(request, program, picture_tokens)

    monkeypatch.setattr(programs, "_forms", recorded)
    return sent


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_picture_goes_to_the_preview_once_and_typing_sends_no_picture(
    browser, live_server, owner, business, program, viewport, shots, preview_requests
):
    context, page = logged_in(browser, live_server, viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sent = preview_requests
    page.goto(f"{live_server.url}/b/{business.slug}/programs/{program.pk}/edit/")
    first = noisy_png(1)
    assert len(first) > 300_000
    page.locator("input[name=logo_file]").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": first}
    )
    logo = page.locator("#preview image.preview-logo")
    logo.wait_for()
    page.locator("#picture-tokens input[name=logo_token]").wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    with_file = [size for size, has_file in sent if has_file]
    assert with_file, sent
    assert all(size > len(first) for size in with_file)
    first_logo = logo.get_attribute("href")

    # Typing: one preview after another, none of them with the picture.
    sent.clear()
    name = page.get_by_label("Card name").first
    name.click()
    name.press("End")
    for letter in " and cake":
        name.press(letter)
        page.wait_for_timeout(300)
    page.locator("#preview").get_by_text("and cake").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert len(sent) >= 3, sent
    assert [has_file for _size, has_file in sent] == [False] * len(sent)
    assert max(size for size, _has_file in sent) < 20_000
    assert logo.get_attribute("href") == first_logo  # the preview still shows the logo

    # Another picture is sent (once more) and shown; then typing sends none again.
    sent.clear()
    page.locator("input[name=logo_file]").set_input_files(
        {"name": "other.png", "mimeType": "image/png", "buffer": noisy_png(2)}
    )
    page.wait_for_function(
        "old => document.querySelector('#preview image.preview-logo').getAttribute('href') !== old",
        arg=first_logo,
    )
    page.wait_for_load_state("networkidle")
    assert 1 <= sum(has_file for _size, has_file in sent) <= 2, sent
    second_logo = logo.get_attribute("href")
    sent.clear()
    page.get_by_label("Reward", exact=True).first.fill("Free cake")
    page.locator("#preview").get_by_text("Free cake").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert sent
    assert not any(has_file for _size, has_file in sent)
    assert logo.get_attribute("href") == second_logo

    size = "phone" if viewport is PHONE else "desktop"
    page.screenshot(path=shots / f"designer-pictures-{size}.png", full_page=True)
    # Saving sends the chosen picture as any form does, and stores it.
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved. Issued cards show the change.").wait_for()
    with scopes_disabled():
        assert Program.objects.get(pk=program.pk).logo.name.startswith("logos/")
    assert [e for e in errors if "Content Security Policy" in e] == []
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_owner_gives_a_milestone_its_thai_title_and_a_thai_customer_reads_it(
    browser, live_server, owner, business, program, viewport, shots
):
    business.languages = ["th", "kk"]
    business.save()
    context, page = logged_in(browser, live_server, viewport)
    page.goto(f"{live_server.url}/b/{business.slug}/programs/{program.pk}/edit/")
    page.locator("input[name=ms-0-stamps]").fill("3")
    page.locator("input[name=ms-0-reward_title]").fill("Free cookie")
    page.locator(".milestone-row").first.get_by_text("The reward in other languages").click()
    thai = page.locator("input[name=ms-0-tr_th]")
    assert page.locator(".milestone-row").first.get_by_label("Thai").count() == 1
    assert page.locator("input[name=ms-0-tr_ru]").count() == 0  # not offered by the business
    thai.fill(COOKIE_TH)
    page.get_by_label("Preview in").select_option("th")
    page.locator("#preview").get_by_text(COOKIE_TH).wait_for()
    size = "phone" if viewport is PHONE else "desktop"
    page.locator(".milestone-row").first.scroll_into_view_if_needed()
    page.screenshot(path=shots / f"designer-milestone-th-{size}.png")
    page.screenshot(path=shots / f"designer-milestone-th-{size}-full.png", full_page=True)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved. Issued cards show the change.").wait_for()
    with scopes_disabled():
        milestone = Milestone.objects.get(program=program)
        assert milestone.translations == {"th": {"reward_title": COOKIE_TH}}
        customer = factories.CustomerFactory(business=business, language="th")
        card = factories.CardFactory(program=program, customer=customer, stamps=1)
    page.goto(live_server.url + reverse("customer:card", kwargs={"card_token": card.token}))
    page.locator(".c-progress").wait_for()
    assert page.locator(".c-progress").inner_text().endswith(COOKIE_TH)
    assert page.locator(".c-milestone").get_attribute("title") == COOKIE_TH
    page.screenshot(path=shots / f"card-milestone-th-{size}.png", full_page=True)
    context.close()
