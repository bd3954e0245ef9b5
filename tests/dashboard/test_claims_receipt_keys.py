"""Receipt keys in the dashboard: created with the secret shown once, listed, revoked."""

import pytest

from stampcard.audit.models import AuditEntry
from stampcard.vouchers.models import ReceiptKey
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_new_keys_secret_is_shown_once_and_never_listed(client, owner, business):
    client.force_login(owner)
    url = f"/b/{business.slug}/receipt-keys/"
    assert "No receipt keys yet." in client.get(url).content.decode()
    made = client.post(url, {"action": "create"})
    assert "no-store" in made["Cache-Control"]
    key = ReceiptKey.objects.get()
    page = made.content.decode()
    assert key.secret in page
    assert key.key_id in page
    again = client.get(url).content.decode()
    assert key.key_id in again
    assert key.secret not in again
    assert all(key.secret not in str(entry.__dict__) for entry in AuditEntry.objects.all())


def test_revoking_a_key(client, owner, business):
    client.force_login(owner)
    url = f"/b/{business.slug}/receipt-keys/"
    client.post(url, {"action": "create"})
    key = ReceiptKey.objects.get()
    assert client.post(url, {"action": "revoke", "key_id": key.key_id}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked" in client.get(url).content.decode()
    assert client.post(url, {"action": "revoke", "key_id": "NOSUCH"}).status_code == 404


def test_staff_and_other_businesses_cannot_touch_keys(client, business, other_owner):
    barista = factories.UserFactory()
    factories.MembershipFactory(business=business, user=barista, role="staff")
    client.force_login(barista)
    url = f"/b/{business.slug}/receipt-keys/"
    assert client.post(url, {"action": "create"}).status_code == 403
    ReceiptKey.objects.create(business=business, key_id="K7M2QX", secret="s")
    client.force_login(other_owner)
    other = other_owner.memberships.get().business.slug
    revoke = {"action": "revoke", "key_id": "K7M2QX"}
    assert client.post(f"/b/{other}/receipt-keys/", revoke).status_code == 404
    assert client.post(url, revoke).status_code == 404
    assert ReceiptKey.objects.get(key_id="K7M2QX").revoked_at is None
