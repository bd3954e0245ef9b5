"""The PassKit web service's status matrix, the same for a card's store card and a voucher's
coupon; the 304 of both without building anything; what the fast paths read."""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.http import http_date
from hypothesis import given
from hypothesis import strategies as st

from stampcard.loyalty.models import Card
from stampcard.vouchers.models import CodeDisplay, RedemptionMethod, VoucherOrigin
from stampcard.vouchers.services import ValidityRule, issue_voucher, redeem_voucher
from stampcard.vouchers.validity import Validity
from stampcard.wallet import apple, passkit
from stampcard.wallet.models import PassRegistration

PASS_TYPE = "pass.local.stampcard"
DEVICE = "device-matrix-1"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def voucher(business, staff_actor, card):
    return issue_voucher(
        business=business,
        actor=staff_actor,
        card=card,
        program=card.program,
        title="Free coffee",
        description="Any size.",
        origin=VoucherOrigin.MANUAL,
        redemption_method=RedemptionMethod.REDEEM_CODE,
        code="MATRIX7",
        code_display=CodeDisplay.QR,
        validity=ValidityRule(kind=Validity.DAYS, amount=30),
    )


@pytest.fixture(params=["card", "voucher"])
def pass_owner(request, card):
    """The pass under test: a card's, or a voucher's."""
    return card if request.param == "card" else request.getfixturevalue("voucher")


def serial(pass_owner):
    return pass_owner.code if isinstance(pass_owner, Card) else passkit.voucher_serial(pass_owner)


def auth(pass_owner):
    return {"HTTP_AUTHORIZATION": f"ApplePass {passkit.authentication_token(pass_owner)}"}


def registration_url(pass_owner, device=DEVICE):
    return f"/passkit/v1/devices/{device}/registrations/{PASS_TYPE}/{serial(pass_owner)}"


def pass_url(pass_owner):
    return f"/passkit/v1/passes/{PASS_TYPE}/{serial(pass_owner)}"


def list_url(device=DEVICE):
    return f"/passkit/v1/devices/{device}/registrations/{PASS_TYPE}"


def register(client, pass_owner, push="push-1", headers=None, device=DEVICE):
    return client.post(
        registration_url(pass_owner, device),
        data=json.dumps({"pushToken": push}),
        content_type="application/json",
        **(auth(pass_owner) if headers is None else headers),
    )


def settle(pass_owner, seconds=60):
    """Date the pass's last change ``seconds`` ago, as if it had been still since."""
    moment = timezone.now() - timedelta(seconds=seconds)
    if isinstance(pass_owner, Card):
        Card.objects.filter(pk=pass_owner.pk).update(updated_at=moment)
    else:
        type(pass_owner).objects.filter(pk=pass_owner.pk).update(
            created_at=moment - timedelta(hours=1)
        )
        PassRegistration.objects.filter(voucher=pass_owner).update(pass_changed_at=moment)
    pass_owner.refresh_from_db()


