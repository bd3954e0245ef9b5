"""Apple Wallet passes, built and signed here (wallet.md section A): a card's ``storeCard``
and a voucher's ``coupon``.

The package holds pass.json, the images at @1x/@2x/@3x, one ``xx.lproj/pass.strings`` per
language for the labels, ``manifest.json`` (SHA-1 of every other file) and ``signature`` (a
detached PKCS#7 of the manifest, see ``wallet.signing``).

``webServiceURL`` and ``authenticationToken`` point the device at the PassKit web service
(``wallet.passkit_views``), which it asks for the updated pass.

A card's signed pass is kept on disk under ``STAMPCARD_DATA_DIR/cache/passes/`` per card and
version (``card_pass``): the download page, the PassKit service and a second device of the
customer all get the same bytes without signing again, and each new version replaces the
last. A voucher's pass is built when asked: it is fetched a handful of times in its life.
"""

import functools
import hashlib
import io
import json
import os
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from stampcard.hot_path import hot_path_cursor
from stampcard.loyalty.models import Card, CardBarcode, Milestone, Program, Reward
from stampcard.loyalty.progress import progress_of, reward_at
from stampcard.tenancy.models import Business, Location
from stampcard.vouchers.models import CodeDisplay, RedemptionMethod, Voucher, VoucherStatus
from stampcard.wallet import images, passkit
from stampcard.wallet.models import AppleAnnouncement
from stampcard.wallet.signing import sign_manifest

PKPASS_TYPE = "application/vnd.apple.pkpass"
MAX_LOCATIONS = 10  # Wallet ignores the rest
# Small, as Apple advises for store cards: the pass shows up at the shop's door.
MAX_DISTANCE_METRES = 100
# How long a process reuses the shops it read for card passes (see _shop_locations).
LOCATIONS_KEPT = timedelta(seconds=60)
# A voucher without a program wears the business's colour with these.
VOUCHER_FOREGROUND = "#ffffff"
VOUCHER_LABEL = "#e5e7eb"

# Text Wallet shows in the device's language, by name, in English (the Django catalogue's
# source). pass.json holds the English itself, which is also its key in every
# .lproj/pass.strings: a device in a language the pass does not carry shows English, never a
# key (``wallet_text``).
STRINGS = {
    "label.stamps": gettext_noop("Stamps"),
    "label.next": gettext_noop("Next reward"),
    "label.reward": gettext_noop("Reward"),
    "label.card": gettext_noop("Card"),
    "label.code": gettext_noop("Code"),
    "label.terms": gettext_noop("Terms"),
    "label.voucher": gettext_noop("Voucher"),
    "label.valid_until": gettext_noop("Valid until"),
    "label.status": gettext_noop("Status"),
    "label.details": gettext_noop("Details"),
    "label.earned": gettext_noop("Rewards earned"),
    # %@ is Wallet's placeholder for the field's new value. Only milestones speak on the lock
    # screen, within the notification budget (wallet.changes.announce_milestone): the count
    # of rewards earned only when a milestone's push was allowed to; everything else (stamps,
    # the next reward, a voucher redeemed, voided or expired) updates silently.
    "change.earned": gettext_noop("You earned a reward! Rewards earned: %@"),
}


def wallet_text(name: str) -> str:
    """What pass.json holds for the text ``name`` of ``STRINGS``: its English, looked up."""
    return STRINGS[name]


def milestone_label(stamps: int) -> str:
    """What pass.json holds as the label of the milestone at ``stamps``: its English, looked
    up as ``STRINGS`` are. Strings files have no plural rules, so each count a program's
    milestones use is a key of its own, in the plural form of each language
    (``pass_strings``)."""
    with translation.override(None):
        return reward_at(stamps)


def build_pass(card: Card, *, code128: bool = False) -> bytes:
    """The signed ``.pkpass`` of ``card``, built now. ``code128`` shows a Code 128 barcode
    where the device can, with the QR code after it for Apple Watch, which has no Code 128."""
    program = card.program
    stamps = max(0, min(card.stamps, program.stamps_goal))
    static = _card_files(
        program, program.design_version, stamps, program.logo.name or "", str(settings.DATA_DIR)
    )
    return package({"pass.json": _json(pass_json(card, code128=code128))}, static)


def card_pass(card: Card) -> bytes:
    """The signed pass of ``card`` as it is now: from the cache when this version was built."""
    path = Path(_cached_path(card, card.program.design_version, card.customer.language))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = build_pass(card)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a parallel request never reads half a file.
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as draft:
        draft.write(data)
    os.replace(draft.name, path)
    for older in folder.glob("*.pkpass"):
        if older != path:
            older.unlink(missing_ok=True)
    return data


