"""Pairing a device with a one-time code from the dashboard, and revoking it there."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.tenancy import errors
from stampcard.tenancy.middleware import DEVICE_COOKIE
from stampcard.tenancy.models import Device, PairingCode
from stampcard.tenancy.services import (
    PAIRING_ALPHABET,
    PAIRING_FAILURE_LIMIT,
    create_pairing_code,
    pair_with_code,
)
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def make_code(client, business, **fields):
    data = {"name": "Front till", "kind": "scanner"} | fields
    response = client.post(f"/b/{business.slug}/devices/", data)
    assert response.status_code == 200, response.content
    match = re.search(rb"data-pairing-code>([A-Z0-9]{4}-[A-Z0-9]{4})<", response.content)
    assert match is not None
    return match.group(1).decode()


def test_owner_pairs_a_scanner_that_then_shows_its_business_and_location(
    client, owner, business, shop
):
    client.force_login(owner)
    code = make_code(client, business, location=shop.pk)
    assert all(c in PAIRING_ALPHABET for c in code.replace("-", ""))
    stored = PairingCode.objects.get()
    assert code.replace("-", "") not in stored.code_hash  # only a keyed hash is kept
    device_browser = client.__class__()
    response = device_browser.post("/device/pair/", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 302
    assert response["Location"] == "/device/scanner/"
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    device = Device.objects.get()
    assert (device.name, device.kind, device.location_id) == ("Front till", "scanner", shop.pk)
    page = device_browser.get("/device/scanner/")
    assert b"Corner Cafe" in page.content
    assert b"Riverside" in page.content
    assert AuditEntry.objects.filter(action="device.paired").exists()
    # The dashboard lists it, seen.
    listing = client.get(f"/b/{business.slug}/devices/").content.decode()
    assert "Front till" in listing
    assert "Riverside" in listing


def test_a_code_pairs_once(client, owner, business):
    client.force_login(owner)
    code = make_code(client, business)
    assert client.__class__().post("/device/pair/", {"code": code}).status_code == 302
    again = client.__class__().post("/device/pair/", {"code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400
    assert b"already used" in again.content
    assert Device.objects.count() == 1


def test_an_expired_code_pairs_nothing(client, owner, business):
    client.force_login(owner)
    code = make_code(client, business)
    PairingCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.__class__().post("/device/pair/", {"code": code})
    assert response.status_code == 400
    assert b"expired" in response.content
    assert Device.objects.count() == 0


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFG1", "x" * 500, "ABCD\x00EFGH"])
def test_wrong_or_malformed_codes(db, client, typed):
    response = client.post("/device/pair/", {"code": typed})
    assert response.status_code == 400
    assert DEVICE_COOKIE not in response.cookies
    assert Device.objects.count() == 0


def test_brute_force_is_throttled_per_client_even_for_the_right_code(client, owner, business):
    client.force_login(owner)
    code = make_code(client, business)
    guesser = client.__class__()
    for _ in range(PAIRING_FAILURE_LIMIT):
        assert guesser.post("/device/pair/", {"code": "ZZZZ-ZZZZ"}).status_code == 400
    throttled = guesser.post("/device/pair/", {"code": code})
    assert throttled.status_code == 429
    assert Device.objects.count() == 0
    # Another address is not held up by this one's guesses.
    other = client.__class__(REMOTE_ADDR="10.1.2.3")
    assert other.post("/device/pair/", {"code": code}).status_code == 302


def test_the_service_refuses_each_way(business, staff_actor):
    issued = create_pairing_code(business=business, actor=staff_actor, name="Tab", kind="kiosk")
    pair_with_code(code=issued.code, client="a")
    with pytest.raises(errors.PairingCodeUsed):
        pair_with_code(code=issued.code, client="a")
    with pytest.raises(errors.PairingCodeWrong):
        pair_with_code(code="2222-2222", client="a")
    with pytest.raises(errors.InvalidDevice):
        create_pairing_code(business=business, actor=staff_actor, name=" ", kind="kiosk")
    with pytest.raises(errors.InvalidDevice):
        create_pairing_code(business=business, actor=staff_actor, name="x", kind="robot")


def test_staff_cannot_make_codes_and_a_limited_manager_only_for_their_shop(
    client, bob, business, shop, other_shop
):
    client.force_login(bob)
    assert client.get(f"/b/{business.slug}/devices/").status_code == 403
    manager = factories.member_actor(business, role="manager", locations=[shop])
    with pytest.raises(errors.NotAllowed):
        create_pairing_code(business=business, actor=manager, name="x", kind="scanner")
    with pytest.raises(errors.NotAllowed):
        create_pairing_code(
            business=business, actor=manager, name="x", kind="scanner", location=other_shop
        )
    issued = create_pairing_code(
        business=business, actor=manager, name="x", kind="scanner", location=shop
    )
    assert pair_with_code(code=issued.code, client=None).device.location_id == shop.pk


def test_a_code_whose_maker_lost_the_right_pairs_nothing(business, maria):
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Membership

    membership = Membership.objects.get(user=maria)
    issued = create_pairing_code(
        business=business, actor=Actor.for_member(membership), name="x", kind="scanner"
    )
    Membership.objects.filter(pk=membership.pk).update(role="staff")
    with pytest.raises(errors.NotAllowed):
        pair_with_code(code=issued.code, client=None)
    assert Device.objects.count() == 0
    assert PairingCode.objects.get().used_at is None


def test_revoking_on_the_dashboard_stops_the_device_at_its_next_request(
    client, owner, business, card
):
    client.force_login(owner)
    code = make_code(client, business)
    device_browser = client.__class__()
    device_browser.post("/device/pair/", {"code": code})
    assert device_browser.get("/device/").status_code == 200
    device = Device.objects.get()
    response = client.post(f"/b/{business.slug}/devices/", {"revoke": device.pk})
    assert response.status_code == 200
    assert Device.objects.get().revoked_at is not None
    refused = device_browser.get("/device/scanner/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "device_revoked"


def test_a_device_of_another_business_cannot_be_revoked_from_here(
    client, owner, business, other_business, other_staff_actor
):
    from stampcard.tenancy.services import pair_device

    foreign = pair_device(
        business=other_business, actor=other_staff_actor, name="Theirs", kind="scanner"
    )
    client.force_login(owner)
    response = client.post(f"/b/{business.slug}/devices/", {"revoke": foreign.device.pk})
    assert response.status_code == 404
    assert Device.objects.get().revoked_at is None
