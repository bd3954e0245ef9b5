"""Writes of the vouchers app: issuing, redeeming, and filling the code pools.

Every consumption (a voucher redeemed, a pooled code handed out) is one conditional write
that cannot succeed twice, whatever runs in parallel. Each module is one job: ``issuing``
(by hand, or the reward at a card's goal), ``redeeming`` (and voiding), ``looking`` (the
same questions as redeeming, read only) and ``code_pools``.
"""

from stampcard.vouchers.redeem_codes import POOL_CODE_PATTERN
from stampcard.vouchers.services.code_pools import (
    MAX_CODES_PER_CALL,
    MAX_IMPORT_BYTES,
    ImportResult,
    create_code_pool,
    generate_codes,
    import_codes,
)
from stampcard.vouchers.services.issuing import (
    issue_goal_voucher,
    issue_manual_voucher,
    issue_voucher,
)
from stampcard.vouchers.services.looking import VoucherLook, look_at_voucher
from stampcard.vouchers.services.redeeming import REDEEMERS, redeem_voucher, void_voucher
from stampcard.vouchers.validity import MAX_VALIDITY, ValidityRule

__all__ = [
    "MAX_CODES_PER_CALL",
    "MAX_IMPORT_BYTES",
    "MAX_VALIDITY",
    "POOL_CODE_PATTERN",
    "REDEEMERS",
    "ImportResult",
    "ValidityRule",
    "VoucherLook",
    "create_code_pool",
    "generate_codes",
    "import_codes",
    "issue_goal_voucher",
    "issue_manual_voucher",
    "issue_voucher",
    "look_at_voucher",
    "redeem_voucher",
    "void_voucher",
]
