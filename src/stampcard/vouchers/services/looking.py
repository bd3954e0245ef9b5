"""Looking at a voucher before redeeming it: what it is, and whether it can be redeemed here.

A kiosk shows the customer the voucher they hold up (its title, description and validity)
before asking for the press-and-hold that uses it up; a screen can ask the same of any
voucher. The questions are ``redeeming``'s own (who may redeem it, is it usable now), asked
without writing anything.
"""

from dataclasses import dataclass

from django.utils import timezone

from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import Voucher
from stampcard.vouchers.services.redeeming import (
    find_voucher,
    require_any_redeem,
    require_redeemer,
    usable_at,
    why_not_usable,
)


@dataclass(frozen=True, slots=True)
class VoucherLook:
    """A voucher as ``actor`` may see it; ``refusal`` says why redeeming it now would be
    refused (used, cancelled, expired, not yet valid), None when it would not."""

    voucher: Voucher
    refusal: Refusal | None

    @property
    def redeemable(self) -> bool:
        return self.refusal is None


def look_at_voucher(
    *, business: Business, actor: Actor, token: str | None = None, code: str | None = None
) -> VoucherLook:
    """The voucher found by its token or redeem code, and whether ``actor`` could redeem it
    now. Writes nothing: no redemption, no audit entry, no idempotency record.

    Refuses as ``redeem_voucher`` does before it would write: an actor who may redeem
    nothing (``NotAllowed``, before the voucher is looked up), no such voucher
    (``VoucherNotFound``), a shared redeem code (``AmbiguousCode``), an actor that does not
    fit the voucher's redemption method or lacks its permission. Those are raised and show
    nothing of the voucher; a voucher this actor may redeem but not now is returned with the
    refusal that redeeming it would meet.
    """
    require_any_redeem(business=business, actor=actor)
    voucher = find_voucher(business=business, token=token, code=code)
    require_redeemer(business=business, actor=actor, voucher=voucher)
    now = timezone.now()
    if Voucher.objects.filter(usable_at(now), pk=voucher.pk).exists():
        return VoucherLook(voucher=voucher, refusal=None)
    return VoucherLook(
        voucher=voucher, refusal=why_not_usable(business=business, voucher=voucher, now=now)
    )
