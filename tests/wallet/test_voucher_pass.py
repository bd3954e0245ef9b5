"""A voucher's coupon pass: its package, signature, barcode, states, download and PassKit."""

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.vouchers.code_images import code_png
from stampcard.vouchers.models import (
    CodeDisplay,
    RedemptionMethod,
    Voucher,
    VoucherOrigin,
    VoucherStatus,
)
from stampcard.vouchers.services import ValidityRule, issue_voucher, redeem_voucher, void_voucher
from stampcard.vouchers.validity import Validity
from stampcard.wallet import apple, changes, passkit, signing
from stampcard.wallet.consumers import push_voucher_changed
from stampcard.wallet.models import PassRegistration
from tests.wallet.test_apple_pass import LANGUAGES, openssl_verify

PASS_TYPE = "pass.local.stampcard"
DEVICE = "device-voucher-1"
REQUIRED_KEYS = {
    "formatVersion",
    "passTypeIdentifier",
    "teamIdentifier",
    "serialNumber",
    "organizationName",
    "description",
    "webServiceURL",
    "authenticationToken",
    "coupon",
}
IMAGE_POINTS = {"icon": (29, 29), "logo": (50, 50)}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def issue(business, actor, card=None, **kwargs):
    values = {
        "title": "Free coffee",
        "description": "Any size, any milk.",
        "origin": VoucherOrigin.MANUAL,
        "redemption_method": RedemptionMethod.REDEEM_CODE,
        "code": "FREECOFFEE7",
        "code_display": CodeDisplay.QR,
        "validity": ValidityRule(kind=Validity.DAYS, amount=30),
    }
    values.update(kwargs)
    return issue_voucher(business=business, actor=actor, card=card, **values)


@pytest.fixture
def voucher(business, staff_actor, card):
    return issue(business, staff_actor, card=card, program=card.program)


def auth(voucher):
    return {"HTTP_AUTHORIZATION": f"ApplePass {passkit.authentication_token(voucher)}"}


def registration_url(voucher, device=DEVICE):
    serial = passkit.voucher_serial(voucher)
    return f"/passkit/v1/devices/{device}/registrations/{PASS_TYPE}/{serial}"


def pass_url(voucher):
    return f"/passkit/v1/passes/{PASS_TYPE}/{passkit.voucher_serial(voucher)}"


def register(client, voucher, push="push-v", device=DEVICE, headers=None):
    return client.post(
        registration_url(voucher, device),
        data=json.dumps({"pushToken": push}),
        content_type="application/json",
        **(auth(voucher) if headers is None else headers),
    )


@pytest.mark.django_db
def test_package_has_every_key_image_and_string(voucher):
    files = unzip(apple.build_voucher_pass(voucher))
    document = json.loads(files["pass.json"])
    assert set(document) >= REQUIRED_KEYS
    assert document["serialNumber"] == f"v{voucher.pk}"
    assert document["coupon"]["primaryFields"][0]["value"] == "Free coffee"
    assert datetime.fromisoformat(document["expirationDate"]) == voucher.valid_until.replace(
        microsecond=0
    )
    assert "voided" not in document
    for name, (width, height) in IMAGE_POINTS.items():
        for scale in (1, 2, 3):
            suffix = "" if scale == 1 else f"@{scale}x"
            image = Image.open(io.BytesIO(files[f"{name}{suffix}.png"]))
            assert image.size == (width * scale, height * scale)
    for language in LANGUAGES:
        text = files[f"{language}.lproj/pass.strings"].decode("utf-16")
        assert '"Voucher" = "' in text
    assert document["coupon"]["primaryFields"][0]["label"] == "Voucher"
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name], usedforsecurity=False).hexdigest() == digest, name


@pytest.mark.django_db
def test_signature_verifies_against_the_development_chain(voucher, data_dir, tmp_path_factory):
    files = unzip(apple.build_voucher_pass(voucher))
    ca = data_dir / signing.DEV_DIR_NAME / signing.DEV_FILES["wwdr"]
    folder = tmp_path_factory.mktemp("verify")
    good = openssl_verify(folder, files["manifest.json"], files["signature"], ca)
    assert good.returncode == 0, good.stderr
    altered = files["manifest.json"].replace(b'"pass.json":"', b'"pass.json":"0')
    assert altered != files["manifest.json"]
    assert openssl_verify(folder, altered, files["signature"], ca).returncode != 0


