import pytest
from django_scopes import scope

from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, Customer
from stampcard.loyalty.services import enroll_customer
from tests import factories


def test_enrolling_creates_a_customer_and_a_card_with_codes(business, program):
    card = enroll_customer(
        business=business, program=program, name=" Ann ", email="Ann@Example.org"
    )
    assert card.customer.name == "Ann"
    assert card.customer.email == "ann@example.org"
    assert card.customer.language == business.default_language
    assert len(card.token) >= 40
    assert len(card.code) == 9


def test_the_same_email_or_phone_is_the_same_customer(business, program):
    business.country = "TH"
    business.save()
    first = enroll_customer(business=business, program=program, email="ann@example.org")
    assert enroll_customer(business=business, program=program, email="ANN@example.org ") == first
    by_phone = enroll_customer(business=business, program=program, phone="081 234 5678")
    assert by_phone.customer.phone == "+66812345678"
    assert enroll_customer(business=business, program=program, phone="+66812345678") == by_phone
    second_program = factories.ProgramFactory(business=business)
    other_card = enroll_customer(business=business, program=second_program, email="ann@example.org")
    assert other_card.customer == first.customer
    assert other_card != first
    assert Customer.objects.count() == 2


def test_other_businesses_do_not_share_customers(business, other_business, program):
    enroll_customer(business=business, program=program, email="ann@example.org")
    other_program = factories.ProgramFactory(business=other_business)
    enroll_customer(business=other_business, program=other_program, email="ann@example.org")
    assert Customer.objects.filter(email="ann@example.org").count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("phone", "12"),
        ("phone", "call me maybe"),
        ("name", "N" * 121),
    ],
)
def test_bad_contact_details_are_refused_and_nothing_is_written(business, program, field, value):
    with pytest.raises(errors.InvalidCustomer) as refused:
        enroll_customer(business=business, program=program, **{field: value})
    assert refused.value.code == "invalid_customer"
    assert not Customer.objects.exists()
    assert not Card.objects.exists()


def test_a_program_of_another_business_is_not_found_inside_the_business_scope(
    business, other_business
):
    foreign = factories.ProgramFactory(business=other_business)
    with scope(business=business), pytest.raises(errors.ProgramNotFound):
        enroll_customer(business=business, program=foreign, name="Ann")
    assert not Customer.objects.exists()
    assert not Card.objects.exists()


@pytest.mark.parametrize("field", ["name", "email", "phone"])
def test_text_that_cannot_be_stored_is_refused_and_nothing_is_written(business, program, field):
    with pytest.raises(errors.InvalidCustomer) as refused:
        enroll_customer(business=business, program=program, **{field: "ann\x00@example.org"})
    assert "cannot be saved" in refused.value.message
    assert not Customer.objects.exists()
    assert not Card.objects.exists()
