import pytest

from stampcard.tenancy.models import Membership
from stampcard.tenancy.permissions import Permission, has_permission
from stampcard.tenancy.services import add_member, create_business
from tests import factories


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            "staff",
            {Permission.STAMP, Permission.REDEEM},
            {Permission.CORRECT_STAMPS, Permission.VIEW_AUDIT},
        ),
        (
            "manager",
            {Permission.CORRECT_STAMPS, Permission.ISSUE_VOUCHERS},
            {Permission.MANAGE_STAFF},
        ),
        ("owner", set(Permission), set()),
    ],
)
def test_roles(business, role, allowed, denied):
    membership = factories.MembershipFactory(business=business, role=role)
    assert all(has_permission(membership, p) for p in allowed)
    assert not any(has_permission(membership, p) for p in denied)


def test_staff_limited_to_a_location_stamps_only_there(business, staff_actor):
    here = factories.LocationFactory(business=business)
    there = factories.LocationFactory(business=business)
    user = factories.UserFactory()
    membership = add_member(
        business=business, actor=staff_actor, user=user, role="staff", locations=[here]
    )
    assert has_permission(membership, Permission.STAMP, location_id=here.pk)
    assert not has_permission(membership, Permission.STAMP, location_id=there.pk)
    unlimited = factories.MembershipFactory(business=business, role="staff")
    assert has_permission(unlimited, Permission.STAMP, location_id=there.pk)


def test_member_locations_of_another_business_are_ignored(business, other_business, staff_actor):
    foreign = factories.LocationFactory(business=other_business)
    membership = add_member(
        business=business,
        actor=staff_actor,
        user=factories.UserFactory(),
        role="staff",
        locations=[foreign],
    )
    assert list(membership.locations.all()) == []


def test_create_business_makes_the_creator_its_owner(db):
    user = factories.UserFactory()
    first = create_business(owner=user, name="Café Olé")
    second = create_business(owner=user, name="Café Olé")
    assert (first.slug, second.slug) == ("cafe-ole", "cafe-ole-2")
    assert Membership.objects.get(business=first).role == "owner"


def test_a_business_needs_a_real_time_zone(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        create_business(owner=factories.UserFactory(), name="Nowhere", time_zone="Mars/Olympus")
