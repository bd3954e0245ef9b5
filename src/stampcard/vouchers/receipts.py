"""Receipt codes: a POS signs, on each receipt, the receipt's id and the amount spent.

A printed claim code cannot know what a customer spent; a POS can. It prints on each receipt a
short code that it signs itself with one of the business's receipt keys, and the customer (or
staff) claims it for a card: the stamps follow the amount (on a card that earns stamps by
amount) and the amount is recorded on the ledger row. Each receipt is claimed at most once.

**Setting up a POS.** The owner creates a key (``create_receipt_key``) and gives the POS four
values: the key id, the secret, the business id and the business's currency. Keys rotate: make
a new key, move the POS to it, then revoke the old one (``revoke_receipt_key``). A code signed
with a revoked key no longer verifies, claimed or not.

**The code** (version 1)::

    R1.<key id>.<receipt id>.<amount>.<signature>

- ``R1``: the format and its version, as is.
- key id: the 6 characters the key was given (``23456789ABCDEFGHJKMNPQRSTWXYZ``).
- receipt id: the POS's id for the receipt, 1 to 32 characters of ``0-9``, ``A-Z`` and ``-``.
  Upper case only: a code is read without case, so ``a1`` and ``A1`` are one receipt. Unique
  per business: a receipt id is claimed once, whichever key signed it.
- amount: the total in minor units of the business's currency (satang, cents; yen have
  none) as decimal digits without a sign or leading zeros (``0`` for nothing), at most
  ``money.MAX_MINOR`` (10^12). 350 baht is ``35000``.
- signature: HMAC-SHA256 keyed with the secret's ASCII bytes over the message below, its
  first 10 bytes encoded in RFC 4648 base32 (upper case, 16 characters, no padding).

The message is these six fields joined by ``|``, as ASCII, without a final newline::

    stampcard-receipt-v1|<business id>|<key id>|<receipt id>|<amount>|<currency>

with the business id in decimal and the currency as its ISO 4217 code (``THB``). Worked example
(checked by ``tests/vouchers/test_receipts.py``): business 42 in THB, key id ``K7M2QX`` with the
secret ``example-secret-do-not-use``, receipt ``POS1-000123`` of 350.00 baht::

    message: stampcard-receipt-v1|42|K7M2QX|POS1-000123|35000|THB
    code:    R1.K7M2QX.POS1-000123.35000.MWUD2XTN23COSSJU

The whole code is at most 65 characters of ``0-9 A-Z - .``, so it fits QR's alphanumeric mode
and can be typed. It is read without case and without surrounding spaces; anything else that is
not exactly this shape, or whose signature does not match an active key of the business, is
refused as ``ClaimCodeNotFound``, never saying which part was wrong.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from stampcard.audit.services import record
from stampcard.loyalty.models import Card
from stampcard.loyalty.services import StampOutcome, add_claimed_stamps
from stampcard.money import MAX_MINOR
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require
from stampcard.tokens import new_secret
from stampcard.vouchers import errors
from stampcard.vouchers.models import ClaimedReceipt, ReceiptKey
from stampcard.vouchers.redeem_codes import UNAMBIGUOUS_ALPHABET, new_code

KEY_ID_LENGTH = 6
MAX_RECEIPT_ID = 32
SIGNATURE_BYTES = 10
# R1 . key . receipt . 13 digits . 16 base32 characters
MAX_CODE = 2 + 1 + KEY_ID_LENGTH + 1 + MAX_RECEIPT_ID + 1 + 13 + 1 + 16
_CODE = re.compile(
    rf"R1\.([{UNAMBIGUOUS_ALPHABET}]{{{KEY_ID_LENGTH}}})"
    rf"\.([0-9A-Z-]{{1,{MAX_RECEIPT_ID}}})"
    r"\.(0|[1-9][0-9]{0,12})"
    r"\.([A-Z2-7]{16})",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class ReceiptCode:
    """The parts of a well-formed receipt code, not yet verified."""

    key_id: str
    receipt_id: str
    amount: int
    signature: str


def receipt_message(
    *, business_id: int, key_id: str, receipt_id: str, amount: int, currency: str
) -> bytes:
    """The canonical message a receipt code's signature covers."""
    fields = ("stampcard-receipt-v1", str(business_id), key_id, receipt_id, str(amount), currency)
    return "|".join(fields).encode("ascii")


def receipt_signature(secret: str, message: bytes) -> str:
    """The truncated HMAC-SHA256 of ``message``, in base32."""
    digest = hmac.new(secret.encode("ascii"), message, hashlib.sha256).digest()
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def sign_receipt(*, business: Business, key: ReceiptKey, receipt_id: str, amount: int) -> str:
    """The code a POS prints for this receipt (what a POS does; here for tests and demos)."""
    message = receipt_message(
        business_id=business.pk,
        key_id=key.key_id,
        receipt_id=receipt_id,
        amount=amount,
        currency=business.currency,
    )
    signature = receipt_signature(key.secret, message)
    return f"R1.{key.key_id}.{receipt_id}.{amount}.{signature}"


