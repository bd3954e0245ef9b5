"""No lock-in: a business's export, imported into an installation, is the same business.

Round trip: export → remove the business (as if on another installation, where its codes
are free) → import → export again → the same content, ids aside. Then every refusal: a
refused import leaves nothing behind.
"""

import csv
import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from PIL import Image

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.models import Card, Milestone, Reward, StampEvent
from stampcard.loyalty.services import add_stamps
from stampcard.portability import errors, exporting
from stampcard.portability.exporting import export_business
from stampcard.portability.importing import import_business
from stampcard.portability.tables import DOCUMENT, MODELS, TABLES, columns
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business, Membership
from stampcard.uploads import clean_image
from stampcard.vouchers.models import (
    CodePool,
    CodePoolKind,
    Voucher,
    VoucherOrigin,
    VoucherTemplate,
)
from stampcard.vouchers.services import generate_codes, issue_voucher
from tests import factories
from tests.dashboard.analytics_history import make_history

OPERATOR = Actor(kind=ActorKind.ADMIN)


def picture(size=(600, 200), color=(0, 0, 255, 255), kind="PNG"):
    """A voucher picture as the issuing stores it (drawn again by ``clean_image``)."""
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format=kind)
    return clean_image(out.getvalue())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    return tmp_path / "media"


@pytest.fixture
def rich_business(business, shop, owner, maria, staff_actor, media):
    """Corner Cafe with a history, a smart-voucher card with a milestone, a code pool,
    vouchers by hand (one with a picture) and at the goal, and text a spreadsheet would run."""
    history = make_history(business=business, shop=shop, owner=owner, manager=maria)
    pool = CodePool.objects.create(business=business, name="POS codes", kind=CodePoolKind.GENERATED)
    generate_codes(business=business, actor=staff_actor, pool=pool, count=5)
    program = factories.ProgramFactory(
        business=business, name="ร้านกาแฟ card", reward_kind="smart_voucher", stamps_goal=2
    )
    factories.MilestoneFactory(
        program=program,
        stamps=1,
        reward_title="Cookie",
        translations={"th": {"reward_title": "คุกกี้", "reward_description": "ชิ้นไหนก็ได้"}},
    )
    VoucherTemplate.objects.create(
        program=program, redemption_method="redeem_code", code_pool=pool, code_display="code128"
    )
    card = factories.CardFactory(program=program, customer__name="=HYPERLINK(evil)")
    card.customer.phone = "+66812345678"
    card.customer.save()
    for _ in range(2):
        add_stamps(business=business, actor=staff_actor, source="staff", card_id=card.pk)
    issue_voucher(
        business=business,
        actor=staff_actor,
        title="Birthday cake 🎂",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        card=card,
    )
    issue_voucher(
        business=business,
        actor=staff_actor,
        title="Printed flyer",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
        image=picture(),
    )
    assert Voucher.objects.filter(business=business, reward__isnull=False).count() == 1
    assert history.program.cards.count() == 3
    return business


def exported(business) -> bytes:
    target = io.BytesIO()
    export_business(business=business, actor=OPERATOR, target=target)
    return target.getvalue()


def document_of(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read(DOCUMENT))


def without_ids(document: dict) -> dict:
    """The document with each id replaced by the row's place in its table, and references
    to what does not move between installations (staff accounts, devices) left out."""
    places: dict[type[Model], dict[int, int]] = {}
    for name, model in TABLES:
        places[model] = {row["id"]: place for place, row in enumerate(document["tables"][name])}
    tables = {}
    for name, model in TABLES:
        relations = {f.name: f.related_model for f in columns(model) if f.is_relation}
        rows = []
        for row in document["tables"][name]:
            row = dict(row)
            row["id"] = places[model][row["id"]]
            for column, target in relations.items():
                if target in MODELS:
                    row[column] = None if row[column] is None else places[target][row[column]]
                else:
                    row[column] = "(not moved)"
            rows.append(row)
        tables[name] = rows
    business = {k: v for k, v in document["business"].items() if k != "slug"}
    return {"version": document["version"], "business": business, "tables": tables}


def remove(business):
    """Everything of the business gone, as on an installation it was never on."""
    VoucherTemplate.objects.filter(business=business).delete()
    Card.objects.filter(business=business).delete()
    Reward.objects.filter(business=business).delete()
    business.delete()


def counts():
    return {model: model._default_manager.count() for _name, model in TABLES} | {
        Business: Business.objects.count()
    }


