"""The Apple Wallet pass of a card: its package, images, manifest, signature and download."""

import hashlib
import io
import json
import subprocess
import zipfile
from decimal import Decimal

import pytest
import zxingcpp
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from PIL import Image

from stampcard.loyalty.services import add_stamps
from stampcard.vouchers.code_images import code_png
from stampcard.wallet import apple, images, signing
from tests import factories

REQUIRED_KEYS = {
    "formatVersion",
    "passTypeIdentifier",
    "teamIdentifier",
    "serialNumber",
    "organizationName",
    "description",
    "storeCard",
}
FIELD_GROUPS = (
    "headerFields",
    "primaryFields",
    "secondaryFields",
    "auxiliaryFields",
    "backFields",
)
IMAGE_POINTS = {"icon": (29, 29), "logo": (50, 50), "strip": (375, 144)}
LANGUAGES = ("en", "th", "kk", "uk", "ru")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Each test's own data folder: its development chain and strip cache."""
    settings.DATA_DIR = tmp_path
    return tmp_path


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_stamps(card, stamps):
    # The counters belong to loyalty.services; a test sets the cache directly.
    type(card).objects.filter(pk=card.pk).update(stamps=stamps)
    card.refresh_from_db()
    return card


@pytest.fixture
def files(card):
    return unzip(apple.build_pass(card))


def test_pass_json_has_every_required_key(card, files):
    document = json.loads(files["pass.json"])
    assert document.keys() >= REQUIRED_KEYS
    assert document["formatVersion"] == 1
    assert document["passTypeIdentifier"] == "pass.local.stampcard"
    assert document["teamIdentifier"] == "LOCALTEAM1"
    assert document["serialNumber"] == card.code
    assert document["organizationName"] == "Corner Cafe"
    assert document["backgroundColor"] == "rgb(31, 41, 55)"
    assert document["foregroundColor"] == "rgb(255, 255, 255)"
    store = document["storeCard"]
    keys = []
    for group in FIELD_GROUPS:
        for field in store[group]:
            assert {"key", "value"} <= field.keys()
            keys.append(field["key"])
    assert len(keys) == len(set(keys)), "field keys are unique across the pass"
    assert len(store["headerFields"]) <= 3
    assert len(store["secondaryFields"]) + len(store["auxiliaryFields"]) <= 4
    assert store["headerFields"][0]["value"] == "0/10"
    assert store["secondaryFields"][0]["value"] == "Free coffee"
    # Only a milestone the budget allowed speaks on the lock screen
    # (tests/wallet/test_apple_announcements.py): a new pass says nothing.
    speaking = [f for group in FIELD_GROUPS for f in store[group] if "changeMessage" in f]
    assert speaking == []
    assert "%@" in apple.STRINGS["change.earned"]
    # The PassKit web service (tests/wallet/test_passkit.py).
    assert document["webServiceURL"].endswith("/passkit/")
    assert len(document["authenticationToken"]) >= 16


def test_progress_and_next_reward_follow_the_card(card):
    factories.MilestoneFactory(program=card.program, stamps=5, reward_title="Free cookie")
    card.program.refresh_from_db()
    store = apple.pass_json(with_stamps(card, 3))["storeCard"]
    assert store["headerFields"][0]["value"] == "3/10"
    assert store["secondaryFields"][0]["value"] == "Free cookie"
    assert store["backFields"][0]["value"] == "2 more stamps to Free cookie"


def test_the_lock_screen_speaks_when_a_reward_is_earned_and_only_then(card):
    factories.MilestoneFactory(program=card.program, stamps=2, reward_title="Free cookie")
    card.program.refresh_from_db()
    owner = factories.member_actor(card.business)

    def earned():
        card.refresh_from_db()
        fields = apple.pass_json(card)["storeCard"]["secondaryFields"]
        return next(f["value"] for f in fields if f["key"] == "earned")

    add_stamps(business=card.business, actor=owner, source="staff", card_id=card.pk)
    assert earned() == 0
    add_stamps(business=card.business, actor=owner, source="staff", card_id=card.pk)
    assert earned() == 1


def test_every_image_at_every_scale(files):
    for name, (width, height) in IMAGE_POINTS.items():
        for scale in (1, 2, 3):
            suffix = "" if scale == 1 else f"@{scale}x"
            image = Image.open(io.BytesIO(files[f"{name}{suffix}.png"]))
            assert image.format == "PNG"
            assert image.size == (width * scale, height * scale), (name, scale)


