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
fits QR's alphanumeric mode and can be typed.

**Reading a typed code** (``parse_receipt_code``), forgiving where the format allows it and
nowhere else: case does not matter; the fields may be parted by dots, spaces or commas, and
spaces around them do not count; the signature may be typed in groups (spaces or dashes
inside it); the look-alikes of a field whose alphabet has only one of them are read as that
one (``O`` as ``0`` in the numbers and the date, ``I``/``L`` as ``1`` there and in ``R1``,
``Z`` as ``2`` in ``R2``; ``0`` as ``O``, ``8`` as ``B`` and ``1`` as ``I`` in the signature,
where ``I`` and ``L`` are also one letter). A receipt id is read as it is: a POS may use any of
``0-9 A-Z -`` in it, so nothing there can be folded. Anything else that is not this shape, or
whose signature does not match an active key of the business, is refused as
``ClaimCodeNotFound``, never saying which part was wrong; a code that verifies with another
business's key is refused as ``ClaimCodeOtherBusiness``.

Versions 1 and 2 are read, verified and claimed by one path (``check_receipt``,
``claim_receipt``): they differ only in their fields, their message and what a claim adds.
"""

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

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
# How long a version 2 code may stay claimable after its issue date, in days (a leap year).
MIN_VALID_DAYS = 1
MAX_VALID_DAYS = 366
MAX_RECEIPT_ID = 32
SIGNATURE_BYTES = 10
SIGNATURE_LENGTH = 16
# R2 . key . order . 2 digits . 6 digits . 16 base32 characters (version 1 is shorter)
MAX_CODE = 2 + 1 + KEY_ID_LENGTH + 1 + MAX_RECEIPT_ID + 1 + 2 + 1 + 6 + 1 + SIGNATURE_LENGTH
# What may be typed around a code's characters (spaces, dashes in groups): read no further.
_MAX_TYPED = 2 * MAX_CODE

_KEY_ID = re.compile(rf"[{UNAMBIGUOUS_ALPHABET}]{{{KEY_ID_LENGTH}}}", re.ASCII)
_RECEIPT_ID = re.compile(rf"[0-9A-Z-]{{1,{MAX_RECEIPT_ID}}}", re.ASCII)
_AMOUNT = re.compile(r"0|[1-9][0-9]{0,12}", re.ASCII)
_STAMPS = re.compile(r"[1-9][0-9]?", re.ASCII)
_DAY = re.compile(r"[0-9]{6}", re.ASCII)
_SIGNATURE = re.compile(rf"[A-Z2-7]{{{SIGNATURE_LENGTH}}}", re.ASCII)
_FIELD_BREAK = re.compile(r"[.,\s]+")
# Look-alikes read as the one character a field's alphabet has.
_AS_DIGITS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_AS_VERSION = str.maketrans({"I": "1", "L": "1", "Z": "2"})
_AS_BASE32 = str.maketrans({"0": "O", "8": "B", "1": "I", "L": "I", "-": None})
_FIELDS = {1: 4, 2: 5}  # fields before the signature, by version


@dataclass(frozen=True, slots=True)
class ReceiptCode:
    """The parts of a well-formed receipt code of either version, not yet verified.

    Version 1 carries ``amount``; version 2 ``stamps`` and ``issued``. ``receipt_id`` is the
    receipt's id (version 1) or the order's (version 2): one namespace per business.
    """

    version: int
    key_id: str
    receipt_id: str
    signature: str
    amount: int | None = None
    stamps: int | None = None
    issued: date | None = None

    @property
    def text(self) -> str:
        """The code in its printed shape (verified by ``check_receipt``: exactly as printed)."""
        return ".".join((f"R{self.version}", self.key_id, *self._fields(), self.signature))

    def _fields(self) -> tuple[str, ...]:
        if self.version == 1:
            return self.receipt_id, str(self.amount)
        assert self.issued is not None
        return self.receipt_id, str(self.stamps), self.issued.strftime("%y%m%d")

    def message(self, business: Business) -> bytes:
        """The canonical message this code's signature covers, for ``business``."""
        if self.version == 1:
            return receipt_message(
                business_id=business.pk,
                key_id=self.key_id,
                receipt_id=self.receipt_id,
                amount=self.amount or 0,
                currency=business.currency,
            )
        return stamp_receipt_message(
            business_id=business.pk,
            key_id=self.key_id,
            order_id=self.receipt_id,
            stamps=self.stamps or 0,
            issued=self._fields()[2],
        )

    def signed_by(self, key: ReceiptKey, business: Business) -> bool:
        """Whether ``key`` of ``business`` made this signature (compared in constant time)."""
        expected = receipt_signature(key.secret, self.message(business)).translate(_AS_BASE32)
        return hmac.compare_digest(expected, self.signature.translate(_AS_BASE32))


