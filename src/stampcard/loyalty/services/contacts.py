"""How customers' e-mail addresses and phone numbers are kept: one form per person."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException

from stampcard.loyalty import errors


def clean_email(email: str) -> str:
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise errors.InvalidCustomer(_("Enter a valid email address.")) from None
    return email


def clean_phone(phone: str, *, region: str) -> str:
    """The phone number in E.164 (+66812345678), or "" when none was given.

    A number without its country code is read as one of the business's country.
    """
    if not phone.strip():
        return ""
    try:
        number = PhoneNumber.from_string(phone.strip(), region=region or None)
    except NumberParseException:
        number = None
    if number is None or not number.is_valid():
        raise errors.InvalidCustomer(
            _("Enter a valid phone number, with the country code (for example +66 81 234 5678).")
        )
    return str(number.as_e164)
