"""A member or device limited to some locations cannot widen anyone's reach, its own included:
what it pairs, revokes or grants stays inside its own locations."""

import pytest

from stampcard.tenancy.actors import Actor
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device, Membership
from stampcard.tenancy.permissions import Permission, allows_within
from stampcard.tenancy.services import add_member, pair_device, revoke_device
from tests import factories


def test_a_limited_manager_may_not_pair_a_business_wide_device(business, shop):
    manager = factories.member_actor(business, role="manager", locations=[shop])
    with pytest.raises(NotAllowed):
        pair_device(business=business, actor=manager, name="S", kind="scanner", location=None)
    assert not Device.objects.exists()


def test_a_limited_manager_revokes_only_devices_of_its_locations(
    business, shop, other_shop, staff_actor
):
    manager = factories.member_actor(business, role="manager", locations=[shop])
    everywhere = pair_device(business=business, actor=staff_actor, name="A", kind="kiosk").device
    elsewhere = pair_device(
        business=business, actor=staff_actor, name="B", kind="kiosk", location=other_shop
    ).device
    here = pair_device(
        business=business, actor=staff_actor, name="C", kind="kiosk", location=shop
    ).device
    for device in (everywhere, elsewhere):
        with pytest.raises(NotAllowed):
            revoke_device(business=business, actor=manager, device=device)
    revoke_device(business=business, actor=manager, device=here)
    assert list(Device.objects.filter(revoked_at__isnull=False)) == [here]


def test_an_unlimited_manager_pairs_and_revokes_business_wide_devices(business):
    manager = factories.member_actor(business, role="manager")
    paired = pair_device(business=business, actor=manager, name="S", kind="scanner")
    revoke_device(business=business, actor=manager, device=paired.device)
    assert Device.objects.get().revoked_at is not None


def test_a_limited_owner_may_not_lift_their_own_limits(business, shop):
    membership = factories.MembershipFactory(business=business, role="owner", locations=[shop])
    owner = Actor.for_member(membership)
    with pytest.raises(NotAllowed):
        add_member(business=business, actor=owner, user=membership.user, role="owner")
    membership.refresh_from_db()
    assert [loc.pk for loc in membership.locations.all()] == [shop.pk]


def test_a_limited_owner_grants_only_within_their_locations(business, shop, other_shop):
    owner = factories.member_actor(business, role="owner", locations=[shop])
    newcomer = factories.UserFactory()
    for locations in ([], [other_shop], [shop, other_shop]):
        with pytest.raises(NotAllowed):
            add_member(
                business=business, actor=owner, user=newcomer, role="staff", locations=locations
            )
    assert not Membership.objects.filter(user=newcomer).exists()
    made = add_member(business=business, actor=owner, user=newcomer, role="staff", locations=[shop])
    assert [loc.pk for loc in made.locations.all()] == [shop.pk]


def test_a_limited_owner_may_not_change_a_member_who_works_elsewhere(business, shop, other_shop):
    owner = factories.member_actor(business, role="owner", locations=[shop])
    unlimited = factories.MembershipFactory(business=business, role="owner")
    there = factories.MembershipFactory(business=business, role="staff", locations=[other_shop])
    for member in (unlimited, there):
        with pytest.raises(NotAllowed):
            add_member(
                business=business, actor=owner, user=member.user, role="staff", locations=[shop]
            )
    assert Membership.objects.get(pk=unlimited.pk).role == "owner"
    assert list(Membership.objects.get(pk=there.pk).locations.all()) == [other_shop]


def test_allows_within_reads_no_locations_as_business_wide(business, shop, other_shop):
    limited = factories.member_actor(business, role="owner", locations=[shop])
    unlimited = factories.member_actor(business, role="owner")
    perm = Permission.MANAGE_DEVICES
    assert allows_within(limited, perm, business=business, location_ids=[shop.pk])
    assert not allows_within(limited, perm, business=business, location_ids=None)
    assert not allows_within(limited, perm, business=business, location_ids=[])
    assert not allows_within(limited, perm, business=business, location_ids=[other_shop.pk])
    assert allows_within(unlimited, perm, business=business, location_ids=None)
    barista = factories.member_actor(business, role="staff")
    assert not allows_within(barista, perm, business=business, location_ids=None)
