"""How a program's goal vouchers are redeemed and how long they last, set by the designer."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from stampcard.loyalty.models import Program, RewardKind
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require
from stampcard.vouchers.models import RedemptionMethod, VoucherTemplate
from stampcard.vouchers.services.code_pools import has_free_codes

VOUCHER_FIELDS = (
    "redemption_method",
    "code_display",
    "code_pool",
    "validity",
    "validity_amount",
    "valid_until",
)


def save_goal_voucher_settings(
    *, business: Business, actor: Actor, program: Program, values: Mapping[str, Any]
) -> VoucherTemplate | None:
    """Keep ``VOUCHER_FIELDS`` for the vouchers ``program`` issues at its goal.

    Only for a Smart Voucher reward (otherwise nothing is written and None returned). Asks
    MANAGE_PROGRAMS; refuses with ValidationError a code pool of another business, a
    validity no voucher could have, and Redeem Code without a pool, or with a newly chosen
    pool that has no free code (a pool that ran dry later is the code pool page's warning,
    and does not stop other changes to the card). Call it in the transaction that saved the
    program.
    """
    require(actor, Permission.MANAGE_PROGRAMS, business=business)
    if program.reward_kind != RewardKind.SMART_VOUCHER:
        return None
    with transaction.atomic():
        template = VoucherTemplate.objects.filter(program=program).first() or VoucherTemplate(
            program=program, business_id=program.business_id
        )
        before = (template.pk, template.redemption_method, template.code_pool_id)
        for field in VOUCHER_FIELDS:
            if field in values:
                setattr(template, field, values[field])
        pool = template.code_pool
        if pool is not None and pool.business_id != program.business_id:
            raise ValidationError({"code_pool": _("Choose a code pool of this business.")})
        if template.redemption_method == RedemptionMethod.REDEEM_CODE:
            if pool is None:
                raise ValidationError(
                    {"code_pool": _("Redeem Code vouchers need a code pool to take codes from.")}
                )
            newly_chosen = before != (template.pk, template.redemption_method, pool.pk)
            if newly_chosen and not has_free_codes(pool):
                raise ValidationError(
                    {
                        "code_pool": _(
                            "The code pool “%(pool)s” has no free codes. Generate or import "
                            "codes first, or choose another pool."
                        )
                        % {"pool": pool.name}
                    }
                )
        template.full_clean(exclude=["business", "program", "milestone"])
        template.save()
    return template
