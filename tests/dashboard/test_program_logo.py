"""The program's logo in the designer: checked, redrawn, stored by content, removable."""

import hashlib
import io
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from stampcard.loyalty.models import Program
from stampcard.outbox.models import OutboxMessage
from tests import factories
from tests.dashboard.test_program_designer import form

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
    b'<rect width="200" height="100" fill="#0a0"/></svg>'
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


def png(size=(120, 60), color=(200, 40, 40, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format="PNG")
    return out.getvalue()


def png_bomb(side: int) -> bytes:
    """A valid PNG header declaring ``side`` x ``side`` pixels, with a tiny body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\x00" * (side + 1) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def edit_url(program):
    return reverse("dashboard:program_edit", args=[program.business.slug, program.pk])


def stored(media) -> list[str]:
    return sorted(p.name for p in media.rglob("*") if p.is_file())


def test_a_png_logo_is_redrawn_stored_by_its_hash_and_tells_the_passes(
    client, owner, program, media
):
    client.force_login(owner)
    version = program.design_version
    upload = SimpleUploadedFile("logo.png", png(), "image/png")
    response = client.post(edit_url(program), form(logo_file=upload))
    assert response.status_code == 302, response.content.decode()[:2000]
    program.refresh_from_db()
    assert program.logo.name.startswith("logos/")
    data = program.logo.read()
    assert program.logo.name == f"logos/{hashlib.sha256(data).hexdigest()}.png"
    assert Image.open(io.BytesIO(data)).size == (120, 60)
    assert program.design_version == version + 1
    assert OutboxMessage.objects.filter(topic="wallet.passes_changed").exists()
    # The same picture again is the same file.
    client.post(edit_url(program), form(logo_file=SimpleUploadedFile("x.png", png())))
    assert len(stored(media)) == 1


def test_an_svg_with_a_script_is_stored_as_a_png_without_it(client, owner, program, media):
    client.force_login(owner)
    hostile = SVG.replace(b"</svg>", b"<script>alert(1)</script></svg>")
    response = client.post(
        edit_url(program), form(logo_file=SimpleUploadedFile("logo.svg", hostile, "image/svg+xml"))
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.logo.name.endswith(".png")
    data = program.logo.read()
    assert data.startswith(b"\x89PNG")
    assert b"script" not in data
    width, height = Image.open(io.BytesIO(data)).size
    assert abs(width / height - 2) < 0.01  # drawn large, in its own proportions


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG.replace(b"</svg>", b'<image href="file:///etc/passwd"/></svg>'), "outside itself"),
        (b"<html><script>alert(1)</script></html>", "not a PNG, JPEG"),
        (png_bomb(30000), "too many pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024), "larger than 10 MB"),
    ],
    ids=["svg-external", "lying-name", "bomb", "huge"],
)
def test_a_hostile_logo_is_refused_and_nothing_is_written(
    client, owner, program, media, data, message
):
    client.force_login(owner)
    version = program.design_version
    response = client.post(
        edit_url(program),
        form(name="Changed", logo_file=SimpleUploadedFile("logo.png", data, "image/png")),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    program.refresh_from_db()
    assert program.name != "Changed"
    assert not program.logo
    assert program.design_version == version
    assert stored(media) == []
    assert not OutboxMessage.objects.exists()


def test_the_refusal_speaks_the_owners_language(client, owner, program, media):
    client.force_login(owner)
    client.cookies["django_language"] = "th"
    response = client.post(
        edit_url(program),
        form(logo_file=SimpleUploadedFile("logo.png", b"<html></html>", "image/png")),
        HTTP_ACCEPT_LANGUAGE="th",
    )
    assert response.status_code == 400
    assert "ไฟล์นี้ไม่ใช่รูปภาพ PNG, JPEG" in response.content.decode()
    assert stored(media) == []


def test_the_logo_can_be_removed(client, owner, program, media):
    client.force_login(owner)
    client.post(edit_url(program), form(logo_file=SimpleUploadedFile("l.png", png())))
    program.refresh_from_db()
    assert program.logo
    page = client.get(edit_url(program)).content.decode()
    assert 'name="remove_logo"' in page
    version = program.design_version
    assert client.post(edit_url(program), form(remove_logo="on")).status_code == 302
    program.refresh_from_db()
    assert not program.logo
    assert program.design_version == version + 1
    assert 'name="remove_logo"' not in client.get(edit_url(program)).content.decode()


def test_saving_without_a_file_keeps_the_logo(client, owner, program, media):
    client.force_login(owner)
    client.post(edit_url(program), form(logo_file=SimpleUploadedFile("l.png", png())))
    program.refresh_from_db()
    name = program.logo.name
    assert client.post(edit_url(program), form(name="Renamed")).status_code == 302
    program.refresh_from_db()
    assert program.logo.name == name
    assert program.name == "Renamed"


def test_the_preview_shows_the_chosen_and_the_stored_logo(client, owner, program, business):
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    assert "data:image/png;base64," not in client.post(url, form()).content.decode()
    chosen = client.post(url, form(logo_file=SimpleUploadedFile("l.png", png())))
    assert "data:image/png;base64," in chosen.content.decode()
    assert not Program.objects.get(pk=program.pk).logo  # the preview stores nothing
    client.post(edit_url(program), form(logo_file=SimpleUploadedFile("l.png", png())))
    again = client.post(url, form(program=str(program.pk))).content.decode()
    assert "data:image/png;base64," in again
    removed = client.post(url, form(program=str(program.pk), remove_logo="on")).content.decode()
    assert "data:image/png;base64," not in removed


def test_another_business_program_is_not_previewed(client, owner, business, other_business, media):
    other = factories.ProgramFactory(business=other_business)
    Program.objects.filter(pk=other.pk).update(logo="logos/theirs.png")
    client.force_login(owner)
    url = reverse("dashboard:program_preview", args=[business.slug])
    response = client.post(url, form(program=str(other.pk)))
    assert response.status_code == 200
    assert "data:image/png;base64," not in response.content.decode()
