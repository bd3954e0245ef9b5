"""The built-in stamp icons: our own drawings on a 24 by 24 grid, one colour each.

Each icon is SVG markup without a fill of its own: whoever draws it wraps it in a group that
sets the colour (``icon_svg``), so the same drawing serves the wallet images (rasterised by
resvg, ``icon_image``), the designer's preview and the web card.
"""

import functools
import io
import re

import resvg_py
from django.utils.functional import Promise as StrPromise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from PIL import Image

ICONS: dict[str, tuple[StrPromise, str]] = {
    "cup": (
        _("Coffee cup"),
        '<path d="M3 6h14v7a6 6 0 0 1-6 6H9a6 6 0 0 1-6-6zM17 8h2.5a3 3 0 0 1 0 6H17v-2h2.5'
        'a1 1 0 0 0 0-2H17z"/>',
    ),
    "star": (
        _("Star"),
        '<path d="M12 2l2.9 6.9 7.1.6-5.4 4.7 1.7 7-6.3-3.9-6.3 3.9 1.7-7L2 9.5l7.1-.6z"/>',
    ),
    "heart": (
        _("Heart"),
        '<path d="M12 21s-7.5-4.6-9.5-9.3C1 8 3.5 4.5 7 4.5c2 0 3.5 1.2 5 3 1.5-1.8 3-3 5-3 '
        '3.5 0 6 3.5 4.5 7.2C19.5 16.4 12 21 12 21z"/>',
    ),
    "paw": (
        _("Paw"),
        '<path d="M12 12c-3 0-6 3-6 5.5S8 21 12 21s6-1 6-3.5S15 12 12 12z"/>'
        '<circle cx="5.5" cy="9" r="2"/><circle cx="9.5" cy="5" r="2"/>'
        '<circle cx="14.5" cy="5" r="2"/><circle cx="18.5" cy="9" r="2"/>',
    ),
    "scissors": (
        _("Scissors"),
        '<path fill-rule="evenodd" d="M6 3a3 3 0 1 1 0 6 3 3 0 0 1 0-6zm0 1.6a1.4 1.4 0 1 0 0 '
        "2.8 1.4 1.4 0 0 0 0-2.8zM6 15a3 3 0 1 1 0 6 3 3 0 0 1 0-6zm0 1.6a1.4 1.4 0 1 0 0 2.8 "
        '1.4 1.4 0 0 0 0-2.8z"/><path d="M8.3 7.4 21 18.6l-1.3 1.2L7.4 9z"/>'
        '<path d="M7.4 15 19.7 4.2 21 5.4 8.3 16.6z"/>',
    ),
    "drop": (
        _("Drop"),
        '<path d="M12 2.5C9 7 5.5 10.7 5.5 14.5a6.5 6.5 0 0 0 13 0C18.5 10.7 15 7 12 2.5z"/>',
    ),
    "flower": (
        _("Flower"),
        '<circle cx="12" cy="6.6" r="3.6"/><circle cx="17.1" cy="10.3" r="3.6"/>'
        '<circle cx="15.2" cy="16.3" r="3.6"/><circle cx="8.8" cy="16.3" r="3.6"/>'
        '<circle cx="6.9" cy="10.3" r="3.6"/>',
    ),
    "leaf": (_("Leaf"), '<path d="M5 19C5 9 11 4 21 3c0 10-5 16-15 16z"/>'),
    "check": (_("Tick"), '<path d="M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z"/>'),
}
DEFAULT = "cup"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def markup(name: str) -> SafeString:
    """The icon's drawing (our own constant markup), the default one for an unknown name."""
    return mark_safe(ICONS.get(name, ICONS[DEFAULT])[1])  # noqa: S308 - constants above


def icon_svg(name: str, color: str) -> str:
    """A whole SVG document of the icon in ``color`` (``#rrggbb``)."""
    if not _HEX.fullmatch(color):
        raise ValueError(color)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">'
        f'<g fill="{color}">{markup(name)}</g></svg>'
    )


@functools.lru_cache(maxsize=256)
def icon_image(name: str, color: str, side: int) -> Image.Image:
    """The icon in ``color`` on transparency, ``side`` pixels square, drawn by resvg.

    Shared between callers: copy it before drawing on it.
    """
    png = resvg_py.svg_to_bytes(
        svg_string=icon_svg(name, color), width=side, height=side, skip_system_fonts=True
    )
    image = Image.open(io.BytesIO(bytes(png)))
    image.load()
    return image.convert("RGBA")