def parse_receipt_code(code: object) -> ReceiptCode | None:
    """The parts of ``code`` if it has the shape of a receipt code, else None.

    Bounded before anything else is done with it: a huge or non-ASCII input is not read on.
    """
    if not isinstance(code, str) or len(code) > MAX_CODE + 64 or not code.isascii():
        return None
    match = _CODE.fullmatch(code.strip().upper())
    if match is None:
        return None
    key_id, receipt_id, amount, signature = match.groups()
    if int(amount) > MAX_MINOR:
        return None
    return ReceiptCode(key_id, receipt_id, int(amount), signature)


def create_receipt_key(*, business: Business, actor: Actor) -> ReceiptKey:
    """A new signing key for the business's POS; ``key.secret`` is to be shown once.

    Needs MANAGE_CODES. The business's other keys stay valid until revoked.
    """
    require(actor, Permission.MANAGE_CODES, business=business)
    with transaction.atomic():
        taken = set(ReceiptKey.objects.filter(business=business).values_list("key_id", flat=True))
        key_id = new_code(KEY_ID_LENGTH)
        while key_id in taken:
            key_id = new_code(KEY_ID_LENGTH)
        key = ReceiptKey.objects.create(business=business, key_id=key_id, secret=new_secret())
        record(business=business, actor=actor, action="receipt_key.created", target=key)
    return key


def revoke_receipt_key(*, business: Business, actor: Actor, key: ReceiptKey) -> None:
    """Codes signed with ``key`` no longer verify. Needs MANAGE_CODES; revoking twice is fine."""
    require(actor, Permission.MANAGE_CODES, business=business)
    with transaction.atomic():
        revoked = ReceiptKey.objects.filter(
            business=business, pk=key.pk, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if revoked:
            record(business=business, actor=actor, action="receipt_key.revoked", target=key)


def claim_receipt(*, business: Business, actor: Actor, code: str, card: Card) -> StampOutcome:
    """Claim a signed receipt code for ``card``: its stamps are added and the receipt is used.

    Needs CLAIM_CODES (a customer for their own card, staff, a scanner or kiosk). The code must
    verify with an active key of ``business``; otherwise ``ClaimCodeNotFound``, whatever was
    wrong. On a card that earns stamps by amount the amount decides how many; on one that
    earns them per visit the receipt is one stamp. Either way the amount is recorded on the
    ledger row.

    The receipt's row (unique per business and receipt id) is written in the same transaction
    as the stamps: of parallel claims of one receipt exactly one succeeds and the others get
    ``ClaimCodeUsed``, and a stamp the program's rules refuse leaves the receipt unclaimed.
    """
    require(actor, Permission.CLAIM_CODES, business=business)
    parsed = parse_receipt_code(code)
    if parsed is None:
        raise errors.ClaimCodeNotFound()
    with transaction.atomic():
        key = ReceiptKey.objects.filter(
            business=business, key_id=parsed.key_id, revoked_at__isnull=True
        ).first()
        if key is None:
            raise errors.ClaimCodeNotFound()
        message = receipt_message(
            business_id=business.pk,
            key_id=key.key_id,
            receipt_id=parsed.receipt_id,
            amount=parsed.amount,
            currency=business.currency,
        )
        if not hmac.compare_digest(receipt_signature(key.secret, message), parsed.signature):
            raise errors.ClaimCodeNotFound()
        try:
            # A parallel claim of this receipt waits here on the unique index until the first
            # commits (then fails) or rolls back (then goes on).
            with transaction.atomic():
                claimed = ClaimedReceipt.objects.create(
                    business=business,
                    key=key,
                    receipt_id=parsed.receipt_id,
                    amount=parsed.amount,
                    card=card,
                    claimed_at=timezone.now(),
                )
        except IntegrityError:
            raise errors.ClaimCodeUsed() from None
        outcome = add_claimed_stamps(
            business=business, actor=actor, card_id=card.pk, amount=parsed.amount
        )
        publish(
            business_id=business.pk,
            topic=Topic.CLAIM_CLAIMED,
            receipt_id=parsed.receipt_id,
            claimed_receipt_id=claimed.pk,
            card_id=card.pk,
            stamps=outcome.added,
            amount=parsed.amount,
        )
        record(
            business=business,
            actor=actor,
            action="receipt.claimed",
            target=claimed,
            receipt_id=parsed.receipt_id,
            amount=parsed.amount,
        )
    return outcome
