"""The stamp icon, stamp picture and strip picture in real Chromium: the designer's preview
shows them before they are saved, and the web card shows them after; phone and desktop."""

import io

import pytest
from django_scopes import scopes_disabled
from PIL import Image, ImageDraw

from stampcard.loyalty.models import Program
from stampcard.wallet import images
from tests import factories
from tests.browser.test_designer import DESKTOP, PHONE, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path


def stamp_png() -> bytes:
    """A bone on transparency, as a pet shop would draw its stamp."""
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for x, y in ((40, 70), (40, 150), (190, 70), (190, 150)):
        draw.ellipse((x - 36, y - 36, x + 36, y + 36), fill=(245, 158, 11, 255))
    draw.rectangle((40, 80, 190, 140), fill=(245, 158, 11, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def strip_jpeg() -> bytes:
    """Something like a photo: a warm gradient with shapes on it."""
    image = Image.linear_gradient("L").rotate(90).resize((1200, 420)).convert("RGB")
    tint = Image.new("RGB", image.size, (180, 83, 9))
    image = Image.blend(image, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for n in range(9):
        draw.ellipse(
            (n * 140, 60 + (n % 3) * 90, n * 140 + 120, 180 + (n % 3) * 90), fill=(120, 53, 15)
        )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize(
    ("viewport", "language", "save"),
    [
        (DESKTOP, "en", "Save"),
        (PHONE, "en", "Save"),
        (PHONE, "th", "บันทึก"),
        (DESKTOP, "th", "บันทึก"),
    ],
    ids=["desktop-en", "phone-en", "phone-th", "desktop-th"],
)
def test_an_owner_picks_an_icon_uploads_pictures_and_customers_see_them(
    browser, live_server, owner, program, shots, viewport, language, save
):
    context, page = logged_in(browser, live_server, viewport, language)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    edit = f"{live_server.url}/b/{program.business.slug}/programs/{program.pk}/edit/"
    page.goto(edit)
    strip = page.locator("#preview image.preview-strip")
    before = strip.get_attribute("href")
    page.locator("select[name=stamp_icon]").select_option("scissors")
    page.wait_for_function(
        "old => document.querySelector('#preview .preview-strip').getAttribute('href') !== old",
        arg=before,
    )
    page.locator("input[name=stamp_image_file]").set_input_files(
        {"name": "bone.png", "mimeType": "image/png", "buffer": stamp_png()}
    )
    page.locator("#preview image.preview-stamp").first.wait_for()
    page.locator("input[name=strip_image_file]").set_input_files(
        {"name": "shop.jpg", "mimeType": "image/jpeg", "buffer": strip_jpeg()}
    )
    page.locator("#preview image.preview-web-strip").wait_for()
    size = "phone" if viewport == PHONE else "desktop"
    page.screenshot(path=shots / f"pictures-{size}-{language}-preview.png", full_page=True)
    with scopes_disabled():
        assert not Program.objects.get(pk=program.pk).strip_image  # the preview stores nothing
    page.get_by_role("button", name=save, exact=True).click()
    page.wait_for_url(f"{live_server.url}/b/{program.business.slug}/programs/{program.pk}/")
    with scopes_disabled():
        stored = Program.objects.get(pk=program.pk)
        assert stored.stamp_icon == "scissors"
        assert stored.stamp_image.name.startswith("stamps/")
        assert stored.strip_image.name.startswith("strips/")
        card = factories.CardFactory(program=stored, stamps=4)
        (shots / f"pictures-strip@3x-{size}-{language}.png").write_bytes(
            images.strip_png(stored, 4, 3)
        )
        (shots / f"pictures-hero-{size}-{language}.png").write_bytes(images.hero_png(stored, 4))
    page.goto(f"{live_server.url}/c/{card.token}/")
    page.locator(".c-filled").first.wait_for()
    icon = page.locator(".c-filled").first.evaluate("el => getComputedStyle(el).backgroundImage")
    assert icon.startswith('url("data:image/png;base64,')
    behind = page.locator(".c-card").evaluate("el => getComputedStyle(el).backgroundImage")
    assert behind.startswith('url("data:image/jpeg;base64,')
    page.screenshot(path=shots / f"pictures-{size}-{language}-web-card.png")
    assert [e for e in errors if "Content Security Policy" in e] == []
    context.close()
