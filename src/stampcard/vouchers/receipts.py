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

**The offline stamp code** (version 2), for a POS that gives stamps, not amounts::

    R2.<key id>.<order id>.<stamps>.<issue date>.<signature>

- key id and order id: as the key id and receipt id above (an order id is claimed once per
  business, whichever version or key signed it).
- stamps: how many stamps, ``1`` to ``99`` without leading zeros; the program's per-visit
  maximum still applies when it is claimed.
- issue date: the day the POS printed it, in the business's time zone, as ``YYMMDD``
  (2026-12-01 is ``261201``). It is claimable from that day until the key's ``valid_days``
  (30 unless changed) have passed: printed on the 1st with 30 days, the 31st is its last day.
  A date more than a day ahead is refused as forged; one past its validity as expired.
- signature: as in version 1, over::

    stampcard-receipt-v2|<business id>|<key id>|<order id>|<stamps>|<issue date>

Worked example (checked by ``tests/vouchers/test_receipts_r2.py``): business 42, key id
``K7M2QX`` with the secret ``example-secret-do-not-use``, order ``A1234`` for 2 stamps printed
on 2026-12-01::

    message: stampcard-receipt-v2|42|K7M2QX|A1234|2|261201
    code:    R2.K7M2QX.A1234.2.261201.7OLS4DYG77Y4FXYE

A short order id keeps the code about 40 characters, which a customer can type.

A version 1 code is at most 65 characters (a version 2 code 69) of ``0-9 A-Z - .``, so it
fits QR's alphanumeric mode and can be typed. It is read without case and without surrounding
spaces; anything else that is not exactly this shape, or whose signature does not match an
active key of the business, is refused as ``ClaimCodeNotFound``, never saying which part was
wrong.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

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


_CODE_V2 = re.compile(
    rf"R2\.([{UNAMBIGUOUS_ALPHABET}]{{{KEY_ID_LENGTH}}})"
    rf"\.([0-9A-Z-]{{1,{MAX_RECEIPT_ID}}})"
    r"\.([1-9][0-9]?)"
    r"\.([0-9]{6})"
    r"\.([A-Z2-7]{16})",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class StampReceiptCode:
    """The parts of a well-formed version 2 code, not yet verified."""

    key_id: str
    order_id: str
    stamps: int
    issued: date
    issued_text: str
    signature: str


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


def stamp_receipt_message(
    *, business_id: int, key_id: str, order_id: str, stamps: int, issued: str
) -> bytes:
    """The canonical message a version 2 code's signature covers (``issued`` as YYMMDD)."""
    fields = ("stampcard-receipt-v2", str(business_id), key_id, order_id, str(stamps), issued)
    return "|".join(fields).encode("ascii")


def sign_stamp_receipt(
    *, business: Business, key: ReceiptKey, order_id: str, stamps: int, issued: date
) -> str:
    """The version 2 code a POS prints (what a POS does; here for tests and demos)."""
    day = issued.strftime("%y%m%d")
    message = stamp_receipt_message(
        business_id=business.pk, key_id=key.key_id, order_id=order_id, stamps=stamps, issued=day
    )
    return f"R2.{key.key_id}.{order_id}.{stamps}.{day}.{receipt_signature(key.secret, message)}"


def parse_stamp_receipt_code(code: object) -> StampReceiptCode | None:
    """The parts of ``code`` if it has the shape of a version 2 code, else None."""
    if not isinstance(code, str) or len(code) > MAX_CODE + 64 or not code.isascii():
        return None
    match = _CODE_V2.fullmatch(code.strip().upper())
    if match is None:
        return None
    key_id, order_id, stamps, issued, signature = match.groups()
    try:
        day = date(2000 + int(issued[:2]), int(issued[2:4]), int(issued[4:]))
    except ValueError:
        return None
    return StampReceiptCode(key_id, order_id, int(stamps), day, issued, signature)


def is_receipt_code(code: object) -> bool:
    """Whether ``code`` has the shape of a signed receipt code of either version."""
    return parse_receipt_code(code) is not None or parse_stamp_receipt_code(code) is not None


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
    stamped = parse_stamp_receipt_code(code)
    if stamped is not None:
        return _claim_stamp_receipt(business=business, actor=actor, parsed=stamped, card=card)
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


def _claim_stamp_receipt(
    *, business: Business, actor: Actor, parsed: StampReceiptCode, card: Card
) -> StampOutcome:
    """A version 2 code: verified, within its validity, claimed once, its stamps added."""
    with transaction.atomic():
        key = ReceiptKey.objects.filter(
            business=business, key_id=parsed.key_id, revoked_at__isnull=True
        ).first()
        if key is None:
            raise errors.ClaimCodeNotFound()
        message = stamp_receipt_message(
            business_id=business.pk,
            key_id=key.key_id,
            order_id=parsed.order_id,
            stamps=parsed.stamps,
            issued=parsed.issued_text,
        )
        if not hmac.compare_digest(receipt_signature(key.secret, message), parsed.signature):
            raise errors.ClaimCodeNotFound()
        today = timezone.localdate(timezone=ZoneInfo(business.time_zone))
        if parsed.issued > today + timedelta(days=1):
            raise errors.ClaimCodeNotFound()
        if today > parsed.issued + timedelta(days=key.valid_days):
            raise errors.ClaimCodeExpired()
        try:
            with transaction.atomic():
                claimed = ClaimedReceipt.objects.create(
                    business=business,
                    key=key,
                    receipt_id=parsed.order_id,
                    amount=None,
                    card=card,
                    claimed_at=timezone.now(),
                )
        except IntegrityError:
            raise errors.ClaimCodeUsed() from None
        outcome = add_claimed_stamps(
            business=business, actor=actor, card_id=card.pk, count=parsed.stamps
        )
        publish(
            business_id=business.pk,
            topic=Topic.CLAIM_CLAIMED,
            receipt_id=parsed.order_id,
            claimed_receipt_id=claimed.pk,
            card_id=card.pk,
            stamps=outcome.added,
        )
        record(
            business=business,
            actor=actor,
            action="receipt.claimed",
            target=claimed,
            receipt_id=parsed.order_id,
            stamps=parsed.stamps,
        )
    return outcome