def test_export_import_export_is_the_same_business(rich_business):
    first = exported(rich_business)
    before = document_of(first)
    assert before["format"] == "stampcard.business-export"
    assert before["version"] == 1
    assert {name: len(rows) for name, rows in before["tables"].items()} == {
        "locations": 1,
        "programs": 2,
        "milestones": 1,
        "code_pools": 1,
        "voucher_templates": 1,
        "customers": 4,
        "cards": 4,
        "stamp_events": 8,
        "rewards": 3,
        "vouchers": 3,
        "pool_codes": 5,
        "claim_batches": 0,
        "claim_codes": 0,
    }
    codes = sorted(Card.objects.filter(business=rich_business).values_list("code", "token"))
    flyer = Voucher.objects.get(business=rich_business, title="Printed flyer").image.name
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert f"pictures/{flyer}" in archive.namelist()
    remove(rich_business)
    default_storage.delete(flyer)  # as on an installation it was never on

    moved = import_business(source=io.BytesIO(first), slug="corner-cafe-moved")

    again = document_of(exported(moved))
    # The voucher's picture came across, drawn again under a new name of its own.
    imported = Voucher.objects.get(business=moved, title="Printed flyer")
    assert imported.picture_name
    assert imported.image.name != flyer
    with imported.image.open("rb") as stored:
        assert Image.open(stored).convert("RGB").getpixel((10, 10)) == (0, 0, 255)
    for document in (again, before):
        for row in document["tables"]["vouchers"]:
            row["image"] = "(picture)" if row["image"] else ""
    assert without_ids(again)["business"] == without_ids(before)["business"]
    assert without_ids(again) == without_ids(before)
    # Printed codes and wallet links work after the move: the same codes and tokens.
    assert sorted(Card.objects.filter(business=moved).values_list("code", "token")) == codes
    assert moved.slug == "corner-cafe-moved"
    assert moved.name == "Corner Cafe"
    # The ledger still adds up on every card.
    for card in Card.objects.filter(business=moved):
        total = sum(StampEvent.objects.filter(card=card).values_list("delta", flat=True))
        assert total == card.lifetime_stamps


def test_milestone_texts_in_other_languages_come_across(rich_business):
    data = exported(rich_business)
    (row,) = document_of(data)["tables"]["milestones"]
    assert row["translations"] == {"th": {"reward_title": "คุกกี้", "reward_description": "ชิ้นไหนก็ได้"}}
    remove(rich_business)
    moved = import_business(source=io.BytesIO(data), slug="corner-cafe-moved")
    milestone = Milestone.objects.get(business=moved)
    assert milestone.title_in("th") == "คุกกี้"
    assert milestone.title_in("en") == "Cookie"
    assert milestone.text_in("reward_description", "th") == "ชิ้นไหนก็ได้"


def test_an_export_from_before_milestone_translations_imports(business, shop):
    program = factories.ProgramFactory(business=business, stamps_goal=6)
    factories.MilestoneFactory(program=program, stamps=3, reward_title="Cookie")
    document = document_of(exported(business))
    remove(business)
    for row in document["tables"]["milestones"]:
        del row["translations"]  # as an older installation wrote it
    moved = import_business(source=zipped(document), slug="fresh")
    milestone = Milestone.objects.get(business=moved)
    assert milestone.translations == {}
    assert milestone.title_in("th") == "Cookie"


def test_the_zip_has_a_safe_csv_per_table(rich_business):
    with zipfile.ZipFile(io.BytesIO(exported(rich_business))) as archive:
        names = set(archive.namelist())
        flyer = Voucher.objects.get(business=rich_business, title="Printed flyer").image.name
        assert names == {DOCUMENT, f"pictures/{flyer}"} | {
            f"csv/{name}.csv" for name, _model in TABLES
        }
        customers = list(csv.DictReader(io.StringIO(archive.read("csv/customers.csv").decode())))
    assert "'=HYPERLINK(evil)" in {row["name"] for row in customers}
    assert "'+66812345678" in {row["phone"] for row in customers}  # shown as text