def test_each_language_has_its_strings(files):
    for language in LANGUAGES:
        text = files[f"{language}.lproj/pass.strings"].decode("utf-16")
        for english in apple.STRINGS.values():
            assert f'"{english}" = "' in text
    assert '"Stamps" = "Stamps";' in files["en.lproj/pass.strings"].decode("utf-16")
    assert '"Stamps" = "Stamps";' not in files["ru.lproj/pass.strings"].decode("utf-16")
    # The change message keeps Wallet's placeholder in every language.
    for language in LANGUAGES:
        text = files[f"{language}.lproj/pass.strings"].decode("utf-16")
        line = next(x for x in text.splitlines() if x.startswith('"You earned a reward!'))
        assert line.count("%@") == 2, (language, line)


def test_labels_are_english_that_every_language_looks_up(card, files):
    """A device in a language the pass does not carry shows the label as pass.json holds it:
    English, never a lookup key."""
    store = json.loads(files["pass.json"])["storeCard"]
    labels = {f["label"] for group in FIELD_GROUPS for f in store[group] if "label" in f}
    assert {"Stamps", "Next reward", "Rewards earned", "Card", "Code"} <= labels
    keys = set(apple.STRINGS.values())
    assert labels <= keys
    for language in LANGUAGES:
        text = files[f"{language}.lproj/pass.strings"].decode("utf-16")
        for label in labels:
            assert f'"{label}" = "' in text, (language, label)


def test_manifest_covers_every_file(files):
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name], usedforsecurity=False).hexdigest() == digest, name


def openssl_verify(folder, manifest: bytes, signature: bytes, ca) -> subprocess.CompletedProcess:
    (folder / "manifest.json").write_bytes(manifest)
    (folder / "signature").write_bytes(signature)
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(folder / "signature"),
            "-content",
            str(folder / "manifest.json"),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_signature_verifies_against_the_development_chain(files, data_dir, tmp_path_factory):
    ca = data_dir / signing.DEV_DIR_NAME / signing.DEV_FILES["wwdr"]
    folder = tmp_path_factory.mktemp("verify")
    good = openssl_verify(folder, files["manifest.json"], files["signature"], ca)
    assert good.returncode == 0, good.stderr
    altered = files["manifest.json"].replace(b'"icon.png":"', b'"icon.png":"0')
    assert altered != files["manifest.json"]
    bad = openssl_verify(folder, altered, files["signature"], ca)
    assert bad.returncode != 0
    # The signature carries the pass certificate and the (development) WWDR intermediate.
    certs = subprocess.run(
        ["openssl", "pkcs7", "-inform", "DER", "-print_certs", "-noout"],
        input=files["signature"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "Pass Type ID: pass.local.stampcard" in certs
    assert "stampcard development WWDR" in certs


def test_development_key_is_private(files, data_dir):
    key = data_dir / signing.DEV_DIR_NAME / signing.DEV_FILES["key"]
    assert key.stat().st_mode & 0o777 == 0o600


def test_certificate_of_another_pass_type_is_refused(data_dir):
    folder = signing.dev_chain(data_dir)  # made for pass.local.stampcard
    paths = [str(folder / signing.DEV_FILES[name]) for name in ("cert", "key", "wwdr")]
    with pytest.raises(ImproperlyConfigured, match="not APPLE_PASS_TYPE_ID"):
        signing._load(*paths, "pass.other.type", "LOCALTEAM1", ())


def test_qr_code_is_the_card_code_never_its_token(card, files):
    document = json.loads(files["pass.json"])
    (barcode,) = document["barcodes"]
    assert barcode["format"] == "PKBarcodeFormatQR"
    assert barcode["altText"] == card.display_code
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(code_png(barcode["message"], "qr"))))
    assert [result.text for result in decoded] == [card.code]
    token = card.token.encode()
    assert all(token not in data for data in files.values())


def test_code128_comes_with_a_qr_fallback(card):
    document = apple.pass_json(card, code128=True)
    formats = [barcode["format"] for barcode in document["barcodes"]]
    assert formats == ["PKBarcodeFormatCode128", "PKBarcodeFormatQR"]
    for barcode in document["barcodes"]:
        display = "code128" if barcode["format"] == "PKBarcodeFormatCode128" else "qr"
        decoded = zxingcpp.read_barcodes(
            Image.open(io.BytesIO(code_png(barcode["message"], display)))
        )
        assert [result.text for result in decoded] == [card.code]


def test_locations_with_coordinates_at_most_ten(card, business):
    factories.LocationFactory(business=business, name="No coordinates")
    for n in range(12):
        factories.LocationFactory(
            business=business,
            latitude=Decimal("13.75") + n,
            longitude=Decimal("100.5"),
            relevant_text=f"Shop {n} is near",
        )
    document = apple.pass_json(card)
    assert len(document["locations"]) == 10
    assert document["locations"][0] == {
        "latitude": 13.75,
        "longitude": 100.5,
        "relevantText": "Shop 0 is near",
    }


