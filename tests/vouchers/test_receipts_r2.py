"""Version 2 receipt codes: stamps and an issue date signed offline by a POS; claimed once,
refused when forged, expired, replayed or of another business."""

import base64
import hashlib
import hmac
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.actors import Actor
from stampcard.vouchers import errors
from stampcard.vouchers.models import ClaimedReceipt, ReceiptKey
from stampcard.vouchers.receipts import (
    claim_receipt,
    create_receipt_key,
    sign_receipt,
    sign_stamp_receipt,
)
from tests import factories

pytestmark = pytest.mark.django_db


def claim(card, code):
    return claim_receipt(
        business=card.business,
        actor=Actor.customer(business_id=card.business_id),
        code=code,
        card=card,
    )


def today(business):
    return timezone.localdate(timezone=ZoneInfo(business.time_zone))


@pytest.fixture
def key(business):
    return create_receipt_key(business=business, actor=factories.member_actor(business))


def test_the_documented_example_verifies(db):
    """The worked example of the module's docstring, computed from its words alone."""
    message = b"stampcard-receipt-v2|42|K7M2QX|A1234|2|261201"
    digest = hmac.new(b"example-secret-do-not-use", message, hashlib.sha256).digest()
    signature = base64.b32encode(digest[:10]).decode()
    assert signature == "7OLS4DYG77Y4FXYE"
    code = f"R2.K7M2QX.A1234.2.261201.{signature}"
    business = factories.BusinessFactory(pk=42, time_zone="UTC")
    key = ReceiptKey.objects.create(
        business=business, key_id="K7M2QX", secret="example-secret-do-not-use", valid_days=10_000
    )
    assert (
        sign_stamp_receipt(
            business=business, key=key, order_id="A1234", stamps=2, issued=date(2026, 12, 1)
        )
        == code
    )
    card = factories.CardFactory(
        program=factories.ProgramFactory(business=business, max_stamps_per_visit=2)
    )
    if timezone.localdate() >= date(2026, 12, 1) - timedelta(days=1):
        assert claim(card, code.lower()).added == 2
        assert ClaimedReceipt.objects.get().amount is None


def test_a_code_is_claimed_once(card, key):
    code = sign_stamp_receipt(
        business=card.business, key=key, order_id="ORDER-1", stamps=1, issued=today(card.business)
    )
    assert claim(card, code).added == 1
    with pytest.raises(errors.ClaimCodeUsed):
        claim(card, code)
    # The order id is spent for version 1 codes of the same receipt too.
    with pytest.raises(errors.ClaimCodeUsed):
        claim(card, sign_receipt(business=card.business, key=key, receipt_id="ORDER-1", amount=1))
    card.refresh_from_db()
    assert card.stamps == 1


def test_forged_codes_are_not_found(card, key):
    code = sign_stamp_receipt(
        business=card.business, key=key, order_id="A1", stamps=1, issued=today(card.business)
    )
    _r2, key_id, order, stamps, issued, signature = code.split(".")
    flipped = "A" if signature[-1] != "A" else "B"
    forged = [
        f"R2.{key_id}.{order}.9.{issued}.{signature}",  # more stamps
        f"R2.{key_id}.{order}X.{stamps}.{issued}.{signature}",
        f"R2.{key_id}.{order}.{stamps}.{issued}.{signature[:-1]}{flipped}",
        f"R2.{key_id}.{order}.{stamps}.991231.{signature}",  # a later date
        f"R2.{key_id}.{order}.{stamps}.261399.{signature}",  # no such date
        f"R2.{key_id}.{order}.0.{issued}.{signature}",
        f"R2.{key_id}.{order}.100.{issued}.{signature}",
        f"R1.{key_id}.{order}.{stamps}.{signature}",  # another version's shape
        code + "X",
        code.replace(".", "-"),
        "R2." + "A" * 5000,
    ]
    for bad in forged:
        with pytest.raises(errors.ClaimCodeNotFound):
            claim(card, bad)
    assert not StampEvent.objects.exists()


def test_a_code_dated_ahead_is_refused_even_when_signed(card, key):
    ahead = today(card.business) + timedelta(days=3)
    code = sign_stamp_receipt(
        business=card.business, key=key, order_id="A2", stamps=1, issued=ahead
    )
    with pytest.raises(errors.ClaimCodeNotFound):
        claim(card, code)


def test_expired_after_the_keys_validity(card, key):
    key.valid_days = 7
    key.save()
    last_day = today(card.business) - timedelta(days=7)
    code = sign_stamp_receipt(
        business=card.business, key=key, order_id="OLD", stamps=1, issued=last_day
    )
    too_old = sign_stamp_receipt(
        business=card.business,
        key=key,
        order_id="OLDER",
        stamps=1,
        issued=last_day - timedelta(days=1),
    )
    with pytest.raises(errors.ClaimCodeExpired):
        claim(card, too_old)
    assert claim(card, code).added == 1
    assert not ClaimedReceipt.objects.filter(receipt_id="OLDER").exists()


def test_another_business_and_a_revoked_key_do_not_verify(card, key, other_business):
    code = sign_stamp_receipt(
        business=card.business, key=key, order_id="X1", stamps=1, issued=today(card.business)
    )
    other_card = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    ReceiptKey.objects.create(business=other_business, key_id=key.key_id, secret=key.secret)
    # The business id is in the signed message: the other business's key of the same id and
    # secret does not verify it; the customer is told the code is another business's.
    with pytest.raises(errors.ClaimCodeOtherBusiness):
        claim(other_card, code)
    key.revoked_at = timezone.now()
    key.save()
    with pytest.raises(errors.ClaimCodeNotFound):
        claim(card, code)


def test_the_per_visit_maximum_still_applies(card, key):
    card.program.max_stamps_per_visit = 1
    card.program.save()
    code = sign_stamp_receipt(
        business=card.business, key=key, order_id="BIG", stamps=5, issued=today(card.business)
    )
    with pytest.raises(loyalty_errors.VisitLimit):
        claim(card, code)
    assert not ClaimedReceipt.objects.exists()
