"""The shops page: add, edit, remove; hostile input, permissions, ties that block removal."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.tenancy import errors
from stampcard.tenancy.models import Device, Location
from stampcard.tenancy.services import add_location, edit_location, remove_location
from tests import factories

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "Riverside",
    "address": "12 River Road, Bangkok",
    "latitude": "13.756300",
    "longitude": "100.501800",
    "relevant_text": "Your stamp card works here",
}


def page(business):
    return reverse("dashboard:locations", args=[business.slug])


def edit_page(business, location):
    return reverse("dashboard:location_edit", args=[business.slug, location.pk])


def test_owner_adds_a_shop_and_the_audit_trail_says_so(client, owner, business):
    client.force_login(owner)
    response = client.post(page(business), GOOD)
    assert response.status_code == 302
    shop = Location.objects.get(business=business)
    assert shop.latitude == Decimal("13.756300")
    assert shop.relevant_text == "Your stamp card works here"
    assert AuditEntry.objects.filter(business=business, action="location.added").count() == 1
    listing = client.get(page(business))
    assert "12 River Road" in listing.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude", "90.000001"),
        ("latitude", "-91"),
        ("longitude", "180.5"),
        ("longitude", "NaN"),
        ("latitude", "1e400"),
        ("relevant_text", "x" * 121),
        ("name", ""),
        ("name", "n" * 10_000),
    ],
)
def test_hostile_input_is_refused_and_nothing_is_written(client, owner, business, field, value):
    client.force_login(owner)
    response = client.post(page(business), {**GOOD, field: value})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not Location.objects.filter(business=business).exists()


def test_half_a_map_point_is_refused(client, owner, business):
    client.force_login(owner)
    response = client.post(page(business), {**GOOD, "longitude": ""})
    assert response.status_code == 400
    assert "both the latitude and the longitude" in response.content.decode()
    assert not Location.objects.exists()


def test_error_is_in_the_users_language(client, owner, business):
    client.force_login(owner)
    response = client.post(page(business), {**GOOD, "latitude": "200"}, HTTP_ACCEPT_LANGUAGE="th")
    assert response.status_code == 400
    assert "ละติจูด" in response.content.decode()


def test_owner_edits_a_shop(client, owner, business, shop):
    client.force_login(owner)
    assert client.get(edit_page(business, shop)).status_code == 200
    response = client.post(edit_page(business, shop), {**GOOD, "name": "Riverside 2"})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.name == "Riverside 2"
    entry = AuditEntry.objects.get(business=business, action="location.changed")
    assert "name" in entry.details["fields"]


def test_bad_edit_leaves_the_shop_as_it_was(client, owner, business, shop):
    client.force_login(owner)
    response = client.post(edit_page(business, shop), {**GOOD, "latitude": "95"})
    assert response.status_code == 400
    shop.refresh_from_db()
    assert shop.latitude is None
    assert shop.name == "Riverside"


def test_manager_and_staff_may_not_add_edit_or_remove(client, maria, bob, business, shop):
    for person in (maria, bob):
        client.force_login(person)
        assert client.post(page(business), GOOD).status_code == 403
        assert client.post(edit_page(business, shop), GOOD).status_code == 403
        assert client.post(page(business), {"remove": shop.pk}).status_code == 403
    assert list(Location.objects.filter(business=business)) == [shop]


def test_limited_owner_may_not_add_a_shop(business, shop):
    actor = factories.member_actor(business, role="owner", locations=[shop])
    with pytest.raises(errors.NotAllowed):
        add_location(business=business, actor=actor, name="Sneaky")
    with pytest.raises(errors.NotAllowed):
        edit_location(business=business, actor=actor, location=shop, name="Sneaky")


def test_another_business_shop_is_not_found(client, owner, business, other_business):
    foreign = factories.LocationFactory(business=other_business, name="Secret")
    client.force_login(owner)
    assert client.get(edit_page(business, foreign)).status_code == 404
    assert client.post(page(business), {"remove": foreign.pk}).status_code == 404
    assert client.post(page(business), {"remove": "99999999999999999999"}).status_code == 404
    assert Location.objects.filter(pk=foreign.pk).exists()


def test_removal_is_refused_while_a_member_is_limited_to_it(client, owner, bob, business, shop):
    client.force_login(owner)
    response = client.post(page(business), {"remove": shop.pk})
    assert response.status_code == 409
    assert "team members limited to it" in response.content.decode()
    assert Location.objects.filter(pk=shop.pk).exists()


def test_removal_is_refused_while_a_device_works_there(staff_actor, business, shop):
    Device.objects.create(
        business=business, name="Till", kind="scanner", location=shop, token_hash="a" * 64
    )
    with pytest.raises(errors.LocationInUse):
        remove_location(business=business, actor=staff_actor, location=shop)
    assert Location.objects.filter(pk=shop.pk).exists()


def test_removal_lets_revoked_devices_forget_the_shop(client, owner, business, shop):
    device = Device.objects.create(
        business=business,
        name="Old till",
        kind="scanner",
        location=shop,
        token_hash="b" * 64,
        revoked_at=timezone.now(),
    )
    client.force_login(owner)
    response = client.post(page(business), {"remove": shop.pk})
    assert response.status_code == 302
    assert not Location.objects.filter(pk=shop.pk).exists()
    device.refresh_from_db()
    assert device.location is None
    entry = AuditEntry.objects.get(business=business, action="location.removed")
    assert entry.details["name"] == "Riverside"


def test_service_validates_what_a_form_would(staff_actor, business):
    with pytest.raises(ValidationError):
        add_location(
            business=business,
            actor=staff_actor,
            name="X",
            latitude=Decimal("91"),
            longitude=Decimal("0"),
        )
    assert not Location.objects.exists()


def test_nav_shows_shops_to_the_owner_only(client, owner, maria, business):
    client.force_login(owner)
    assert (
        page(business)
        in client.get(reverse("dashboard:business", args=[business.slug])).content.decode()
    )
    client.force_login(maria)
    assert (
        page(business)
        not in client.get(reverse("dashboard:business", args=[business.slug])).content.decode()
    )
