"""Claim codes: one-time stamp codes printed on receipts, bags and delivery inserts."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from stampcard.audit.services import record
from stampcard.loyalty.errors import ProgramNotFound
from stampcard.loyalty.models import Card, Program
from stampcard.loyalty.services import StampOutcome, add_claimed_stamps
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish
from stampcard.storable import UNSTORABLE_TEXT, is_storable
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require
from stampcard.vouchers import errors
from stampcard.vouchers.models import ClaimBatch, ClaimCode
from stampcard.vouchers.redeem_codes import new_code, normalize_code

CLAIM_CODE_LENGTH = 10
MAX_BATCH = 100_000


def create_claim_batch(
    *,
    business: Business,
    actor: Actor,
    program: Program,
    count: int,
    stamps_per_code: int = 1,
    label: str = "",
    expires_at: datetime | None = None,
) -> ClaimBatch:
    """Create ``count`` unique claim codes worth ``stamps_per_code`` stamps each.

    A code may not promise more stamps than the program gives in one visit. Needs
    MANAGE_CODES. All or nothing.
    """
    require(actor, Permission.MANAGE_CODES, business=business)
    if not is_storable(label):
        raise errors.InvalidVoucher(UNSTORABLE_TEXT)
    # The door's scope makes a program the caller fetched this business's; a query by the
    # business keeps a foreign one out whoever calls, so every batch's program is its own.
    if not Program.objects.filter(business=business, pk=program.pk).exists():
        raise ProgramNotFound()
    if not 1 <= count <= MAX_BATCH:
        raise errors.InvalidVoucher(
            _("Create between 1 and %(most)d codes at a time."), most=MAX_BATCH
        )
    if not 1 <= stamps_per_code <= program.max_stamps_per_visit:
        raise errors.InvalidVoucher(
            ngettext_lazy(
                "A code can give at most %(most)d stamp.",
                "A code can give 1 to %(most)d stamps.",
                "most",
            ),
            most=program.max_stamps_per_visit,
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.InvalidVoucher(_("The expiry date has passed."))
    with transaction.atomic():
        batch = ClaimBatch.objects.create(
            business=business,
            program=program,
            label=label.strip(),
            stamps_per_code=stamps_per_code,
            expires_at=expires_at,
        )
        made = 0
        while made < count:
            wanted = {new_code(CLAIM_CODE_LENGTH) for _ in range(count - made)}
            taken = set(
                ClaimCode.objects.filter(business=business, code__in=wanted).values_list(
                    "code", flat=True
                )
            )
            fresh = wanted - taken
            ClaimCode.objects.bulk_create(
                ClaimCode(business=business, batch=batch, code=code) for code in fresh
            )
            made += len(fresh)
        record(
            business=business, actor=actor, action="claim_batch.created", target=batch, count=count
        )
    return batch


def claim_code(*, business: Business, actor: Actor, code: str, card: Card) -> StampOutcome:
    """Claim a one-time code for ``card``: its stamps are added and the code is used up.

    The code is taken by one conditional UPDATE in the same transaction as the stamps, so of
    parallel claims exactly one succeeds (the others get ``ClaimCodeUsed``), and a stamp that
    the program's rules refuse leaves the code unclaimed.

    Needs CLAIM_CODES (a customer for their own card, staff, a scanner or kiosk). The code is
    what authorises its receipt stamps (``add_claimed_stamps``).
    """
    require(actor, Permission.CLAIM_CODES, business=business)
    if not is_storable(code):
        raise errors.ClaimCodeNotFound()
    normalized = normalize_code(code)
    now = timezone.now()
    with transaction.atomic():
        claim = (
            ClaimCode.objects.filter(business=business, code=normalized)
            .select_related("batch")
            .first()
        )
        if claim is None:
            raise errors.ClaimCodeNotFound()
        # The batch's program is this business's, so a card of another business never fits.
        if claim.batch.program_id != card.program_id:
            raise errors.ClaimCodeWrongProgram()
        expires_at = claim.batch.expires_at
        if claim.claimed_at is None and expires_at is not None and expires_at <= now:
            raise errors.ClaimCodeExpired()
        # The condition sits on the row itself (no join), so a parallel claim that waited
        # for this row lock re-checks it and finds the code taken.
        taken = ClaimCode.objects.filter(pk=claim.pk, claimed_at__isnull=True).update(
            claimed_at=now, claimed_by=card
        )
        if taken != 1:
            raise errors.ClaimCodeUsed()
        outcome = add_claimed_stamps(
            business=business, actor=actor, card_id=card.pk, count=claim.batch.stamps_per_code
        )
        publish(
            business_id=business.pk,
            topic=Topic.CLAIM_CLAIMED,
            claim_id=claim.pk,
            card_id=card.pk,
            stamps=claim.batch.stamps_per_code,
        )
        record(business=business, actor=actor, action="claim_code.claimed", target=claim)
    return outcome
