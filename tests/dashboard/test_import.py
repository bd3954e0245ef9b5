"""Importing an export from the dashboard: into a new business or one holding only what
onboarding made (drafts replaced, shops merged by name), by its owner only, everything or
nothing, pictures drawn again, hostile files refused with the reason."""

import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from stampcard.audit.models import AuditEntry
from stampcard.dashboard import exports
from stampcard.loyalty.models import Card, Milestone, Program, StampEvent
from stampcard.loyalty.services import add_stamps
from stampcard.portability.tables import DOCUMENT, TABLES
from stampcard.tenancy.models import Business, Location
from stampcard.vouchers.models import (
    ClaimBatch,
    ClaimCode,
    CodePool,
    CodePoolKind,
    VoucherTemplate,
)
from tests import factories
from tests.dashboard.test_program_designer import form, new_url
from tests.dashboard.test_program_logo import SVG, png
from tests.test_portability import OPERATOR, document_of, exported, remove, without_ids


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    return tmp_path / "media"


def import_url(business):
    return reverse("dashboard:import", args=[business.slug])


def store(folder: str, data: bytes) -> str:
    name = f"{folder}/{hashlib.sha256(data).hexdigest()}.png"
    default_storage.save(name, ContentFile(data))
    return name


@pytest.fixture
def moving(business, shop):
    """Corner Cafe with a designed card, stamps, claim codes: exported, then gone from here,
    as if it lived on another installation."""
    business.currency, business.time_zone = "THB", "Asia/Bangkok"
    business.save()
    program = factories.ProgramFactory(business=business, stamp_icon="paw")
    Program.objects.filter(pk=program.pk).update(
        logo=store("logos", png((120, 60))),
        stamp_image=store("stamps", png((64, 64), (0, 0, 255, 255))),
        strip_image=store("strips", png((600, 200), (0, 128, 0, 255))),
    )
    card = factories.CardFactory(program=program)
    for _ in range(3):
        add_stamps(business=business, actor=OPERATOR, source="staff", card_id=card.pk)
    batch = ClaimBatch.objects.create(business=business, program=program, label="Bags")
    ClaimCode.objects.create(business=business, batch=batch, code="BAG7K3")
    ClaimCode.objects.create(business=business, batch=batch, code="BAG9Q2", claimed_by=card)
    data = exported(business)
    before = document_of(data)
    codes = sorted(Card.objects.filter(business=business).values_list("code", "token"))
    remove(business)
    return data, before, codes


def upload(data: bytes, name="export.zip"):
    return {"export": ContentFile(data, name=name)}


def counts():
    return {model: model._default_manager.count() for _name, model in TABLES}


def test_an_owner_moves_a_business_in_through_the_dashboard(
    client, moving, other_business, other_owner
):
    data, before, codes = moving
    client.force_login(other_owner)
    page = client.get(import_url(other_business))
    assert page.status_code == 200
    assert 'name="export"' in page.content.decode()
    response = client.post(import_url(other_business), upload(data))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("dashboard:business", args=[other_business.slug])

    again = document_of(exported(Business.objects.get(pk=other_business.pk)))
    moved, original = without_ids(again), without_ids(before)
    # The owner's own business keeps its name, address and age; its settings came across.
    assert moved["business"] | {"name": "Corner Cafe", "created_at": None} == original[
        "business"
    ] | {"created_at": None}
    assert Business.objects.get(pk=other_business.pk).currency == "THB"
    # Pictures are drawn again and stored under their own hash: only their names differ.
    for table in (moved, original):
        for row in table["tables"]["programs"]:
            for field in ("logo", "stamp_image", "strip_image"):
                assert row[field].split("/")[0] in ("logos", "stamps", "strips")
                row[field] = "(picture)"
    assert moved["tables"] == original["tables"]
    assert sorted(Card.objects.filter(business=other_business).values_list("code", "token")) == (
        codes
    )
    program = Program.objects.get(business=other_business)
    assert Image.open(program.stamp_image).getpixel((10, 10))[:3] == (0, 0, 255)
    assert ClaimCode.objects.filter(business=other_business).count() == 2
    card = Card.objects.get(business=other_business)
    assert sum(StampEvent.objects.filter(card=card).values_list("delta", flat=True)) == 3
    assert AuditEntry.objects.filter(business=other_business, action="business.imported").exists()
    # Now the business is not empty: the page offers no second import, and one is refused.
    page = client.get(import_url(other_business)).content.decode()
    assert 'name="export"' not in page
    refused = client.post(import_url(other_business), upload(data))
    assert refused.status_code == 409
    assert "only be imported into a new business that holds no more" in refused.content.decode()


def test_only_the_owner_may_import(client, moving, business, other_business, other_owner, db):
    data, _before, _codes = moving
    manager = factories.MembershipFactory(business=other_business, role="manager").user
    client.force_login(manager)
    assert client.post(import_url(other_business), upload(data)).status_code == 403
    client.force_login(other_owner)
    stranger_business = factories.BusinessFactory(slug="elsewhere")
    assert client.post(import_url(stranger_business), upload(data)).status_code in (403, 404)
    assert not Card.objects.exists()


