"""The join QR printed: one HTML template per kind, laid out for the paper, made a PDF.

WeasyPrint renders ``templates/printables/<kind>.html`` with ``<kind>.css`` (sized for the
paper and coloured for the program); fonts come from the system
(Noto Sans and Noto Sans Thai, embedded in the PDF as subsets), so Thai and Cyrillic print as
they read. The QR code is a PNG drawn at a whole number of pixels per module and printed
without smoothing: sharp on paper, and decodable by a phone from across a counter. It carries
``loyalty.links.join_url(program, kind)``: the kind is the join channel.
"""

from dataclasses import dataclass

import segno
import weasyprint
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from stampcard.loyalty.links import join_url
from stampcard.loyalty.models import Program

# The printable kinds; each name is also the join channel its QR code records.
KINDS = {
    "poster": _("Poster"),
    "table_tent": _("Table tent"),
    "window_sticker": _("Window sticker"),
    "counter_card": _("Counter card"),
}


@dataclass(frozen=True, slots=True)
class Paper:
    label: str
    width_mm: float
    height_mm: float


SIZES = {
    "a4": Paper("A4", 210, 297),
    "letter": Paper("Letter", 215.9, 279.4),
    "a6": Paper("A6", 105, 148),
}


def qr_svg(url: str) -> str:
    """The QR code as inline SVG for a page (the dashboard shows what will be printed)."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=4, border=2, omitsize=True)


def _qr_png(url: str) -> str:
    return segno.make(url, error="m", micro=False).png_data_uri(scale=10, border=0)


def printable_pdf(*, program: Program, kind: str, size: str, language: str) -> bytes:
    """The PDF of ``kind`` on ``size`` paper, its texts in ``language`` (the program's
    texts fall back to the business's default language). Raises KeyError for an unknown kind
    or size: callers check them first."""
    paper = SIZES[size]
    KINDS[kind]
    url = join_url(program, kind)
    # A table tent folds across a landscape sheet: two faces, one upside down.
    landscape = kind == "table_tent"
    width, height = (
        (paper.height_mm, paper.width_mm) if landscape else (paper.width_mm, paper.height_mm)
    )
    # Type and QR scale with the paper: 1 on A4, 0.5 on A6.
    scale = round(min(width, height) / 210, 3)
    with translation.override(language):
        context = {
            "program": program,
            "business": program.business,
            "name": program.text_in("name", language),
            "reward": program.text_in("reward_title", language),
            "terms": program.text_in("terms", language),
            "qr": _qr_png(url),
            "url": url,
            "page_width": width,
            "page_height": height,
            "scale": scale,
            "language": language,
        }
        html = render_to_string(f"printables/{kind}.html", context)
        # A stylesheet of its own, not a <style> in the page: templates hold no inline style.
        css = render_to_string(f"printables/{kind}.css", context)
    return weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=css)])
