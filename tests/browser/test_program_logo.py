"""Uploading a logo in the designer in real Chromium: the preview shows it before it is
saved, a file that is not a picture is refused in the owner's language, phone and desktop."""

import io

import pytest
from django_scopes import scopes_disabled
from PIL import Image, ImageDraw

from stampcard.loyalty.models import Program
from tests.browser.test_designer import DESKTOP, PHONE, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def logo_png() -> bytes:
    image = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 476, 156), radius=40, fill=(250, 204, 21, 255))
    draw.ellipse((30, 30, 130, 130), fill=(124, 45, 18, 255))
    draw.rectangle((160, 60, 440, 100), fill=(124, 45, 18, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
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
def test_an_owner_uploads_a_logo_and_sees_it(
    browser, live_server, owner, program, shots, viewport, language, save
):
    context, page = logged_in(browser, live_server, viewport, language)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    edit = f"{live_server.url}/b/{program.business.slug}/programs/{program.pk}/edit/"
    page.goto(edit)
    logo_input = page.locator("input[name=logo_file]")
    logo_input.set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()})
    page.locator("#preview image.preview-logo").wait_for()
    size = "phone" if viewport == PHONE else "desktop"
    page.screenshot(path=shots / f"logo-{size}-{language}-chosen.png", full_page=True)
    with scopes_disabled():
        assert not Program.objects.get(pk=program.pk).logo  # the preview stores nothing
    page.get_by_role("button", name=save, exact=True).click()
    page.wait_for_url(f"{live_server.url}/b/{program.business.slug}/programs/{program.pk}/")
    with scopes_disabled():
        stored = Program.objects.get(pk=program.pk)
    assert stored.logo.name.startswith("logos/")
    page.goto(edit)
    page.locator("#preview image.preview-logo").first.wait_for()
    page.locator("input[name=remove_logo]").wait_for()
    logo_input.set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": b"<html>not a picture</html>"}
    )
    page.get_by_role("button", name=save, exact=True).click()
    page.locator(".has-error .error").first.wait_for()
    message = page.locator(".has-error .error").first.inner_text()
    if language == "th":
        assert "ไฟล์นี้ไม่ใช่รูปภาพ" in message
    else:
        assert "This file is not a PNG, JPEG" in message
    page.locator("input[name=logo_file]").scroll_into_view_if_needed()
    page.screenshot(path=shots / f"logo-{size}-{language}-refused.png")
    with scopes_disabled():
        assert Program.objects.get(pk=program.pk).logo.name == stored.logo.name
    assert [e for e in errors if "Content Security Policy" in e] == []
    context.close()
