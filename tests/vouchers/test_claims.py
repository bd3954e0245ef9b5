from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.actors import Actor
from stampcard.vouchers import errors
from stampcard.vouchers.claims import claim_code, create_claim_batch
from stampcard.vouchers.models import ClaimCode
from tests import factories


def customer_of(card):
    """The customer, as their card's page (the customer door) admits them."""
    return Actor.customer(business_id=card.business_id)


def batch_for(program, **kwargs):
    fields = {"count": 1} | kwargs
    manager = factories.member_actor(program.business, role="manager")
    return create_claim_batch(business=program.business, actor=manager, program=program, **fields)


def test_a_batch_holds_unique_printable_codes(program):
    batch = batch_for(program, count=500, label="Receipts November")
    codes = list(batch.codes.values_list("code", flat=True))
    assert len(set(codes)) == 500
    assert all(len(c) == 10 for c in codes)


def test_claiming_adds_the_stamps_and_uses_the_code_up(card):
    card.program.max_stamps_per_visit = 2
    card.program.save()
    code = batch_for(card.program, stamps_per_code=2).codes.get().code
    outcome = claim_code(
        business=card.business, actor=customer_of(card), code=code.lower(), card=card
    )
    assert outcome.added == 2
    event = StampEvent.objects.get(card=card)
    assert event.source == "receipt"
    claim = ClaimCode.objects.get(code=code)
    assert claim.claimed_by == card
    with pytest.raises(errors.ClaimCodeUsed):
        claim_code(business=card.business, actor=customer_of(card), code=code, card=card)


def test_a_refused_stamp_leaves_the_code_unclaimed(card):
    code = batch_for(card.program).codes.get().code
    card.program.status = "archived"
    card.program.save()
    with pytest.raises(loyalty_errors.ProgramInactive):
        claim_code(business=card.business, actor=customer_of(card), code=code, card=card)
    assert ClaimCode.objects.get(code=code).claimed_at is None


def test_expired_unknown_and_foreign_codes(card, business):
    expired = batch_for(card.program, expires_at=timezone.now() + timedelta(seconds=1))
    type(expired).objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    with pytest.raises(errors.ClaimCodeExpired):
        claim_code(
            business=business, actor=customer_of(card), code=expired.codes.get().code, card=card
        )
    with pytest.raises(errors.ClaimCodeNotFound):
        claim_code(business=business, actor=customer_of(card), code="NOSUCHCODE", card=card)
    other_program = factories.ProgramFactory(business=business)
    foreign = batch_for(other_program).codes.get().code
    with pytest.raises(errors.ClaimCodeWrongProgram):
        claim_code(business=business, actor=customer_of(card), code=foreign, card=card)
    assert not StampEvent.objects.exists()


def test_a_code_cannot_promise_more_than_a_visit_gives(program):
    with pytest.raises(errors.InvalidVoucher):
        batch_for(program, stamps_per_code=program.max_stamps_per_visit + 1)
    with pytest.raises(errors.InvalidVoucher):
        batch_for(program, count=0)
