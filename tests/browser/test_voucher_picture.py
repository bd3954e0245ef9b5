"""A voucher's picture in a real Chromium at phone size: on the voucher page and in the card's
list of vouchers, loaded through the card's door, inside the screen."""

import io

import pytest
from PIL import Image, ImageDraw

from stampcard.uploads import clean_image
from tests.browser.voucher_pages import PHONE, card_path, coffee_card_voucher, voucher_path

pytestmark = pytest.mark.django_db(transaction=True)


def cake_picture() -> bytes:
    """A landscape picture with something to recognise: an orange disc on a teal ground."""
    image = Image.new("RGB", (900, 600), (20, 120, 120))
    ImageDraw.Draw(image).ellipse((300, 150, 600, 450), fill=(240, 140, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def test_the_voucher_picture_shows_on_a_phone(browser, live_server, shots, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    card, voucher = coffee_card_voucher(
        title="Free cake",
        description="One slice of any cake.",
        redemption_method="self",
        image=clean_image(cake_picture()),
    )
    pages = {"voucher": voucher_path(card, voucher), "card": card_path(card)}
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    for name, path in pages.items():
        page.goto(live_server.url + path)
        picture = page.locator("img.c-voucher-picture")
        picture.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('img.c-voucher-picture').complete")
        natural = picture.evaluate("img => img.naturalWidth")
        assert natural == 900
        box = picture.bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        page.screenshot(path=shots / f"voucher-picture-{name}-phone.png", full_page=True)
        # The picture drawn on the screen is the one uploaded: the orange disc in its middle.
        drawn = Image.open(io.BytesIO(picture.screenshot())).convert("RGB")
        red, green, blue = drawn.getpixel((drawn.width // 2, drawn.height // 2))
        assert red > 200
        assert 100 < green < 180
        assert blue < 80
    context.close()
