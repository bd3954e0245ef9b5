"""An uploaded logo on the Apple pass, the Google pass and the web card."""

import hashlib
import io
import json
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from stampcard.loyalty.models import Program
from stampcard.uploads import clean_image
from stampcard.wallet import apple, google, images, signing
from tests.wallet.test_apple_pass import openssl_verify, unzip

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100">'
    b'<rect width="400" height="100" fill="#ff0000"/></svg>'
)
RED = (255, 0, 0)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def png(size, color=(255, 0, 0, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format="PNG")
    return out.getvalue()


def give_logo(program: Program, data: bytes) -> Program:
    """Store ``data`` as the designer does (redrawn, under its hash) and save the program."""
    image = clean_image(data)
    name = f"logos/{hashlib.sha256(image.data).hexdigest()}.{image.extension}"
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(image.data))
    program.logo.name = name
    program.save()
    return Program.objects.get(pk=program.pk)


@pytest.mark.parametrize("data", [png((400, 100)), SVG], ids=["png", "svg"])
def test_the_logo_is_in_the_pass_fitted_into_160_by_50_points(card, data_dir, tmp_path, data):
    card.program = give_logo(card.program, data)
    files = unzip(apple.build_pass(card))
    for scale, name in ((1, "logo.png"), (2, "logo@2x.png"), (3, "logo@3x.png")):
        logo = Image.open(io.BytesIO(files[name]))
        assert logo.size == (160 * scale, 50 * scale)
        assert logo.mode == "RGBA"
        # 400x100 keeps its shape: 200x50 points drawn from the left, the rest transparent.
        assert logo.getpixel((10 * scale, 25 * scale))[:3] == RED
        assert logo.getpixel((10 * scale, 25 * scale))[3] == 255
        assert logo.getpixel((159 * scale, 25 * scale)) == (255, 0, 0, 255)
    manifest = json.loads(files["manifest.json"])
    assert (
        manifest["logo@2x.png"]
        == hashlib.sha1(files["logo@2x.png"], usedforsecurity=False).hexdigest()
    )
    ca = data_dir / signing.DEV_DIR_NAME / signing.DEV_FILES["wwdr"]
    verified = openssl_verify(tmp_path, files["manifest.json"], files["signature"], ca)
    assert verified.returncode == 0, verified.stderr


def test_a_narrow_logo_gets_transparent_padding(card):
    card.program = give_logo(card.program, png((100, 100)))
    logo = Image.open(io.BytesIO(unzip(apple.build_pass(card))["logo@2x.png"]))
    assert logo.size == (320, 100)
    assert logo.getpixel((50, 50)) == (255, 0, 0, 255)
    assert logo.getpixel((300, 50))[3] == 0


def test_without_a_logo_the_pass_draws_its_own(card):
    files = unzip(apple.build_pass(card))
    assert files["logo@2x.png"] == images.logo_png(images.palette_of(card.program), 2)


def test_google_logo_is_a_660_square_on_the_card_colour(client, card):
    program = card.program
    old_url = google.logo_url(program)
    program = give_logo(program, png((400, 100)))
    url = google.logo_url(program)
    assert url != old_url  # a new design, a new address: Google fetches it again
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    logo = Image.open(io.BytesIO(response.content))
    assert logo.size == (660, 660)
    assert logo.convert("RGB").getpixel((330, 330)) == RED
    assert logo.convert("RGB").getpixel((5, 5)) == images.rgb(program.background_color)
    old_path = reverse(
        "wallet:google_logo", kwargs={"name": f"{program.pk}-{program.design_version - 1}"}
    )
    assert client.get(old_path).status_code == 404


def test_the_web_card_shows_the_logo_in_its_header(client, card):
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    assert 'class="c-logo"' not in page.content.decode()
    card.program = give_logo(card.program, png((400, 100)))
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    html = page.content.decode()
    assert 'class="c-logo"><img src="data:image/png;base64,' in html
    assert f'alt="{card.business.name}"' in html
