"""The PassKit web service (wallet.md B1): every endpoint's status matrix."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.http import http_date

from stampcard.loyalty.models import Card, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.wallet import apple, checks, passkit
from stampcard.wallet.models import PassRegistration
from tests import factories

PASS_TYPE = "pass.local.stampcard"
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Each test's own data folder: its development chain and strip cache."""
    settings.DATA_DIR = tmp_path
    return tmp_path


def auth(card):
    return {"HTTP_AUTHORIZATION": f"ApplePass {passkit.authentication_token(card)}"}


def registration_url(card, device=DEVICE, pass_type=PASS_TYPE):
    return f"/passkit/v1/devices/{device}/registrations/{pass_type}/{card.code}"


def list_url(device=DEVICE):
    return f"/passkit/v1/devices/{device}/registrations/{PASS_TYPE}"


def pass_url(card, pass_type=PASS_TYPE):
    return f"/passkit/v1/passes/{pass_type}/{card.code}"


def register(client, card, push="push-1", headers=None, **kwargs):
    return client.post(
        registration_url(card, **kwargs),
        data=json.dumps({"pushToken": push}),
        content_type="application/json",
        **(auth(card) if headers is None else headers),
    )


def age(card, seconds=60):
    """Date the card's last change in the past, as if it had been still since."""
    Card.objects.filter(pk=card.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))
    card.refresh_from_db()


def test_pass_json_points_at_the_web_service(card):
    with zipfile.ZipFile(io.BytesIO(apple.build_pass(card))) as archive:
        document = json.loads(archive.read("pass.json"))
    assert document["webServiceURL"] == "http://127.0.0.1:8000/passkit/"
    assert document["webServiceURL"].endswith("/passkit/")
    assert "v1" not in document["webServiceURL"]
    assert len(document["authenticationToken"]) >= 16
    assert document["authenticationToken"] == passkit.authentication_token(card)


def test_the_token_differs_per_card_and_outlives_a_new_secret_key(card, settings):
    """Apple lets no update change a pass's token: rotating SECRET_KEY must not change it."""
    other = factories.CardFactory(program=card.program)
    assert passkit.authentication_token(card) != passkit.authentication_token(other)
    old = passkit.authentication_token(card)
    settings.SECRET_KEY = "a-new-and-long-secret-key-for-the-rotation-test-0123456789"
    settings.SECRET_KEY_FALLBACKS = []
    assert passkit.authentication_token(card) == old
    assert passkit.token_matches(card, old)
    assert not passkit.token_matches(card, old[:-1] + ("0" if old[-1] != "0" else "1"))


def test_register_new_then_again_is_idempotent(client, card):
    assert register(client, card).status_code == 201
    response = register(client, card, push="push-2")
    assert response.status_code == 200
    row = PassRegistration.objects.get()
    assert (row.card_id, row.business_id, row.push_token) == (card.pk, card.business_id, "push-2")
    assert row.device_library_id == DEVICE


def test_register_refuses_wrong_or_missing_token(client, card):
    other = factories.CardFactory(program=card.program)
    assert register(client, card, headers=auth(other)).status_code == 401
    assert register(client, card, headers={}).status_code == 401
    bad = {"HTTP_AUTHORIZATION": "Bearer " + passkit.authentication_token(card)}
    assert register(client, card, headers=bad).status_code == 401
    assert not PassRegistration.objects.exists()


def test_a_card_of_another_business_cannot_be_registered_with_this_token(
    client, card, other_business
):
    theirs = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    assert register(client, theirs, headers=auth(card)).status_code == 401
    assert not PassRegistration.objects.exists()


def test_unknown_serial_is_refused_like_a_wrong_token(client, card):
    unknown = Card(pk=card.pk, token=card.token, code="ZZZZZZZZZ")
    assert register(client, unknown, headers=auth(card)).status_code == 401
    assert client.get(pass_url(unknown), **auth(card)).status_code == 401


