import pytest
from django_scopes import scope

from stampcard.audit.models import AuditEntry
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device, Location
from stampcard.tenancy.services import (
    authenticate_device,
    find_device,
    pair_device,
    revoke_device,
)
from tests import factories


def test_pairing_shows_the_token_once_and_keeps_only_its_hash(business, staff_actor):
    paired = pair_device(business=business, actor=staff_actor, name="Kiosk", kind="kiosk")
    assert len(paired.token) >= 40
    stored = Device.objects.get(pk=paired.device.pk)
    assert paired.token not in stored.token_hash
    assert authenticate_device(paired.token) == stored
    assert AuditEntry.objects.filter(action="device.paired", target_id=str(stored.pk)).exists()


def test_revoked_unknown_and_hostile_tokens_are_refused(business, staff_actor):
    paired = pair_device(business=business, actor=staff_actor, name="Autopilot", kind="autopilot")
    for token in ["", "x", paired.token[:-1], paired.token + "x", "' OR 1=1 --", "A" * 5000]:
        assert authenticate_device(token) is None
        assert find_device(token) is None
    revoke_device(business=business, actor=staff_actor, device=paired.device)
    assert authenticate_device(paired.token) is None
    # The door still tells a revoked device from an unknown one, to say so.
    assert find_device(paired.token) == paired.device
    assert Device.objects.get(pk=paired.device.pk).revoked_at is not None


def test_inside_the_scope_another_business_location_cannot_even_be_read(business, other_business):
    # pair_device no longer compares the location's business: the door's scope sees to it.
    foreign = factories.LocationFactory(business=other_business)
    with scope(business=business), pytest.raises(Location.DoesNotExist):
        Location.objects.get(pk=foreign.pk)


def test_pairing_and_revoking_need_manage_devices(business, shop, staff_actor):
    barista = factories.member_actor(business, role="staff")
    with pytest.raises(NotAllowed):
        pair_device(business=business, actor=barista, name="K", kind="kiosk")
    paired = pair_device(business=business, actor=staff_actor, name="K", kind="kiosk")
    with pytest.raises(NotAllowed):
        revoke_device(business=business, actor=barista, device=paired.device)
    assert Device.objects.get().revoked_at is None
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["device.paired"]


def test_a_manager_limited_to_a_shop_pairs_devices_only_there(business, shop, other_shop):
    manager = factories.member_actor(business, role="manager", locations=[shop])
    with pytest.raises(NotAllowed):
        pair_device(business=business, actor=manager, name="K", kind="kiosk", location=other_shop)
    assert not Device.objects.exists()
    paired = pair_device(business=business, actor=manager, name="K", kind="kiosk", location=shop)
    assert paired.device.location == shop


def test_an_actor_admitted_to_another_business_may_not_pair_here(business, other_business):
    rival = factories.member_actor(other_business, role="owner")
    with pytest.raises(NotAllowed):
        pair_device(business=business, actor=rival, name="K", kind="kiosk")
    assert not Device.objects.exists()
