"""Renaming and moving a paired device, and cancelling a pairing code: who may, the audit
trail, and the device door acting at the new location from the next request on."""

import json
import uuid

import pytest
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy import errors
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device, PairingCode
from stampcard.tenancy.services import (
    cancel_pairing_code,
    create_pairing_code,
    move_device,
    pair_device,
    pair_with_code,
    rename_device,
    revoke_device,
)
from tests import factories


@pytest.fixture
def till(business, shop, staff_actor):
    return pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    )


def actions():
    return list(AuditEntry.objects.order_by("pk").values_list("action", "details"))


def test_rename_is_kept_and_audited(business, staff_actor, till):
    rename_device(business=business, actor=staff_actor, device=till.device, name="  Front till ")
    assert Device.objects.get().name == "Front till"
    assert actions()[-1] == ("device.renamed", {"old": "Till 1", "new": "Front till"})
    rename_device(business=business, actor=staff_actor, device=till.device, name="Front till")
    assert len(actions()) == 2  # paired, renamed: the same name again changes nothing


@pytest.mark.parametrize("name", ["", "   ", "x" * 121, "bad\x00name"])
def test_a_bad_name_is_refused(business, staff_actor, till, name):
    with pytest.raises(errors.InvalidDevice):
        rename_device(business=business, actor=staff_actor, device=till.device, name=name)
    assert Device.objects.get().name == "Till 1"


def test_a_moved_device_stamps_only_at_its_new_location(
    client, business, shop, other_shop, staff_actor, till, card
):
    move_device(business=business, actor=staff_actor, device=till.device, location=other_shop)
    assert Device.objects.get().location == other_shop
    assert actions()[-1] == (
        "device.moved",
        {"old_location_id": shop.pk, "new_location_id": other_shop.pk},
    )
    # The door reads the device's location on every request.
    assert client.get("/device/", HTTP_AUTHORIZATION=f"Device {till.token}").json()["location"] == {
        "id": other_shop.pk,
        "name": "Old Town",
    }
    response = client.post(
        "/device/scan",
        json.dumps(
            {
                "code": card.code,
                "nonce": uuid.uuid4().hex,
                "scanned_at": timezone.now().isoformat(),
                "action": "stamp",
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {till.token}",
    )
    assert response.json()["outcome"] == "stamped"
    assert StampEvent.objects.get().location_id == other_shop.pk


def test_moving_to_every_location_needs_an_unlimited_actor(business, shop, other_shop, till):
    manager = factories.member_actor(business, role="manager", locations=[shop])
    with pytest.raises(NotAllowed):
        move_device(business=business, actor=manager, device=till.device, location=None)
    with pytest.raises(NotAllowed):  # out of the manager's reach
        move_device(business=business, actor=manager, device=till.device, location=other_shop)
    assert Device.objects.get().location == shop
    owner = factories.member_actor(business, role="owner")
    move_device(business=business, actor=owner, device=till.device, location=None)
    assert Device.objects.get().location is None


def test_staff_may_not_rename_or_move_devices(business, shop, other_shop, till):
    barista = factories.member_actor(business, role="staff")
    with pytest.raises(NotAllowed):
        rename_device(business=business, actor=barista, device=till.device, name="Mine")
    with pytest.raises(NotAllowed):
        move_device(business=business, actor=barista, device=till.device, location=other_shop)
    assert (Device.objects.get().name, Device.objects.get().location) == ("Till 1", shop)
    assert [action for action, _ in actions()] == ["device.paired"]


def test_a_revoked_device_is_not_moved(business, staff_actor, till, other_shop):
    revoke_device(business=business, actor=staff_actor, device=till.device)
    with pytest.raises(errors.InvalidDevice):
        move_device(business=business, actor=staff_actor, device=till.device, location=other_shop)


def test_a_cancelled_pairing_code_no_longer_pairs(business, shop, staff_actor):
    issued = create_pairing_code(
        business=business, actor=staff_actor, name="Kiosk", kind="kiosk", location=shop
    )
    barista = factories.member_actor(business, role="staff")
    with pytest.raises(NotAllowed):
        cancel_pairing_code(business=business, actor=barista, pairing=issued.pairing)
    cancel_pairing_code(business=business, actor=staff_actor, pairing=issued.pairing)
    assert actions()[-1][0] == "pairing_code.cancelled"
    with pytest.raises(errors.PairingCodeExpired):
        pair_with_code(code=issued.code, client="10.0.0.1")
    assert not Device.objects.exists()
    assert PairingCode.objects.get().used_at is None
