"""What the preview draws: the card's texts, colours and stamps, as the passes will show them."""

import base64
import io
import math
import re
from typing import Any

import segno
from django.conf import settings
from django.utils.translation import get_language
from PIL import Image, ImageOps

from stampcard.loyalty.models import Program
from stampcard.tenancy.models import Business
from stampcard.uploads import CleanImage
from stampcard.wallet import images

# The stamp icons as 24 by 24 SVG paths, filled with the card's text colour.
ICON_PATHS = {
    "cup": "M3 6h14v7a6 6 0 0 1-6 6H9a6 6 0 0 1-6-6zM17 8h2.5a3 3 0 0 1 0 6H17v-2h2.5a1 1 0 0 0 "
    "0-2H17z",
    "star": "M12 2l2.9 6.9 7.1.6-5.4 4.7 1.7 7-6.3-3.9-6.3 3.9 1.7-7L2 9.5l7.1-.6z",
    "heart": "M12 21s-7.5-4.6-9.5-9.3C1 8 3.5 4.5 7 4.5c2 0 3.5 1.2 5 3 1.5-1.8 3-3 5-3 3.5 0 6 "
    "3.5 4.5 7.2C19.5 16.4 12 21 12 21z",
    "check": "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
    "leaf": "M5 19C5 9 11 4 21 3c0 10-5 16-15 16z",
    "paw": "M12 12c-3 0-6 3-6 5.5S8 21 12 21s6-1 6-3.5S15 12 12 12zM5.5 11a2 2 0 1 0 0-4 2 2 0 0 0 "
    "0 4zM9.5 7a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM14.5 7a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM18.5 11a2 2 0 "
    "1 0 0-4 2 2 0 0 0 0 4z",
}
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
        with Image.open(io.BytesIO(upload.data)) as picture:
            small = ImageOps.contain(picture, (384, 96), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="PNG")
        return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    if program.logo:
        return images.logo_data_uri(program.logo.name)
    return ""


def preview_context(
    business: Business,
    program: Program,
    milestones: list[tuple[int, str]],
    language: str | None = None,
    logo: str = "",
) -> dict[str, Any]:
    known = {code for code, _name in settings.LANGUAGES}
    language = language if language in known else business.default_language
    goal = program.stamps_goal if isinstance(program.stamps_goal, int) else 10
    goal = max(1, min(goal, 50))
    filled = max(1, goal * 2 // 5)
    milestone_at = {stamps for stamps, _title in milestones if 1 <= stamps < goal}
    apple = _stamps(goal, filled, 300, 100)
    web = _stamps(goal, filled, 320, 96)
    for stamps in (apple, web):
        for stamp in stamps:
            stamp["milestone"] = stamp["number"] in milestone_at
    return {
        "preview": {
            "language": language,
            "business_name": business.name,
            "name": program.text_in("name", language) or "…",
            "reward": program.text_in("reward_title", language) or "…",
            "terms": program.text_in("terms", language),
            "goal": goal,
            "filled": filled,
            "bg": _color(program.background_color, "#1f2937"),
            "fg": _color(program.foreground_color, "#ffffff"),
            "label": _color(program.label_color, "#d1d5db"),
            "google_fg": _readable_on(_color(program.background_color, "#1f2937")),
            "icon": ICON_PATHS.get(program.stamp_icon, ICON_PATHS["cup"]),
            "apple_stamps": apple,
            "web_stamps": web,
            "milestones": sorted((s, t) for s, t in milestones if s in milestone_at),
            "qr": _SAMPLE_QR,
            "logo": logo,
        },
        "preview_language": language or get_language(),
    }