def decoded(barcode) -> list[str]:
    display = "code128" if barcode["format"] == "PKBarcodeFormatCode128" else "qr"
    image = Image.open(io.BytesIO(code_png(barcode["message"], display)))
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("display", "formats"),
    [
        (CodeDisplay.QR, ["PKBarcodeFormatQR"]),
        (CodeDisplay.CODE128, ["PKBarcodeFormatCode128", "PKBarcodeFormatQR"]),
        (CodeDisplay.TEXT, []),
    ],
)
def test_barcodes_carry_the_redeem_code(business, staff_actor, card, display, formats):
    voucher = issue(business, staff_actor, card=card, code="BREW42", code_display=display)
    document = apple.voucher_pass_json(voucher)
    assert [barcode["format"] for barcode in document["barcodes"]] == formats
    for barcode in document["barcodes"]:
        assert decoded(barcode) == ["BREW42"]
        assert barcode["altText"] == "BREW42"
    # The code is on the pass as text too, whatever the display.
    assert document["coupon"]["auxiliaryFields"][0]["value"] == "BREW42"


@pytest.mark.django_db
def test_a_staff_scanned_voucher_without_code_carries_its_token(business, staff_actor, card):
    voucher = issue(
        business, staff_actor, card=card, code="", redemption_method=RedemptionMethod.STAFF_SCAN
    )
    (barcode,) = apple.voucher_pass_json(voucher)["barcodes"]
    assert decoded(barcode) == [voucher.token]
    assert "altText" not in barcode


@pytest.mark.django_db
def test_a_self_redeemed_voucher_has_no_barcode(business, staff_actor, card):
    voucher = issue(
        business, staff_actor, card=card, code="", redemption_method=RedemptionMethod.SELF_REDEEM
    )
    assert apple.voucher_pass_json(voucher)["barcodes"] == []


@pytest.mark.django_db
def test_redeemed_and_void_vouchers_are_voided_passes(business, staff_actor, card):
    redeemed = issue(business, staff_actor, card=card)
    redeem_voucher(business=business, actor=staff_actor, code="FREECOFFEE7")
    redeemed.refresh_from_db()
    assert redeemed.status == VoucherStatus.REDEEMED
    voided = issue(business, staff_actor, card=card, code="OTHER1")
    void_voucher(business=business, actor=staff_actor, voucher=voided, reason="mistake")
    voided.refresh_from_db()
    for voucher in (redeemed, voided):
        document = apple.voucher_pass_json(voucher)
        assert document["voided"] is True
        assert "locations" not in document
        # Redeeming, voiding or expiring is no milestone: the lock screen says nothing.
        fields = [f for group in document["coupon"].values() for f in group]
        assert [f for f in fields if "changeMessage" in f] == []


@pytest.mark.django_db
def test_an_expired_voucher_has_its_expiration_date_passed(business, staff_actor, card):
    voucher = issue(business, staff_actor, card=card)
    Voucher.objects.filter(pk=voucher.pk).update(
        valid_until=timezone.now() - timedelta(days=1), status=VoucherStatus.EXPIRED
    )
    voucher.refresh_from_db()
    document = apple.voucher_pass_json(voucher)
    assert datetime.fromisoformat(document["expirationDate"]) < timezone.now()


@pytest.mark.django_db
def test_dates_are_w3c_in_whole_seconds_in_the_business_time_zone(business, staff_actor, card):
    business.time_zone = "Asia/Bangkok"
    business.save()
    voucher = issue(business, staff_actor, card=card)
    until = datetime(2026, 12, 1, 3, 0, 0, 123456, tzinfo=UTC)
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=until)
    voucher.refresh_from_db()
    document = apple.voucher_pass_json(voucher)
    assert document["expirationDate"] == "2026-12-01T10:00:00+07:00"
    (field,) = [f for f in document["coupon"]["secondaryFields"] if f["key"] == "valid_until"]
    assert field["value"] == "2026-12-01T10:00:00+07:00"


@pytest.mark.django_db
def test_a_voucher_without_program_wears_the_business_colour(business, staff_actor):
    business.brand_color = "#aa0000"
    business.save()
    voucher = issue(business, staff_actor, validity=ValidityRule())
    document = apple.voucher_pass_json(voucher)
    assert document["backgroundColor"] == "rgb(170, 0, 0)"
    assert "expirationDate" not in document


@pytest.mark.django_db
def test_the_status_follows_the_customers_language(business, staff_actor, card):
    card.customer.language = "ru"
    card.customer.save()
    voucher = issue(business, staff_actor, card=card)
    status = apple.voucher_pass_json(voucher)["coupon"]["secondaryFields"][0]
    assert status["value"] != "Active"


