"""A card's Apple Wallet ``storeCard`` pass, built and signed here (wallet.md section A).

The package holds pass.json, the images at @1x/@2x/@3x, one ``xx.lproj/pass.strings`` per
language for the labels, ``manifest.json`` (SHA-1 of every other file) and ``signature`` (a
detached PKCS#7 of the manifest, see ``wallet.signing``).

``webServiceURL`` and ``authenticationToken`` point the device at the PassKit web service
(``wallet.passkit_views``), which it asks for the updated pass.
"""

import hashlib
import io
import json
import zipfile
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from stampcard.loyalty.models import Card, Program
from stampcard.loyalty.progress import progress_of
from stampcard.tenancy.models import Location
from stampcard.wallet import images, passkit
from stampcard.wallet.signing import sign_manifest

PKPASS_TYPE = "application/vnd.apple.pkpass"
MAX_LOCATIONS = 10  # Wallet ignores the rest
# Small, as Apple advises for store cards: the pass shows up at the shop's door.
MAX_DISTANCE_METRES = 100

# The lookup keys pass.json holds for text Wallet shows, and their English source in the
# Django catalogue; every .lproj/pass.strings maps them to that language.
STRINGS = {
    "label.stamps": gettext_noop("Stamps"),
    "label.next": gettext_noop("Next reward"),
    "label.reward": gettext_noop("Reward"),
    "label.card": gettext_noop("Card"),
    "label.code": gettext_noop("Code"),
    "label.terms": gettext_noop("Terms"),
    # %@ is Wallet's placeholder for the field's new value.
    "change.stamps": gettext_noop("Stamps: %@"),
    "change.next": gettext_noop("Next reward: %@"),
}


def build_pass(card: Card, *, code128: bool = False) -> bytes:
    """The signed ``.pkpass`` of ``card``. ``code128`` shows a Code 128 barcode where the
    device can, with the QR code after it for Apple Watch, which has no Code 128."""
    program = card.program
    files: dict[str, bytes] = {"pass.json": _json(pass_json(card, code128=code128))}
    for scale in images.SCALES:
        suffix = "" if scale == 1 else f"@{scale}x"
        files[f"icon{suffix}.png"] = images.icon_png(program, scale)
        files[f"logo{suffix}.png"] = images.logo_png(program, scale)
        files[f"strip{suffix}.png"] = images.strip_png(program, card.stamps, scale)
    for language, _name in settings.LANGUAGES:
        files[f"{language}.lproj/pass.strings"] = pass_strings(language)
    # SHA-1 is what the manifest format names; the signature over it uses SHA-256.
    manifest = _json(
        {
            name: hashlib.sha1(data, usedforsecurity=False).hexdigest()
            for name, data in files.items()
        }
    )
    files["manifest.json"] = manifest
    files["signature"] = sign_manifest(manifest)
    out = io.BytesIO()
    # The files at the archive's top level, no folder around them.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def pass_json(card: Card, *, code128: bool = False) -> dict[str, Any]:
    program = card.program
    business = card.business
    progress = progress_of(card)
    # The value texts that are sentences follow the customer's language; labels are looked
    # up by Wallet in the device's language.
    with translation.override(card.customer.language):
        progress_text = progress.text
    qr = {
        "format": "PKBarcodeFormatQR",
        # The short card code, never the card's secret token.
        "message": card.code,
        "messageEncoding": "iso-8859-1",
        "altText": card.display_code,
    }
    barcodes = [{**qr, "format": "PKBarcodeFormatCode128"}, qr] if code128 else [qr]
    document: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": settings.APPLE_PASS_TYPE_ID,
        "teamIdentifier": settings.APPLE_TEAM_ID,
        "serialNumber": card.code,
        "webServiceURL": settings.WALLET_WEB_SERVICE_URL,
        "authenticationToken": passkit.authentication_token(card),
        "organizationName": business.name,
        "description": f"Loyalty card: {program.name}",
        "logoText": program.name,
        "backgroundColor": _rgb(program.background_color),
        "foregroundColor": _rgb(program.foreground_color),
        "labelColor": _rgb(program.label_color),
        "barcodes": barcodes,
        "storeCard": {
            # The only fields seen while passes are stacked.
            "headerFields": [
                {
                    "key": "stamps",
                    "label": "label.stamps",
                    "value": f"{progress.stamps}/{progress.goal}",
                    "changeMessage": "change.stamps",
                    "textAlignment": "PKTextAlignmentRight",
                }
            ],
            # Empty on purpose: it would be drawn over the strip's stamp grid (wallet.md A9).
            "primaryFields": [],
            "secondaryFields": [
                {
                    "key": "next",
                    "label": "label.next",
                    "value": progress.next_reward,
                    "changeMessage": "change.next",
                },
            ],
            "auxiliaryFields": [
                {"key": "card", "label": "label.card", "value": program.name},
                {
                    "key": "code",
                    "label": "label.code",
                    "value": card.display_code,
                    "textAlignment": "PKTextAlignmentRight",
                },
            ],
            "backFields": _back_fields(program, progress_text),
        },
    }
    locations = _locations(card)
    if locations:
        document["locations"] = locations
        document["maxDistance"] = MAX_DISTANCE_METRES
    return document


def pass_strings(language: str) -> bytes:
    """``xx.lproj/pass.strings``: UTF-16 with its byte-order mark, as Apple's tools write it."""
    with translation.override(language):
        lines = [f'"{key}" = "{_escape(gettext(text))}";' for key, text in STRINGS.items()]
    return ("\n".join(lines) + "\n").encode("utf-16")


def _back_fields(program: Program, progress_text: str) -> list[dict[str, Any]]:
    reward = program.reward_title
    if program.reward_description:
        reward = f"{reward}\n{program.reward_description}"
    fields = [
        {"key": "progress", "label": "label.next", "value": progress_text},
        {"key": "reward", "label": "label.reward", "value": reward},
    ]
    if program.terms:
        fields.append({"key": "terms", "label": "label.terms", "value": program.terms})
    return fields


def _locations(card: Card) -> list[dict[str, Any]]:
    shops = Location.objects.filter(
        business_id=card.business_id, latitude__isnull=False, longitude__isnull=False
    ).order_by("pk")[:MAX_LOCATIONS]
    found = []
    for shop in shops:
        if shop.latitude is None or shop.longitude is None:
            continue
        entry: dict[str, Any] = {
            "latitude": float(shop.latitude),
            "longitude": float(shop.longitude),
        }
        if shop.relevant_text:
            entry["relevantText"] = shop.relevant_text
        found.append(entry)
    return found


def _rgb(hex_color: str) -> str:
    red, green, blue = images.rgb(hex_color)
    return f"rgb({red}, {green}, {blue})"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode()