def test_strip_shows_the_stamps(card):
    program = card.program
    three = Image.open(io.BytesIO(images.draw_strip(program, 3, 2))).convert("RGB")
    four = Image.open(io.BytesIO(images.draw_strip(program, 4, 2))).convert("RGB")
    white = (255, 255, 255)  # the program's foreground colour: filled stamps
    filled = [dict((color, n) for n, color in im.getcolors(1 << 20))[white] for im in (three, four)]
    assert filled[1] > filled[0]


def test_strip_is_cached_per_design_and_count(card, data_dir, monkeypatch):
    program = card.program
    first = images.strip_png(program, 3, 2)
    cached = list((data_dir / "cache" / "strips").iterdir())
    assert [path.name for path in cached] == [
        f"{program.pk}-v{program.design_version}-r{images.RENDERING}-3@2x.png"
    ]

    def no_drawing(*args):
        raise AssertionError("drawn again")

    monkeypatch.setattr(images, "draw_strip", no_drawing)
    assert images.strip_png(program, 3, 2) == first


@pytest.mark.django_db
def test_download_through_the_card_token(client, card):
    response = client.get(f"/c/{card.token}/pass.pkpass")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Cache-Control"] == "no-store"
    assert "Last-Modified" in response
    assert json.loads(unzip(response.content)["pass.json"])["serialNumber"] == card.code


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["x" * 43, "short", "not a token!" * 4])
def test_unknown_or_malformed_token_is_not_found(client, card, token):
    assert client.get(f"/c/{token}/pass.pkpass").status_code == 404


def test_card_code_opens_no_pass(client, card, other_business):
    # Neither this card's code nor a rival's card, by its code, reaches a pass.
    rival = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    for code in (card.code, rival.code):
        assert client.get(f"/c/{code}/pass.pkpass").status_code == 404


@override_settings(APPLE_PASS_CERT="/nowhere.pem")
def test_half_a_configuration_is_refused(card):
    with pytest.raises(ImproperlyConfigured, match="all three"):
        apple.build_pass(card)


def test_signature_names_the_pass_type_and_team_and_its_signing_time(files):
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    certificates = pkcs7.load_der_pkcs7_certificates(files["signature"])
    assert len(certificates) == 2
    (leaf,) = [c for c in certificates if c.subject.get_attributes_for_oid(NameOID.USER_ID)]
    (wwdr,) = [c for c in certificates if c is not leaf]
    assert leaf.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "pass.local.stampcard"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "LOCALTEAM1"
    )
    assert leaf.issuer == wwdr.subject
    printed = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER"],
        input=files["signature"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "signingTime" in printed
    assert "eContent: <ABSENT>" in printed  # detached: the manifest is not inside


def test_configured_certificates_sign_on_a_production_box(card, settings, data_dir, tmp_path):
    folder = signing.dev_chain(tmp_path / "issued")
    settings.LOCAL_BOX = False
    settings.APPLE_PASS_CERT = str(folder / signing.DEV_FILES["cert"])
    settings.APPLE_PASS_KEY = str(folder / signing.DEV_FILES["key"])
    settings.APPLE_WWDR_CERT = str(folder / signing.DEV_FILES["wwdr"])
    files = unzip(apple.build_pass(card))
    result = openssl_verify(
        tmp_path, files["manifest.json"], files["signature"], settings.APPLE_WWDR_CERT
    )
    assert result.returncode == 0, result.stderr
    assert not (data_dir / signing.DEV_DIR_NAME).exists()


def test_production_box_without_certificates_builds_no_pass(card, settings):
    settings.LOCAL_BOX = False
    with pytest.raises(ImproperlyConfigured, match="production"):
        apple.build_pass(card)


def test_command_makes_the_development_chain_once(data_dir):
    out = io.StringIO()
    call_command("wallet_certificates", stdout=out)
    assert "Pass Type ID: pass.local.stampcard" in out.getvalue()
    key = data_dir / signing.DEV_DIR_NAME / signing.DEV_FILES["key"]
    first = key.read_bytes()
    call_command("wallet_certificates", stdout=io.StringIO())
    assert key.read_bytes() == first


def test_a_location_change_shows_once_the_cards_are_refreshed(card, business):
    from stampcard.outbox.models import OutboxMessage
    from stampcard.wallet import changes

    assert "locations" not in apple.pass_json(card)  # read now, and kept by this process
    factories.LocationFactory(
        business=business, latitude=Decimal("13.75"), longitude=Decimal("100.5")
    )
    (message,) = OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED)
    changes.refresh_passes(business_id=message.business_id, program_id=None)
    card.refresh_from_db()
    assert len(apple.pass_json(card)["locations"]) == 1