@dataclass(frozen=True, slots=True)
class CheckedReceipt:
    """A receipt code whose signature verified with ``key`` (``code.text`` is then the code
    exactly as printed); ``expired`` past its validity."""

    code: ReceiptCode
    key: ReceiptKey
    expired: bool


def receipt_message(
    *, business_id: int, key_id: str, receipt_id: str, amount: int, currency: str
) -> bytes:
    """The canonical message a receipt code's signature covers."""
    fields = ("stampcard-receipt-v1", str(business_id), key_id, receipt_id, str(amount), currency)
    return "|".join(fields).encode("ascii")


def stamp_receipt_message(
    *, business_id: int, key_id: str, order_id: str, stamps: int, issued: str
) -> bytes:
    """The canonical message a version 2 code's signature covers (``issued`` as YYMMDD)."""
    fields = ("stampcard-receipt-v2", str(business_id), key_id, order_id, str(stamps), issued)
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


def sign_stamp_receipt(
    *, business: Business, key: ReceiptKey, order_id: str, stamps: int, issued: date
) -> str:
    """The version 2 code a POS prints (what a POS does; here for tests and demos)."""
    day = issued.strftime("%y%m%d")
    message = stamp_receipt_message(
        business_id=business.pk, key_id=key.key_id, order_id=order_id, stamps=stamps, issued=day
    )
    return f"R2.{key.key_id}.{order_id}.{stamps}.{day}.{receipt_signature(key.secret, message)}"


def parse_receipt_code(code: object) -> ReceiptCode | None:
    """The parts of ``code`` if it has the shape of a receipt code of either version, else None.

    Bounded before anything else is done with it: a huge input is not read on. Forgiving as
    the module's docstring says (case, field breaks, grouped signature, look-alikes).
    """
    if not isinstance(code, str) or len(code) > _MAX_TYPED:
        return None
    # Full-width letters and digits (a phone's other keyboard) read as their ASCII selves.
    typed = unicodedata.normalize("NFKC", code).upper()
    if not typed.isascii():
        return None
    fields = [field for field in _FIELD_BREAK.split(typed) if field]
    if not fields:
        return None
    version = {"R1": 1, "R2": 2}.get(fields[0].translate(_AS_VERSION))
    if version is None or len(fields) <= _FIELDS[version]:
        return None
    before, signature = fields[1 : _FIELDS[version]], "".join(fields[_FIELDS[version] :])
    key_id = before[0].replace("-", "")
    receipt_id = before[1]
    numbers = [field.replace("-", "").translate(_AS_DIGITS) for field in before[2:]]
    signature = signature.translate(_AS_BASE32)
    if not (
        _KEY_ID.fullmatch(key_id)
        and _RECEIPT_ID.fullmatch(receipt_id)
        and _SIGNATURE.fullmatch(signature)
    ):
        return None
    if version == 1:
        (amount,) = numbers
        if not _AMOUNT.fullmatch(amount) or int(amount) > MAX_MINOR:
            return None
        return ReceiptCode(1, key_id, receipt_id, signature, amount=int(amount))
    stamps, issued = numbers
    if not _STAMPS.fullmatch(stamps) or not _DAY.fullmatch(issued):
        return None
    try:
        day = date(2000 + int(issued[:2]), int(issued[2:4]), int(issued[4:]))
    except ValueError:
        return None
    return ReceiptCode(2, key_id, receipt_id, signature, stamps=int(stamps), issued=day)


def is_receipt_code(code: object) -> bool:
    """Whether ``code`` has the shape of a signed receipt code of either version."""
    return parse_receipt_code(code) is not None


def check_receipt(*, business: Business, code: object) -> CheckedReceipt:
    """Verify a receipt code for ``business`` without claiming it.

    Refuses a code that is not one, or whose signature no active key of ``business`` made,
    or dated more than a day ahead, as ``ClaimCodeNotFound``; one that an active key of
    another business signed as ``ClaimCodeOtherBusiness``. Past its validity it is returned
    with ``expired`` (whether it was claimed is the caller's next question). Writes nothing.
    """
    parsed = parse_receipt_code(code)
    if parsed is None:
        raise errors.ClaimCodeNotFound()
    key = ReceiptKey.objects.filter(
        business=business, key_id=parsed.key_id, revoked_at__isnull=True
    ).first()
    if key is None or not parsed.signed_by(key, business):
        if _signed_elsewhere(parsed, business):
            raise errors.ClaimCodeOtherBusiness()
        raise errors.ClaimCodeNotFound()
    # As the POS printed it: the signature's look-alikes read back as the key made them.
    parsed = replace(parsed, signature=receipt_signature(key.secret, parsed.message(business)))
    expired = False
    if parsed.issued is not None:
        today = timezone.localdate(timezone=ZoneInfo(business.time_zone))
        if parsed.issued > today + timedelta(days=1):
            raise errors.ClaimCodeNotFound()
        expired = today > parsed.issued + timedelta(days=key.valid_days)
    return CheckedReceipt(code=parsed, key=key, expired=expired)


