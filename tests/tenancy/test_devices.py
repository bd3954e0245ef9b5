import pytest

from stampcard.audit.models import AuditEntry
from stampcard.tenancy.models import Device, Location
from stampcard.tenancy.services import authenticate_device, pair_device, revoke_device
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
    revoke_device(business=business, actor=staff_actor, device=paired.device)
    assert authenticate_device(paired.token) is None
    assert Device.objects.get(pk=paired.device.pk).revoked_at is not None


def test_a_location_of_another_business_cannot_be_used(business, other_business, staff_actor):
    foreign = factories.LocationFactory(business=other_business)
    with pytest.raises(Location.DoesNotExist):
        pair_device(business=business, actor=staff_actor, name="K", kind="kiosk", location=foreign)
    assert not Device.objects.exists()
