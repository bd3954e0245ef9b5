"""The front-end packages we serve ourselves are the ones package-lock.json pins."""

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "src" / "stampcard" / "static" / "vendor"


def test_the_decoder_wasm_is_the_build_its_javascript_expects() -> None:
    # A .wasm from another zxing-wasm version loads but fails every decode.
    bundle = (VENDOR / "barcode-detector" / "zxing-exported.js").read_text()
    wasm = (VENDOR / "barcode-detector" / "zxing_reader.wasm").read_bytes()
    assert hashlib.sha256(wasm).hexdigest() in re.findall(r"[0-9a-f]{64}", bundle)


def test_the_vendored_versions_are_the_locked_ones() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    locked = {
        key.rsplit("node_modules/", 1)[1] + "@" + entry["version"]
        for key, entry in lock.items()
        if key
    }
    vendored = set((VENDOR / "VERSIONS").read_text().split())
    assert vendored == locked
    assert {"barcode-detector@3.2.2", "zxing-wasm@3.1.3"} <= vendored
