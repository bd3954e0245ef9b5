"""The stamp grid as every surface draws it: the Apple strip, Google's hero, the designer.

A ``GridDesign`` holds what the grid shows (colours, the built-in icon or the owner's stamp
picture, the picture behind the grid, the goal and its milestones); ``draw_grid`` draws it
for a number of stamps into a box given in points at a scale. The background (the plain
colour, or the strip picture cropped to fill the box and washed towards the card's colour so
the stamps stay readable on it) is drawn with Pillow; the stamps are one SVG drawn over it by
resvg, so their edges are smooth at every scale. An owner's stamp picture is scaled once to
the exact pixels of a stamp (no blur from a second resampling) and keeps its transparency.

Nothing here reads the database or the disk: ``wallet.images`` builds the design from a
program (and caches the results), the designer from what was typed.
"""

import base64
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import resvg_py
from PIL import Image, ImageOps

from stampcard.wallet import stamp_icons

# How far the strip picture is washed towards the card's background colour: the stamps are
# drawn in the card's own colours, chosen to read on that colour.
SCRIM = 0.55
# The most rows a grid has; more slots make the stamps smaller instead.
MAX_ROWS = 5
# The stamp's radius and the icon's side inside it, as parts of a grid cell.
STAMP_RADIUS = 0.36
RING_RADIUS = 0.47
ICON_SIDE = 1.3  # of the radius: the icon's box stays inside the circle (1.3 / 2 * sqrt 2 < 1)


@dataclass(eq=False)
class GridDesign:
    """What the grid shows; colours as ``#rrggbb``."""

    background: str
    foreground: str
    label: str
    goal: int
    icon: str = stamp_icons.DEFAULT
    milestones: frozenset[int] = frozenset()
    # The owner's stamp and strip pictures (RGBA), None for the built-in icon and plain colour.
    stamp_picture: Image.Image | None = field(default=None, repr=False)
    strip_picture: Image.Image | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Box:
    """Where a grid is drawn: ``width`` x ``height`` points, the stamps kept inside the
    central ``safe_height`` points and ``margin`` points from the sides."""

    width: int
    height: int
    safe_height: int
    margin: int = 8


def rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def grid(slots: int, box: Box) -> tuple[int, int, float]:
    """(rows, columns, cell side in points) giving the largest stamps for ``slots``."""
    best = (1, slots, 0.0)
    for rows in range(1, MAX_ROWS + 1):
        columns = math.ceil(slots / rows)
        cell = min((box.width - 2 * box.margin) / columns, box.safe_height / rows)
        if cell > best[2]:
            best = (rows, columns, cell)
    return best


def draw_grid(design: GridDesign, stamps: int, box: Box, scale: int) -> Image.Image:
    """The grid with ``stamps`` of the goal filled, ``box`` points at ``scale``, as RGB."""
    size = (box.width * scale, box.height * scale)
    image = Image.new("RGB", size, rgb(design.background))
    if design.strip_picture is not None:
        image = washed(design.strip_picture, size, design.background)
    svg = _stamps_svg(design, max(0, min(stamps, design.goal)), box, scale)
    png = resvg_py.svg_to_bytes(
        svg_string=svg, width=size[0], height=size[1], skip_system_fonts=True
    )
    with Image.open(io.BytesIO(bytes(png))) as drawn:
        stamps_layer = drawn.convert("RGBA")
    canvas = image.convert("RGBA")
    canvas.alpha_composite(stamps_layer)
    return canvas.convert("RGB")


def washed(picture: Image.Image, size: tuple[int, int], background: str) -> Image.Image:
    """``picture`` cropped to fill ``size`` and washed ``SCRIM`` of the way to ``background``."""
    fitted = ImageOps.fit(picture.convert("RGB"), size, Image.Resampling.LANCZOS)
    return Image.blend(fitted, Image.new("RGB", size, rgb(background)), SCRIM)


