"""What the preview draws: the card's texts, colours and stamps, as the passes will show them.

The Apple strip and the Google hero image are drawn by the same ``wallet.stamp_grid`` as the
passes' own, from what was typed and the pictures just chosen (checked by ``clean_image``,
not stored yet) or stored before; the web card is drawn in SVG with the same icon.

The preview is asked for as the owner types, and most keystrokes change a text, not the
look. So the pictures (strip, hero, the web card's stamp and strip, an uploaded logo) are
kept in the cache under a hash of exactly what they are drawn from (``_design_key``): the
colours, the stamp icon, the goal and the stamps shown, the milestones, and the stamp and
strip pictures, each by the hash of what was uploaded or the stored name (stored pictures
are named by their content). Typing a name or a reward draws nothing; a key names its
drawing, so a changed colour or picture draws anew.
"""

import base64
import hashlib
import io
import json
import math
import re
from typing import Any

import segno
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import get_language
from PIL import Image, ImageOps

from stampcard.loyalty.models import Program
from stampcard.tenancy.models import Business
from stampcard.uploads import CleanImage
from stampcard.wallet import images, stamp_grid, stamp_icons

# How long drawn previews are kept; a new way of drawing them (``_DRAWING``) is a new key.
PREVIEW_CACHE_SECONDS = 3600
_DRAWING = 1
# The sample barcode drawn on the previews: a card code's shape, not a real card.
_SAMPLE_QR = segno.make("SAMPLE-CARD", error="m", micro=False).svg_data_uri(scale=3, border=1)