@pytest.mark.django_db
def test_download_through_the_voucher_token(client, voucher):
    response = client.get(f"/v/{voucher.token}/pass.pkpass")
    assert response.status_code == 200
    assert response["Content-Type"] == apple.PKPASS_TYPE
    assert response["Cache-Control"] == "no-store"
    assert json.loads(unzip(response.content)["pass.json"])["serialNumber"] == f"v{voucher.pk}"


@pytest.mark.django_db
def test_a_card_token_or_junk_opens_no_voucher_pass(client, voucher, card):
    assert client.get(f"/v/{card.token}/pass.pkpass").status_code == 404
    assert client.get(f"/v/{'x' * 40}/pass.pkpass").status_code == 404
    assert client.get(f"/v/{voucher.code}/pass.pkpass").status_code == 404


# The PassKit web service, for voucher serials.


@pytest.mark.django_db
def test_register_again_list_fetch_unregister(client, voucher):
    assert register(client, voucher).status_code == 201
    assert register(client, voucher).status_code == 200
    registration = PassRegistration.objects.get()
    assert registration.voucher == voucher
    assert registration.card is None
    listed = client.get(f"/passkit/v1/devices/{DEVICE}/registrations/{PASS_TYPE}")
    assert listed.status_code == 200
    assert listed.json()["serialNumbers"] == [f"v{voucher.pk}"]
    fetched = client.get(pass_url(voucher), **auth(voucher))
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == apple.PKPASS_TYPE
    head = client.head(pass_url(voucher), **auth(voucher))
    assert head.status_code == 200
    assert head.content == b""
    assert client.delete(registration_url(voucher), **auth(voucher)).status_code == 200
    assert not PassRegistration.objects.exists()
    empty = client.get(f"/passkit/v1/devices/{DEVICE}/registrations/{PASS_TYPE}")
    assert empty.status_code == 204


@pytest.mark.django_db
def test_wrong_missing_or_card_token_is_refused(client, voucher, card):
    card_token = {"HTTP_AUTHORIZATION": f"ApplePass {passkit.authentication_token(card)}"}
    for headers in ({}, {"HTTP_AUTHORIZATION": "ApplePass " + "0" * 64}, card_token):
        assert register(client, voucher, headers=headers).status_code == 401
        assert client.get(pass_url(voucher), **headers).status_code == 401
    assert not PassRegistration.objects.exists()


@pytest.mark.django_db
def test_unknown_voucher_serial_is_refused_like_a_wrong_token(client, voucher):
    url = f"/passkit/v1/passes/{PASS_TYPE}/v{voucher.pk + 1000}"
    assert client.get(url, **auth(voucher)).status_code == 401


@pytest.mark.django_db
def test_a_voucher_of_another_business_stays_its_own(
    client, voucher, other_business, other_staff_actor
):
    theirs = issue(other_business, other_staff_actor, code="THEIRS1")
    assert register(client, theirs, device="device-2").status_code == 201
    assert register(client, voucher, device="device-2").status_code == 201
    assert sorted(PassRegistration.objects.values_list("business_id", flat=True)) == sorted(
        [voucher.business_id, other_business.pk]
    )
    # One voucher's token opens only its own pass.
    url = f"/passkit/v1/passes/{PASS_TYPE}/v{theirs.pk}"
    assert client.get(url, **auth(voucher)).status_code == 401


@pytest.mark.django_db
def test_redeeming_dates_the_pass_lists_it_and_owes_a_push(
    client, settings, business, staff_actor, voucher
):
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    register(client, voucher)
    before = passkit.tag_of(timezone.now())
    redeem_voucher(business=business, actor=staff_actor, code="FREECOFFEE7")
    message = OutboxMessage.objects.get(topic=Topic.VOUCHER_REDEEMED)
    assert (
        "stampcard.wallet.consumers.push_voucher_changed"
        in (settings.OUTBOX_CONSUMERS["voucher.redeemed"])
    )
    push_voucher_changed(message)
    registration = PassRegistration.objects.get()
    assert registration.push_due_at is not None
    assert OutboxMessage.objects.filter(topic=changes.APPLE_PUSH).count() == 1
    listed = client.get(
        f"/passkit/v1/devices/{DEVICE}/registrations/{PASS_TYPE}",
        {"passesUpdatedSince": str(before)},
    )
    assert listed.json()["serialNumbers"] == [f"v{voucher.pk}"]
    fetched = client.get(pass_url(voucher), **auth(voucher))
    assert json.loads(unzip(fetched.content)["pass.json"])["voided"] is True


