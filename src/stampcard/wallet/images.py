"""The pass's images, drawn with Pillow from the program's design alone (wallet.md A6, A9).

The strip (and Google's hero image) shows the stamp grid of the current cycle, drawn by
``wallet.stamp_grid`` with the program's stamp icon or stamp picture over its colour or strip
picture. A program has only goal + 1 strips per design, so each is kept on disk under
``STAMPCARD_DATA_DIR/cache/strips/`` by (program, design version, stamps, scale): a repeated
build reads it instead of drawing again, and the last ones read stay in this process's
memory. Every picture and icon is a design field (``Program.DESIGN_FIELDS``), so changing one
moves the design version, which names new files, and re-dates every pass (wallet.changes).
The pass's icon shows the program's stamp (its icon or the owner's stamp picture) on the
card's colours, as does Google's logo when the owner uploaded none; the drawn logo depends
on the colours alone. Each is drawn once per palette, stamp and size in each process (and
every one of them is a design field: a pass build keeps them per design version).

A program with an uploaded logo (``Program.logo``, stored under its content hash by the
designer after ``uploads.clean_image`` drew it again) shows it instead of the drawn one:
fitted into Apple's 160x50 points on transparent padding, and on a square of the card's
colour for Google and the web. Its name changes with its content, so the renditions are
kept per name and scale.

A voucher's picture (``Voucher.picture_name``, stored under a new random name by the issuing
after ``uploads.clean_image`` drew it again) is the coupon's strip and the offer's hero
image: a name never changes what it shows, so each rendition is kept on disk under
``STAMPCARD_DATA_DIR/cache/vouchers/`` by (name, background, size) and in memory.
"""

import base64
import functools
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from stampcard.loyalty.models import Program
from stampcard.uploads import sniff
from stampcard.wallet import stamp_grid, stamp_icons

SCALES = (1, 2, 3)
ICON_POINTS = (29, 29)
# The stamp's share of the icon's side: inside the circle Google cuts its logo to.
ICON_SHARE = 0.62
LOGO_POINTS = (50, 50)
# The most room Apple gives a logo; an uploaded one is fitted into it.
UPLOADED_LOGO_POINTS = (160, 50)
# Google shows the program logo cut to a circle: the logo stays inside it.
GOOGLE_LOGO_SIDE = 660
GOOGLE_LOGO_INNER = 440
STRIP_POINTS = (375, 144)
# Apple leaves open whether a store card's strip is 144 or 123 points tall: the grid stays
# inside the central 123-point band, so either crop shows all of it.
SAFE_HEIGHT = 123
STRIP_BOX = stamp_grid.Box(*STRIP_POINTS, safe_height=SAFE_HEIGHT)
# Google's hero image is 1032x336 pixels: 344x112 points at 3x, the stamps inside 100.
HERO_BOX = stamp_grid.Box(344, 112, safe_height=100)
HERO_SCALE = 3
WEB_STRIP_SIZE = (750, 288)
# A coupon's strip: Apple gives gift cards and coupons 375x144 points (wallet.md A6).
COUPON_STRIP_POINTS = (375, 144)
# Google's hero image in pixels (wallet.md C2).
HERO_SIZE = (1032, 336)
# A voucher picture this much narrower than its slot is shown whole on a blurred copy of
# itself rather than cropped to a sliver (a square product shot, a portrait, a logo).
CROP_TOLERANCE = 1.5
# Part of the strips' cache names: a new way of drawing them is a new name, so strips drawn
# by an older release are not served after an upgrade.
RENDERING = 2


rgb = stamp_grid.rgb


class Palette(NamedTuple):
    """The three colours of a pass, as ``#rrggbb``."""

    background: str
    foreground: str
    label: str


def palette_of(program: Program) -> Palette:
    return Palette(program.background_color, program.foreground_color, program.label_color)


def icon_png(palette: Palette, scale: int, icon: str = "", picture: str = "") -> bytes:
    """The pass's icon, 29 points square at ``scale`` (see ``stamp_square_png``)."""
    return stamp_square_png(palette, ICON_POINTS[0] * scale, icon, picture)


@functools.lru_cache(maxsize=256)
def stamp_square_png(palette: Palette, side: int, icon: str = "", picture: str = "") -> bytes:
    """The program's stamp on a ``side`` pixels square of its background colour: the owner's
    stamp ``picture`` (a storage name) when there is one, else the built-in ``icon`` in the
    foreground colour, as the stamps show them; without either (a voucher of no program) a
    plain round stamp. The pass's icon, and Google's logo when the owner uploaded none."""
    image = Image.new("RGB", (side, side), rgb(palette.background))
    if icon or picture:
        inner = round(side * ICON_SHARE)
        stamp = stamp_image(icon, picture, palette.foreground, inner)
        offset = (side - inner) // 2
        image.paste(stamp, (offset, offset), stamp)
    else:
        _stamp(ImageDraw.Draw(image), side / 2, side / 2, side * 0.3, palette, filled=True)
    return _png(image)


