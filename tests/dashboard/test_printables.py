"""Join-QR printables: every kind on every paper, its QR decoded back, its fonts embedded."""

import pytest
from django.urls import reverse

from stampcard.loyalty.links import join_url
from stampcard.printables.layout import KINDS, SIZES
from tests import factories
from tests.pdf_images import font_names, page_sizes_mm, qr_texts


def pdf_url(business, program):
    return reverse("dashboard:program_printable", args=[business.slug, program.pk])


@pytest.fixture
def thai_program(business):
    business.default_language = "th"
    business.save()
    return factories.ProgramFactory(
        business=business,
        name="บัตรสะสมแต้ม",
        reward_title="กาแฟฟรี",
        translations={"kk": {"name": "Кофе картасы", "reward_title": "Тегін кофе"}},
    )


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("size", list(SIZES))
def test_every_printable_carries_the_join_url_of_its_channel(
    client, owner, business, thai_program, kind, size
):
    client.force_login(owner)
    response = client.get(pdf_url(business, thai_program), {"kind": kind, "size": size})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{kind}-{size}-th.pdf"' in response["Content-Disposition"]
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert set(qr_texts(pdf)) == {join_url(thai_program, kind)}
    assert {"Noto-Sans-Thai", "Noto-Sans-Thai-Bold"} <= font_names(pdf)
    paper = SIZES[size]
    width, height = (paper.width_mm, paper.height_mm)
    if kind == "table_tent":
        width, height = height, width
    [(page_width, page_height)] = page_sizes_mm(pdf)
    assert (page_width, page_height) == (
        pytest.approx(width, abs=0.5),
        pytest.approx(height, abs=0.5),
    )


def test_a_printable_in_kazakh_uses_the_programs_kazakh_texts(
    client, owner, business, thai_program
):
    client.force_login(owner)
    response = client.get(pdf_url(business, thai_program), {"lang": "kk", "size": "a6"})
    assert response.status_code == 200
    assert "Noto-Sans" in font_names(response.content)
    assert "Noto-Sans-Thai" not in font_names(response.content)  # nothing Thai left on it


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "billboard"},
        {"size": "a0"},
        {"lang": "tlh"},
        {"kind": "../../etc/passwd"},
        {"size": "a4\x00"},
        {"kind": "poster" * 1000},
    ],
)
def test_unknown_choices_get_a_clear_answer(client, owner, business, program, query):
    client.force_login(owner)
    response = client.get(pdf_url(business, program), query)
    assert response.status_code == 400
    assert b"Choose a printable" in response.content


def test_staff_and_other_businesses_get_no_printable(client, bob, charlie, business, program):
    client.force_login(bob)
    assert client.get(pdf_url(business, program)).status_code == 403
    client.force_login(charlie)
    assert client.get(pdf_url(business, program)).status_code == 404


def test_the_print_page_offers_every_kind_and_size(client, owner, business, program):
    client.force_login(owner)
    page = client.get(reverse("dashboard:program_print", args=[business.slug, program.pk]))
    for kind in KINDS:
        assert f'value="{kind}"'.encode() in page.content
    for size in SIZES:
        assert f'value="{size}"'.encode() in page.content
