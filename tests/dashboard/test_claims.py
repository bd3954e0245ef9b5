"""Claim batches in the dashboard: created by owners and managers, counted, printed as a PDF
sheet whose QR codes decode back to the claim URLs, and exported as a safe CSV."""

import csv
import io
import re
import zlib

import pytest
import zxingcpp
from PIL import Image

from stampcard.loyalty import links
from stampcard.vouchers.models import ClaimBatch, ClaimCode
from tests import factories

pytestmark = pytest.mark.django_db


def pdf_images(pdf: bytes) -> list[Image.Image]:
    """The RGB or grey images of a PDF (FlateDecode with PNG predictors, as WeasyPrint writes
    them), taken back out of the file so the printed QR codes can be decoded."""
    images = []
    for match in re.finditer(
        rb"<<(.{0,600}?/Subtype\s*/Image.{0,600}?)>>\s*stream\r?\n", pdf, re.S
    ):
        head = match.group(1)
        number = {k: int(v) for k, v in re.findall(rb"/(Width|Height|Length|Colors)\s+(\d+)", head)}
        width, height = number[b"Width"], number[b"Height"]
        colors = 3 if b"DeviceRGB" in head else 1
        raw = zlib.decompress(pdf[match.end() : match.end() + number[b"Length"]])
        stride = width * colors
        rows, previous = [], bytearray(stride)
        for y in range(height):
            kind, line = (
                raw[y * (stride + 1)],
                bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
            )
            for x in range(stride):
                left = line[x - colors] if x >= colors else 0
                up = previous[x]
                corner = previous[x - colors] if x >= colors else 0
                if kind == 1:
                    line[x] = (line[x] + left) & 255
                elif kind == 2:
                    line[x] = (line[x] + up) & 255
                elif kind == 3:
                    line[x] = (line[x] + (left + up) // 2) & 255
                elif kind == 4:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                    line[x] = (line[x] + pred) & 255
            rows.append(bytes(line))
            previous = line
        images.append(
            Image.frombytes("RGB" if colors == 3 else "L", (width, height), b"".join(rows))
        )
    return images


def pdf_text_streams(pdf: bytes) -> bytes:
    out = []
    for match in re.finditer(rb"/Length (\d+)[^>]*>>\s*stream\r?\n", pdf):
        try:
            out.append(zlib.decompress(pdf[match.end() : match.end() + int(match.group(1))]))
        except zlib.error:
            continue
    return pdf + b"".join(out)


def make(client, business, program, **fields):
    data = {"program": program.pk, "count": 3, "stamps_per_code": 1, "label": "Bags"} | fields
    return client.post(f"/b/{business.slug}/claims/", data)


def test_an_owner_creates_a_batch_and_sees_its_counts(client, owner, business, card):
    client.force_login(owner)
    assert "Claim codes" in client.get(f"/b/{business.slug}/").content.decode()
    response = make(client, business, card.program, expires_on="2099-12-31")
    assert response.status_code == 302
    batch = ClaimBatch.objects.get()
    assert batch.codes.count() == 3
    assert batch.expires_at is not None
    assert batch.expires_at.year == 2099
    from stampcard.tenancy.actors import Actor
    from stampcard.vouchers.claims import claim_code

    claim_code(
        business=business,
        actor=Actor.customer(business_id=business.pk),
        code=batch.codes.first().code,
        card=card,
    )
    page = client.get(f"/b/{business.slug}/claims/").content.decode()
    row = re.search(rf'<tr id="batch-{batch.pk}".*?</tr>', page, re.S).group(0)
    assert re.findall(r"<td[^>]*>(\d+)</td>", row) == ["1", "1", "2"]


def test_bad_batches_are_refused_with_nothing_written(client, owner, business, card):
    client.force_login(owner)
    too_many = make(client, business, card.program, stamps_per_code=99)
    assert too_many.status_code == 400
    assert "A code can give" in too_many.content.decode()
    assert make(client, business, card.program, count=0).status_code == 400
    assert make(client, business, card.program, expires_on="2001-01-01").status_code == 400
    assert make(client, business, card.program, label="x\x00y").status_code == 400
    foreign = factories.ProgramFactory(business=factories.BusinessFactory())
    assert make(client, business, foreign).status_code == 400
    assert not ClaimBatch.objects.exists()


def test_staff_and_other_businesses_cannot_reach_batches(client, business, card, other_owner):
    barista = factories.UserFactory()
    factories.MembershipFactory(business=business, user=barista, role="staff")
    client.force_login(barista)
    assert client.get(f"/b/{business.slug}/claims/").status_code == 403
    assert make(client, business, card.program).status_code == 403
    client.force_login(owner_of(business))
    make(client, business, card.program)
    batch = ClaimBatch.objects.get()
    client.force_login(other_owner)
    other = other_owner.memberships.get().business.slug
    assert client.get(f"/b/{other}/claims/{batch.pk}/codes.csv").status_code == 404
    assert client.get(f"/b/{other}/claims/{batch.pk}/sheet.pdf?format=a6").status_code == 404


def owner_of(business):
    user = factories.UserFactory()
    factories.MembershipFactory(business=business, user=user, role="manager")
    return user


def test_the_csv_is_safe_for_spreadsheets(client, owner, business, card):
    client.force_login(owner)
    make(client, business, card.program, label="=HYPERLINK(1)")
    batch = ClaimBatch.objects.get()
    response = client.get(f"/b/{business.slug}/claims/{batch.pk}/codes.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["code", "printed_code", "claim_url"]
    codes = set(ClaimCode.objects.values_list("code", flat=True))
    assert {row[0] for row in rows[1:]} == codes
    for row in rows[1:]:
        assert row[2] == links.claim_url(business, row[0])
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


@pytest.mark.parametrize("sheet", ["a4_3x8", "roll58", "roll80", "a6"])
def test_the_pdf_sheet_decodes_back_to_the_claim_urls(client, owner, business, card, sheet):
    client.force_login(owner)
    business.name = "ร้านกาแฟ Кофейня"
    business.save()
    make(client, business, card.program, count=4)
    batch = ClaimBatch.objects.get()
    response = client.get(
        f"/b/{business.slug}/claims/{batch.pk}/sheet.pdf?format={sheet}", HTTP_ACCEPT_LANGUAGE="th"
    )
    assert response.status_code == 200
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    decoded = set()
    for image in pdf_images(pdf):
        decoded |= {r.text for r in zxingcpp.read_barcodes(image.convert("L"))}
    expected = {links.claim_url(business, c) for c in batch.codes.values_list("code", flat=True)}
    assert decoded == expected
    fonts = pdf_text_streams(pdf)
    # Noto Sans Thai and Noto Sans (Latin, Cyrillic), as the sheet names them, embedded.
    assert b"+Label-Thai" in fonts
    assert b"+Label-Sans" in fonts
    assert b"/FontFile2" in fonts


def test_an_unknown_sheet_format_is_not_found(client, owner, business, card):
    client.force_login(owner)
    make(client, business, card.program)
    batch = ClaimBatch.objects.get()
    assert client.get(f"/b/{business.slug}/claims/{batch.pk}/sheet.pdf?format=x").status_code == 404
    assert (
        client.get(f"/b/{business.slug}/claims/99999999999999999999/codes.csv").status_code == 404
    )


def test_the_sheet_html_looks_right_in_a_browser(owner, business, card, tmp_path):
    """The sheet's HTML drawn by Chromium too, kept for people to look at
    (``STAMPCARD_SCREENSHOTS``); its QR codes read back from the picture."""
    import os
    from pathlib import Path

    from django.utils import translation
    from playwright.sync_api import sync_playwright

    from stampcard.vouchers import claim_sheets
    from stampcard.vouchers.claims import create_claim_batch
    from tests.browser.conftest import CHROMIUM, QUIET

    folder = Path(os.environ.get("STAMPCARD_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    manager = factories.member_actor(business, role="manager")
    batch = create_claim_batch(business=business, actor=manager, program=card.program, count=6)
    with translation.override("th"):
        sheet = claim_sheets.FORMATS["a4_3x8"]
        css = claim_sheets.sheet_css(sheet)
        html = claim_sheets.sheet_html(batch, sheet).replace(
            "</head>", f"<style>{css}</style></head>"
        )
    (tmp_path / "sheet.html").write_text(html, encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
        page = browser.new_page(viewport={"width": 800, "height": 500})
        page.goto((tmp_path / "sheet.html").as_uri())
        png = page.screenshot(path=folder / "claim-sheet-a4-th.png")
        browser.close()
    image = Image.open(io.BytesIO(png)).convert("L")
    found = {r.text for r in zxingcpp.read_barcodes(image)}
    assert found
    assert found <= {
        links.claim_url(business, c) for c in batch.codes.values_list("code", flat=True)
    }
