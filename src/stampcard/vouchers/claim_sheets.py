"""Printable sheets of a claim batch: a PDF of labels (WeasyPrint) and a CSV for POS printing.

Each label carries the code's QR (its claim URL, ``loyalty.links.claim_url``), the code in
two groups of five for typing, and where to type it. Formats: a 58 mm or 80 mm receipt roll
(one label a page), an A4 sticker sheet of 3 x 8 labels (70 x 37 mm) and an A6 bag insert.
Thai and Cyrillic come from the Noto fonts of ``fonts-noto-core``, embedded in the PDF.

The QR codes are PNG images drawn by segno at whole pixels per module, so the PDF keeps them
sharp and a test can take them back out of the file and decode them.
"""

import base64
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import segno
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from stampcard.csv_safety import safe_row
from stampcard.loyalty.links import claim_path, claim_url
from stampcard.vouchers.models import ClaimBatch, ClaimCode

FONTS = Path("/usr/share/fonts/truetype/noto")
# A sheet is drawn in one request; bigger batches are printed from the CSV by a POS.
MAX_SHEET_LABELS = 2_000


@dataclass(frozen=True, slots=True)
class SheetFormat:
    key: str
    name: str | Promise
    page: str  # CSS @page size
    columns: int
    label_width_mm: float
    label_height_mm: float
    qr_mm: float


FORMATS = {
    f.key: f
    for f in (
        SheetFormat("roll58", _("Receipt roll 58 mm"), "58mm 62mm", 1, 58, 62, 30),
        SheetFormat("roll80", _("Receipt roll 80 mm"), "80mm 80mm", 1, 80, 80, 42),
        SheetFormat("a4_3x8", _("Sticker sheet A4, 3 x 8"), "A4", 3, 70, 37.125, 27),
        SheetFormat("a6", _("Bag insert A6"), "A6", 1, 105, 148, 60),
    )
}


def spaced(code: str) -> str:
    """The code as printed for typing: groups of five (typed with or without the dash)."""
    return "-".join(code[i : i + 5] for i in range(0, len(code), 5))


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=4, border=2)
    return out.getvalue()


def _labels(batch: ClaimBatch) -> Iterator[dict[str, str]]:
    business = batch.business
    for code in ClaimCode.objects.filter(batch=batch).order_by("pk").values_list("code", flat=True):
        png = base64.b64encode(qr_png(claim_url(business, code))).decode("ascii")
        yield {"code": spaced(code), "qr": f"data:image/png;base64,{png}"}


def sheet_pdf(batch: ClaimBatch, sheet: SheetFormat) -> bytes:
    """The batch's labels as a PDF in ``sheet``'s format, in the active language."""
    import weasyprint  # heavy; only the sheet needs it

    document = weasyprint.HTML(string=sheet_html(batch, sheet), base_url=str(FONTS))
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()  # @font-face of a separate stylesheet needs one, shared
    style = weasyprint.CSS(string=sheet_css(sheet), font_config=fonts)
    return document.write_pdf(stylesheets=[style], font_config=fonts)


def sheet_css(sheet: SheetFormat) -> str:
    """The sheet's styles (kept apart from its HTML, as every template's are)."""
    return render_to_string("printables/claim_sheet.css", {"sheet": sheet, "fonts": FONTS.as_uri()})


def sheet_html(batch: ClaimBatch, sheet: SheetFormat) -> str:
    """The sheet as HTML (what the PDF is drawn from)."""
    business = batch.business
    return render_to_string(
        "printables/claim_sheet.html",
        {
            "batch": batch,
            "business": business,
            "program": batch.program,
            "sheet": sheet,
            "labels": _labels(batch),
            "fonts": FONTS.as_uri(),
            "typing_url": claim_url(business, "").removesuffix("/").rsplit("/", 1)[0] + "/",
        },
    )


def sheet_csv(batch: ClaimBatch) -> str:
    """One row per code, for a POS to print: the cells are safe from formula injection."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["code", "printed_code", "claim_url", "claim_path", "stamps", "expires_at", "claimed_at"]
    )
    business = batch.business
    expires = batch.expires_at.isoformat() if batch.expires_at else ""
    for code, claimed_at in (
        ClaimCode.objects.filter(batch=batch).order_by("pk").values_list("code", "claimed_at")
    ):
        writer.writerow(
            safe_row(
                [
                    code,
                    spaced(code),
                    claim_url(business, code),
                    claim_path(business, code),
                    batch.stamps_per_code,
                    expires,
                    claimed_at.isoformat() if claimed_at else "",
                ]
            )
        )
    return out.getvalue()