def cached_card_pass(card: Card, design_version: int, language: str) -> bytes | None:
    """The signed pass of ``card`` as it is now if the cache has it, else None. Needs no more
    of the card than its own fields, its program's ``design_version`` and its customer's
    ``language`` (the PassKit web service's door reads no more)."""
    try:
        with open(_cached_path(card, design_version, language), "rb") as cached:
            return cached.read()
    except FileNotFoundError:
        return None


def _cached_path(card: Card, design_version: int, language: str) -> str:
    """Where the cache keeps this version of the card's pass.

    The key holds everything the pass shows that can change without the card's version or
    ``updated_at`` moving (the customer's language, the signing and web service settings);
    a program, business or location change moves the cards' ``updated_at`` (wallet.changes),
    and the program's ``design_version`` at once, before the outbox has moved them.
    """
    key = hashlib.sha256(
        "|".join(
            (
                str(card.version),
                str(passkit.tag_of(card.updated_at)),
                str(design_version),
                language,
                passkit.authentication_token(card),
                settings.WALLET_WEB_SERVICE_URL,
                settings.APPLE_PASS_TYPE_ID,
                settings.APPLE_TEAM_ID,
            )
        ).encode()
    ).hexdigest()[:32]
    return os.path.join(settings.DATA_DIR, "cache", "passes", str(card.pk), f"{key}.pkpass")


def build_voucher_pass(voucher: Voucher) -> bytes:
    """The signed ``coupon`` pass of ``voucher``: voided once redeemed or void, dated to
    expire with the voucher's validity, its picture (if any) as the coupon's strip."""
    program = voucher.program
    if program is not None:
        palette = images.palette_of(program)
    else:
        palette = images.Palette(voucher.business.brand_color, VOUCHER_FOREGROUND, VOUCHER_LABEL)
    static = _voucher_files(
        palette, _stamp_of(program), voucher.picture_name, str(settings.DATA_DIR)
    )
    return package({"pass.json": _json(voucher_pass_json(voucher))}, static)


class StaticFiles(NamedTuple):
    """The files of a pass that do not change from one card to the next (its images and the
    strings of every language), with their manifest digests, in package order."""

    files: tuple[tuple[str, bytes], ...]
    digests: tuple[tuple[str, str], ...]


def static_files(files: dict[str, bytes], milestones: tuple[int, ...] = ()) -> StaticFiles:
    """``files`` with the strings of every language, the labels of the ``milestones`` (their
    counts) among them, and the SHA-1 of each."""
    every = {**files, **_all_pass_strings(milestones)}
    return StaticFiles(
        tuple(every.items()),
        tuple((name, _sha1(data)) for name, data in every.items()),
    )


def package(files: dict[str, bytes], static: StaticFiles) -> bytes:
    """``files`` and ``static``, the manifest and its signature, zipped."""
    # SHA-1 is what the manifest format names; the signature over it uses SHA-256. Only the
    # files built for this pass are hashed: the static ones come with their digests.
    digests = {name: _sha1(data) for name, data in files.items()}
    digests.update(static.digests)
    manifest = _json(digests)
    out = io.BytesIO()
    # The files at the archive's top level, no folder around them. PNGs are compressed
    # already: deflating them again costs time and saves nothing.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in (*files.items(), *static.files):
            stored = name.endswith(".png")
            archive.writestr(
                name, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            )
        archive.writestr("manifest.json", manifest)
        archive.writestr("signature", sign_manifest(manifest))
    return out.getvalue()


# Every picture, colour and the logo are design fields: a new design is a new key. The
# strip is clamped to the goal by the caller, so a program has goal + 1 of these. The data
# folder is part of the key as it is of the strips' (images.strip_png).
@functools.lru_cache(maxsize=256)
def _card_files(
    program: Program, design_version: int, stamps: int, logo: str, data_dir: str
) -> StaticFiles:
    stamp = _stamp_of(program)
    palette = images.palette_of(program)
    # The milestones are part of the design: their labels' strings are keyed by it too.
    counts = tuple(milestone.stamps for milestone in _milestones(program.pk, design_version))
    return static_files(_images(palette, stamp, strip=(program, stamps), logo=logo), counts)