def test_each_table_is_read_once_for_the_document_and_its_csv(rich_business, monkeypatch):
    """One pass per table writes both outputs, a few rows at a time (CHUNK), and the CSVs
    hold exactly the document's rows."""
    monkeypatch.setattr(exporting, "CHUNK", 3)
    with CaptureQueriesContext(connection) as queries:
        data = exported(rich_business)
    for name, model in TABLES:
        table = model._meta.db_table
        reads = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
        assert len(reads) == 1, (name, reads)
    document = document_of(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name, _model in TABLES:
            rows = list(csv.DictReader(io.StringIO(archive.read(f"csv/{name}.csv").decode())))
            assert [int(row["id"]) for row in rows] == [
                row["id"] for row in document["tables"][name]
            ], name
    assert len(document["tables"]["stamp_events"]) > 3  # more rows than one chunk


def test_voucher_pictures_are_drawn_again_and_names_from_elsewhere_never_looked_up(
    rich_business,
):
    document = document_of(exported(rich_business))
    remove(rich_business)
    # A file of this installation a crafted export names without carrying it.
    secret = default_storage.save("logos/secret.png", ContentFile(picture().data))
    with_script = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100">'
        b'<rect width="300" height="100" fill="#0a0"/><script>alert(1)</script></svg>'
    )
    rows = sorted(document["tables"]["vouchers"], key=lambda row: row["id"])
    rows[0]["image"] = secret
    rows[1]["image"] = "vouchers/evil.png"
    rows[2]["image"] = "../../../etc/passwd"
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(DOCUMENT, json.dumps(document))
        archive.writestr("pictures/vouchers/evil.png", with_script)
    target.seek(0)

    moved = import_business(source=target, slug="crafted")

    names = dict(Voucher.objects.filter(business=moved).values_list("token", "image"))
    assert names[rows[0]["token"]] == ""
    assert names[rows[2]["token"]] == ""
    drawn = Voucher.objects.get(token=rows[1]["token"])
    assert drawn.picture_name
    assert drawn.image.name != "vouchers/evil.png"
    with drawn.image.open("rb") as stored:
        data = stored.read()
    assert data.startswith(b"\x89PNG")
    assert b"script" not in data
    assert default_storage.exists(secret)  # untouched, and named by no voucher


def test_columns_are_found_by_introspection():
    for _name, model in TABLES:
        names = [f.name for f in columns(model)]
        assert names[0] == "id"
        assert "business" not in names
        assert len(names) == len(model._meta.concrete_fields) - 1


def test_the_export_is_audited_and_refused_to_a_manager(rich_business, maria):
    manager = Actor.for_member(Membership.objects.get(business=rich_business, user=maria))
    with pytest.raises(NotAllowed):
        export_business(business=rich_business, actor=manager, target=io.BytesIO())

    assert (
        AuditEntry.objects.filter(business=rich_business, action="business.exported").count() == 0
    )
    exported(rich_business)
    assert (
        AuditEntry.objects.filter(business=rich_business, action="business.exported").count() == 1
    )


def test_codes_taken_here_are_refused_and_nothing_is_written(rich_business):
    data = exported(rich_business)
    before = counts()
    with pytest.raises(errors.CodesTaken):
        import_business(source=io.BytesIO(data), slug="copy")
    assert counts() == before


def test_a_taken_slug_is_refused(rich_business):
    data = exported(rich_business)
    with pytest.raises(errors.BusinessExists):
        import_business(source=io.BytesIO(data))


def zipped(document, name=DOCUMENT) -> io.BytesIO:
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        text = document if isinstance(document, (str, bytes)) else json.dumps(document)
        archive.writestr(name, text)
    target.seek(0)
    return target


@pytest.fixture
def small_export(business, shop):
    card = factories.CardFactory(program=factories.ProgramFactory(business=business))
    add_stamps(business=business, actor=OPERATOR, source="staff", card_id=card.pk)
    document = document_of(exported(business))
    remove(business)
    return document


def test_the_small_export_imports(small_export):
    business = import_business(source=zipped(small_export), slug="fresh")
    assert Card.objects.filter(business=business).count() == 1


def set_row(table, column, value):
    return lambda d: d["tables"][table][0].__setitem__(column, value)


def _twin_card(d):
    card = d["tables"]["cards"][0]
    d["tables"]["cards"].append(dict(card, id=card["id"] + 1, token="t" * 43))


