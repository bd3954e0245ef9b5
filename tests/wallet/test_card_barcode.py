"""The barcode a card's pass shows the counter: a QR code, or Code 128 for a till's laser
scanner with a QR code after it for Apple Watch (which shows no Code 128)."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from stampcard.loyalty.models import CardBarcode, Program
from stampcard.wallet import apple, google
from tests.dashboard.test_program_designer import form

pytestmark = pytest.mark.django_db


def barcodes(card):
    with zipfile.ZipFile(io.BytesIO(apple.build_pass(card))) as archive:
        return [
            (b["format"], b["message"], b["altText"])
            for b in json.loads(archive.read("pass.json"))["barcodes"]
        ]


def test_a_new_program_shows_a_qr_code(card):
    assert card.program.card_barcode == CardBarcode.QR
    assert barcodes(card) == [("PKBarcodeFormatQR", card.code, card.display_code)]
    assert google.loyalty_object(card)["barcode"]["type"] == "QR_CODE"


def test_code_128_comes_with_a_qr_code_after_it_and_is_a_new_design(card):
    program = card.program
    version = program.design_version
    program.card_barcode = CardBarcode.CODE128
    program.save()
    program.refresh_from_db()
    assert program.design_version == version + 1  # so every issued pass is refreshed
    card.refresh_from_db()
    assert barcodes(card) == [
        ("PKBarcodeFormatCode128", card.code, card.display_code),
        ("PKBarcodeFormatQR", card.code, card.display_code),
    ]
    assert google.loyalty_object(card)["barcode"] == {
        "type": "CODE_128",
        "value": card.code,
        "alternateText": card.display_code,
    }


def test_the_designer_sets_it_and_a_form_without_it_keeps_it(client, owner, business):
    client.force_login(owner)
    url = reverse("dashboard:program_new", args=[business.slug])
    assert client.post(url, form(card_barcode="code128")).status_code == 302
    program = Program.objects.get(business=business)
    assert program.card_barcode == CardBarcode.CODE128
    edit = reverse("dashboard:program_edit", args=[business.slug, program.pk])
    page = client.get(edit).content.decode()
    assert 'value="code128" selected' in page
    assert client.post(edit, form(name="Renamed")).status_code == 302
    program.refresh_from_db()
    assert (program.name, program.card_barcode) == ("Renamed", CardBarcode.CODE128)
    refused = client.post(edit, form(card_barcode="pdf417"))
    assert refused.status_code == 400
    assert "not one of the available choices" in refused.content.decode()
    program.refresh_from_db()
    assert program.card_barcode == CardBarcode.CODE128
