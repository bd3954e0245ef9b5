"""The stamp icon, the owner's stamp picture and the strip picture on the Apple strip, the
Google hero image and the web card: drawn, cached per design, changed with the design."""

import hashlib
import io
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image, ImageDraw

from stampcard.loyalty.models import Program
from stampcard.loyalty.services.programs import save_program
from stampcard.outbox.models import OutboxMessage
from stampcard.uploads import clean_image
from stampcard.wallet import apple, changes, google, images, stamp_grid, stamp_icons
from stampcard.wallet.consumers import refresh_passes
from tests import factories
from tests.wallet.test_apple_pass import unzip

RED = (255, 0, 0)
GREEN = (0, 160, 60)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def picture(data: bytes, folder: str) -> str:
    """Stored as the designer stores it: redrawn, under its hash."""
    image = clean_image(data)
    name = f"{folder}/{hashlib.sha256(image.data).hexdigest()}.{image.extension}"
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(image.data))
    return name


def diamond(side=300) -> bytes:
    """A red diamond on transparency: its corners must stay see-through."""
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(image).polygon(
        [(side / 2, 0), (side, side / 2), (side / 2, side), (0, side / 2)], fill=(*RED, 255)
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def flat(size, color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=95)
    return out.getvalue()


def given(program: Program, **fields: str) -> Program:
    for name, value in fields.items():
        setattr(program, name, value)
    program.save()
    return Program.objects.get(pk=program.pk)


def slot_centres(program: Program, scale: int):
    """The centre of each slot in pixels, and the stamp's radius, as stamp_grid lays them."""
    rows, columns, cell = stamp_grid.grid(program.stamps_goal, images.STRIP_BOX)
    left = (images.STRIP_BOX.width - columns * cell) / 2
    top = (images.STRIP_BOX.height - rows * cell) / 2
    centres = [
        (
            round((left + (slot % columns + 0.5) * cell) * scale),
            round((top + (slot // columns + 0.5) * cell) * scale),
        )
        for slot in range(program.stamps_goal)
    ]
    return centres, cell * stamp_grid.STAMP_RADIUS * scale


@pytest.mark.parametrize("name", list(stamp_icons.ICONS))
def test_each_built_in_icon_is_drawn_in_its_colour_on_transparency(name):
    icon = stamp_icons.icon_image(name, "#ff0000", 96)
    assert icon.size == (96, 96)
    assert icon.getpixel((0, 0))[3] == 0
    colors = icon.getcolors(96 * 96) or []
    opaque = [(count, color) for count, color in colors if color[3] == 255]
    assert 96 * 96 * 0.05 < sum(count for count, _color in opaque) < 96 * 96 * 0.9
    assert {color[:3] for _count, color in opaque} == {RED}


def test_the_pass_strip_changes_with_the_icon_and_every_pass_is_redated(card, owner, business):
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Membership

    others = [factories.CardFactory(program=card.program) for _ in range(2)]
    card.stamps = 4
    card.save()
    before = unzip(apple.build_pass(card))
    actor = Actor.for_member(Membership.objects.get(business=business, user=owner))
    program = save_program(
        business=business, actor=actor, program=card.program, values={"stamp_icon": "scissors"}
    )
    card.refresh_from_db()
    after = unzip(apple.build_pass(card))
    for name in ("strip.png", "strip@2x.png", "strip@3x.png"):
        assert after[name] != before[name]
        assert Image.open(io.BytesIO(after[name])).size == Image.open(io.BytesIO(before[name])).size
    (told,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    assert told.payload == {"program_id": program.pk}
    refresh_passes(told)
    for other in [card, *others]:
        other.refresh_from_db()
        assert other.updated_at >= told.created_at


def test_a_new_picture_is_a_new_cache_name(card, data_dir):
    program = card.program
    first = images.strip_png(program, 3, 2)
    program = given(program, stamp_image=picture(diamond(), "stamps"))
    second = images.strip_png(program, 3, 2)
    assert second != first
    names = sorted(path.name for path in (data_dir / "cache" / "strips").iterdir())
    assert names == [
        f"{program.pk}-v{program.design_version - 1}-r{images.RENDERING}-3@2x.png",
        f"{program.pk}-v{program.design_version}-r{images.RENDERING}-3@2x.png",
    ]


@pytest.mark.parametrize("scale", images.SCALES)
def test_an_uploaded_stamp_is_drawn_crisp_and_keeps_its_transparency(card, scale):
    program = given(
        card.program,
        stamp_image=picture(diamond(), "stamps"),
        background_color="#ffffff",
        foreground_color="#000000",
    )
    strip = Image.open(io.BytesIO(images.draw_strip(program, 3, scale))).convert("RGB")
    assert strip.size == (375 * scale, 144 * scale)
    centres, radius = slot_centres(program, scale)
    for slot, (x, y) in enumerate(centres):
        centre = strip.getpixel((x, y))
        if slot < 3:
            assert centre == RED  # drawn once at the stamp's pixels: no blur at its heart
            # Inside the circle, beyond the diamond's tip: the card shows through.
            corner = strip.getpixel((round(x - radius * 0.5), round(y - radius * 0.5)))
            assert corner == (255, 255, 255)
        else:
            assert centre == (255, 255, 255)  # not earned yet: an empty ring


def test_a_strip_picture_fills_apples_sizes_washed_and_the_stamps_read_on_it(card):
    program = given(
        card.program,
        strip_image=picture(flat((1200, 400), GREEN), "strips"),
        background_color="#000000",
    )
    washed = tuple(round(c * (1 - stamp_grid.SCRIM)) for c in GREEN)
    for scale in images.SCALES:
        strip = Image.open(io.BytesIO(images.draw_strip(program, 3, scale))).convert("RGB")
        assert strip.size == (375 * scale, 144 * scale)
        # Every corner is the picture (cropped to fill, not padded), washed towards black.
        for point in ((1, 1), (strip.width - 2, 1), (1, strip.height - 2)):
            assert all(abs(a - b) <= 12 for a, b in zip(strip.getpixel(point), washed, strict=True))
        # A filled stamp is the text colour, whatever is behind it (256 colours: near enough).
        centres, radius = slot_centres(program, scale)
        x, y = centres[0]
        assert min(strip.getpixel((x, round(y - radius * 0.85)))) >= 245


def test_the_hero_is_googles_size_with_the_picture_and_moves_with_the_design(client, card):
    program = given(card.program, strip_image=picture(flat((900, 300), GREEN), "strips"))
    url = google.hero_url(program, 3)
    response = client.get(url)
    assert response.status_code == 200
    hero = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert hero.size == (1032, 336)
    assert hero.getpixel((2, 2)) != stamp_grid.rgb(program.background_color)
    program = given(program, stamp_icon="heart")
    assert google.hero_url(program, 3) != url
    assert client.get(url).status_code == 404  # an old design's address is gone
    assert client.get(google.hero_url(program, 3)).status_code == 200


def test_the_web_card_theme_carries_the_icon_and_the_strip(client, card):
    url = reverse("customer:theme", kwargs={"card_token": card.token})
    plain = client.get(url)
    css = plain.content.decode()
    assert '--stamp-icon:url("data:image/png;base64,' in css
    assert f"--stamp-fill:{card.program.foreground_color}" in css
    assert "--card-strip" not in css
    # Tagged by design: a repeat visit downloads nothing.
    assert client.get(url, HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304

    given(
        card.program,
        stamp_image=picture(diamond(), "stamps"),
        strip_image=picture(flat((900, 300), GREEN), "strips"),
    )
    changed = client.get(url, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert changed.status_code == 200
    css = changed.content.decode()
    assert "--stamp-fill:transparent" in css
    assert '--card-strip:url("data:image/jpeg;base64,' in css
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    assert page.status_code == 200


def stamp_colours(png: bytes) -> set[Any]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {color for _count, color in image.getcolors(image.width * image.height) or []}


@pytest.mark.parametrize("scale", images.SCALES)
def test_the_pass_icon_is_the_programs_stamp_on_the_card_colours(card, scale):
    program = given(card.program, background_color="#1f2937", foreground_color="#ff0000")
    card.refresh_from_db()
    icon_png = unzip(apple.build_pass(card))["icon.png" if scale == 1 else f"icon@{scale}x.png"]
    icon = Image.open(io.BytesIO(icon_png)).convert("RGB")
    side = images.ICON_POINTS[0] * scale
    assert icon.size == (side, side)
    assert icon.getpixel((0, 0)) == images.rgb(program.background_color)
    # The built-in cup in the foreground colour, as resvg draws it, in the middle.
    inner = round(side * images.ICON_SHARE)
    cup = stamp_icons.icon_image(program.stamp_icon, "#ff0000", inner)
    offset = (side - inner) // 2
    opaque = [(x, y) for x in range(inner) for y in range(inner) if cup.getpixel((x, y))[3] == 255]
    assert opaque
    assert all(icon.getpixel((offset + x, offset + y)) == RED for x, y in opaque)


def test_the_icon_changes_with_the_stamp_icon_and_the_stamp_picture(card):
    names = [f"icon{suffix}.png" for suffix in ("", "@2x", "@3x")]
    cup = unzip(apple.build_pass(card))
    card.program = given(card.program, stamp_icon="scissors")
    scissors = unzip(apple.build_pass(card))
    card.program = given(card.program, stamp_image=picture(diamond(), "stamps"))
    pictured = unzip(apple.build_pass(card))
    for name in names:
        assert len({cup[name], scissors[name], pictured[name]}) == 3, name
    # The owner's picture is the stamp: its red diamond sits on the card's colour.
    icon = Image.open(io.BytesIO(pictured["icon@3x.png"])).convert("RGB")
    middle = icon.width // 2
    assert icon.getpixel((middle, middle)) == RED
    assert icon.getpixel((0, 0)) == images.rgb(card.program.background_color)


def test_a_voucher_shows_its_programs_stamp_and_one_without_a_plain_one(
    business, staff_actor, card
):
    from tests.wallet.test_voucher_pass import issue

    with_program = issue(business, staff_actor, card=card, program=card.program)
    files = unzip(apple.build_voucher_pass(with_program))
    palette = images.palette_of(card.program)
    assert files["icon@2x.png"] == images.icon_png(palette, 2, card.program.stamp_icon)
    voucher = issue(business, staff_actor)
    assert voucher.program is None
    files = unzip(apple.build_voucher_pass(voucher))
    palette = images.Palette(business.brand_color, apple.VOUCHER_FOREGROUND, apple.VOUCHER_LABEL)
    assert files["icon@2x.png"] == images.icon_png(palette, 2)


def test_the_google_logo_without_an_uploaded_one_is_the_stamp_and_follows_it(client, card):
    program = card.program
    first = client.get(urlsplit(google.logo_url(program)).path)
    assert first.status_code == 200
    assert first["Content-Type"] == "image/png"
    logo = Image.open(io.BytesIO(first.content)).convert("RGB")
    assert logo.size == (images.GOOGLE_LOGO_SIDE, images.GOOGLE_LOGO_SIDE)
    assert logo.getpixel((5, 5)) == images.rgb(program.background_color)
    assert images.rgb(program.foreground_color) in stamp_colours(first.content)
    program = given(program, stamp_icon="heart")
    second = client.get(urlsplit(google.logo_url(program)).path)
    assert second.status_code == 200
    assert second.content != first.content
