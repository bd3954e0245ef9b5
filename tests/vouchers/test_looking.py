"""Looking at a voucher: what it is and whether it can be redeemed now, with nothing written."""

from datetime import timedelta

import pytest
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.idempotency.models import IdempotencyKey
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device
from stampcard.vouchers import errors
from stampcard.vouchers.models import Voucher
from stampcard.vouchers.services import look_at_voucher, redeem_voucher
from tests import factories
from tests.vouchers.test_vouchers import issue, staff_of


def device_of(business, kind):
    device = Device.objects.create(business=business, name=kind, kind=kind, token_hash=kind)
    return Actor.for_device(device)


def test_a_usable_voucher_is_redeemable_and_nothing_is_written(business):
    voucher = issue(business, description="One cookie of your choice")
    audited = AuditEntry.objects.count()
    look = look_at_voucher(business=business, actor=staff_of(business), token=voucher.token)
    assert look.redeemable
    assert look.refusal is None
    assert (look.voucher.title, look.voucher.description) == (
        "Free coffee",
        "One cookie of your choice",
    )
    assert Voucher.objects.get().status == "active"
    assert AuditEntry.objects.count() == audited
    assert not IdempotencyKey.objects.exists()


def test_a_self_redeem_voucher_looked_at_by_a_kiosk(business):
    voucher = issue(business, redemption_method="self")
    look = look_at_voucher(
        business=business, actor=device_of(business, "kiosk"), token=voucher.token
    )
    assert look.redeemable


@pytest.mark.parametrize(
    ("change", "refusal", "says"),
    [
        ({"status": "redeemed", "redeemed_at": timezone.now()}, errors.VoucherAlreadyRedeemed,
         "This voucher was already redeemed on "),
        ({"valid_until": timezone.now() - timedelta(hours=1)}, errors.VoucherExpired,
         "This voucher expired on "),
        ({"valid_from": timezone.now() + timedelta(days=2)}, errors.VoucherNotYetValid,
         "This voucher is valid from "),
        ({"status": "void"}, errors.VoucherVoid, "This voucher was cancelled."),
    ],
)  # fmt: skip
def test_a_voucher_that_cannot_be_used_now_says_why_as_redeeming_would(
    business, change, refusal, says
):
    voucher = issue(business)
    Voucher.objects.filter(pk=voucher.pk).update(**change)
    staff = staff_of(business)
    look = look_at_voucher(business=business, actor=staff, token=voucher.token)
    assert not look.redeemable
    assert isinstance(look.refusal, refusal)
    assert str(look.refusal.message).startswith(says)
    # Redeeming it would meet the same refusal, word for word.
    with pytest.raises(refusal) as redeemed:
        redeem_voucher(business=business, actor=staff, token=voucher.token)
    assert redeemed.value.message == look.refusal.message


def test_a_redeem_code_is_looked_up_as_redeeming_does(business):
    issue(business, redemption_method="redeem_code", code="CAKE-4821")
    look = look_at_voucher(business=business, actor=staff_of(business), code=" CAKE-4821 ")
    assert look.redeemable
    with pytest.raises(errors.VoucherNotFound):
        look_at_voucher(business=business, actor=staff_of(business), code="CAKE-0000")


def test_who_may_not_redeem_it_learns_nothing_of_it(business):
    staff_scan = issue(business)
    own = issue(business, redemption_method="self")
    # The staff's scanner does not confirm for the holder.
    with pytest.raises(errors.WrongRedemptionMethod):
        look_at_voucher(business=business, actor=device_of(business, "scanner"), token=own.token)
    # A kiosk is not the staff's scanner: the voucher is not shown to it.
    with pytest.raises(errors.StaffMustScan):
        look_at_voucher(
            business=business, actor=device_of(business, "kiosk"), token=staff_scan.token
        )
    # An Autopilot station may redeem nothing: refused before the voucher is looked up.
    with pytest.raises(NotAllowed):
        look_at_voucher(business=business, actor=device_of(business, "autopilot"), token="x" * 43)


def test_a_voucher_of_another_business_is_not_found(business, other_business):
    foreign = issue(other_business)
    with pytest.raises(errors.VoucherNotFound):
        look_at_voucher(business=business, actor=staff_of(business), token=foreign.token)


def test_a_voucher_issued_to_a_card_shows_its_holder_and_stays_active(business, card):
    voucher = issue(business, card=card)
    look = look_at_voucher(
        business=business,
        actor=factories.member_actor(business, role="manager"),
        token=voucher.token,
    )
    assert look.voucher.card == card
    assert Voucher.objects.get().status == "active"
