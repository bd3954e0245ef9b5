"""A receipt code typed by hand: case, field breaks, a grouped signature and look-alikes are
forgiven where the format allows; the receipt id is read as it is; R1 and R2 share one path."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from stampcard.tenancy.actors import Actor
from stampcard.vouchers import errors
from stampcard.vouchers.models import ClaimedReceipt
from stampcard.vouchers.receipts import (
    check_receipt,
    claim_receipt,
    create_receipt_key,
    parse_receipt_code,
    sign_receipt,
    sign_stamp_receipt,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(business):
    return create_receipt_key(business=business, actor=Actor.system())


def today(business):
    return timezone.localdate(timezone=ZoneInfo(business.time_zone))


def typed_variants(code):
    """How people type a printed code back."""
    version, key_id, *middle, signature = code.split(".")
    grouped = " ".join(signature[i : i + 4] for i in range(0, len(signature), 4))
    folded = signature.replace("O", "0").replace("B", "8").replace("I", "1")
    digits = [m.replace("0", "O").replace("1", "l") if m.isdigit() else m for m in middle]
    return [
        code.lower(),
        f"  {code}  ",
        " ".join((version, key_id, *middle, signature)),
        ", ".join((version, key_id, *middle, signature)),
        ".".join((version, key_id, *middle, grouped)),
        ".".join((version, key_id, *middle, "-".join(grouped.split()))),
        ".".join((version, key_id, *middle, folded)),
        ".".join((version.replace("1", "I").replace("2", "Z"), key_id, *digits, signature)),
        code.replace(".", "\uff0e"),  # a full-width dot from another keyboard
    ]


def test_every_typed_form_of_an_r1_code_is_that_code(business, key):
    code = sign_receipt(business=business, key=key, receipt_id="POS1-0010", amount=35_000)
    for typed in typed_variants(code):
        parsed = parse_receipt_code(typed)
        assert parsed is not None, typed
        assert (parsed.version, parsed.receipt_id, parsed.amount) == (1, "POS1-0010", 35_000)
        assert check_receipt(business=business, code=typed).code.receipt_id == "POS1-0010"


def test_every_typed_form_of_an_r2_code_claims_it_once(card, key):
    business = card.business
    code = sign_stamp_receipt(
        business=business, key=key, order_id="A-1010", stamps=1, issued=today(business)
    )
    variants = typed_variants(code)
    for typed in variants:
        assert check_receipt(business=business, code=typed).expired is False, typed
    actor = Actor.customer(business_id=business.pk)
    assert claim_receipt(business=business, actor=actor, code=variants[-3], card=card).added == 1
    for typed in variants:
        with pytest.raises(errors.ClaimCodeUsed):
            claim_receipt(business=business, actor=actor, code=typed, card=card)
    assert ClaimedReceipt.objects.get().receipt_id == "A-1010"


def test_the_receipt_id_is_not_folded(business, key):
    """O and 0 are both receipt-id characters: a look-alike there is another receipt."""
    code = sign_receipt(business=business, key=key, receipt_id="POS-100", amount=1)
    with pytest.raises(errors.ClaimCodeNotFound):
        check_receipt(business=business, code=code.replace("POS-100", "P0S-100"))


def test_an_expired_code_is_checked_but_not_claimed(card, key):
    business = card.business
    old = today(business) - timedelta(days=key.valid_days + 1)
    code = sign_stamp_receipt(business=business, key=key, order_id="OLD", stamps=1, issued=old)
    assert check_receipt(business=business, code=code).expired is True
    with pytest.raises(errors.ClaimCodeExpired):
        claim_receipt(
            business=business,
            actor=Actor.customer(business_id=business.pk),
            code=code,
            card=card,
        )
    assert not ClaimedReceipt.objects.exists()


def test_a_code_of_another_business_says_so(business, key, other_business):
    theirs = create_receipt_key(business=other_business, actor=Actor.system())
    code = sign_receipt(business=other_business, key=theirs, receipt_id="T-1", amount=1)
    with pytest.raises(errors.ClaimCodeOtherBusiness):
        check_receipt(business=business, code=code)
    assert check_receipt(business=other_business, code=code).code.receipt_id == "T-1"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_parses_or_is_refused_without_error(text):
    parsed = parse_receipt_code(text)
    if parsed is not None:
        # What was read is a code of the documented shape.
        again = parse_receipt_code(parsed.text)
        assert again == parsed


def test_hostile_sizes_are_not_read(business):
    assert parse_receipt_code("R1." + "A" * 100_000) is None
    assert parse_receipt_code(["R1"]) is None
