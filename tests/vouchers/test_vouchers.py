from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.idempotency.services import AlreadyDone
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device
from stampcard.vouchers import errors
from stampcard.vouchers.models import Validity, Voucher, VoucherOrigin
from stampcard.vouchers.services import (
    ValidityRule,
    issue_voucher,
    redeem_voucher,
    void_voucher,
)
from tests import factories


def staff_of(business):
    """A member at the counter (staff role), as the dashboard door admits them."""
    return factories.member_actor(business, role="staff")


def actor_of(business, who):
    if who == "customer":
        return Actor.customer(business_id=business.pk)
    if who == "scanner":
        device = Device.objects.create(business=business, name="Till", kind=who, token_hash="t")
        return Actor.for_device(device)
    return staff_of(business)


def issue(business, **kwargs):
    fields = {
        "title": "Free coffee",
        "origin": VoucherOrigin.MANUAL,
        "redemption_method": "staff_scan",
    } | kwargs
    manager = factories.member_actor(business, role="manager")
    return issue_voucher(business=business, actor=manager, **fields)


START = datetime(2026, 1, 31, 10, 0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("rule", "until"),
    [
        (ValidityRule(), None),
        (
            ValidityRule(kind=Validity.DAYS, amount=7),
            datetime(2026, 2, 7, 10, 0, tzinfo=START.tzinfo),
        ),
        # A month after 31 January is the last day of February.
        (
            ValidityRule(kind=Validity.MONTHS, amount=1),
            datetime(2026, 2, 28, 10, 0, tzinfo=START.tzinfo),
        ),
        # A fixed date lasts to the end of that day where the business is.
        (
            ValidityRule(kind=Validity.FIXED_DATE, until=date(2026, 3, 1)),
            datetime(2026, 3, 2, 0, 0, tzinfo=ZoneInfo("Asia/Bangkok")),
        ),
    ],
)
def test_validity_rules(rule, until):
    assert rule.valid_until(start=START, time_zone="Asia/Bangkok") == until


def test_months_count_on_the_business_calendar():
    # 05:00 on 31 March in Bangkok is still 30 March in UTC.
    start = datetime(2026, 3, 31, 5, 0, tzinfo=ZoneInfo("Asia/Bangkok"))
    until = ValidityRule(kind=Validity.MONTHS, amount=1).valid_until(
        start=start.astimezone(ZoneInfo("UTC")), time_zone="Asia/Bangkok"
    )
    assert until == datetime(2026, 4, 30, 5, 0, tzinfo=ZoneInfo("Asia/Bangkok"))


@pytest.mark.parametrize(
    "rule",
    [
        ValidityRule(kind=Validity.DAYS),
        ValidityRule(kind=Validity.MONTHS, amount=0),
        ValidityRule(kind=Validity.FIXED_DATE),
        ValidityRule(kind=Validity.FIXED_DATE, until=date(2025, 1, 1)),
        ValidityRule(kind=Validity.DAYS, amount=10_000_000),
        ValidityRule(kind=Validity.MONTHS, amount=200_000),
    ],
)
def test_impossible_validity_is_refused(business, rule):
    with pytest.raises(errors.InvalidVoucher):
        issue(business, validity=rule)
    assert not Voucher.objects.exists()


def test_issue_and_redeem_once(business, card):
    voucher = issue(business, card=card, description="  Any size  ")
    assert (voucher.status, voucher.card, voucher.description) == ("active", card, "Any size")
    assert len(voucher.token) >= 32
    redeemed = redeem_voucher(business=business, actor=staff_of(business), token=voucher.token)
    assert redeemed.status == "redeemed"
    assert redeemed.redeemed_at is not None
    with pytest.raises(errors.VoucherAlreadyRedeemed) as again:
        redeem_voucher(business=business, actor=staff_of(business), token=voucher.token)
    assert again.value.code == "already_used"
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("id")) == [
        "voucher.issued",
        "voucher.redeemed",
    ]


def test_blank_title_is_refused(business):
    with pytest.raises(errors.InvalidVoucher) as refused:
        issue(business, title="   ")
    assert refused.value.message == "Give the voucher a title."


def test_expired_voucher_is_refused_with_its_date(business):
    voucher = issue(business)
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=timezone.now() - timedelta(hours=1))
    with pytest.raises(errors.VoucherExpired) as refused:
        redeem_voucher(business=business, actor=staff_of(business), token=voucher.token)
    assert refused.value.code == "voucher_expired"
    assert Voucher.objects.get(pk=voucher.pk).status == "active"


def test_void_voucher_cannot_be_redeemed(business, staff_actor):
    voucher = issue(business)
    void_voucher(business=business, actor=staff_actor, voucher=voucher, reason="given by mistake")
    with pytest.raises(errors.VoucherVoid):
        redeem_voucher(business=business, actor=staff_of(business), token=voucher.token)


@pytest.mark.parametrize(
    ("method", "allowed", "refused"),
    [
        ("self", "customer", "staff"),
        ("staff_scan", "staff", "customer"),
        ("redeem_code", "scanner", "customer"),
    ],
)
def test_redemption_method_decides_who_redeems(business, method, allowed, refused):
    voucher = issue(business, redemption_method=method)
    with pytest.raises(errors.WrongRedemptionMethod):
        redeem_voucher(business=business, actor=actor_of(business, refused), token=voucher.token)
    redeemed = redeem_voucher(
        business=business, actor=actor_of(business, allowed), token=voucher.token
    )
    assert redeemed.status == "redeemed"


def test_an_api_key_fits_redeem_codes_but_has_no_scopes_yet(business):
    """The POS redeems codes (REDEEMERS); until API keys bring scopes, a key may do nothing."""
    voucher = issue(business, redemption_method="redeem_code")
    with pytest.raises(NotAllowed):
        redeem_voucher(business=business, actor=Actor(kind=ActorKind.API), token=voucher.token)
    assert Voucher.objects.get(pk=voucher.pk).status == "active"


def test_redeem_by_code_and_ambiguous_static_codes(business):
    unique = issue(business, redemption_method="redeem_code", code="GIFT-77")
    assert (
        redeem_voucher(business=business, actor=staff_of(business), code=" GIFT-77 ").pk
        == unique.pk
    )
    issue(business, redemption_method="redeem_code", code="FREECOFFEE")
    issue(business, redemption_method="redeem_code", code="FREECOFFEE")
    with pytest.raises(errors.AmbiguousCode):
        redeem_voucher(business=business, actor=staff_of(business), code="FREECOFFEE")
    with pytest.raises(errors.VoucherNotFound):
        redeem_voucher(business=business, actor=staff_of(business), code="NOPE")


def test_voucher_of_another_business_is_not_found(business, other_business):
    voucher = issue(business)
    with pytest.raises(errors.VoucherNotFound):
        redeem_voucher(business=other_business, actor=staff_of(other_business), token=voucher.token)
    assert Voucher.objects.get(pk=voucher.pk).status == "active"


def test_card_of_another_business_cannot_get_a_voucher(other_business, card):
    with pytest.raises(errors.VoucherNotFound):
        issue(other_business, card=card)


def test_retried_redeem_replays(business):
    voucher = issue(business)
    redeem_voucher(
        business=business, actor=staff_of(business), token=voucher.token, idempotency_key="r1"
    )
    with pytest.raises(AlreadyDone) as retried:
        redeem_voucher(
            business=business, actor=staff_of(business), token=voucher.token, idempotency_key="r1"
        )
    assert retried.value.outcome["voucher_id"] == voucher.pk