def _signed_elsewhere(parsed: ReceiptCode, business: Business) -> bool:
    """Whether an active key of another business made this signature: the customer then
    holds a real receipt of another shop, and is told so rather than "not valid"."""
    with scopes_disabled():
        keys = (
            ReceiptKey.objects.filter(key_id=parsed.key_id, revoked_at__isnull=True)
            .exclude(business=business)
            .select_related("business")[:20]
        )
        return any(parsed.signed_by(key, key.business) for key in keys)


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


def set_receipt_key_validity(
    *, business: Business, actor: Actor, key: ReceiptKey, days: object
) -> ReceiptKey:
    """Set how many days after its issue date a version 2 code signed with ``key`` stays
    claimable (``valid_days``); codes already printed follow the new number at once.

    Owner only (``MANAGE_BUSINESS``): it decides how long printed receipts are worth stamps.
    Refuses a number outside ``MIN_VALID_DAYS``..``MAX_VALID_DAYS`` (or no whole number at
    all) and a revoked key as ``InvalidReceiptKey``, changing nothing. The key's row is
    locked, and the change is audited with the old and the new number (never the secret).
    """
    require(actor, Permission.MANAGE_BUSINESS, business=business)
    if isinstance(days, bool) or not isinstance(days, int):
        days = None
    if days is None or not MIN_VALID_DAYS <= days <= MAX_VALID_DAYS:
        raise errors.InvalidReceiptKey(
            _("A receipt code stays valid for %(least)d to %(most)d days: type a whole number."),
            least=MIN_VALID_DAYS,
            most=MAX_VALID_DAYS,
        )
    with transaction.atomic():
        locked = ReceiptKey.objects.select_for_update().filter(business=business, pk=key.pk).first()
        if locked is None:
            raise errors.InvalidReceiptKey(_("This receipt key does not exist."))
        if locked.revoked_at is not None:
            raise errors.InvalidReceiptKey(
                _("This key is revoked: codes signed with it no longer verify.")
            )
        before = locked.valid_days
        if before != days:
            ReceiptKey.objects.filter(pk=locked.pk).update(valid_days=days)
            locked.valid_days = days
            record(
                business=business,
                actor=actor,
                action="receipt_key.validity_changed",
                target=locked,
                before=before,
                after=days,
            )
    return locked


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
    """Claim a signed receipt code of either version for ``card``: its stamps are added and
    the receipt is used.

    Needs CLAIM_CODES (a customer for their own card, staff, a scanner or kiosk). The code must
    verify with an active key of ``business`` (``check_receipt``: otherwise
    ``ClaimCodeNotFound`` whatever was wrong, or ``ClaimCodeOtherBusiness``) and, for version
    2, be within its validity (``ClaimCodeExpired``). A version 1 code's amount decides the
    stamps on a card that earns them by amount, and is one stamp on one that earns them per
    visit; the amount is recorded on the ledger row. A version 2 code gives its stamps.

    The receipt's row (unique per business and receipt id) is written in the same transaction
    as the stamps: of parallel claims of one receipt exactly one succeeds and the others get
    ``ClaimCodeUsed``, and a stamp the program's rules refuse leaves the receipt unclaimed.
    """
    require(actor, Permission.CLAIM_CODES, business=business)
    with transaction.atomic():
        checked = check_receipt(business=business, code=code)
        if checked.expired:
            raise errors.ClaimCodeExpired()
        parsed = checked.code
        try:
            # A parallel claim of this receipt waits here on the unique index until the first
            # commits (then fails) or rolls back (then goes on).
            with transaction.atomic():
                claimed = ClaimedReceipt.objects.create(
                    business=business,
                    key=checked.key,
                    receipt_id=parsed.receipt_id,
                    amount=parsed.amount,
                    card=card,
                    claimed_at=timezone.now(),
                )
        except IntegrityError:
            raise errors.ClaimCodeUsed() from None
        what: dict[str, int | None]
        if parsed.amount is not None:
            outcome = add_claimed_stamps(
                business=business, actor=actor, card_id=card.pk, amount=parsed.amount
            )
            what = {"amount": parsed.amount}
        else:
            outcome = add_claimed_stamps(
                business=business, actor=actor, card_id=card.pk, count=parsed.stamps or 1
            )
            what = {"stamps": parsed.stamps}
        publish(
            business_id=business.pk,
            topic=Topic.CLAIM_CLAIMED,
            receipt_id=parsed.receipt_id,
            claimed_receipt_id=claimed.pk,
            card_id=card.pk,
            stamps=outcome.added,
            **({"amount": parsed.amount} if parsed.amount is not None else {}),
        )
        record(
            business=business,
            actor=actor,
            action="receipt.claimed",
            target=claimed,
            receipt_id=parsed.receipt_id,
            **what,
        )
    return outcome