# A voucher's picture is stored under a new name each time: its name is its content.
@functools.lru_cache(maxsize=64)
def _voucher_files(
    palette: images.Palette, stamp: tuple[str, str], picture: str, data_dir: str
) -> StaticFiles:
    files = _images(palette, stamp, strip=None)
    if picture:
        try:
            for scale in images.SCALES:
                suffix = "" if scale == 1 else f"@{scale}x"
                files[f"strip{suffix}.png"] = images.coupon_strip_png(
                    picture, palette.background, scale
                )
        except OSError:
            # The stored picture is gone or unreadable: the coupon goes out without it.
            files = {name: data for name, data in files.items() if not name.startswith("strip")}
    return static_files(files)


def _stamp_of(program: Program | None) -> tuple[str, str]:
    """The built-in icon and the uploaded stamp picture the pass's icon shows; none for a
    voucher without a program."""
    if program is None:
        return ("", "")
    return (program.stamp_icon, program.stamp_image.name or "")


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _images(
    palette: images.Palette,
    stamp: tuple[str, str],
    *,
    strip: tuple[Program, int] | None,
    logo: str = "",
) -> dict[str, bytes]:
    """The pass's images; ``stamp`` is what its icon shows (``_stamp_of``), ``logo`` names the
    program's uploaded logo, drawn when empty."""
    icon, picture = stamp
    files = {}
    for scale in images.SCALES:
        suffix = "" if scale == 1 else f"@{scale}x"
        files[f"icon{suffix}.png"] = images.icon_png(palette, scale, icon, picture)
        files[f"logo{suffix}.png"] = (
            images.uploaded_logo_png(logo, scale) if logo else images.logo_png(palette, scale)
        )
        if strip is not None:
            program, stamps = strip
            files[f"strip{suffix}.png"] = images.strip_png(program, stamps, scale)
    return files


def pass_json(card: Card, *, code128: bool = False) -> dict[str, Any]:
    program = card.program
    business = card.business
    _known_milestones(program)
    # The value texts (the program's own and the sentences) follow the customer's language;
    # labels are looked up by Wallet in the device's language.
    language = card.customer.language
    texts = program.texts_in(language)
    progress = progress_of(card, language)
    with translation.override(language):
        progress_text = progress.text
        # Read out by VoiceOver and shown where Wallet lists passes.
        description = gettext("Loyalty card: %(name)s") % {"name": texts["name"]}
    qr = {
        "format": "PKBarcodeFormatQR",
        # The short card code, never the card's secret token.
        "message": card.code,
        "messageEncoding": "iso-8859-1",
        "altText": card.display_code,
    }
    code128 = code128 or program.card_barcode == CardBarcode.CODE128
    barcodes = [{**qr, "format": "PKBarcodeFormatCode128"}, qr] if code128 else [qr]
    document: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": settings.APPLE_PASS_TYPE_ID,
        "teamIdentifier": settings.APPLE_TEAM_ID,
        "serialNumber": card.code,
        "webServiceURL": settings.WALLET_WEB_SERVICE_URL,
        "authenticationToken": passkit.authentication_token(card),
        "organizationName": business.name,
        "description": description,
        "logoText": texts["name"],
        "backgroundColor": _rgb(program.background_color),
        "foregroundColor": _rgb(program.foreground_color),
        "labelColor": _rgb(program.label_color),
        "barcodes": barcodes,
        "storeCard": {
            # The only fields seen while passes are stacked.
            "headerFields": [
                {
                    "key": "stamps",
                    "label": wallet_text("label.stamps"),
                    "value": f"{progress.stamps}/{progress.goal}",
                    "textAlignment": "PKTextAlignmentRight",
                }
            ],
            # Empty on purpose: it would be drawn over the strip's stamp grid (wallet.md A9).
            "primaryFields": [],
            "secondaryFields": [
                {
                    "key": "next",
                    "label": wallet_text("label.next"),
                    "value": progress.next_reward,
                },
                _earned_field(card),
            ],
            "auxiliaryFields": [
                {"key": "card", "label": wallet_text("label.card"), "value": texts["name"]},
                {
                    "key": "code",
                    "label": wallet_text("label.code"),
                    "value": card.display_code,
                    "textAlignment": "PKTextAlignmentRight",
                },
            ],
            "backFields": _back_fields(texts, progress_text, program, language),
        },
    }
    locations = _shop_locations(card.business_id, not_before=card.updated_at)
    if locations:
        document["locations"] = locations
        document["maxDistance"] = MAX_DISTANCE_METRES
    return document