def hostile(document: dict, **pictures: bytes) -> bytes:
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(DOCUMENT, json.dumps(document))
        for name, data in pictures.items():
            archive.writestr(name, data)
    return target.getvalue()


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda d: d.update(format="other"), 400, "This is not a stampcard export"),
        (lambda d: d["tables"]["cards"][0].update(stamps="many"), 400, "Row 1 of the export"),
        (lambda d: d["tables"]["cards"][0].update(program=999), 400, "does not hold"),
        (lambda d: d["tables"].update(secrets=[]), 400, "tables this installation"),
        (lambda d: d.update(version=99), 400, "newer version"),
    ],
    ids=["not-an-export", "bad-value", "dangling", "unknown-table", "newer"],
)
def test_a_broken_export_is_refused_with_its_reason_and_nothing_is_written(
    client, moving, other_business, other_owner, change, status, message
):
    _data, before, _codes = moving
    document = json.loads(json.dumps(before))
    change(document)
    client.force_login(other_owner)
    empty = counts()
    response = client.post(import_url(other_business), upload(hostile(document)))
    assert response.status_code == status
    assert message in response.content.decode()
    assert counts() == empty
    assert Business.objects.get(pk=other_business.pk).currency == other_business.currency


def test_not_a_zip_and_a_missing_file_are_refused(client, other_business, other_owner):
    client.force_login(other_owner)
    response = client.post(import_url(other_business), upload(b"PK\x03\x04 not really"))
    assert response.status_code == 400
    assert "This is not a stampcard export" in response.content.decode()
    response = client.post(import_url(other_business), {})
    assert response.status_code == 400
    assert "Choose the .zip file" in response.content.decode()