HOSTILE = {
    "wrong format": lambda d: d.__setitem__("format", "other"),
    "no version": lambda d: d.pop("version"),
    "version not a number": lambda d: d.__setitem__("version", "1"),
    "unknown table": lambda d: d["tables"].__setitem__("users", []),
    "table not a list": lambda d: d["tables"].__setitem__("cards", {}),
    "row not a dict": lambda d: d["tables"]["cards"].__setitem__(0, [1, 2]),
    "unknown column": set_row("cards", "is_admin", True),
    "no id": set_row("cards", "id", "one"),
    "goal not a number": set_row("programs", "stamps_goal", "many"),
    "goal out of range": set_row("programs", "stamps_goal", 10**12),
    "negative counter": set_row("cards", "stamps", -5),
    "text too long": set_row("customers", "name", "x" * 10_000),
    "bad colour": set_row("programs", "background_color", "red; x"),
    "bad time": set_row("stamp_events", "created_at", 12),
    "bad phone": set_row("customers", "phone", "call me"),
    "bad workflow": set_row("programs", "allowed_sources", ["teleport"]),
    "dangling reference": set_row("cards", "customer", 999_999),
    "reference of a wrong kind": set_row("cards", "customer", "1"),
    "empty card code": set_row("cards", "code", ""),
    "bad time zone": lambda d: d["business"].__setitem__("time_zone", "Mars/Base"),
    "unknown business column": lambda d: d["business"].__setitem__("owner", 1),
    "duplicate id": lambda d: d["tables"]["stamp_events"].append(
        dict(d["tables"]["stamp_events"][0])
    ),
    "duplicate card code": _twin_card,
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_document_is_refused_and_nothing_is_written(small_export, case):
    document = json.loads(json.dumps(small_export))
    HOSTILE[case](document)
    before = counts()
    with pytest.raises(errors.ImportRefused) as refused:
        import_business(source=zipped(document), slug="hostile")
    assert refused.value.message
    assert counts() == before
    assert not Business.objects.filter(slug="hostile").exists()


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(io.BytesIO(b"hello"), id="not a zip"),
        pytest.param(io.BytesIO(b""), id="empty"),
        pytest.param(zipped({"x": 1}, name="other.json"), id="no document"),
        pytest.param(zipped("{not json"), id="not json"),
        pytest.param(zipped("[1, 2]"), id="json not an object"),
        pytest.param(zipped("[" * 100_000), id="deeply nested"),
    ],
)
def test_a_file_that_is_no_export_is_refused(db, source):
    with pytest.raises(errors.NotAnExport):
        import_business(source=source, slug="x")
    assert not Business.objects.exists()


def test_a_newer_export_is_refused(db):
    document = {"format": "stampcard.business-export", "version": 99, "business": {}}
    with pytest.raises(errors.NewerExport):
        import_business(source=zipped(document | {"tables": {}}), slug="x")


def test_a_zip_bomb_stops_at_the_limit(db, settings):
    settings.PORTABILITY_MAX_IMPORT_BYTES = 1024 * 1024
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT, b" " * (50 * 1024 * 1024))  # 50 MB of spaces, ~50 kB packed
    assert bomb.tell() < 200_000
    bomb.seek(0)
    with pytest.raises(errors.ExportTooBig):
        import_business(source=bomb, slug="x")


def test_a_zip_that_lies_about_its_size_stops_at_the_limit(db, settings):
    settings.PORTABILITY_MAX_IMPORT_BYTES = 1024 * 1024
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT, b" " * (5 * 1024 * 1024))
    data = bytearray(bomb.getvalue())
    # Rewrite the declared uncompressed size (central directory) to a small number.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    with pytest.raises((errors.ExportTooBig, errors.NotAnExport)):
        import_business(source=io.BytesIO(bytes(data)), slug="x")


def test_the_command_imports_with_an_owner(small_export, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(zipped(small_export).getvalue())
    user = get_user_model().objects.create_user("newowner")
    out = io.StringIO()
    call_command("import_business", str(path), slug="moved", owner="newowner", stdout=out)
    business = Business.objects.get(slug="moved")
    assert Membership.objects.get(business=business, user=user).role == "owner"
    assert "/b/moved/" in out.getvalue()


def test_the_command_explains_a_refusal(db, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="not a stampcard export"):
        call_command("import_business", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_business", str(tmp_path / "missing.zip"))


def test_the_export_command_writes_the_zip(rich_business, tmp_path):
    path = tmp_path / "out.zip"
    call_command("export_business", rich_business.slug, str(path), stdout=io.StringIO())
    assert document_of(path.read_bytes())["business"]["name"] == "Corner Cafe"


def test_the_download_is_sent_while_it_is_written(client, rich_business, owner, monkeypatch):
    """Pieces leave before the archive is complete (a large business's export takes minutes),
    read outside the request's scope, and make the same zip as a file export."""
    monkeypatch.setattr(exporting, "CHUNK", 2)
    client.force_login(owner)
    response = client.post("/b/corner-cafe/export/")
    assert response.streaming
    pieces = list(response.streaming_content)
    assert len(pieces) > 3
    assert pieces[0].startswith(b"PK")
    data = b"".join(pieces)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    assert len(document_of(data)["tables"]["cards"]) == 4
    assert "attachment" in response["Content-Disposition"]
    assert AuditEntry.objects.filter(action="business.exported").count() == 1


def test_the_owner_downloads_the_export(client, rich_business, owner, maria):
    client.force_login(owner)
    page = client.get("/b/corner-cafe/export/")
    assert page.status_code == 200
    response = client.post("/b/corner-cafe/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    assert len(document_of(data)["tables"]["cards"]) == 4
    client.force_login(maria)
    assert client.post("/b/corner-cafe/export/").status_code == 403