def voucher_pass_json(voucher: Voucher) -> dict[str, Any]:
    business: Business = voucher.business
    program = voucher.program
    language = _voucher_language(voucher)
    with translation.override(language):
        status_text = str(voucher.get_status_display())
        description = gettext("Voucher: %(title)s") % {"title": voucher.title}
    if program is not None:
        colors = images.palette_of(program)
    else:
        colors = images.Palette(business.brand_color, VOUCHER_FOREGROUND, VOUCHER_LABEL)
    coupon: dict[str, Any] = {
        "primaryFields": [
            {"key": "offer", "label": wallet_text("label.voucher"), "value": voucher.title}
        ],
        "secondaryFields": [
            {"key": "status", "label": wallet_text("label.status"), "value": status_text}
        ],
        "auxiliaryFields": [],
        "backFields": [],
    }
    if voucher.valid_until is not None:
        coupon["secondaryFields"].append(
            {
                "key": "valid_until",
                "label": wallet_text("label.valid_until"),
                "value": _w3c_date(voucher.valid_until, business.time_zone),
                "dateStyle": "PKDateStyleMedium",
                "timeStyle": "PKDateStyleShort",
                "textAlignment": "PKTextAlignmentRight",
            }
        )
    if voucher.code:
        coupon["auxiliaryFields"].append(
            {"key": "code", "label": wallet_text("label.code"), "value": voucher.code}
        )
    if voucher.description:
        coupon["backFields"].append(
            {"key": "details", "label": wallet_text("label.details"), "value": voucher.description}
        )
    document: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": settings.APPLE_PASS_TYPE_ID,
        "teamIdentifier": settings.APPLE_TEAM_ID,
        "serialNumber": passkit.voucher_serial(voucher),
        "webServiceURL": settings.WALLET_WEB_SERVICE_URL,
        "authenticationToken": passkit.authentication_token(voucher),
        "organizationName": business.name,
        "description": description,
        "logoText": business.name,
        "backgroundColor": _rgb(colors.background),
        "foregroundColor": _rgb(colors.foreground),
        "labelColor": _rgb(colors.label),
        "barcodes": _voucher_barcodes(voucher),
        "coupon": coupon,
    }
    # A used voucher stays in Wallet, greyed and out of the way; an expired one too.
    if voucher.status in (VoucherStatus.REDEEMED, VoucherStatus.VOID):
        document["voided"] = True
    if voucher.valid_until is not None:
        document["expirationDate"] = _w3c_date(voucher.valid_until, business.time_zone)
    locations = _locations(voucher.business_id)
    if locations and not document.get("voided"):
        document["locations"] = locations
        document["maxDistance"] = MAX_DISTANCE_METRES
    return document


def _voucher_barcodes(voucher: Voucher) -> list[dict[str, Any]]:
    """The code the counter scans: the redeem code as the voucher shows it, or for a
    staff-scanned voucher without one, its token (what the staff scanner reads)."""
    if voucher.code:
        if voucher.code_display == CodeDisplay.TEXT:
            return []
        qr = {
            "format": "PKBarcodeFormatQR",
            "message": voucher.code,
            "messageEncoding": "iso-8859-1",
            "altText": voucher.code,
        }
        if voucher.code_display == CodeDisplay.CODE128:
            return [{**qr, "format": "PKBarcodeFormatCode128"}, qr]
        return [qr]
    if voucher.redemption_method == RedemptionMethod.STAFF_SCAN:
        # No altText: the token is a secret, not something to read out.
        return [
            {
                "format": "PKBarcodeFormatQR",
                "message": voucher.token,
                "messageEncoding": "iso-8859-1",
            }
        ]
    return []


def _voucher_language(voucher: Voucher) -> str:
    card = voucher.card
    if card is not None:
        return card.customer.language
    return voucher.business.default_language


def pass_strings(language: str, milestones: tuple[int, ...] = ()) -> bytes:
    """``xx.lproj/pass.strings``: UTF-16 with its byte-order mark, as Apple's tools write it.
    ``milestones``: the counts whose labels (``milestone_label``) the pass uses."""
    with translation.override(language):
        pairs = [(text, gettext(text)) for text in STRINGS.values()]
        pairs += [(milestone_label(stamps), reward_at(stamps)) for stamps in milestones]
    lines = [f'"{_escape(key)}" = "{_escape(value)}";' for key, value in pairs]
    return ("\n".join(lines) + "\n").encode("utf-16")


