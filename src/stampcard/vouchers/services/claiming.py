"""Claiming a printed code: a claim code of a printed batch or a receipt code a POS signed.

One place for both kinds, used by the public claim page (the customer, onto their own card)
and by the staff scanner (onto the card on screen): ``find_claimable`` says what a code is
and whether it can still be claimed, writing nothing; ``claim_printed_code`` claims it onto a
card through ``vouchers.claims.claim_code`` or ``vouchers.receipts.claim_receipt``, whose
guarantees hold (used once whatever races, the program's rules, audited).
"""

from dataclasses import dataclass

from django.utils import timezone

from stampcard.loyalty.models import Card
from stampcard.loyalty.services import StampOutcome
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.vouchers import errors, receipts
from stampcard.vouchers.claims import claim_code
from stampcard.vouchers.models import ClaimCode, ClaimedReceipt
from stampcard.vouchers.redeem_codes import UNAMBIGUOUS_ALPHABET, normalize_code

# Longer than any claim code typed with spaces or dashes between its groups.
_MAX_TYPED_CLAIM_CODE = 64


@dataclass(frozen=True, slots=True)
class Claimable:
    """A printed code that was found: a batch's claim code or a verified receipt code."""

    code: str  # as stored or printed: what the claim page's URL carries
    receipt: bool
    stamps: int | None  # what it gives; None: a receipt's amount decides on the card
    amount: int | None  # a version 1 receipt's amount, in minor units
    program_id: int | None  # a claim code's program; None: any of the business's
    claimed_by_id: int | None
    claimed: bool
    expired: bool


def claim_code_shape(typed: object) -> str:
    """A typed or scanned claim code as stored, or "" when it cannot be one."""
    if not isinstance(typed, str) or len(typed) > _MAX_TYPED_CLAIM_CODE or not typed.isascii():
        return ""
    code = normalize_code(typed)
    return code if code and all(c in UNAMBIGUOUS_ALPHABET for c in code) else ""


def find_claimable(*, business: Business, code: object) -> Claimable:
    """The business's claim code or receipt code ``code`` (typed or scanned, forgiving as
    each kind allows), claimed or not, expired or not. Writes nothing.

    Refuses a code that is none of the business's as ``ClaimCodeNotFound``, and a receipt
    code another business signed as ``ClaimCodeOtherBusiness`` (``receipts.check_receipt``).
    """
    if receipts.is_receipt_code(code):
        return _receipt(business, code)
    return _claim_code(business, code)


def _claim_code(business: Business, typed: object) -> Claimable:
    code = claim_code_shape(typed)
    found = (
        ClaimCode.objects.filter(business=business, code=code).select_related("batch").first()
        if code
        else None
    )
    if found is None:
        raise errors.ClaimCodeNotFound()
    expires_at = found.batch.expires_at
    return Claimable(
        code=found.code,
        receipt=False,
        stamps=found.batch.stamps_per_code,
        amount=None,
        program_id=found.batch.program_id,
        claimed_by_id=found.claimed_by_id,
        claimed=found.claimed_at is not None,
        expired=expires_at is not None and expires_at <= timezone.now(),
    )


def _receipt(business: Business, typed: object) -> Claimable:
    checked = receipts.check_receipt(business=business, code=typed)
    used = (
        ClaimedReceipt.objects.filter(business=business, receipt_id=checked.code.receipt_id)
        .values("card_id")
        .first()
    )
    return Claimable(
        code=checked.code.text,
        receipt=True,
        stamps=checked.code.stamps,
        amount=checked.code.amount,
        program_id=None,
        claimed_by_id=used["card_id"] if used else None,
        claimed=used is not None,
        expired=checked.expired,
    )


def claim_printed_code(*, business: Business, actor: Actor, code: str, card: Card) -> StampOutcome:
    """Claim a claim code or a receipt code onto ``card``: ``claim_receipt`` for a receipt
    code, ``claim_code`` otherwise, with their guarantees and refusals (used at most once
    whatever races, ``CLAIM_CODES`` asked first, the program's rules, audited)."""
    if receipts.is_receipt_code(code):
        return receipts.claim_receipt(business=business, actor=actor, code=code, card=card)
    return claim_code(business=business, actor=actor, code=code, card=card)