def test_unknown_pass_type_is_404(client, card):
    assert register(client, card, pass_type="pass.other.type").status_code == 404
    assert client.get(pass_url(card, "pass.other.type"), **auth(card)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"pushToken": 5}', b'{"pushToken": ""}', b"{}", b"\xff\xfe"],
)
def test_register_refuses_malformed_bodies(client, card, body):
    response = client.post(
        registration_url(card), data=body, content_type="application/json", **auth(card)
    )
    assert response.status_code == 400
    assert not PassRegistration.objects.exists()


def test_register_refuses_an_oversized_body(client, card):
    body = json.dumps({"pushToken": "x" * 100, "pad": "y" * 70_000})
    response = client.post(
        registration_url(card), data=body, content_type="application/json", **auth(card)
    )
    assert response.status_code == 413


def test_registration_allows_only_post_and_delete(client, card):
    assert client.get(registration_url(card), **auth(card)).status_code == 405


def test_unregister_then_the_list_is_empty(client, card):
    register(client, card)
    assert client.delete(registration_url(card), headers={}).status_code == 401
    assert client.delete(registration_url(card), **auth(card)).status_code == 200
    assert not PassRegistration.objects.exists()
    assert client.get(list_url()).status_code == 204


def test_list_without_registrations_is_204(client, card):
    assert client.get(list_url()).status_code == 204


