"""Videos for Chromium's fake camera: a code on white, as YUV4MPEG2 (C420jpeg) frames.

Written with Pillow and plain Python, no ffmpeg: a header, then per frame "FRAME", the Y
plane and the Cb and Cr planes at half size. Chromium loops the clip. 640x480 (even sizes:
odd ones open but never decode), 10 frames a second.
"""

import io
from pathlib import Path

import segno
import zxingcpp
from PIL import Image

WIDTH, HEIGHT, FPS = 640, 480, 10


def qr_image(payload: str) -> Image.Image:
    """A QR code (never Micro QR: ``make_qr``), about 10 pixels per module."""
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=10, border=4)
    out.seek(0)
    return Image.open(out).convert("L")


def code128_image(payload: str) -> Image.Image:
    """A Code 128 barcode, 3 pixels per module, with a quiet zone."""
    pixels = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.Code128).to_image(scale=3)
    height, width = pixels.shape
    bars = Image.frombuffer("L", (width, height), bytes(memoryview(pixels)), "raw", "L", 0, 1)  # type: ignore[arg-type]
    return bars.resize((width, 160))


def write_y4m(image: Image.Image, path: Path, *, seconds: int = 2) -> Path:
    """``image`` centred on a white 640x480 frame, as a clip Chromium's fake camera plays."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(image.convert("RGB"), ((WIDTH - image.width) // 2, (HEIGHT - image.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = (
        y.tobytes()
        + cb.resize(half, Image.Resampling.BOX).tobytes()
        + cr.resize(half, Image.Resampling.BOX).tobytes()
    )
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(seconds * FPS):
            out.write(b"FRAME\n")
            out.write(planes)
    return path
