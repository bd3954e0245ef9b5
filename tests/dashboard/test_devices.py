"""The devices page: rename or move a device, cancel a pairing code; refused for the staff."""

import pytest
from django.urls import reverse

from stampcard.tenancy.models import Device, PairingCode
from stampcard.tenancy.services import create_pairing_code, pair_device


def url(business):
    return reverse("dashboard:devices", kwargs={"business_slug": business.slug})


@pytest.fixture
def till(business, shop, staff_actor):
    return pair_device(
        business=business, actor=staff_actor, name="Till 1", kind="scanner", location=shop
    ).device


def test_a_manager_renames_and_moves_a_device(client, maria, business, till, other_shop):
    client.force_login(maria)
    page = client.get(url(business)).content.decode()
    assert "Rename or move" in page
    prefix = f"device-{till.pk}"
    response = client.post(
        url(business),
        {"change": till.pk, f"{prefix}-name": "Front till", f"{prefix}-location": other_shop.pk},
    )
    assert response.status_code == 200
    till.refresh_from_db()
    assert (till.name, till.location) == ("Front till", other_shop)


def test_an_empty_name_is_shown_again_with_its_error(client, maria, business, till, shop):
    client.force_login(maria)
    prefix = f"device-{till.pk}"
    response = client.post(
        url(business), {"change": till.pk, f"{prefix}-name": "", f"{prefix}-location": shop.pk}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Device.objects.get().name == "Till 1"


def test_a_manager_cancels_a_pairing_code(client, maria, business, shop, staff_actor):
    issued = create_pairing_code(
        business=business, actor=staff_actor, name="Kiosk", kind="kiosk", location=shop
    )
    client.force_login(maria)
    assert "Cancel code" in client.get(url(business)).content.decode()
    page = client.post(url(business), {"cancel": issued.pairing.pk}).content.decode()
    assert "Codes not used yet" not in page
    assert PairingCode.objects.get().expires_at <= issued.pairing.expires_at


def test_staff_cannot_change_devices(client, bob, business, till, other_shop):
    client.force_login(bob)
    prefix = f"device-{till.pk}"
    response = client.post(
        url(business),
        {"change": till.pk, f"{prefix}-name": "Mine", f"{prefix}-location": other_shop.pk},
    )
    assert response.status_code == 403
    assert Device.objects.get().name == "Till 1"
