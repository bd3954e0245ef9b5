"""How long a receipt key's stamp codes (R2) stay claimable, set by the owner in the
dashboard: 1 to 366 days, audited, refused clearly and without a change otherwise."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.tenancy.errors import NotAllowed
from stampcard.vouchers import errors
from stampcard.vouchers.models import ReceiptKey
from stampcard.vouchers.receipts import (
    check_receipt,
    create_receipt_key,
    set_receipt_key_validity,
    sign_stamp_receipt,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(business, staff_actor):
    return create_receipt_key(business=business, actor=staff_actor)


def url(business):
    return f"/b/{business.slug}/receipt-keys/"


def test_the_owner_sets_the_days_and_printed_codes_follow_at_once(
    client, owner, business, staff_actor, key
):
    issued = timezone.localdate(timezone=ZoneInfo(business.time_zone)) - timedelta(days=40)
    code = sign_stamp_receipt(business=business, key=key, order_id="A1", stamps=1, issued=issued)
    assert check_receipt(business=business, code=code).expired  # 30 days by default
    client.force_login(owner)
    saved = client.post(
        url(business), {"action": "validity", "key_id": key.key_id, "valid_days": "45"}
    )
    assert saved.status_code == 302
    key.refresh_from_db()
    assert key.valid_days == 45
    assert not check_receipt(business=business, code=code).expired
    entry = AuditEntry.objects.get(action="receipt_key.validity_changed")
    assert (entry.details["before"], entry.details["after"]) == (30, 45)
    assert key.secret not in str(entry.__dict__)
    page = client.get(saved["Location"]).content.decode()
    assert 'value="45"' in page
    assert "Saved." in page


@pytest.mark.parametrize("typed", ["0", "367", "-3", "abc", "", "7.5", "१२"])
def test_a_number_outside_1_to_366_is_refused_clearly_and_changes_nothing(
    client, owner, business, key, typed
):
    client.force_login(owner)
    response = client.post(
        url(business), {"action": "validity", "key_id": key.key_id, "valid_days": typed}
    )
    assert response.status_code == 400
    assert "A receipt code stays valid for 1 to 366 days: type a whole number." in (
        response.content.decode()
    )
    key.refresh_from_db()
    assert key.valid_days == 30
    assert not AuditEntry.objects.filter(action="receipt_key.validity_changed").exists()


def test_the_refusal_is_in_the_owners_language(client, owner, business, key):
    client.force_login(owner)
    response = client.post(
        url(business),
        {"action": "validity", "key_id": key.key_id, "valid_days": "999"},
        HTTP_ACCEPT_LANGUAGE="uk",
    )
    assert response.status_code == 400
    assert "366" in response.content.decode()
    assert "A receipt code stays valid" not in response.content.decode()


def test_the_bounds_themselves_are_allowed(business, staff_actor, key):
    for days in (1, 366):
        assert (
            set_receipt_key_validity(
                business=business, actor=staff_actor, key=key, days=days
            ).valid_days
            == days
        )
    with pytest.raises(errors.InvalidReceiptKey):
        set_receipt_key_validity(business=business, actor=staff_actor, key=key, days=True)


def test_a_revoked_key_is_not_changed(client, owner, business, key):
    ReceiptKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    client.force_login(owner)
    response = client.post(
        url(business), {"action": "validity", "key_id": key.key_id, "valid_days": "10"}
    )
    assert response.status_code == 400
    assert "This key is revoked: codes signed with it no longer verify." in (
        response.content.decode()
    )
    key.refresh_from_db()
    assert key.valid_days == 30


def test_only_the_owner_may_change_it(client, business, key):
    manager = factories.member_actor(business, role="manager")
    with pytest.raises(NotAllowed):
        set_receipt_key_validity(business=business, actor=manager, key=key, days=10)
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(pk=manager.user_id))
    page = client.get(url(business)).content.decode()
    assert 'name="valid_days"' not in page  # a manager sees the number, not the field
    response = client.post(
        url(business), {"action": "validity", "key_id": key.key_id, "valid_days": "10"}
    )
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.valid_days == 30


def test_another_business_cannot_change_it(client, business, other_owner, key):
    client.force_login(other_owner)
    other = other_owner.memberships.get().business.slug
    data = {"action": "validity", "key_id": key.key_id, "valid_days": "10"}
    assert client.post(f"/b/{other}/receipt-keys/", data).status_code == 404
    key.refresh_from_db()
    assert key.valid_days == 30
