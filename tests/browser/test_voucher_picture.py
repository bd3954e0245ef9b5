"""A voucher's picture in a real Chromium at phone size: on the voucher page and in the card's
list of vouchers, loaded through the card's door, inside the screen."""

import io

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw

from stampcard.tenancy.actors import Actor
from stampcard.uploads import clean_image
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


def cake_picture() -> bytes:
    """A landscape picture with something to recognise: an orange disc on a teal ground."""
    image = Image.new("RGB", (900, 600), (20, 120, 120))
    ImageDraw.Draw(image).ellipse((300, 150, 600, 450), fill=(240, 140, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def test_the_voucher_picture_shows_on_a_phone(browser, live_server, shots, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    card = factories.CardFactory(program__name="Coffee card")
    voucher = issue_voucher(
        business=card.business,
        actor=Actor.system(),
        card=card,
        title="Free cake",
        description="One slice of any cake.",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
        image=clean_image(cake_picture()),
    )
    pages = {
        "voucher": reverse(
            "customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk}
        ),
        "card": reverse("customer:card", kwargs={"card_token": card.token}),
    }
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