def _back_fields(
    texts: dict[str, str], progress_text: str, program: Program, language: str
) -> list[dict[str, Any]]:
    """``texts``: the program's in the customer's language (``Program.texts_in``). Every
    reward of a cycle, the milestones on the way first, then the goal's: as the Google
    class lists them (``google.loyalty_class``)."""
    reward = texts["reward_title"]
    if texts["reward_description"]:
        reward = f"{reward}\n{texts['reward_description']}"
    fields = [{"key": "progress", "label": wallet_text("label.next"), "value": progress_text}]
    # Sorted here: a prefetched list keeps whatever order its query had.
    for milestone in sorted(program.milestones.all(), key=lambda m: m.stamps):
        title = milestone.text_in("reward_title", language)
        details = milestone.text_in("reward_description", language)
        fields.append(
            {
                "key": f"milestone-{milestone.stamps}",
                "label": milestone_label(milestone.stamps),
                "value": f"{title}\n{details}" if details else title,
            }
        )
    fields.append({"key": "reward", "label": wallet_text("label.reward"), "value": reward})
    if texts["terms"]:
        fields.append(
            {"key": "terms", "label": wallet_text("label.terms"), "value": texts["terms"]}
        )
    return fields


# The rewards a card has earned, of every status, and the count its pass announces: the one
# query a pass build makes.
_EARNED_SQL = (
    f"SELECT count(*), (SELECT rewards_earned FROM {AppleAnnouncement._meta.db_table}"  # noqa: S608  # the models' own tables
    " WHERE card_id = %s)"
    f" FROM {Reward._meta.db_table}"
    " WHERE card_id = %s AND business_id = %s"
)


def _earned_field(card: Card) -> dict[str, Any]:
    """The count of rewards earned; it speaks on the lock screen only for the count a
    milestone was allowed to announce (``AppleAnnouncement``), one prepared statement
    (``stampcard.hot_path``)."""
    with hot_path_cursor(connections[Reward.objects.db]) as cursor:
        cursor.execute(_EARNED_SQL, [card.pk, card.pk, card.business_id])
        count, announced = cursor.fetchone()
    field: dict[str, Any] = {
        "key": "earned",
        "label": wallet_text("label.earned"),
        "value": int(count),
        "textAlignment": "PKTextAlignmentRight",
    }
    if announced is not None and int(announced) == int(count):
        field["changeMessage"] = wallet_text("change.earned")
    return field


def _known_milestones(program: Program) -> None:
    """Give ``program`` its milestones from this process's memory, as if prefetched.

    Every milestone change moves ``design_version`` (loyalty.models.Milestone), so the
    milestones of one version never change: a pass build saves the query.
    """
    prefetched = program.__dict__.setdefault("_prefetched_objects_cache", {})
    if "milestones" not in prefetched:
        prefetched["milestones"] = _milestones(program.pk, program.design_version)


@functools.lru_cache(maxsize=1024)
def _milestones(program_id: int, design_version: int) -> list[Milestone]:
    return list(Milestone.objects.filter(program_id=program_id).order_by("stamps"))


# The translations are fixed for the life of the process; the milestones' counts are
# those of a program's design.
@functools.lru_cache(maxsize=256)
def _all_pass_strings(milestones: tuple[int, ...] = ()) -> dict[str, bytes]:
    return {
        f"{language}.lproj/pass.strings": pass_strings(language, milestones)
        for language, _name in settings.LANGUAGES
    }


# business id -> (when read, the pass locations then); see _shop_locations.
_read_locations: dict[int, tuple[datetime, list[dict[str, Any]]]] = {}


def _shop_locations(business_id: int, *, not_before: datetime) -> list[dict[str, Any]]:
    """The business's pass locations, read again unless read after ``not_before`` (the card's
    last change) and less than ``LOCATIONS_KEPT`` ago.

    A location change moves ``updated_at`` of every card of the business once its outbox
    message is delivered (wallet.changes), after the change committed: a card changed after
    the last read makes the next build read again, so a pushed pass never shows shops older
    than the push. The age limit bounds what clock skew between servers could hide.
    """
    now = timezone.now()
    known = _read_locations.get(business_id)
    if known is not None and not_before < known[0] and now - known[0] < LOCATIONS_KEPT:
        return known[1]
    found = _locations(business_id)
    _read_locations[business_id] = (now, found)
    return found


def _locations(business_id: int) -> list[dict[str, Any]]:
    shops = Location.objects.filter(
        business_id=business_id, latitude__isnull=False, longitude__isnull=False
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


def _w3c_date(moment: datetime, time_zone: str) -> str:
    """A date as pass.json takes it: W3C/ISO 8601 in whole seconds with the offset of the
    business's time zone (2026-12-01T10:00:00+07:00); Wallet does not read fractions."""
    return moment.astimezone(ZoneInfo(time_zone)).replace(microsecond=0).isoformat()


def _rgb(hex_color: str) -> str:
    red, green, blue = images.rgb(hex_color)
    return f"rgb({red}, {green}, {blue})"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _json(value: Any) -> bytes:
    # Compact: Wallet reads the bytes, nobody else; json's C encoder writes them.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
