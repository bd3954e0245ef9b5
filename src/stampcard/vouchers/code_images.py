"""A voucher's redeem code as the POS scans it: a QR code or a Code 128 barcode.

Images are drawn here from the code alone, so they never carry anything a user uploaded.
"""

import io
import re

import segno
from barcode import Code128
from barcode.writer import ImageWriter, SVGWriter

from stampcard.vouchers.models import CodeDisplay


def code_svg(code: str, display: str) -> str:
    """An inline SVG of ``code`` as ``display`` says (empty for a text-only code)."""
    if display == CodeDisplay.QR:
        return segno.make(code, error="m", micro=False).svg_inline(scale=6, border=2)
    if display == CodeDisplay.CODE128:
        out = io.BytesIO()
        Code128(code, writer=SVGWriter()).write(
            out, {"module_height": 18.0, "font_size": 8, "text_distance": 4, "quiet_zone": 4}
        )
        svg = out.getvalue().decode()
        # The writer emits a full XML document; inline SVG starts at the <svg> element.
        return _without_style_attributes(svg[svg.index("<svg") :])
    return ""


_STYLE = re.compile(r'style="([^"]*)"')


def _without_style_attributes(svg: str) -> str:
    """The writer's ``style="fill:black;"`` as ``fill="black"``: the page's Content Security
    Policy blocks style attributes, while SVG presentation attributes draw the same."""

    def attributes(match: re.Match[str]) -> str:
        declarations = (part.split(":", 1) for part in match[1].split(";") if ":" in part)
        return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in declarations)

    return _STYLE.sub(attributes, svg)


def code_png(code: str, display: str) -> bytes:
    """A PNG of ``code`` for printing and for decoders (QR when the display is text)."""
    out = io.BytesIO()
    if display == CodeDisplay.CODE128:
        Code128(code, writer=ImageWriter()).write(out, {"module_height": 15.0, "quiet_zone": 6})
    else:
        segno.make(code, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()
