"""One safe way in for an uploaded picture (a voucher's image, later a logo).

``clean_image(data)`` takes the bytes someone sent and gives back a ``CleanImage``: a fresh
PNG (when the picture has transparency) or JPEG that Pillow drew itself, no bigger than the
wallet needs, with no metadata (EXIF, GPS, ICC profiles, comments) of the original. Nothing
the uploader sent is ever stored or served as it came. It refuses, with ``UnsafeImage`` and a
sentence in the user's language, anything else:

- The type is read from the bytes, never from the file name or the browser's content type:
  PNG, JPEG, WEBP, HEIC/HEIF (pillow-heif), AVIF (Pillow) and SVG are accepted.
- More than ``MAX_UPLOAD_BYTES`` is refused before anything is decoded.
- A decompression bomb (a small file that declares a huge picture) is refused from its
  header, before its pixels are decoded: more than ``MAX_PIXELS`` pixels.
- An SVG is drawn by resvg into a bounded box, so it is never served as SVG and no script in
  it runs anywhere. The drawing runs in a child process with bounded CPU time and memory
  (``svg_drawing``): a filter or an embedded picture made to exhaust either is refused.
  One with a DOCTYPE or entities (entity expansion bombs) or one that refers to anything
  outside itself (files, URLs, stylesheets) is refused rather than drawn.

Use it in a form or a view::

    from stampcard.uploads import UnsafeImage, clean_image

    try:
        image = clean_image(request.FILES["image"].read(MAX_UPLOAD_BYTES + 1))
    except UnsafeImage as refusal:
        form.add_error("image", refusal.message)

and store ``image.data`` under a new name ending in ``image.extension``.
"""

import io
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from stampcard import svg_drawing
from stampcard.refusals import Refusal

pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# 40 megapixels: more than any phone camera takes; a bomb declares far more.
MAX_PIXELS = 40_000_000
# The longest side kept: enough for a wallet strip at 3x (375 points) and a printed voucher.
MAX_SIDE = 1125
# What the file picker offers; the bytes decide what is accepted.
ACCEPT = ".png,.jpg,.jpeg,.webp,.svg,.heic,.heif,.avif,image/*"

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_SVG_START = re.compile(
    rb"\A(\xef\xbb\xbf)?\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>\s*)*<svg[\s>]",
    re.S | re.I,
)
_SVG_NS = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.I)


class UnsafeImage(Refusal):
    code = "invalid_image"
    default_message = _("This file is not a picture we can use.")
    http_status = 400


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A picture drawn again by us: ``data`` in ``content_type`` (PNG or JPEG)."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The picture type the bytes are ("png", "jpeg", "webp", "heif", "avif", "svg"), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[:4], "big")
        brands = {data[8:12]} | {
            data[i : i + 4] for i in range(16, min(box_size, 64), 4) if len(data) >= i + 4
        }
        if brands & _AVIF_BRANDS:
            return "avif"
        if brands & _HEIF_BRANDS:
            return "heif"
        return None
    if _SVG_START.match(data[:4096]):
        return "svg"
    return None


def clean_upload(upload: UploadedFile) -> CleanImage:
    """``clean_image`` of an uploaded file: a file that says it is too large is refused before
    any of it is read, and no more than one byte past the limit is ever read."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise _too_large()
    return clean_image(upload.read(MAX_UPLOAD_BYTES + 1))


def _too_large() -> UnsafeImage:
    return UnsafeImage(
        _("The picture is larger than %(most)s MB. Choose a smaller one."),
        most=MAX_UPLOAD_BYTES // (1024 * 1024),
    )


def clean_image(data: bytes, *, max_side: int = MAX_SIDE) -> CleanImage:
    """The picture in ``data`` drawn again as a PNG or JPEG of at most ``max_side`` pixels.

    Refuses (``UnsafeImage``) too many bytes, an unknown type, a decompression bomb, a broken
    file and an SVG that is not self-contained. Reads nothing but ``data``; writes nothing.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large()
    kind = sniff(data)
    if kind is None:
        raise UnsafeImage(_("This file is not a PNG, JPEG, WEBP, SVG, HEIC, HEIF or AVIF picture."))
    image = _svg_image(data, max_side) if kind == "svg" else _raster_image(data)
    return _encoded(image, max_side)


