import pytest
from django.utils import timezone

from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.models import Device, Membership
from stampcard.tenancy.permissions import Permission, allows, has_permission, require
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


def test_adding_a_member_needs_manage_staff(business, maria):
    from stampcard.audit.models import AuditEntry
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.errors import NotAllowed

    manager = Actor.for_member(Membership.objects.get(user=maria))
    newcomer = factories.UserFactory()
    with pytest.raises(NotAllowed):
        add_member(business=business, actor=manager, user=newcomer, role="owner")
    assert not Membership.objects.filter(user=newcomer).exists()
    assert not AuditEntry.objects.filter(action="member.saved").exists()


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("scanner", {Permission.STAMP, Permission.REDEEM, Permission.CLAIM_CODES}),
        ("kiosk", {Permission.STAMP, Permission.SELF_REDEEM, Permission.CLAIM_CODES}),
        ("autopilot", {Permission.STAMP}),
    ],
)
def test_devices_do_what_their_kind_is_for_and_only_at_their_location(
    business, shop, other_shop, kind, allowed
):
    device = Device.objects.create(
        business=business, name="D", kind=kind, location=shop, token_hash=kind
    )
    actor = Actor.for_device(device)
    assert {p for p in Permission if allows(actor, p, business=business)} == allowed
    assert not allows(actor, Permission.STAMP, business=business, location_id=other_shop.pk)


def test_a_revoked_or_foreign_device_built_by_hand_may_do_nothing(business, other_business):
    device = Device.objects.create(business=business, name="D", kind="scanner", token_hash="h")
    by_hand = Actor(kind=ActorKind.DEVICE, device_id=device.pk)
    assert allows(by_hand, Permission.STAMP, business=business)
    assert not allows(by_hand, Permission.STAMP, business=other_business)
    Device.objects.filter(pk=device.pk).update(revoked_at=timezone.now())
    assert not allows(by_hand, Permission.STAMP, business=business)


def test_a_staff_actor_without_a_role_is_judged_by_its_membership(business, bob, shop, other_shop):
    by_hand = Actor(kind=ActorKind.STAFF, user_id=bob.pk)
    assert allows(by_hand, Permission.STAMP, business=business, location_id=shop.pk)
    assert not allows(by_hand, Permission.STAMP, business=business, location_id=other_shop.pk)
    assert not allows(by_hand, Permission.CORRECT_STAMPS, business=business)
    stranger = Actor(kind=ActorKind.STAFF, user_id=factories.UserFactory().pk)
    assert not allows(stranger, Permission.VIEW, business=business)
    assert not allows(Actor(kind=ActorKind.STAFF), Permission.VIEW, business=business)


def test_a_member_limited_to_a_shop_must_say_where_a_counter_action_happens(business, bob, shop):
    actor = Actor.for_member(Membership.objects.get(user=bob))
    assert not allows(actor, Permission.STAMP, business=business)
    assert allows(actor, Permission.VIEW, business=business)
    at_the_shop = Actor.for_member(Membership.objects.get(user=bob), location=shop)
    assert allows(at_the_shop, Permission.STAMP, business=business)


def test_an_actor_admitted_to_one_business_may_nothing_in_another(business, other_business):
    owner = factories.member_actor(business, role="owner")
    assert allows(owner, Permission.MANAGE_STAFF, business=business)
    assert not allows(owner, Permission.VIEW, business=other_business)


def test_system_operator_customer_and_api_actors(business):
    assert all(allows(Actor.system(), p, business=business) for p in Permission)
    assert all(allows(Actor(kind=ActorKind.ADMIN), p, business=business) for p in Permission)
    customer = Actor.customer(business_id=business.pk)
    assert {p for p in Permission if allows(customer, p, business=business)} == {
        Permission.SELF_REDEEM,
        Permission.CLAIM_CODES,
    }
    assert not any(allows(Actor(kind=ActorKind.API), p, business=business) for p in Permission)


def test_require_refuses_with_a_stable_code_and_a_403(business):
    from django.core.exceptions import PermissionDenied

    from stampcard.tenancy.errors import NotAllowed

    with pytest.raises(NotAllowed) as refused:
        require(Actor(kind=ActorKind.API), Permission.STAMP, business=business)
    assert refused.value.code == "not_allowed"
    assert isinstance(refused.value, PermissionDenied)
