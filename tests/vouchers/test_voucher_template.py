"""A program's goal voucher settings: validated by the same bound every voucher is issued by."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import override

from stampcard.loyalty.models import Reward, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.vouchers import errors
from stampcard.vouchers.models import CodePool, Validity, Voucher, VoucherTemplate
from stampcard.vouchers.validity import MAX_VALIDITY, ValidityRule
from tests import factories


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"validity": "days"}, "validity_amount"),
        (
            {"validity": "days", "validity_amount": MAX_VALIDITY[Validity.DAYS] + 1},
            "validity_amount",
        ),
        (
            {"validity": "months", "validity_amount": MAX_VALIDITY[Validity.MONTHS] + 1},
            "validity_amount",
        ),
        ({"validity": "fixed_date"}, "valid_until"),
        ({"validity": "fixed_date", "valid_until": date(2020, 1, 1)}, "valid_until"),
        ({"redemption_method": "telepathy"}, "redemption_method"),
    ],
)
def test_settings_every_voucher_would_fail_are_refused(program, fields, problem):
    template = VoucherTemplate(program=program, **fields)
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert problem in refused.value.message_dict


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (Validity.DAYS, MAX_VALIDITY[Validity.DAYS]),
        (Validity.MONTHS, MAX_VALIDITY[Validity.MONTHS]),
    ],
)
def test_the_longest_validity_the_settings_accept_issues_vouchers(program, kind, amount):
    VoucherTemplate(program=program, validity=kind, validity_amount=amount).full_clean()
    ValidityRule(kind=kind, amount=amount).valid_until(
        start=timezone.now(), time_zone="Asia/Bangkok"
    )
    with pytest.raises(errors.InvalidVoucher):
        ValidityRule(kind=kind, amount=amount + 1).valid_until(
            start=timezone.now(), time_zone="Asia/Bangkok"
        )


def test_a_code_pool_of_another_business_is_refused(program, other_business):
    foreign = CodePool.objects.create(business=other_business, name="Theirs", kind="generated")
    with pytest.raises(ValidationError) as refused:
        VoucherTemplate(program=program, code_pool=foreign).full_clean()
    assert "code_pool" in refused.value.message_dict


@pytest.mark.parametrize(
    ("fields", "english", "russian"),
    [
        ({"validity": "days", "validity_amount": 30}, "30 days", "30 дней"),
        ({"validity": "months", "validity_amount": 1}, "1 month", "1 месяц"),
        ({"validity": "unlimited"}, "no end", "бессрочно"),
    ],
)
def test_voucher_validity_reads_as_a_phrase(program, fields, english, russian):
    template = VoucherTemplate(program=program, **fields)
    assert template.validity_text == english
    with override("ru"):
        assert template.validity_text == russian


def test_the_goal_voucher_links_to_its_reward_and_uses_the_template(business, staff_actor):
    program = factories.ProgramFactory(
        business=business, stamps_goal=1, reward_kind="smart_voucher", reward_title="Cake"
    )
    VoucherTemplate.objects.create(
        program=program, redemption_method="redeem_code", code_display="code128"
    )
    card = factories.CardFactory(program=program)
    outcome = add_stamps(
        business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk
    )
    reward = Reward.objects.get(pk=outcome.reward_ids[0])
    assert reward.status == "voucher_issued"
    assert (
        reward.voucher.title,
        reward.voucher.redemption_method,
        reward.voucher.code_display,
    ) == (
        "Cake",
        "redeem_code",
        "code128",
    )
    assert Voucher.objects.get(reward=reward).card == card


def test_a_goal_voucher_without_a_template_takes_the_defaults(business, staff_actor):
    program = factories.ProgramFactory(
        business=business, stamps_goal=1, reward_kind="smart_voucher"
    )
    card = factories.CardFactory(program=program)
    add_stamps(business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk)
    voucher = Voucher.objects.get(card=card)
    assert (voucher.redemption_method, voucher.code_display, voucher.valid_until) == (
        "staff_scan",
        "qr",
        None,
    )


@pytest.mark.parametrize("code", ["free coffee", "FREE!", "CODE\n", "x" * 65, "кофе"])
def test_codes_that_cannot_reach_a_barcode_are_refused_by_the_models(business, code):
    voucher = Voucher(business=business, title="Gift", redemption_method="staff_scan", code=code)
    with pytest.raises(ValidationError) as refused:
        voucher.full_clean(exclude=["token", "valid_from", "origin"])
    assert "code" in refused.value.message_dict
    pool = CodePool(business=business, name="Pool", kind="static", static_code=code)
    with pytest.raises(ValidationError) as refused:
        pool.full_clean()
    assert "static_code" in refused.value.message_dict
    CodePool(
        business=business, name="Pool", kind="static", static_code="FREE-COFFEE_1"
    ).full_clean()
