"""The pass's images, drawn with Pillow from the program's design alone (wallet.md A6, A9).

The strip shows the stamp grid of the current cycle. A program has only goal + 1 strips per
design, so each is kept on disk under ``STAMPCARD_DATA_DIR/cache/strips/`` by (program,
design version, stamps, scale): a repeated build reads it instead of drawing again, and the
last ones read stay in this process's memory. The icon and logo depend on the colours alone
(a ``Palette``), so they are drawn once per palette and scale in each process.

A program with an uploaded logo (``Program.logo``, stored under its content hash by the
designer after ``uploads.clean_image`` drew it again) shows it instead of the drawn one:
fitted into Apple's 160x50 points on transparent padding, and on a square of the card's
colour for Google and the web. Its name changes with its content, so the renditions are
kept per name and scale.
"""

import base64
import functools
import io
import math
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageOps

from stampcard.loyalty.models import Program

SCALES = (1, 2, 3)
ICON_POINTS = (29, 29)
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
MAX_ROWS = 5


def rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


class Palette(NamedTuple):
    """The three colours of a pass, as ``#rrggbb``."""

    background: str
    foreground: str
    label: str


def palette_of(program: Program) -> Palette:
    return Palette(program.background_color, program.foreground_color, program.label_color)


@functools.lru_cache(maxsize=256)
def icon_png(palette: Palette, scale: int) -> bytes:
    side = ICON_POINTS[0] * scale
    image = Image.new("RGB", (side, side), rgb(palette.background))
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


def strip_png(program: Program, stamps: int, scale: int) -> bytes:
    """The stamp grid with ``stamps`` of the goal filled, cached on disk and in memory."""
    stamps = max(0, min(stamps, program.stamps_goal))
    name = f"{program.pk}-v{program.design_version}-{stamps}@{scale}x.png"
    return _strip(str(Path(settings.DATA_DIR) / "cache" / "strips" / name), program, stamps, scale)


# Keyed by the file's path, which names the design version: a new design is a new key.
@functools.lru_cache(maxsize=512)
def _strip(filename: str, program: Program, stamps: int, scale: int) -> bytes:
    path = Path(filename)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = draw_strip(program, stamps, scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a parallel build never reads half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as draft:
        draft.write(data)
    os.replace(draft.name, path)
    return data


def draw_strip(program: Program, stamps: int, scale: int) -> bytes:
    width, height = (points * scale for points in STRIP_POINTS)
    image = Image.new("RGB", (width, height), rgb(program.background_color))
    draw = ImageDraw.Draw(image)
    goal = program.stamps_goal
    marked = {milestone.stamps for milestone in program.milestones.all()} | {goal}
    rows, columns, cell = grid(goal)
    left = (STRIP_POINTS[0] - columns * cell) / 2
    top = (STRIP_POINTS[1] - rows * cell) / 2
    for slot in range(goal):
        row, column = divmod(slot, columns)
        x = (left + (column + 0.5) * cell) * scale
        y = (top + (row + 0.5) * cell) * scale
        radius = cell * 0.36 * scale
        _stamp(draw, x, y, radius, palette_of(program), filled=slot < stamps)
        if slot + 1 in marked:
            # A reward waits here: a ring around the slot.
            outer = cell * 0.47 * scale
            draw.ellipse(
                (x - outer, y - outer, x + outer, y + outer),
                outline=rgb(program.foreground_color),
                width=max(1, round(scale * 1.5)),
            )
    return _png(image)


def grid(slots: int) -> tuple[int, int, float]:
    """(rows, columns, cell side in points) giving the largest stamps for ``slots``."""
    best = (1, slots, 0.0)
    for rows in range(1, MAX_ROWS + 1):
        columns = math.ceil(slots / rows)
        cell = min((STRIP_POINTS[0] - 16) / columns, SAFE_HEIGHT / rows)
        if cell > best[2]:
            best = (rows, columns, cell)
    return best


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