def _stamps_svg(design: GridDesign, stamps: int, box: Box, scale: int) -> str:
    rows, columns, cell = grid(design.goal, box)
    left = (box.width - columns * cell) / 2
    top = (box.height - rows * cell) / 2
    radius = cell * STAMP_RADIUS
    behind = SCRIM if design.strip_picture is not None else 0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {box.width} {box.height}">',
        _picture_defs(design.stamp_picture, radius, scale),
    ]
    marked = set(design.milestones) | {design.goal}
    for slot in range(design.goal):
        row, column = divmod(slot, columns)
        x = left + (column + 0.5) * cell
        y = top + (row + 0.5) * cell
        parts.append(_slot(design, x, y, radius, filled=slot < stamps, behind=behind))
        if slot + 1 in marked:
            # A reward waits here: a ring around the slot.
            parts.append(
                f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{cell * RING_RADIUS:.2f}" fill="none" '
                f'stroke="{design.foreground}" stroke-width="1.5"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _slot(
    design: GridDesign, x: float, y: float, radius: float, *, filled: bool, behind: float
) -> str:
    circle = f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{radius:.2f}"'
    if not filled:
        return (
            f'{circle} fill="{design.background}" fill-opacity="{behind}" '
            f'stroke="{design.label}" stroke-width="{max(1.0, radius / 8):.2f}"/>'
        )
    if design.stamp_picture is None:
        side = radius * ICON_SIDE
        return (
            f'{circle} fill="{design.foreground}"/>'
            f'<g transform="translate({x - side / 2:.2f} {y - side / 2:.2f}) '
            f'scale({side / 24:.4f})" fill="{design.background}">'
            f"{stamp_icons.markup(design.icon)}</g>"
        )
    # The owner's picture, over the card's colour where the strip picture would show through.
    return (
        f'{circle} fill="{design.background}" fill-opacity="{behind}" '
        f'stroke="{design.foreground}" stroke-width="{max(1.0, radius / 10):.2f}"/>'
        f'<use href="#stamp" transform="translate({x - radius:.2f} {y - radius:.2f})"/>'
    )


def _picture_defs(picture: Image.Image | None, radius: float, scale: int) -> str:
    """The owner's stamp picture, once, as ``#stamp``: fitted in a 2 * ``radius`` square.

    A picture with transparency is drawn inside the circle as it is; a picture without any
    (a photo) fills the whole circle, cut to it.
    """
    if picture is None:
        return ""
    opaque = picture.mode != "RGBA" or picture.getchannel("A").getextrema()[0] == 255
    side = 2 * radius if opaque else radius * ICON_SIDE
    pixels = max(1, round(side * scale))
    if opaque:
        fitted = ImageOps.fit(picture.convert("RGB"), (pixels, pixels), Image.Resampling.LANCZOS)
    else:
        fitted = ImageOps.pad(
            picture.convert("RGBA"), (pixels, pixels), Image.Resampling.LANCZOS, (0, 0, 0, 0)
        )
    out = io.BytesIO()
    fitted.save(out, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    offset = radius - side / 2
    clip = group = ""
    if opaque:
        clip = (
            f'<clipPath id="stamp-clip"><circle cx="{radius:.2f}" cy="{radius:.2f}" '
            f'r="{radius:.2f}"/></clipPath>'
        )
        group = ' clip-path="url(#stamp-clip)"'
    return (
        f'<defs>{clip}<g id="stamp"{group}>'
        f'<image href="{uri}" x="{offset:.2f}" y="{offset:.2f}" width="{side:.2f}" '
        f'height="{side:.2f}" preserveAspectRatio="none"/></g></defs>'
    )


def milestones_of(counts: Iterable[int], goal: int) -> frozenset[int]:
    return frozenset(count for count in counts if 1 <= count < goal)


def encode(image: Image.Image, *, photo: bool = False) -> bytes:
    """``image`` as a small PNG: a grid over a photo is reduced to 256 colours (dithered),
    since every pass update downloads its strips again (wallet.md A9)."""
    if photo:
        image = image.quantize(
            colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
