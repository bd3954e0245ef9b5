"""The stamp icon, the owner's stamp picture and the strip picture in the designer: checked,
redrawn, stored by content, shown in the preview, told to every issued pass."""

import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from stampcard.loyalty.models import Program
from stampcard.loyalty.services.programs import STAMP_ICONS
from stampcard.outbox.models import OutboxMessage
from stampcard.wallet import changes, stamp_icons
from stampcard.wallet.consumers import refresh_passes
from tests import factories
from tests.dashboard.test_program_designer import form
from tests.dashboard.test_program_logo import SVG, png, png_bomb

FIELDS = ("stamp_image", "strip_image")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    return tmp_path / "media"


def edit_url(program):
    return reverse("dashboard:program_edit", args=[program.business.slug, program.pk])


def preview_url(business):
    return reverse("dashboard:program_preview", args=[business.slug])


def stored(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


def jpeg(size=(900, 300), color=(20, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def test_every_built_in_icon_can_be_chosen(client, owner, program):
    assert set(STAMP_ICONS) == set(stamp_icons.ICONS)
    client.force_login(owner)
    for icon in STAMP_ICONS:
        assert client.post(edit_url(program), form(stamp_icon=icon)).status_code == 302
        program.refresh_from_db()
        assert program.stamp_icon == icon
    refused = client.post(edit_url(program), form(stamp_icon="skull"))
    assert refused.status_code == 400
    program.refresh_from_db()
    assert program.stamp_icon == STAMP_ICONS[-1]


def test_a_stamp_picture_is_stored_by_its_hash_and_every_pass_is_redated(
    client, owner, business, program, media
):
    cards = [factories.CardFactory(program=program) for _ in range(3)]
    client.force_login(owner)
    version = program.design_version
    upload = SimpleUploadedFile("stamp.png", png((200, 200)), "image/png")
    response = client.post(edit_url(program), form(stamp_image_file=upload))
    assert response.status_code == 302, response.content.decode()[:2000]
    program.refresh_from_db()
    data = program.stamp_image.read()
    assert program.stamp_image.name == f"stamps/{hashlib.sha256(data).hexdigest()}.png"
    assert Image.open(io.BytesIO(data)).mode == "RGBA"  # transparency kept
    assert program.design_version == version + 1
    (told,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    refresh_passes(told)
    for card in cards:
        card.refresh_from_db()
        assert card.updated_at >= told.created_at


def test_a_strip_picture_is_stored_and_can_be_removed(client, owner, program, media):
    client.force_login(owner)
    upload = SimpleUploadedFile("strip.jpg", jpeg(), "image/jpeg")
    assert client.post(edit_url(program), form(strip_image_file=upload)).status_code == 302
    program.refresh_from_db()
    assert re.fullmatch(r"strips/[0-9a-f]{64}\.jpg", program.strip_image.name)
    page = client.get(edit_url(program)).content.decode()
    assert 'name="remove_strip_image"' in page
    assert 'name="remove_stamp_image"' not in page
    version = program.design_version
    assert client.post(edit_url(program), form(remove_strip_image="on")).status_code == 302
    program.refresh_from_db()
    assert not program.strip_image
    assert program.design_version == version + 1
    # Saving without a file keeps what is there.
    client.post(edit_url(program), form(strip_image_file=SimpleUploadedFile("s.jpg", jpeg())))
    program.refresh_from_db()
    name = program.strip_image.name
    assert client.post(edit_url(program), form(name="Renamed")).status_code == 302
    program.refresh_from_db()
    assert program.strip_image.name == name


@pytest.mark.parametrize("field", FIELDS)
def test_an_svg_with_a_script_is_stored_as_a_png_without_it(client, owner, program, media, field):
    client.force_login(owner)
    hostile = SVG.replace(b"</svg>", b"<script>alert(1)</script></svg>")
    upload = SimpleUploadedFile("x.svg", hostile, "image/svg+xml")
    assert client.post(edit_url(program), form(**{f"{field}_file": upload})).status_code == 302
    program.refresh_from_db()
    data = getattr(program, field).read()
    assert data.startswith(b"\x89PNG")
    assert b"script" not in data


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG.replace(b"</svg>", b'<image href="https://evil.example/x.png"/></svg>'), "outside"),
        (SVG.replace(b"<rect", b'<rect style="fill:url(http://evil.example/p)"'), "outside"),
        (b"<html><script>alert(1)</script></html>", "not a PNG, JPEG"),
        (png_bomb(30000), "too many pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024), "larger than 10 MB"),
    ],
    ids=["svg-external", "svg-css-url", "lying-name", "bomb", "huge"],
)
def test_a_hostile_picture_is_refused_and_nothing_is_written(
    client, owner, program, media, field, data, message
):
    client.force_login(owner)
    version = program.design_version
    response = client.post(
        edit_url(program),
        form(name="Changed", **{f"{field}_file": SimpleUploadedFile("a.png", data, "image/png")}),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    program.refresh_from_db()
    assert program.name != "Changed"
    assert not getattr(program, field)
    assert program.design_version == version
    assert stored(media) == []
    assert not OutboxMessage.objects.exists()


def _images(page: str, css_class: str) -> list[str]:
    return re.findall(rf'class="{css_class}" href="([^"]+)"', page)


def test_the_preview_draws_the_chosen_icon_and_pictures_and_stores_nothing(
    client, owner, business, program, media
):
    client.force_login(owner)
    plain = client.post(preview_url(business), form(stamp_icon="star")).content.decode()
    (strip,) = _images(plain, "preview-strip")
    (hero,) = _images(plain, "preview-hero")
    assert strip.startswith("data:image/jpeg;base64,")
    assert stamp_icons.ICONS["star"][1] in plain  # the web card's stamps
    heart = client.post(preview_url(business), form(stamp_icon="heart")).content.decode()
    assert _images(heart, "preview-strip") != [strip]
    assert _images(heart, "preview-hero") != [hero]

    chosen = client.post(
        preview_url(business),
        form(
            stamp_icon="star",
            stamp_image_file=SimpleUploadedFile("s.png", png((64, 64))),
            strip_image_file=SimpleUploadedFile("t.jpg", jpeg()),
        ),
    ).content.decode()
    assert _images(chosen, "preview-strip") != [strip]
    assert _images(chosen, "preview-stamp")
    assert _images(chosen, "preview-web-strip")
    assert stored(media) == []
    assert not Program.objects.get(pk=program.pk).stamp_image

    # A stored picture shows until it is removed.
    client.post(edit_url(program), form(stamp_image_file=SimpleUploadedFile("s.png", png())))
    again = client.post(preview_url(business), form(program=str(program.pk))).content.decode()
    assert _images(again, "preview-stamp")
    removed = client.post(
        preview_url(business), form(program=str(program.pk), remove_stamp_image="on")
    ).content.decode()
    assert not _images(removed, "preview-stamp")


def test_a_hostile_picture_in_the_preview_is_left_out(client, owner, business, media):
    client.force_login(owner)
    response = client.post(
        preview_url(business),
        form(strip_image_file=SimpleUploadedFile("x.png", png_bomb(30000), "image/png")),
    )
    assert response.status_code == 200
    assert not _images(response.content.decode(), "preview-web-strip")