def nothing_is_built(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a pass was built or read")

    for name in ("build_pass", "build_voucher_pass", "card_pass", "cached_card_pass"):
        monkeypatch.setattr(f"stampcard.wallet.passkit_views.{name}", refuse, raising=False)
        monkeypatch.setattr(apple, name, refuse)


@pytest.mark.django_db
def test_wrong_missing_or_malformed_token_is_401_and_writes_nothing(client, pass_owner, card):
    other = card if pass_owner is not card else None
    wrong = [
        {},
        {"HTTP_AUTHORIZATION": "ApplePass " + "0" * 64},
        {"HTTP_AUTHORIZATION": "ApplePass "},
        {"HTTP_AUTHORIZATION": "Bearer " + passkit.authentication_token(pass_owner)},
        {"HTTP_AUTHORIZATION": "ApplePass " + "x" * 5000},
    ]
    if other is not None:
        wrong.append(auth(other))
    for headers in wrong:
        assert register(client, pass_owner, headers=headers).status_code == 401
        answer = client.get(pass_url(pass_owner), **headers)
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == "ApplePass"
        assert client.head(pass_url(pass_owner), **headers).status_code == 401
        assert client.delete(registration_url(pass_owner), **headers).status_code == 401
    assert not PassRegistration.objects.exists()


@pytest.mark.django_db
def test_an_unknown_pass_is_refused_like_a_wrong_token(client, pass_owner):
    unknown = (
        f"/passkit/v1/passes/{PASS_TYPE}/ZZZZZZZZZ"
        if isinstance(pass_owner, Card)
        else f"/passkit/v1/passes/{PASS_TYPE}/v{pass_owner.pk + 1000}"
    )
    assert client.get(unknown, **auth(pass_owner)).status_code == 401
    # Not a serial any pass can have: no page at all.
    assert client.get(f"/passkit/v1/passes/{PASS_TYPE}/x-y", **auth(pass_owner)).status_code == 404
    # Another pass type.
    other_type = f"/passkit/v1/passes/pass.other.type/{serial(pass_owner)}"
    assert client.get(other_type, **auth(pass_owner)).status_code == 404


@pytest.mark.django_db
def test_repeated_registration_keeps_one_row_with_the_newest_push_token(client, pass_owner):
    assert register(client, pass_owner, push="first").status_code == 201
    assert register(client, pass_owner, push="second").status_code == 200
    assert register(client, pass_owner, push="second").status_code == 200
    (row,) = PassRegistration.objects.all()
    assert row.push_token == "second"
    assert row.business_id == pass_owner.business_id
    assert client.delete(registration_url(pass_owner), **auth(pass_owner)).status_code == 200
    # Unregistering again is still a success: the device's wish is met.
    assert client.delete(registration_url(pass_owner), **auth(pass_owner)).status_code == 200
    assert not PassRegistration.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (b"\xff\xfe", 400),
        (b"[]", 400),
        (b'{"pushToken": 7}', 400),
        (b'{"pushToken": ""}', 400),
        (json.dumps({"pushToken": "p" * 256}).encode(), 400),
        (json.dumps({"pushToken": "p", "pad": "x" * 70_000}).encode(), 413),
    ],
)
def test_malformed_registration_bodies_are_refused_and_write_nothing(
    client, pass_owner, body, status
):
    answer = client.post(
        registration_url(pass_owner), data=body, content_type="application/json", **auth(pass_owner)
    )
    assert answer.status_code == status
    assert not PassRegistration.objects.exists()


@pytest.mark.django_db
def test_a_current_copy_is_304_without_building_anything(client, pass_owner, monkeypatch):
    register(client, pass_owner)
    settle(pass_owner)
    first = client.get(pass_url(pass_owner), **auth(pass_owner))
    assert first.status_code == 200
    assert first["Content-Type"] == apple.PKPASS_TYPE
    modified = first["Last-Modified"]
    assert modified.endswith(" GMT")
    nothing_is_built(monkeypatch)
    again = client.get(pass_url(pass_owner), HTTP_IF_MODIFIED_SINCE=modified, **auth(pass_owner))
    assert again.status_code == 304
    assert again.content == b""
    assert again["Last-Modified"] == modified
    head = client.head(pass_url(pass_owner), HTTP_IF_MODIFIED_SINCE=modified, **auth(pass_owner))
    assert head.status_code == 304


@pytest.mark.django_db
def test_an_older_or_garbled_date_gets_the_pass(client, pass_owner):
    register(client, pass_owner)
    settle(pass_owner)
    older = http_date(timezone.now().timestamp() - 3600)
    for since in (older, "yesterday", ""):
        answer = client.get(pass_url(pass_owner), HTTP_IF_MODIFIED_SINCE=since, **auth(pass_owner))
        assert answer.status_code == 200
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            assert json.loads(archive.read("pass.json"))["serialNumber"] == serial(pass_owner)


