"""Issue Voucher, the vouchers list, a voucher's picture and printable, and voiding."""

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pillow_heif
import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from stampcard.audit.models import AuditEntry
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers.models import RedemptionMethod, Voucher, VoucherOrigin, VoucherStatus
from stampcard.vouchers.services import redeem_voucher
from tests import factories


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def url(business, name="voucher_issue", **kwargs):
    from django.urls import reverse

    return reverse(f"dashboard:{name}", kwargs={"business_slug": business.slug, **kwargs})


def picture(fmt: str) -> bytes:
    image = Image.new("RGB", (80, 40), (20, 120, 200))
    out = io.BytesIO()
    if fmt == "HEIF":
        pillow_heif.from_pillow(image).save(out, format="HEIF")
    else:
        image.save(out, format=fmt)
    return out.getvalue()


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    b'<rect width="40" height="20" fill="#0a0"/></svg>'
)


def issue(client, business, **fields):
    data = {"title": "Sorry about the wait", "validity": "unlimited", **fields}
    return client.post(url(business), data)


def test_a_free_voucher_gets_a_unique_code_and_a_printable_with_qr_and_code128(
    client, owner, business
):
    client.force_login(owner)
    response = issue(client, business, description="One coffee on us")
    assert response.status_code == 302
    voucher = Voucher.objects.get()
    assert voucher.card is None
    assert voucher.origin == VoucherOrigin.MANUAL
    assert voucher.redemption_method == RedemptionMethod.REDEEM_CODE
    assert len(voucher.code) == 10
    assert OutboxMessage.objects.filter(topic="voucher.issued").count() == 1
    assert AuditEntry.objects.filter(action="voucher.issued").count() == 1

    pdf = client.get(url(business, "voucher_printable", voucher_id=voucher.pk))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_printable_codes_decode_to_the_voucher_code(client, owner, business):
    from stampcard.vouchers.code_images import code_png
    from stampcard.vouchers.models import CodeDisplay

    client.force_login(owner)
    issue(client, business)
    voucher = Voucher.objects.get()
    for display, fmt in (
        (CodeDisplay.QR, zxingcpp.BarcodeFormat.QRCode),
        (CodeDisplay.CODE128, zxingcpp.BarcodeFormat.Code128),
    ):
        found = zxingcpp.read_barcodes(Image.open(io.BytesIO(code_png(voucher.code, display))))
        assert [(b.format, b.text) for b in found] == [(fmt, voucher.code)]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "AVIF", "HEIF"])
def test_each_image_format_is_stored_as_a_picture_we_drew(client, owner, business, fmt):
    client.force_login(owner)
    upload = SimpleUploadedFile(f"photo.{fmt.lower()}", picture(fmt), "application/octet-stream")
    assert issue(client, business, image=upload).status_code == 302
    voucher = Voucher.objects.get()
    served = client.get(url(business, "voucher_image", voucher_id=voucher.pk))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (80, 40)


def test_an_svg_is_served_as_png_never_as_svg(client, owner, business):
    client.force_login(owner)
    hostile = SVG.replace(b"</svg>", b"<script>alert(1)</script></svg>")
    assert issue(client, business, image=SimpleUploadedFile("a.svg", hostile)).status_code == 302
    served = client.get(url(business, "voucher_image", voucher_id=Voucher.objects.get().pk))
    assert served["Content-Type"] == "image/png"
    assert b"script" not in served.content


def test_a_name_that_is_not_a_vouchers_picture_is_never_served(client, owner, business):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    client.force_login(owner)
    assert issue(client, business).status_code == 302
    voucher = Voucher.objects.get()
    # Another file of the installation (an imported row named it before imports checked).
    secret = default_storage.save("logos/secret.png", ContentFile(picture("PNG")))
    Voucher.objects.filter(pk=voucher.pk).update(image=secret)
    served = client.get(url(business, "voucher_image", voucher_id=voucher.pk))
    assert served.status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG.replace(b"</svg>", b'<image href="file:///etc/passwd"/></svg>'), "outside itself"),
        (b"MZ\x90\x00 not a picture", "not a PNG, JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024), "larger than 10 MB"),
    ],
    ids=["svg-external", "lying-name", "huge"],
)
def test_a_hostile_upload_is_refused_and_nothing_is_issued(client, owner, business, data, message):
    client.force_login(owner)
    response = issue(client, business, image=SimpleUploadedFile("photo.png", data, "image/png"))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Voucher.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_with_a_customer_the_voucher_is_theirs_and_staff_scan_it(client, owner, business, card):
    client.force_login(owner)
    assert issue(client, business, card=card.pk).status_code == 302
    voucher = Voucher.objects.get()
    assert voucher.card == card
    assert voucher.program == card.program
    assert voucher.code == ""
    assert voucher.redemption_method == RedemptionMethod.STAFF_SCAN
    assert OutboxMessage.objects.get(topic="voucher.issued").payload["card_id"] == card.pk


def test_with_a_customer_and_a_redeem_code(client, owner, business, card):
    client.force_login(owner)
    issue(client, business, card=card.pk, with_code="on")
    voucher = Voucher.objects.get()
    assert voucher.card == card
    assert voucher.redemption_method == RedemptionMethod.REDEEM_CODE
    assert voucher.code


def test_another_business_card_is_not_found(client, owner, business, other_business):
    foreign = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    client.force_login(owner)
    response = issue(client, business, card=foreign.pk)
    assert response.status_code == 400
    assert "not found" in response.content.decode()
    assert not Voucher.objects.exists()