def test_the_signed_pass_is_cached_per_card_version(card, data_dir, monkeypatch):
    first = apple.card_pass(card)
    folder = data_dir / "cache" / "passes" / str(card.pk)
    (cached,) = folder.iterdir()

    def no_building(*args, **kwargs):
        raise AssertionError("built again")

    with monkeypatch.context() as patched:
        patched.setattr(apple, "build_pass", no_building)
        assert apple.card_pass(card) == first
    with_stamps(card, 4)
    type(card).objects.filter(pk=card.pk).update(version=card.version + 1)
    card.refresh_from_db()
    second = apple.card_pass(card)
    assert second != first
    assert list(folder.iterdir()) != [cached]
    assert len(list(folder.iterdir())) == 1
    # Another language for the customer is another pass.
    card.customer.language = "th"
    assert apple.card_pass(card) != second


def test_each_build_hashes_only_its_pass_json(card, monkeypatch):
    apple.build_pass(with_stamps(card, 3))  # the images and strings of this design, hashed
    hashed = []
    real_sha1 = apple._sha1
    monkeypatch.setattr(apple, "_sha1", lambda data: hashed.append(data) or real_sha1(data))
    files = unzip(apple.build_pass(card))
    assert hashed == [files["pass.json"]]
    manifest = json.loads(files["manifest.json"])
    for name, data in files.items():
        if name not in ("manifest.json", "signature"):
            assert manifest[name] == hashlib.sha1(data, usedforsecurity=False).hexdigest(), name


def test_the_kept_images_follow_the_stamps_and_the_design(card):
    program = card.program
    three = unzip(apple.build_pass(with_stamps(card, 3)))
    four = unzip(apple.build_pass(with_stamps(card, 4)))
    assert three["strip@2x.png"] == images.strip_png(program, 3, 2)
    assert four["strip@2x.png"] == images.strip_png(program, 4, 2)
    assert three["strip@2x.png"] != four["strip@2x.png"]
    program.background_color = "#7c2d12"
    program.save()  # a design change: a new design version
    card.refresh_from_db()
    redone = unzip(apple.build_pass(card))
    assert redone["icon.png"] != four["icon.png"]
    assert redone["strip@2x.png"] == images.strip_png(card.program, 4, 2)
    assert redone["strip@2x.png"] != four["strip@2x.png"]
    manifest = json.loads(redone["manifest.json"])
    assert (
        manifest["icon.png"] == hashlib.sha1(redone["icon.png"], usedforsecurity=False).hexdigest()
    )


def test_pass_json_and_manifest_are_compact(files):
    for name in ("pass.json", "manifest.json"):
        assert (
            files[name]
            == json.dumps(
                json.loads(files[name]), ensure_ascii=False, separators=(",", ":")
            ).encode()
        )


def test_a_renewed_certificate_signs_without_a_restart(
    card, settings, data_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(signing, "RECHECK_SECONDS", 0.0)
    issued = tmp_path / "issued"
    first = signing.dev_chain(issued / "first")
    second = signing.dev_chain(issued / "second")
    settings.LOCAL_BOX = False
    live = tmp_path / "live"
    live.mkdir()
    for name in ("cert", "key", "wwdr"):
        (live / signing.DEV_FILES[name]).write_bytes((first / signing.DEV_FILES[name]).read_bytes())
    settings.APPLE_PASS_CERT = str(live / signing.DEV_FILES["cert"])
    settings.APPLE_PASS_KEY = str(live / signing.DEV_FILES["key"])
    settings.APPLE_WWDR_CERT = str(live / signing.DEV_FILES["wwdr"])
    old_ca = str(first / signing.DEV_FILES["wwdr"])
    new_ca = str(second / signing.DEV_FILES["wwdr"])

    def verifies(ca: str) -> bool:
        files = unzip(apple.build_pass(card))
        return (
            openssl_verify(tmp_path, files["manifest.json"], files["signature"], ca).returncode == 0
        )

    assert verifies(old_ca)
    assert not verifies(new_ca)
    for name in ("cert", "key", "wwdr"):  # renewed in place, as a deployment does
        draft = live / f"{signing.DEV_FILES[name]}.new"
        draft.write_bytes((second / signing.DEV_FILES[name]).read_bytes())
        draft.replace(live / signing.DEV_FILES[name])
    assert verifies(new_ca)
    assert not verifies(old_ca)