def test_a_file_past_the_limit_is_refused_before_it_is_read(
    client, moving, other_business, other_owner, monkeypatch
):
    data, _before, _codes = moving
    monkeypatch.setattr(exports, "MAX_IMPORT_UPLOAD_BYTES", len(data) // 2)
    client.force_login(other_owner)
    response = client.post(import_url(other_business), upload(data))
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not Card.objects.exists()


def test_pictures_are_drawn_again_and_names_from_elsewhere_never_looked_up(
    client, moving, other_business, other_owner, media
):
    _data, before, _codes = moving
    document = json.loads(json.dumps(before))
    row = document["tables"]["programs"][0]
    secret = store("logos", png((8, 8), (1, 2, 3, 255)))  # a file of this installation
    row["logo"] = secret  # named, but not carried by the zip
    row["stamp_image"] = "../../../etc/passwd"
    row["strip_image"] = "strips/evil.png"
    with_script = SVG.replace(b"</svg>", b"<script>alert(1)</script></svg>")
    data = hostile(document, **{"pictures/strips/evil.png": with_script})
    client.force_login(other_owner)
    response = client.post(import_url(other_business), upload(data))
    assert response.status_code == 302, response.content.decode()[:2000]
    program = Program.objects.get(business=other_business)
    assert not program.logo
    assert not program.stamp_image
    drawn = program.strip_image.read()
    assert drawn.startswith(b"\x89PNG")
    assert b"script" not in drawn
    assert program.strip_image.name != "strips/evil.png"


# --- Into a business just onboarded: drafts replaced, shops merged by name ---------------


@pytest.fixture
def moving_with_a_mapped_shop(request, shop):
    """``moving``, its shop Riverside with an address and a point on the map."""
    shop.address, shop.latitude, shop.longitude = "12 River Road", "13.756300", "100.501800"
    shop.relevant_text = "Stamps inside"
    shop.save()
    return request.getfixturevalue("moving")


def onboard(client, owner_user, business, shop_name="Riverside"):
    """What a new owner does before importing: the first shop, then a draft card (a smart
    voucher with a milestone) in the designer."""
    client.force_login(owner_user)
    response = client.post(
        reverse("dashboard:start_location", args=[business.slug]),
        {"name": shop_name, "address": "typed while onboarding"},
    )
    assert response.status_code == 302
    response = client.post(
        new_url(business),
        form(**{"reward_kind": "smart_voucher", "ms-0-stamps": "3", "ms-0-reward_title": "Cookie"}),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = Program.objects.get(business=business)
    assert draft.status == "draft"
    assert draft.milestones.count() == 1
    assert VoucherTemplate.objects.filter(program=draft).exists()
    return Location.objects.get(business=business), draft


def test_an_owner_who_onboarded_first_imports_drafts_replaced_and_shops_merged(
    client, moving_with_a_mapped_shop, other_business, other_owner
):
    data, before, codes = moving_with_a_mapped_shop
    onboarded_shop, draft = onboard(client, other_owner, other_business, "  riverside ")
    night = Location.objects.create(business=other_business, name="Night Market")
    limited = factories.MembershipFactory(business=other_business, role="manager")
    limited.locations.set([onboarded_shop])
    page = client.get(import_url(other_business)).content.decode()
    assert 'name="export"' in page

    response = client.post(import_url(other_business), upload(data))
    assert response.status_code == 302, response.content.decode()[:3000]

    # The draft is gone with its milestone and goal-voucher settings; the export's card is here.
    assert not Program.objects.filter(pk=draft.pk).exists()
    assert not Milestone.objects.filter(program_id=draft.pk).exists()
    assert not VoucherTemplate.objects.filter(program_id=draft.pk).exists()
    # Riverside is one shop: the one made here, with the export's address and map point; the
    # manager limited to it still is; a shop the export does not know stays.
    shops = Location.objects.filter(business=other_business).order_by("name")
    assert [shop.pk for shop in shops] == [night.pk, onboarded_shop.pk]
    merged = shops.get(pk=onboarded_shop.pk)
    assert merged.name == "  riverside ".strip()
    assert (merged.address, str(merged.latitude), str(merged.longitude)) == (
        "12 River Road",
        "13.756300",
        "100.501800",
    )
    assert merged.relevant_text == "Stamps inside"
    assert list(limited.locations.all()) == [merged]
    # The stamps given at Riverside over there were given at this Riverside.
    assert set(
        StampEvent.objects.filter(business=other_business).values_list("location", flat=True)
    ) <= {
        merged.pk,
        None,
    }
    assert (
        sorted(Card.objects.filter(business=other_business).values_list("code", "token")) == codes
    )
    entry = AuditEntry.objects.get(business=other_business, action="business.imported")
    assert (entry.details["drafts_replaced"], entry.details["shops_merged"]) == (1, 1)

    # Round trip: exported again, it is the export, plus the shop only this business has.
    again = without_ids(document_of(exported(Business.objects.get(pk=other_business.pk))))
    original = without_ids(before)
    for table in (again, original):
        for row in table["tables"]["programs"]:
            for field in ("logo", "stamp_image", "strip_image"):
                row[field] = "(picture)"
    for name, _model in TABLES:
        if name != "locations":
            assert again["tables"][name] == original["tables"][name], name
    shops_again = {row["name"]: row for row in again["tables"]["locations"]}
    (riverside,) = original["tables"]["locations"]
    assert shops_again["riverside"] | {"name": "Riverside", "id": None} == riverside | {"id": None}
    assert shops_again["Night Market"]["address"] == ""


@pytest.mark.parametrize(
    "more",
    [
        lambda b: Program.objects.filter(business=b).update(status="active"),
        lambda b: factories.CustomerFactory(business=b),
        lambda b: CodePool.objects.create(
            business=b, name="POS codes", kind=CodePoolKind.GENERATED
        ),
        lambda b: ClaimBatch.objects.create(
            business=b, program=Program.objects.get(business=b), label="Bags"
        ),
    ],
    ids=["live-card", "customer", "code-pool", "claim-codes"],
)
def test_a_business_with_more_than_onboarding_made_is_refused_and_kept(
    client, moving, other_business, other_owner, more
):
    data, _before, _codes = moving
    shop, draft = onboard(client, other_owner, other_business)
    more(other_business)
    kept = counts()
    page = client.get(import_url(other_business)).content.decode()
    assert 'name="export"' not in page
    assert "holds no more than its shops and draft cards" in page
    refused = client.post(import_url(other_business), upload(data))
    assert refused.status_code == 409
    assert counts() == kept
    assert Program.objects.filter(pk=draft.pk).exists()
    assert Location.objects.get(pk=shop.pk).address == "typed while onboarding"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda row: row.update(latitude="13.7563", longitude=None), "Give both the latitude"),
        (lambda row: row.update(latitude=None, longitude="100.5"), "Give both the latitude"),
        (lambda row: row.update(latitude="91", longitude="100.5"), "less than or equal to 90"),
        (
            lambda row: row.update(latitude="13", longitude="-180.5"),
            "greater than or equal to -180",
        ),
    ],
    ids=["latitude-alone", "longitude-alone", "latitude-out-of-range", "longitude-out-of-range"],
)
def test_an_imported_shop_s_map_point_is_checked_as_in_the_shops_form(
    client, moving_with_a_mapped_shop, other_business, other_owner, change, message
):
    """Also after onboarding, where the shop would be merged: nothing is written then."""
    _data, before, _codes = moving_with_a_mapped_shop
    shop, draft = onboard(client, other_owner, other_business)
    document = json.loads(json.dumps(before))
    change(document["tables"]["locations"][0])
    kept = counts()
    response = client.post(import_url(other_business), upload(hostile(document)))
    assert response.status_code == 400
    assert "Row 1 of the export" in response.content.decode()
    assert message in response.content.decode()
    assert counts() == kept
    assert Program.objects.filter(pk=draft.pk).exists()
    shop.refresh_from_db()
    assert (shop.address, shop.latitude) == ("typed while onboarding", None)
