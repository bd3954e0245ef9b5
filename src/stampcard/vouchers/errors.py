"""Why a voucher, a redeem code or a claim code was refused."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from stampcard.refusals import Refusal


class VoucherNotFound(Refusal):
    code = "voucher_not_found"
    default_message = _("No voucher matches this code.")
    http_status = 404


class VoucherAlreadyRedeemed(Refusal):
    code = "already_used"
    default_message = _("This voucher was already redeemed on %(when)s.")


class VoucherExpired(Refusal):
    code = "voucher_expired"
    default_message = _("This voucher expired on %(when)s.")


class VoucherNotYetValid(Refusal):
    code = "voucher_not_yet_valid"
    default_message = _("This voucher is valid from %(when)s.")


class VoucherVoid(Refusal):
    code = "voucher_void"
    default_message = _("This voucher was cancelled.")


class AmbiguousCode(Refusal):
    code = "ambiguous_code"
    default_message = _("Several vouchers share this code. Scan the voucher's own QR code.")


class WrongRedemptionMethod(Refusal):
    code = "wrong_redemption_method"
    default_message = _("This voucher is redeemed another way: %(method)s.")
    http_status = 403


class StaffMustScan(Refusal):
    """A Staff-Scan voucher shown to a self-service kiosk: only the staff's scanner takes it."""

    code = "staff_scan_only"
    default_message = _(
        "A team member scans this voucher to redeem it. Please show it at the counter."
    )
    http_status = 403


class InvalidVoucher(Refusal):
    code = "invalid_voucher"
    http_status = 400


class InvalidReceiptKey(Refusal):
    """A change to a receipt key that cannot be made: the sentence says why."""

    code = "invalid_receipt_key"
    http_status = 400


class PoolExhausted(Refusal):
    code = "pool_exhausted"
    default_message = _("The code pool “%(pool)s” has no codes left. Import or generate more.")


@dataclass(frozen=True, slots=True)
class BadLine:
    """One line of an import that holds no valid code: its number, what it held, why."""

    line: int
    value: str
    problem: str | Promise


class InvalidCodeImport(Refusal):
    """An import refused as a whole; ``bad_lines`` names the first lines that are wrong."""

    code = "invalid_import"
    http_status = 400

    def __init__(
        self,
        message: str | Promise | None = None,
        *,
        bad_lines: Sequence[BadLine] = (),
        **params: Any,
    ) -> None:
        super().__init__(message, **params)
        self.bad_lines = list(bad_lines)


class ClaimCodeNotFound(Refusal):
    code = "claim_code_not_found"
    default_message = _("This code is not valid. Check it and try again.")
    http_status = 404


class ClaimCodeUsed(Refusal):
    code = "already_used"
    default_message = _("This code has already been used.")


class ClaimCodeExpired(Refusal):
    code = "claim_code_expired"
    default_message = _("This code has expired.")


class ClaimCodeWrongProgram(Refusal):
    code = "claim_code_wrong_program"
    default_message = _("This code is for another stamp card.")


class ClaimCodeOtherBusiness(Refusal):
    code = "claim_code_wrong_business"
    default_message = _("This code is from another business. Claim it where you got it.")