@pytest.mark.parametrize(
    ("fields", "days"),
    [
        ({"validity": "unlimited"}, None),
        ({"validity": "days", "days": "14"}, 14),
        ({"validity": "months", "months": "2"}, (59, 62)),
    ],
)
def test_each_validity_mode(client, owner, business, fields, days):
    client.force_login(owner)
    before = timezone.now()
    assert issue(client, business, **fields).status_code == 302
    voucher = Voucher.objects.get()
    if days is None:
        assert voucher.valid_until is None
    elif isinstance(days, int):
        assert voucher.valid_until - voucher.valid_from == timedelta(days=days)
    else:
        assert days[0] <= (voucher.valid_until - before).days <= days[1]


def test_fixed_date_lasts_to_the_end_of_that_day(client, owner, business):
    client.force_login(owner)
    day = (timezone.now() + timedelta(days=10)).date()
    issue(client, business, validity="fixed_date", until=day.isoformat())
    voucher = Voucher.objects.get()
    local = timezone.localtime(voucher.valid_until, ZoneInfo(business.time_zone))
    assert local.date() == day + timedelta(days=1)
    assert (local.hour, local.minute) == (0, 0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "This field is required"),
        ({"validity": "days"}, "from 1 to 3650"),
        ({"validity": "fixed_date", "until": "2001-01-01"}, "has passed"),
        ({"validity": "forever"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(client, owner, business, fields, message):
    client.force_login(owner)
    response = issue(client, business, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Voucher.objects.exists()


def test_thai_speakers_get_the_refusal_in_thai(client, owner, business):
    client.force_login(owner)
    client.cookies["django_language"] = "th"
    response = issue(client, business, image=SimpleUploadedFile("x.png", b"nope"))
    assert response.status_code == 400
    assert "This file is not a PNG" not in response.content.decode()


def test_staff_may_not_issue(client, bob, business):
    client.force_login(bob)
    assert issue(client, business).status_code == 403
    assert not Voucher.objects.exists()


def test_customer_search_finds_cards_by_name_code_and_email(client, owner, business, card):
    client.force_login(owner)
    for query in (card.customer.name, card.display_code, card.customer.email):
        response = client.get(url(business, "voucher_customers"), {"q": query}, HTTP_HX_REQUEST="1")
        assert response.status_code == 200
        assert f'value="{card.pk}"' in response.content.decode(), query


def test_the_list_shows_status_origin_and_redemption(client, owner, business, card, shop):
    client.force_login(owner)
    issue(client, business, card=card.pk, title="Birthday cake")
    voucher = Voucher.objects.get()
    redeem_voucher(
        business=business,
        actor=Actor(kind=ActorKind.STAFF, user_id=owner.pk, location_id=shop.pk),
        token=voucher.token,
    )
    page = client.get(url(business, "vouchers")).content.decode()
    assert "Birthday cake" in page
    assert "Redeemed" in page
    assert "Issued by hand" in page
    assert shop.name in page
    assert "owner" in page
    assert (
        "Birthday cake"
        not in client.get(url(business, "vouchers"), {"status": "active"}).content.decode()
    )


def test_the_list_is_paged_after_the_last_id(client, owner, business, staff_actor):
    from stampcard.dashboard.vouchers import PAGE_SIZE
    from stampcard.vouchers.services import issue_manual_voucher

    for n in range(PAGE_SIZE + 3):
        issue_manual_voucher(business=business, actor=staff_actor, title=f"Gift {n:03d}")
    client.force_login(owner)
    first = client.get(url(business, "vouchers")).content.decode()
    assert "Gift 052" in first
    assert "Gift 002" not in first
    oldest_shown = Voucher.objects.order_by("-pk")[PAGE_SIZE - 1].pk
    assert f"after={oldest_shown}" in first
    second = client.get(url(business, "vouchers"), {"after": oldest_shown}).content.decode()
    assert "Gift 002" in second
    assert "Gift 000" in second
    assert "Gift 052" not in second


def test_void_with_a_reason(client, owner, business):
    client.force_login(owner)
    issue(client, business)
    voucher = Voucher.objects.get()
    void_url = url(business, "voucher_void", voucher_id=voucher.pk)
    assert client.post(void_url, {"reason": ""}).status_code == 400
    assert client.post(void_url, {"reason": "Printed twice"}).status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.VOID
    assert AuditEntry.objects.get(action="voucher.voided").details["reason"] == "Printed twice"
    again = client.post(void_url, {"reason": "again"})
    assert again.status_code == 400
    assert "cancelled" in again.content.decode()


def test_a_card_named_in_the_address_is_offered_only_when_it_is_this_business(
    client, owner, business, card, other_business
):
    foreign = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    client.force_login(owner)
    own = client.get(url(business), {"card": card.pk}).content.decode()
    assert f'value="{card.pk}" checked' in own
    other = client.get(url(business), {"card": foreign.pk}).content.decode()
    assert f'value="{foreign.pk}"' not in other
    assert foreign.customer.name not in other


def test_the_printable_is_an_a6_landscape_page_styled_by_our_stylesheet():
    from weasyprint import CSS, HTML

    from stampcard.dashboard.vouchers import PRINT_CSS

    document = HTML(string="<p>x</p>").render(stylesheets=[CSS(filename=str(PRINT_CSS))])
    # 148 by 105 mm at 96 CSS pixels to the inch.
    assert [(round(page.width), round(page.height)) for page in document.pages] == [(559, 397)]
