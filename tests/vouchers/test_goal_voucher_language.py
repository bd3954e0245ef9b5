"""A goal voucher is titled in its card's customer's language, else the default language's."""

import pytest

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.vouchers.models import Voucher
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(business):
    return factories.ProgramFactory(
        business=business,
        stamps_goal=1,
        reward_kind="smart_voucher",
        reward_title="Free coffee",
        reward_description="Any size",
        translations={
            "th": {"reward_title": "กาแฟฟรีหนึ่งแก้ว", "reward_description": "ขนาดใดก็ได้"},
            "kk": {"name": "Кофе картасы"},
        },
    )


@pytest.mark.parametrize(
    ("language", "title", "description"),
    [
        ("th", "กาแฟฟรีหนึ่งแก้ว", "ขนาดใดก็ได้"),
        ("en", "Free coffee", "Any size"),
        ("kk", "Free coffee", "Any size"),  # no reward text in Kazakh: the default's
    ],
)
def test_the_goal_voucher_speaks_the_customers_language(
    business, staff_actor, program, language, title, description
):
    customer = factories.CustomerFactory(business=business, language=language)
    card = factories.CardFactory(program=program, customer=customer)
    add_stamps(business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk)
    voucher = Voucher.objects.get(card=card)
    assert (voucher.title, voucher.description) == (title, description)
