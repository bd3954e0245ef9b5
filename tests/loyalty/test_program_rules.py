import pytest
from django.core.exceptions import ValidationError

from tests import factories


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"allowed_sources": []}, "allowed_sources"),
        ({"allowed_sources": ["staff", "telepathy"]}, "allowed_sources"),
        ({"voucher_validity": "days"}, "voucher_validity_amount"),
        ({"voucher_validity": "fixed_date"}, "voucher_valid_until"),
        ({"max_stamps_per_visit": 3, "max_stamps_per_day": 2}, "max_stamps_per_day"),
        ({"background_color": "red"}, "background_color"),
        ({"stamps_goal": 0}, "stamps_goal"),
    ],
)
def test_impossible_programs_are_refused(business, fields, problem):
    program = factories.ProgramFactory.build(business=business, **fields)
    with pytest.raises(ValidationError) as refused:
        program.full_clean()
    assert problem in refused.value.message_dict


def test_a_sensible_program_is_accepted(business):
    factories.ProgramFactory.build(
        business=business, voucher_validity="months", voucher_validity_amount=3
    ).full_clean()


@pytest.mark.parametrize(
    ("fields", "english", "russian"),
    [
        ({"voucher_validity": "days", "voucher_validity_amount": 30}, "30 days", "30 дней"),
        ({"voucher_validity": "months", "voucher_validity_amount": 1}, "1 month", "1 месяц"),
        ({"voucher_validity": "unlimited"}, "no end", "бессрочно"),
    ],
)
def test_voucher_validity_reads_as_a_phrase(business, fields, english, russian):
    from django.utils.translation import override

    program = factories.ProgramFactory.build(business=business, **fields)
    assert program.voucher_validity_text == english
    with override("ru"):
        assert program.voucher_validity_text == russian