def test_list_answers_updated_serials_and_a_monotonic_tag(client, card, staff_actor):
    other = factories.CardFactory(program=card.program)
    register(client, card)
    register(client, other, push="push-2")
    # Another device's registration is not listed.
    register(client, factories.CardFactory(program=card.program), device="another-device")
    age(card, 120)
    age(other, 60)
    response = client.get(list_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["serialNumbers"] == sorted([card.code, other.code])
    tag = document["lastUpdated"]
    assert tag == str(passkit.tag_of(other.updated_at))
    # The tag handed back: nothing changed since.
    assert client.get(list_url(), {"passesUpdatedSince": tag}).status_code == 204
    # A stamp after the tag lists that card only.
    add_stamps(
        business=card.business,
        actor=staff_actor,
        source=StampSource.STAFF,
        count=1,
        card_id=card.pk,
    )
    card.refresh_from_db()
    response = client.get(list_url(), {"passesUpdatedSince": tag})
    assert response.status_code == 200
    assert response.json()["serialNumbers"] == [card.code]
    newer = response.json()["lastUpdated"]
    assert int(newer) >= int(tag)
    # Once the change has settled, the new tag covers it.
    age(card, 10)
    assert client.get(list_url(), {"passesUpdatedSince": newer}).status_code == 204


def test_a_tag_never_reaches_into_the_settle_time(client, card):
    register(client, card)
    response = client.get(list_url())
    tag = int(response.json()["lastUpdated"])
    assert tag <= passkit.tag_of(timezone.now() - passkit.SETTLE)
    # The just-changed card is listed again rather than skipped.
    assert client.get(list_url(), {"passesUpdatedSince": str(tag)}).json()["serialNumbers"] == [
        card.code
    ]


@pytest.mark.parametrize("tag", ["garbage", "-1", "1" * 30, ""])
def test_a_tag_we_never_gave_lists_every_pass(client, card, tag):
    register(client, card)
    response = client.get(list_url(), {"passesUpdatedSince": tag})
    assert response.json()["serialNumbers"] == [card.code]


def test_latest_pass(client, card):
    age(card)
    response = client.get(pass_url(card), **auth(card))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert json.loads(archive.read("pass.json"))["serialNumber"] == card.code
    modified = response["Last-Modified"]
    assert modified.endswith(" GMT")
    # Dated after the change, so a copy of this date is current: 304.
    again = client.get(pass_url(card), HTTP_IF_MODIFIED_SINCE=modified, **auth(card))
    assert again.status_code == 304
    assert again.content == b""
    older = http_date(card.updated_at.timestamp() - 3600)
    assert client.get(pass_url(card), HTTP_IF_MODIFIED_SINCE=older, **auth(card)).status_code == 200
    garbage = client.get(pass_url(card), HTTP_IF_MODIFIED_SINCE="yesterday", **auth(card))
    assert garbage.status_code == 200


def test_a_change_in_the_same_second_is_never_a_304(client, card, staff_actor, monkeypatch):
    with monkeypatch.context() as patched:
        # Asked half a second after the change, however long the machine takes.
        just_after = card.updated_at + timedelta(milliseconds=500)
        patched.setattr(passkit.timezone, "now", lambda: just_after)
        response = client.get(pass_url(card), **auth(card))
        # The card just changed: its copy is dated no later than the change.
        assert response["Last-Modified"] == http_date(int(card.updated_at.timestamp()))
        again = client.get(
            pass_url(card), HTTP_IF_MODIFIED_SINCE=response["Last-Modified"], **auth(card)
        )
        assert again.status_code == 200
    age(card)
    modified = client.get(pass_url(card), **auth(card))["Last-Modified"]
    add_stamps(
        business=card.business,
        actor=staff_actor,
        source=StampSource.STAFF,
        count=1,
        card_id=card.pk,
    )
    after = client.get(pass_url(card), HTTP_IF_MODIFIED_SINCE=modified, **auth(card))
    assert after.status_code == 200


def test_head_answers_like_get_without_a_body(client, card):
    # A pass changed moments ago is dated by the clock (passkit.last_modified); one changed a
    # minute ago has a fixed date, so GET and HEAD can be compared whatever the machine's speed.
    type(card).objects.filter(pk=card.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    get = client.get(pass_url(card), **auth(card))
    head = client.head(pass_url(card), **auth(card))
    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]
    assert head["Last-Modified"] == get["Last-Modified"]
    assert int(head["Content-Length"]) > 0
    assert client.head(pass_url(card)).status_code == 401


def test_latest_pass_refuses_wrong_or_missing_token(client, card):
    other = factories.CardFactory(program=card.program)
    assert client.get(pass_url(card)).status_code == 401
    assert client.get(pass_url(card), **auth(other)).status_code == 401
    assert client.get(pass_url(card), HTTP_AUTHORIZATION="ApplePass ").status_code == 401
    assert client.post(pass_url(card), **auth(card)).status_code == 405


def test_log_is_accepted_bounded_and_without_tokens(client, card, caplog):
    secret = passkit.authentication_token(card)
    lines = [f"Web service error for {secret}"] + [f"line {n}" for n in range(40)]
    response = client.post(
        "/passkit/v1/log", data=json.dumps({"logs": lines}), content_type="application/json"
    )
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "stampcard.wallet.passkit_views"]
    assert secret not in caplog.text
    assert len(records) == 20
    assert all(len(r.getMessage()) < 600 for r in records)
    for body in (b"{oops", b'{"logs": "one"}', b"[]"):
        response = client.post("/passkit/v1/log", data=body, content_type="application/json")
        assert response.status_code == 400
    assert client.get("/passkit/v1/log").status_code == 405


@override_settings(WALLET_WEB_SERVICE_URL="https://cards.example.com/passkit/")
def test_the_web_service_url_comes_from_the_setting(card):
    assert apple.pass_json(card)["webServiceURL"] == "https://cards.example.com/passkit/"


@pytest.mark.parametrize(
    ("url", "errors"),
    [
        ("http://127.0.0.1:8000/passkit/", 0),
        ("https://cards.example.com/passkit/", 0),
        ("https://cards.example.com/passkit/v1/", 1),
        ("https://cards.example.com/passkit", 1),
        ("/passkit/", 1),
    ],
)
def test_the_web_service_url_is_checked(settings, url, errors):
    settings.WALLET_WEB_SERVICE_URL = url
    assert len(checks.web_service_url()) == errors