@functools.lru_cache(maxsize=256)
def logo_png(palette: Palette, scale: int) -> bytes:
    width, height = (points * scale for points in LOGO_POINTS)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    _stamp(ImageDraw.Draw(image), width / 2, height / 2, height * 0.4, palette, filled=True)
    return _png(image)


def _uploaded(name: str) -> Image.Image:
    with default_storage.open(name) as file:
        image = Image.open(file)
        image.load()
    return image.convert("RGBA")


@functools.lru_cache(maxsize=128)
def uploaded_logo_png(name: str, scale: int) -> bytes:
    """The uploaded logo ``name`` fitted into 160x50 points at ``scale``, left-aligned on
    transparent padding, as Apple Wallet shows a logo."""
    size = (UPLOADED_LOGO_POINTS[0] * scale, UPLOADED_LOGO_POINTS[1] * scale)
    fitted = ImageOps.pad(_uploaded(name), size, color=(0, 0, 0, 0), centering=(0, 0.5))
    return _png(fitted)


@functools.lru_cache(maxsize=128)
def square_logo_png(name: str, background: str, side: int = GOOGLE_LOGO_SIDE) -> bytes:
    """The uploaded logo centred on a ``side`` square of ``background`` (Google, the web)."""
    inner = side * GOOGLE_LOGO_INNER // GOOGLE_LOGO_SIDE
    logo = ImageOps.contain(_uploaded(name), (inner, inner), Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (side, side), (*rgb(background), 255))
    square.alpha_composite(logo, ((side - logo.width) // 2, (side - logo.height) // 2))
    return _png(square.convert("RGB"))


@functools.lru_cache(maxsize=128)
def logo_data_uri(name: str, height: int = 96) -> str:
    """A small rendition of the uploaded logo for a web page, as a ``data:`` address."""
    logo = ImageOps.contain(_uploaded(name), (height * 4, height), Image.Resampling.LANCZOS)
    return "data:image/png;base64," + base64.b64encode(_png(logo)).decode()


def design_of(program: Program) -> stamp_grid.GridDesign:
    """The grid ``program`` shows, its pictures read from storage."""
    return stamp_grid.GridDesign(
        background=program.background_color,
        foreground=program.foreground_color,
        label=program.label_color,
        goal=program.stamps_goal,
        icon=program.stamp_icon,
        milestones=stamp_grid.milestones_of(
            (milestone.stamps for milestone in program.milestones.all()), program.stamps_goal
        ),
        stamp_picture=stored_picture(program.stamp_image.name) if program.stamp_image else None,
        strip_picture=stored_picture(program.strip_image.name) if program.strip_image else None,
    )


@functools.lru_cache(maxsize=32)
def stored_picture(name: str) -> Image.Image:
    # Stored under its content hash: a name never changes what it shows. Shared: read only.
    return _uploaded(name)


def strip_png(program: Program, stamps: int, scale: int) -> bytes:
    """The stamp grid with ``stamps`` of the goal filled, cached on disk and in memory."""
    stamps = max(0, min(stamps, program.stamps_goal))
    name = f"{program.pk}-v{program.design_version}-r{RENDERING}-{stamps}@{scale}x.png"
    return _cached(_cache_path(name), program, stamps, scale)


def hero_png(program: Program, stamps: int) -> bytes:
    """The stamp grid at Google's hero size (1032x336 pixels), cached like the strips."""
    stamps = max(0, min(stamps, program.stamps_goal))
    name = f"{program.pk}-v{program.design_version}-r{RENDERING}-{stamps}-hero.png"
    return _cached(_cache_path(name), program, stamps, 0)


def _cache_path(name: str) -> str:
    return str(Path(settings.DATA_DIR) / "cache" / "strips" / name)


# Keyed by the file's path, which names the design version: a new design is a new key.
@functools.lru_cache(maxsize=512)
def _cached(filename: str, program: Program, stamps: int, scale: int) -> bytes:
    path = Path(filename)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = draw_strip(program, stamps, scale) if scale else draw_hero(program, stamps)
    _keep(path, data)
    return data


def _keep(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a parallel build never reads half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as draft:
        draft.write(data)
    os.replace(draft.name, path)


def coupon_strip_png(name: str, background: str, scale: int) -> bytes:
    """The voucher picture ``name`` as a coupon's strip (375x144 points) at ``scale``."""
    width, height = COUPON_STRIP_POINTS
    return voucher_picture_png(name, background, (width * scale, height * scale))


def voucher_hero_png(name: str, background: str) -> bytes:
    """The voucher picture ``name`` as Google's hero image (1032x336 pixels)."""
    return voucher_picture_png(name, background, HERO_SIZE)


# Keyed by the picture's name, which never changes what it shows.
@functools.lru_cache(maxsize=128)
def voucher_picture_png(name: str, background: str, size: tuple[int, int]) -> bytes:
    """The voucher picture ``name`` filling ``size`` pixels on ``background`` (what shows
    through its transparency), cached on disk and in memory."""
    key = hashlib.sha256(name.encode()).hexdigest()[:32]
    colour = background.lstrip("#").lower()
    path = (
        Path(settings.DATA_DIR)
        / "cache"
        / "vouchers"
        / f"{key}-{colour}-r{RENDERING}-{size[0]}x{size[1]}.png"
    )
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = stamp_grid.encode(fill(_uploaded(name), size, background), photo=True)
    _keep(path, data)
    return data


def fill(picture: Image.Image, size: tuple[int, int], background: str) -> Image.Image:
    """``picture`` on ``background`` filling ``size``: scaled and cropped to it, as Wallet
    does, when its shape is near; else whole, centred on a blurred, washed copy of itself
    (on plain ``background`` when it has transparency: a cut-out or a logo)."""
    picture = picture.convert("RGBA")
    flat = Image.new("RGBA", picture.size, (*rgb(background), 255))
    flat.alpha_composite(picture)
    flat_rgb = flat.convert("RGB")
    slot = size[0] / size[1]
    if flat.width / flat.height * CROP_TOLERANCE >= slot:
        return ImageOps.fit(flat_rgb, size, Image.Resampling.LANCZOS)
    plain = Image.new("RGB", size, rgb(background))
    if picture.getchannel("A").getextrema() != (255, 255):
        backdrop = plain
    else:
        backdrop = ImageOps.fit(flat_rgb, size, Image.Resampling.BILINEAR)
        backdrop = backdrop.filter(ImageFilter.GaussianBlur(size[1] / 16))
        backdrop = Image.blend(backdrop, plain, stamp_grid.SCRIM)
    whole = ImageOps.contain(flat_rgb, size, Image.Resampling.LANCZOS)
    backdrop.paste(whole, ((size[0] - whole.width) // 2, (size[1] - whole.height) // 2))
    return backdrop


def voucher_picture(name: str) -> tuple[bytes, str]:
    """The stored voucher picture ``name`` as it is kept (a PNG or JPEG we drew) and its
    content type; ``FileNotFoundError`` when it is gone or is not such a picture."""
    with default_storage.open(name) as file:
        data = file.read()
    kind = sniff(data)
    if kind not in ("png", "jpeg"):
        raise FileNotFoundError(name)
    return data, f"image/{kind}"


def draw_strip(program: Program, stamps: int, scale: int) -> bytes:
    design = design_of(program)
    image = stamp_grid.draw_grid(design, stamps, STRIP_BOX, scale)
    return stamp_grid.encode(image, photo=design.strip_picture is not None)


def draw_hero(program: Program, stamps: int) -> bytes:
    design = design_of(program)
    image = stamp_grid.draw_grid(design, stamps, HERO_BOX, HERO_SCALE)
    return stamp_grid.encode(image, photo=design.strip_picture is not None)


@functools.lru_cache(maxsize=128)
def stamp_icon_png(icon: str, picture: str, color: str, side: int) -> bytes:
    """A filled stamp's icon for the web card, ``side`` pixels square on transparency."""
    return _png(stamp_image(icon, picture, color, side))


def stamp_image(icon: str, picture: str, color: str, side: int) -> Image.Image:
    """A filled stamp, ``side`` pixels square on transparency: the owner's ``picture`` (a
    storage name) when there is one, else the built-in ``icon`` in ``color``. May be shared:
    copy it before drawing on it."""
    if picture:
        return ImageOps.pad(
            stored_picture(picture), (side, side), Image.Resampling.LANCZOS, (0, 0, 0, 0)
        )
    return stamp_icons.icon_image(icon, color, side)


@functools.lru_cache(maxsize=64)
def web_strip_jpeg(name: str, background: str) -> bytes:
    """The strip picture ``name`` behind the web card (750x288, washed like the pass's)."""
    image = stamp_grid.washed(stored_picture(name), WEB_STRIP_SIZE, background)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=78, optimize=True, progressive=True)
    return out.getvalue()


def _stamp(
    draw: ImageDraw.ImageDraw, x: float, y: float, radius: float, palette: Palette, *, filled: bool
) -> None:
    box = (x - radius, y - radius, x + radius, y + radius)
    if filled:
        draw.ellipse(box, fill=rgb(palette.foreground))
    else:
        draw.ellipse(box, outline=rgb(palette.label), width=max(1, round(radius / 8)))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
