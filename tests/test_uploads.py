"""The one way in for uploaded pictures: every accepted format, and what must be refused."""

import base64
import io
import zlib

import pillow_heif
import pytest
from PIL import Image
from PIL.ExifTags import Base as ExifTag

from stampcard.uploads import MAX_SIDE, MAX_UPLOAD_BYTES, UnsafeImage, clean_image, sniff


def picture(fmt: str, size=(64, 48), mode="RGB", **options) -> bytes:
    image = Image.new(mode, size, (200, 30, 60) if mode == "RGB" else (200, 30, 60, 128))
    out = io.BytesIO()
    if fmt in ("HEIF", "HEIC"):
        pillow_heif.from_pillow(image).save(out, format="HEIF", quality=80)
    else:
        image.save(out, format=fmt, **options)
    return out.getvalue()


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    b'<rect width="40" height="20" fill="#0a0"/></svg>'
)


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("AVIF", "avif"), ("HEIF", "heif")],
)
def test_each_raster_format_is_read_from_its_bytes_and_drawn_again(fmt, kind):
    data = picture(fmt)
    assert sniff(data) == kind
    clean = clean_image(data)
    assert clean.content_type == "image/jpeg"
    again = Image.open(io.BytesIO(clean.data))
    assert again.format == "JPEG"
    assert again.size == (64, 48)
    red, green, blue = again.convert("RGB").getpixel((10, 10))
    assert red > 150
    assert green < 90
    assert blue < 110


def test_transparency_is_kept_as_png():
    clean = clean_image(picture("PNG", mode="RGBA"))
    assert clean.content_type == "image/png"
    assert Image.open(io.BytesIO(clean.data)).mode == "RGBA"


def test_svg_is_rasterised_never_kept_as_svg():
    clean = clean_image(SVG, max_side=200)
    image = Image.open(io.BytesIO(clean.data))
    assert image.format == "PNG"
    assert image.size == (200, 100)  # fitted into the box, proportions kept
    assert b"<svg" not in clean.data


def test_a_script_in_an_svg_never_comes_through():
    hostile = SVG.replace(b"</svg>", b"<script>alert(document.cookie)</script></svg>")
    clean = clean_image(hostile)
    assert b"script" not in clean.data
    assert b"alert" not in clean.data
    assert Image.open(io.BytesIO(clean.data)).format == "PNG"


@pytest.mark.parametrize(
    "inside",
    [
        b'<image href="file:///etc/passwd" width="10" height="10"/>',
        b'<image xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="/etc/hostname"/>',
        b'<image href="https://tracker.example/pixel.png"/>',
        b'<rect width="5" height="5" style="fill: url(https://x.example/a.svg#p)"/>',
        b"<style>@import url(https://x.example/a.css);</style>",
    ],
)
def test_an_svg_referring_outside_itself_is_refused(inside):
    with pytest.raises(UnsafeImage) as refused:
        clean_image(SVG.replace(b"</svg>", inside + b"</svg>"))
    assert "outside itself" in refused.value.message


def test_an_svg_with_entities_is_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>'
    )
    with pytest.raises(UnsafeImage) as refused:
        clean_image(laughs)
    assert "DOCTYPE" in refused.value.message


def test_an_svg_declaring_a_giant_size_is_drawn_into_the_box():
    giant = SVG.replace(b'width="40" height="20"', b'width="900000" height="450000"')
    clean = clean_image(giant)
    assert max(clean.width, clean.height) == MAX_SIDE


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header for a huge grey picture with a tiny, compressed body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\x00" * (width + 1) * 64)  # only some rows: never decoded anyway
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [8000, 30000])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(side):
    bomb = png_bomb(side, side)
    assert len(bomb) < 100_000
    with pytest.raises(UnsafeImage) as refused:
        clean_image(bomb)
    assert "too many pixels" in refused.value.message