def _stamps(goal: int, filled: int, width: float, height: float) -> list[dict[str, float]]:
    """Circles for ``goal`` stamps in a ``width`` by ``height`` strip, the first ``filled`` set."""
    columns = goal if goal <= 6 else min(10, math.ceil(goal / math.ceil(goal / 10)))
    rows = math.ceil(goal / columns)
    cell = min(width / columns, height / rows)
    radius = cell * 0.38
    left = (width - cell * columns) / 2
    top = (height - cell * rows) / 2
    return [
        {
            "x": round(left + cell * (i % columns) + cell / 2, 1),
            "y": round(top + cell * (i // columns) + cell / 2, 1),
            "r": round(radius, 1),
            "filled": i < filled,
            "number": i + 1,
            "scale": round(radius * 1.3 / 24, 3),
            "side": round(radius * 1.3, 1),
            "ix": round(left + cell * (i % columns) + cell / 2 - radius * 0.65, 1),
            "iy": round(top + cell * (i // columns) + cell / 2 - radius * 0.65, 1),
        }
        for i in range(goal)
    ]


_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _color(value: object, default: str) -> str:
    return value if isinstance(value, str) and _HEX.fullmatch(value) else default


def _readable_on(color: str) -> str:
    """Black or white, whichever reads better on ``color`` (Google picks the text colour)."""
    try:
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    except ValueError:
        return "#ffffff"
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def preview_logo(program: Program, upload: CleanImage | None) -> str:
    """The logo the previews show, as a ``data:`` address: the one just chosen (checked by
    ``clean_image``, not stored yet), else the program's, else none."""
    if upload is not None:
        key = "designer-logo:" + _digest([_DRAWING, _picture_id(upload, None)])
        found = cache.get(key)
        if isinstance(found, str):
            return found
        with Image.open(io.BytesIO(upload.data)) as picture:
            small = ImageOps.contain(picture, (384, 96), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="PNG")
        drawn = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
        cache.set(key, drawn, PREVIEW_CACHE_SECONDS)
        return drawn
    if program.logo:
        return images.logo_data_uri(program.logo.name)
    return ""


def _opened(upload: CleanImage | None) -> Image.Image | None:
    if upload is None:
        return None
    with Image.open(io.BytesIO(upload.data)) as picture:
        return picture.convert("RGBA")


def _data_uri(image: Image.Image, kind: str = "JPEG") -> str:
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=82)
    else:
        image.save(out, format=kind)
    return f"data:image/{kind.lower()};base64," + base64.b64encode(out.getvalue()).decode()


def preview_pictures(
    program: Program, uploads: dict[str, CleanImage]
) -> tuple[Image.Image | None, Image.Image | None]:
    """(stamp picture, strip picture) the previews show: just chosen, else stored, else none."""
    found = []
    for field in ("stamp_image", "strip_image"):
        picture = _opened(uploads.get(field))
        stored = getattr(program, field)
        if picture is None and stored:
            picture = images.stored_picture(stored.name)
        found.append(picture)
    return found[0], found[1]


def preview_context(
    business: Business,
    program: Program,
    milestones: list[tuple[int, str]],
    language: str | None = None,
    logo: str = "",
    uploads: dict[str, CleanImage] | None = None,
) -> dict[str, Any]:
    known = {code for code, _name in settings.LANGUAGES}
    language = language if language in known else business.default_language
    goal = program.stamps_goal if isinstance(program.stamps_goal, int) else 10
    goal = max(1, min(goal, 50))
    filled = max(1, goal * 2 // 5)
    milestone_at = {stamps for stamps, _title in milestones if 1 <= stamps < goal}
    web = _stamps(goal, filled, 320, 96)
    for stamp in web:
        stamp["milestone"] = stamp["number"] in milestone_at
    bg = _color(program.background_color, "#1f2937")
    fg = _color(program.foreground_color, "#ffffff")
    label = _color(program.label_color, "#d1d5db")
    uploads = uploads or {}
    key = _design_key(
        [bg, fg, label, program.stamp_icon, goal, filled, sorted(milestone_at)],
        program,
        uploads,
    )
    drawn = cache.get(key)
    if not isinstance(drawn, dict):
        drawn = _draw_pictures(program, uploads, bg, fg, label, goal, filled, milestone_at)
        cache.set(key, drawn, PREVIEW_CACHE_SECONDS)
    return {
        "preview": {
            "language": language,
            "business_name": business.name,
            "name": program.text_in("name", language) or "…",
            "reward": program.text_in("reward_title", language) or "…",
            "terms": program.text_in("terms", language),
            "goal": goal,
            "filled": filled,
            "bg": bg,
            "fg": fg,
            "label": label,
            "google_fg": _readable_on(bg),
            "icon": stamp_icons.markup(program.stamp_icon),
            **drawn,
            "web_stamps": web,
            "milestones": sorted((s, t) for s, t in milestones if s in milestone_at),
            "qr": _SAMPLE_QR,
            "logo": logo,
        },
        "preview_language": language or get_language(),
    }


def _draw_pictures(
    program: Program,
    uploads: dict[str, CleanImage],
    bg: str,
    fg: str,
    label: str,
    goal: int,
    filled: int,
    milestone_at: set[int],
) -> dict[str, str]:
    """The previews' pictures as ``data:`` addresses: Apple's strip, Google's hero, and the web
    card's stamp and strip pictures (empty without one)."""
    stamp_picture, strip_picture = preview_pictures(program, uploads)
    design = stamp_grid.GridDesign(
        background=bg,
        foreground=fg,
        label=label,
        goal=goal,
        icon=program.stamp_icon,
        milestones=frozenset(milestone_at),
        stamp_picture=stamp_picture,
        strip_picture=strip_picture,
    )
    strip = stamp_grid.draw_grid(design, filled, images.STRIP_BOX, 2)
    hero = stamp_grid.draw_grid(design, filled, images.HERO_BOX, 2)
    web_stamp = web_strip = ""
    if stamp_picture is not None:
        web_stamp = _data_uri(ImageOps.contain(stamp_picture, (96, 96)), "PNG")
    if strip_picture is not None:
        web_strip = _data_uri(stamp_grid.washed(strip_picture, (680, 520), bg))
    return {
        "strip": _data_uri(strip),
        "hero": _data_uri(hero),
        "web_stamp": web_stamp,
        "web_strip": web_strip,
    }


def _design_key(look: list[Any], program: Program, uploads: dict[str, CleanImage]) -> str:
    """The cache key of the pictures drawn from ``look`` and the stamp and strip pictures."""
    pictures = [
        _picture_id(uploads.get(field), getattr(program, field).name or None)
        for field in ("stamp_image", "strip_image")
    ]
    return "designer-preview:" + _digest([_DRAWING, *look, *pictures])


def _picture_id(upload: CleanImage | None, stored: str | None) -> str:
    """A picture by what it is: the hash of one just uploaded, else the stored one's name."""
    if upload is not None:
        return "upload:" + hashlib.sha256(upload.data).hexdigest()
    return f"stored:{stored}" if stored else ""


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
