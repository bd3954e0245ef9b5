"""A voucher's redeem code as the POS scans it: a QR code or a Code 128 barcode.

Images are drawn here from the code alone, so they never carry anything a user uploaded.
QR codes come from segno; Code 128 from zxing-cpp's writer, whose choice of code sets is
complete (it keeps a leading "99", which python-barcode 0.16 drops) and whose SVG uses
presentation attributes only, which the pages' Content Security Policy lets through.
"""

import io

import segno
import zxingcpp
from PIL import Image

from stampcard.vouchers.models import CodeDisplay


def code_svg(code: str, display: str) -> str:
    """An inline SVG of ``code`` as ``display`` says (empty for a text-only code)."""
    if display == CodeDisplay.QR:
        return segno.make(code, error="m", micro=False).svg_inline(scale=6, border=2)
    if display == CodeDisplay.CODE128:
        svg: str = _code128(code).to_svg(scale=2, add_hrt=True)
        # The writer emits a full XML document; inline SVG starts at the <svg> element.
        return svg[svg.index("<svg") :]
    return ""


def code_png(code: str, display: str) -> bytes:
    """A PNG of ``code`` for printing and for decoders (QR when the display is text)."""
    out = io.BytesIO()
    if display == CodeDisplay.CODE128:
        pixels = _code128(code).to_image(scale=3, add_hrt=True)
        height, width = pixels.shape
        # An 8-bit grey buffer (its stubs do not declare the buffer protocol it has).
        raw = bytes(memoryview(pixels))  # type: ignore[arg-type]
        Image.frombuffer("L", (width, height), raw, "raw", "L", 0, 1).save(out, format="PNG")
    else:
        segno.make(code, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def _code128(code: str) -> zxingcpp.Barcode:
    return zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.Code128)