def picture(size, color=(200, 40, 40), kind="JPEG"):
    """A voucher picture as the issuing stores it (drawn again by ``clean_image``)."""
    from stampcard.uploads import clean_image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=kind)
    return clean_image(out.getvalue())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


@pytest.mark.django_db
def test_the_vouchers_picture_is_the_coupons_strip_at_every_scale(
    business, staff_actor, card, media, monkeypatch
):
    voucher = issue(
        business, staff_actor, card=card, program=card.program, image=picture((900, 300))
    )
    files = unzip(apple.build_voucher_pass(voucher))
    for scale in (1, 2, 3):
        suffix = "" if scale == 1 else f"@{scale}x"
        strip = Image.open(io.BytesIO(files[f"strip{suffix}.png"])).convert("RGB")
        # A coupon's strip: 375x144 points (Apple's size for coupons and gift cards).
        assert strip.size == (375 * scale, 144 * scale)
        red, green, blue = strip.getpixel((strip.width // 2, strip.height // 2))
        assert red > 150
        assert green < 90
        assert blue < 90
        assert f"icon{suffix}.png" in files
    manifest = json.loads(files["manifest.json"])
    assert "strip@2x.png" in manifest
    # Rendered once: a later build (another process) reads the renditions kept on disk.
    assert len(list((media.parent / "cache" / "vouchers").glob("*.png"))) == 3
    apple._voucher_files.cache_clear()
    images_module = apple.images
    images_module.voucher_picture_png.cache_clear()

    def no_drawing(*args, **kwargs):
        raise AssertionError("drawn again")

    monkeypatch.setattr(images_module, "fill", no_drawing)
    again = unzip(apple.build_voucher_pass(voucher))
    assert again["strip@2x.png"] == files["strip@2x.png"]


@pytest.mark.django_db
def test_a_tall_picture_is_shown_whole_not_cut_to_a_sliver(business, staff_actor, card, media):
    voucher = issue(business, staff_actor, card=card, image=picture((300, 600), (200, 40, 40)))
    strip = Image.open(io.BytesIO(unzip(apple.build_voucher_pass(voucher))["strip@2x.png"]))
    strip = strip.convert("RGB")
    assert strip.size == (750, 288)
    # Its whole height shows in the middle; the sides are a blurred, washed copy of it.
    top = strip.getpixel((375, 2))
    assert top[0] > 150
    assert top[1] < 90
    side = strip.getpixel((5, 144))
    assert side != top


@pytest.mark.django_db
def test_a_voucher_without_picture_or_with_a_name_not_ours_has_no_strip(
    business, staff_actor, card, media, voucher
):
    assert not any(name.startswith("strip") for name in unzip(apple.build_voucher_pass(voucher)))
    # A name that is not a picture the issuing stored (another file here) is never drawn.
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    out = io.BytesIO()
    Image.new("RGB", (400, 200), (0, 0, 255)).save(out, format="PNG")
    secret = default_storage.save("logos/secret.png", ContentFile(out.getvalue()))
    Voucher.objects.filter(pk=voucher.pk).update(image=secret)
    voucher.refresh_from_db()
    files = unzip(apple.build_voucher_pass(voucher))
    assert not any(name.startswith("strip") for name in files)
    assert "icon.png" in files


@pytest.mark.django_db
def test_a_cut_out_picture_stands_on_the_pass_colour(business, staff_actor, media):
    from stampcard.uploads import clean_image
    from stampcard.wallet.images import rgb

    out = io.BytesIO()
    cut_out = Image.new("RGBA", (300, 600), (0, 0, 0, 0))
    cut_out.paste((240, 140, 30, 255), (50, 100, 250, 500))
    cut_out.save(out, format="PNG")
    voucher = issue(business, staff_actor, image=clean_image(out.getvalue()))
    strip = Image.open(io.BytesIO(unzip(apple.build_voucher_pass(voucher))["strip@2x.png"]))
    strip = strip.convert("RGB")
    # Reduced to 256 colours: within a step or two of each.
    for spot, colour in (((5, 144), rgb(business.brand_color)), ((375, 144), (240, 140, 30))):
        assert max(abs(a - b) for a, b in zip(strip.getpixel(spot), colour, strict=True)) <= 3
