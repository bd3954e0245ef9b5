"""Reading back what a PDF shows, without a PDF renderer: its embedded images and fonts.

WeasyPrint stores a PNG's pixels as a Flate stream with PNG predictors, which is exactly a
PNG's IDAT data: wrapped in a PNG header again, Pillow opens it.
"""

import re
import struct
import zlib
from collections.abc import Iterator
from io import BytesIO

import zxingcpp
from PIL import Image, ImageOps

_STREAM = re.compile(rb"obj\s*<<(?P<dict>.*?)>>\s*stream\r?\n", re.S)


def _streams(pdf: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(dictionary, raw data) of every stream object."""
    for match in _STREAM.finditer(pdf):
        info = match.group("dict")
        length = re.search(rb"/Length\s+(\d+)", info)
        if length is not None:
            yield info, pdf[match.end() : match.end() + int(length.group(1))]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _number(info: bytes, name: bytes) -> int:
    found = re.search(rb"/" + name + rb"\s+(\d+)", info)
    assert found is not None, info
    return int(found.group(1))


def images(pdf: bytes) -> list[Image.Image]:
    found = []
    for info, data in _streams(pdf):
        if b"/Subtype /Image" not in info and b"/Subtype/Image" not in info:
            continue
        channels = 1 if b"/DeviceGray" in info else 3
        header = struct.pack(
            ">IIBBBBB",
            _number(info, b"Width"),
            _number(info, b"Height"),
            _number(info, b"BitsPerComponent"),
            0 if channels == 1 else 2,
            0,
            0,
            0,
        )
        png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
        png += _chunk(b"IEND", b"")
        found.append(Image.open(BytesIO(png)).convert("L"))
    return found


def qr_texts(pdf: bytes) -> list[str]:
    """What every QR code drawn as an image in the PDF says."""
    texts = []
    for image in images(pdf):
        framed = ImageOps.expand(image, border=40, fill=255)
        texts += [result.text for result in zxingcpp.read_barcodes(framed)]
    return texts


def _objects(pdf: bytes) -> list[bytes]:
    """The file and its compressed object streams, where dictionaries may hide."""
    texts = [pdf]
    for info, data in _streams(pdf):
        if b"/ObjStm" in info and b"/FlateDecode" in info:
            texts.append(zlib.decompress(data))
    return texts


def font_names(pdf: bytes) -> set[str]:
    """The embedded fonts' names, without the subset prefix (ABCDEF+NotoSansThai-Regular)."""
    return {
        name.decode().split("+", 1)[-1]
        for text in _objects(pdf)
        for name in re.findall(rb"/FontName\s*/([\w+-]+)", text)
    }


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's width and height in millimetres, from its MediaBox."""
    boxes = [
        box
        for text in _objects(pdf)
        for box in re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", text)
    ]
    return [(float(w) * 25.4 / 72, float(h) * 25.4 / 72) for w, h in boxes]