@pytest.mark.django_db
def test_head_is_get_without_the_body(client, pass_owner):
    register(client, pass_owner)
    settle(pass_owner)
    get = client.get(pass_url(pass_owner), **auth(pass_owner))
    head = client.head(pass_url(pass_owner), **auth(pass_owner))
    assert head.status_code == 200
    assert head.content == b""
    for name in ("Content-Type", "Last-Modified", "Cache-Control"):
        assert head[name] == get[name]
    assert int(head["Content-Length"]) > 0
    # A card's pass comes from the cache: the same bytes; a voucher's is signed afresh.
    if isinstance(pass_owner, Card):
        assert int(head["Content-Length"]) == len(get.content)


@pytest.mark.django_db
def test_a_redeemed_voucher_is_never_hidden_behind_a_304(
    client, business, staff_actor, voucher, settings
):
    register(client, voucher)
    settle(voucher)
    modified = client.get(pass_url(voucher), **auth(voucher))["Last-Modified"]
    assert (
        client.get(pass_url(voucher), HTTP_IF_MODIFIED_SINCE=modified, **auth(voucher)).status_code
        == 304
    )
    redeem_voucher(business=business, actor=staff_actor, code="MATRIX7")
    # Even before the change reaches the registrations through the outbox.
    after = client.get(pass_url(voucher), HTTP_IF_MODIFIED_SINCE=modified, **auth(voucher))
    assert after.status_code == 200
    with zipfile.ZipFile(io.BytesIO(after.content)) as archive:
        assert json.loads(archive.read("pass.json"))["voided"] is True


@pytest.mark.django_db
def test_a_voucher_change_dated_in_its_registrations_ends_the_304(client, voucher):
    register(client, voucher)
    settle(voucher)
    modified = client.get(pass_url(voucher), **auth(voucher))["Last-Modified"]
    # What wallet.changes does when the voucher's program, business or shops change.
    PassRegistration.objects.filter(voucher=voucher).update(pass_changed_at=timezone.now())
    again = client.get(pass_url(voucher), HTTP_IF_MODIFIED_SINCE=modified, **auth(voucher))
    assert again.status_code == 200


@pytest.mark.django_db
def test_a_voucher_without_registrations_is_always_sent(client, voucher):
    # Nothing dates its pass then: a 304 could hide a change.
    far = http_date(timezone.now().timestamp() + 3600)
    answer = client.get(pass_url(voucher), HTTP_IF_MODIFIED_SINCE=far, **auth(voucher))
    assert answer.status_code == 200
    assert not answer.has_header("Last-Modified")


@pytest.mark.django_db
def test_a_card_pass_not_in_the_cache_is_built_from_the_whole_card(client, card):
    settle(card)
    answer = client.get(pass_url(card), **auth(card))
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        document = json.loads(archive.read("pass.json"))
    # What the door did not read (the business's and program's names) is in the pass.
    assert document["organizationName"] == card.business.name
    full = Card.objects.select_related("business", "program", "customer").get(pk=card.pk)
    assert answer.content == apple.card_pass(full)


@pytest.mark.django_db
def test_the_fast_paths_read_one_statement_each(client, card, monkeypatch):
    register(client, card)
    settle(card)
    client.get(pass_url(card), **auth(card))  # fills the cache
    modified = client.get(pass_url(card), **auth(card))["Last-Modified"]
    # On PostgreSQL their statements bypass Django's query log: counted through its cursor.
    monkeypatch.setattr(passkit, "hot_path_cursor", lambda db: db.cursor())
    cases = [
        (pass_url(card), auth(card), 200),
        (pass_url(card), {**auth(card), "HTTP_IF_MODIFIED_SINCE": modified}, 304),
        (list_url(), {}, 200),
    ]
    for url, headers, status in cases:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, **headers).status_code == status
        assert len(captured.captured_queries) == 1, (url, captured.captured_queries)


@given(st.integers(min_value=0, max_value=passkit.tag_of(datetime(9998, 1, 1, tzinfo=UTC))))
def test_a_tag_and_its_moment_are_the_same_instant(tag):
    assert passkit.tag_of(passkit.moment_of(tag)) == tag
    assert passkit.parse_tag(str(tag)) == tag


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 1, 1)))
def test_a_moment_survives_its_tag_to_the_microsecond(moment):
    moment = moment.replace(tzinfo=UTC)
    assert passkit.moment_of(passkit.tag_of(moment)) == moment