def test_a_file_whose_name_lies_is_judged_by_its_bytes():
    # Named "photo.png" by whoever sent it: the bytes are a script, so it is refused.
    with pytest.raises(UnsafeImage) as refused:
        clean_image(b"<html><script>alert(1)</script></html>")
    assert "not a PNG" in refused.value.message
    # And a JPEG sent as "logo.svg" is read as the JPEG it is.
    assert clean_image(picture("JPEG")).content_type == "image/jpeg"


def test_a_huge_file_is_refused_before_it_is_read():
    with pytest.raises(UnsafeImage) as refused:
        clean_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_UPLOAD_BYTES)
    assert "larger than 10 MB" in refused.value.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "AVIF"])
def test_a_damaged_picture_is_refused(fmt):
    # Cut inside the header: a cut in the pixel data is drawn partly grey once WeasyPrint is
    # loaded, which sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process.
    with pytest.raises(UnsafeImage) as refused:
        clean_image(picture(fmt)[:24])
    assert "damaged" in refused.value.message


def test_metadata_is_stripped_and_size_bounded():
    image = Image.new("RGB", (3000, 1500), (10, 20, 30))
    exif = Image.Exif()
    exif[ExifTag.Artist] = "Secret Person"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"GPS here")
    clean = clean_image(out.getvalue())
    assert clean.width == MAX_SIDE
    assert abs(clean.height - MAX_SIDE / 2) <= 1
    assert b"Secret Person" not in clean.data
    assert b"GPS here" not in clean.data
    assert not Image.open(io.BytesIO(clean.data)).getexif()


def full_png_bomb(side: int) -> bytes:
    """A complete, valid PNG of ``side`` by ``side`` grey pixels, all black: a few hundred KB
    that decode to ``side``² bytes and more."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    rows = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def svg_with(inside: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">' + inside + "</svg>"
    ).encode()


def filtered(primitive: str) -> bytes:
    return svg_with(
        f'<filter id="f">{primitive}</filter>'
        '<rect width="100" height="100" fill="#0a0" filter="url(#f)"/>'
    )


@pytest.fixture
def quick_svg_limit(monkeypatch):
    """A crafted SVG is stopped by the CPU limit: a lower one keeps these tests short."""
    monkeypatch.setattr("stampcard.uploads.SVG_CPU_SECONDS", 2)


@pytest.mark.parametrize(
    "hostile",
    [
        filtered('<feMorphology radius="60"/>'),
        filtered('<feTurbulence baseFrequency="0.01" numOctaves="1000000"/>'),
        filtered('<feGaussianBlur stdDeviation="5"/>' * 3000),
    ],
    ids=["morphology", "turbulence", "filter-chain"],
)
def test_an_svg_made_to_keep_the_drawing_busy_is_refused(hostile, quick_svg_limit):
    with pytest.raises(UnsafeImage) as refused:
        clean_image(hostile)
    assert "too much work to draw" in refused.value.message


def test_a_decompression_bomb_embedded_in_an_svg_is_refused():
    bomb = base64.b64encode(full_png_bomb(12_000)).decode()
    hostile = svg_with(f'<image width="100" height="100" href="data:image/png;base64,{bomb}"/>')
    assert len(hostile) < 1_000_000
    with pytest.raises(UnsafeImage) as refused:
        clean_image(hostile)
    assert "too much work to draw" in refused.value.message


def test_an_svg_with_an_ordinary_filter_and_an_embedded_picture_is_drawn():
    dot = base64.b64encode(picture("PNG", size=(20, 20))).decode()
    svg = filtered('<feGaussianBlur stdDeviation="2"/>').replace(
        b"</svg>",
        f'<image width="20" height="20" href="data:image/png;base64,{dot}"/></svg>'.encode(),
    )
    clean = clean_image(svg, max_side=200)
    assert (clean.width, clean.height) == (200, 200)
    assert Image.open(io.BytesIO(clean.data)).getpixel((100, 100))[:3] != (0, 0, 0)