def _raster_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            if image.width * image.height > MAX_PIXELS:
                raise UnsafeImage(
                    _("The picture has too many pixels (at most %(most)s million)."),
                    most=MAX_PIXELS // 1_000_000,
                )
            image.load()
    except UnsafeImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsafeImage(
            _("The picture has too many pixels (at most %(most)s million)."),
            most=MAX_PIXELS // 1_000_000,
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise UnsafeImage(_("The picture is damaged or incomplete.")) from None
    # A photo's EXIF says which way is up; the copy we make is turned that way.
    return ImageOps.exif_transpose(image)


def _svg_image(data: bytes, max_side: int) -> Image.Image:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsafeImage(_("The SVG file is not UTF-8 text.")) from None
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        raise UnsafeImage(_("SVG files with a DOCTYPE or entities are not accepted."))
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE, so no entities to expand
    except ET.ParseError:
        raise UnsafeImage(_("The SVG file is damaged.")) from None
    if root.tag not in (f"{_SVG_NS}svg", "svg"):
        raise UnsafeImage(_("The SVG file is damaged."))
    for element in root.iter():
        if _refers_outside(element):
            raise UnsafeImage(
                _(
                    "The SVG refers to files or addresses outside itself. "
                    "Embed them, or upload a PNG."
                )
            )
    return Image.open(io.BytesIO(_drawn(text, max_side)))


# What drawing one SVG may take (``svg_drawing``): far more than any logo or photo-like SVG
# needs, far less than a crafted one would take.
SVG_CPU_SECONDS = 10
SVG_MEMORY_BYTES = 512 * 1024 * 1024
SVG_WALL_SECONDS = 30
_SVG_DRAWING = Path(__file__).with_name("svg_drawing.py")


def _drawn(text: str, max_side: int) -> bytes:
    """The PNG resvg draws of ``text`` in a child process with bounded CPU time and memory
    (``svg_drawing`` says why); refused when it is damaged or needs more than that."""
    command = [
        sys.executable,
        "-I",
        str(_SVG_DRAWING),
        str(max_side),
        str(max_side),
        str(SVG_CPU_SECONDS),
        str(SVG_MEMORY_BYTES),
    ]
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter and script, numbers as arguments
            command,
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=SVG_WALL_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _too_complex() from None
    if done.returncode == svg_drawing.DAMAGED:
        raise UnsafeImage(_("The SVG file is damaged."))
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _too_complex()
    return done.stdout


def _too_complex() -> UnsafeImage:
    return UnsafeImage(
        _("This SVG takes too much work to draw. Upload the picture as a PNG or JPEG instead.")
    )


def _refers_outside(element: ET.Element) -> bool:
    for name, value in element.attrib.items():
        local = name.rsplit("}", 1)[-1]
        if local == "href" or name == _XLINK_HREF:
            target = value.strip()
            if not (target.startswith("#") or target.lower().startswith("data:image/")):
                return True
        elif local == "style" and (_CSS_URL.search(value) or "@import" in value.lower()):
            return True
    if element.tag in (f"{_SVG_NS}style", "style"):
        css = element.text or ""
        return bool(_CSS_URL.search(css) or "@import" in css.lower())
    return False


def _encoded(image: Image.Image, max_side: int) -> CleanImage:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh image from the pixels alone: nothing of the original's metadata comes along.
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    if has_alpha:
        fresh.save(out, format="PNG", optimize=True)
        kind, extension = "image/png", "png"
    else:
        fresh.save(out, format="JPEG", quality=88, optimize=True)
        kind, extension = "image/jpeg", "jpg"
    return CleanImage(
        data=out.getvalue(),
        content_type=kind,
        extension=extension,
        width=fresh.width,
        height=fresh.height,
    )
