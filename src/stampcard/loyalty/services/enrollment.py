"""Enrolment: a customer's card in a program, without ever duplicating the person."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from stampcard import tokens
from stampcard.loyalty import errors
from stampcard.loyalty.card_codes import new_card_code
from stampcard.loyalty.models import Card, Customer, JoinChannel, Program
from stampcard.loyalty.services.contacts import clean_email, clean_phone
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish
from stampcard.storable import UNSTORABLE_TEXT, is_plain_line, is_storable, shows_nothing
from stampcard.tenancy.models import Business


class CustomerAlreadyKnown(Exception):
    """``enroll_customer(only_new=True)`` met a person the business already knows."""


def enroll_customer(
    *,
    business: Business,
    program: Program,
    name: str = "",
    email: str = "",
    phone: str = "",
    birthday: date | None = None,
    language: str | None = None,
    marketing_consent: bool = False,
    join_channel: JoinChannel = JoinChannel.QR,
    only_new: bool = False,
) -> Card:
    """The customer's card in ``program``, creating the customer and the card where needed.

    A customer is one person per business: an email or phone already known is the same
    customer, never a duplicate (the database enforces it too). Callers that face the public
    must verify ownership of the email or phone before handing an existing card back; with
    ``only_new`` a known email or phone (also one a parallel join created a moment ago) raises
    ``CustomerAlreadyKnown`` and nothing is written.
    """
    if not is_storable(name, email, phone):
        raise errors.InvalidCustomer(UNSTORABLE_TEXT)
    name = name.strip()
    if not is_plain_line(name):
        raise errors.InvalidCustomer(
            _("The name contains an invisible control character. Remove it and try again.")
        )
    if len(name) > Customer._meta.get_field("name").max_length:  # type: ignore[operator]
        raise errors.InvalidCustomer(_("The name is too long."))
    if shows_nothing(name):  # only zero-width spaces and the like: no name
        name = ""
    email = clean_email(email)
    phone = clean_phone(phone, region=business.country)
    # The door's scope makes a program the caller fetched this business's; a query by the
    # business keeps a foreign one out whoever calls, so no card joins it to this business.
    if not Program.objects.filter(business=business, pk=program.pk).exists():
        raise errors.ProgramNotFound()
    with transaction.atomic():
        customer = known_customer(business, email=email, phone=phone)
        if customer is not None and only_new:
            raise CustomerAlreadyKnown
        if customer is None:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(
                        business=business,
                        name=name,
                        email=email,
                        phone=phone,
                        birthday=birthday,
                        language=language or business.default_language,
                        marketing_consent=marketing_consent,
                        join_channel=join_channel,
                    )
            except IntegrityError:
                # A parallel join created this person a moment ago: theirs is the same person.
                customer = known_customer(business, email=email, phone=phone)
                if customer is None:
                    raise
                if only_new:
                    raise CustomerAlreadyKnown from None
        card = Card.objects.filter(program=program, customer=customer).first()
        if card is None:
            card = _create_card(business=business, program=program, customer=customer)
            publish(
                business_id=business.pk,
                topic=Topic.CUSTOMER_JOINED,
                customer_id=customer.pk,
                card_id=card.pk,
                program_id=program.pk,
            )
    return card


def known_customer(business: Business, *, email: str, phone: str) -> Customer | None:
    """The customer of ``business`` with this (cleaned) email, else this phone, if any."""
    if email and (found := Customer.objects.filter(business=business, email=email).first()):
        return found
    if phone:
        return Customer.objects.filter(business=business, phone=phone).first()
    return None


def _create_card(*, business: Business, program: Program, customer: Customer) -> Card:
    # A fresh code collides with one in ~10^12; retry rather than fail the join.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Card.objects.create(
                    business=business,
                    program=program,
                    customer=customer,
                    token=tokens.new_secret(),
                    code=new_card_code(),
                )
        except IntegrityError:
            # Either a parallel join gave this customer their card, or the code was taken.
            existing = Card.objects.filter(program=program, customer=customer).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not draw a unique card code")
