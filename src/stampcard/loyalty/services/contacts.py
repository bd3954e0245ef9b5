"""How customers' e-mail addresses and phone numbers are kept: one form per person."""

import re
from dataclasses import dataclass

import idna
import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException

from stampcard.loyalty import errors

# The longest address that can be kept (Customer.email) and sent to (RFC 5321's path).
_EMAIL_MAX = 254


def clean_email(email: str) -> str:
    """The address in the one form it is kept in, or "" when none was given.

    The domain is folded as mail systems read it (UTS #46): case, full-width letters,
    decomposed accents and characters the lookup ignores (a zero-width space) all fold, so
    "Ann@EXAMPLE.org" typed in full-width letters and "ann@example.org" are one customer,
    as are "ann@exämple.org" and "ann@xn--exmple-cua.org". A domain that cannot be looked
    up (a direction override in it) is refused.
    """
    email = email.strip()
    if not email:
        return ""
    local, _at, domain = email.rpartition("@")
    try:
        domain = idna.decode(idna.encode(domain, uts46=True))
        email = f"{local.lower()}@{domain}"
        validate_email(email)
        if len(email) > _EMAIL_MAX:
            raise ValidationError("too long")
    except (ValidationError, UnicodeError):  # idna.IDNAError is a UnicodeError
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


# What a typed phone number may hold besides its digits: a leading +, spaces, dashes, dots and
# parentheses, as in "081 234 5678", "081-234-5678" or "(081) 234-5678".
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]+")
# Fewer digits than a trigram find too many numbers and cannot use the trigram index.
MIN_PHONE_DIGITS = 3


@dataclass(frozen=True, slots=True)
class PhoneQuery:
    """What a search that looks like a phone number looks for among numbers kept in E.164."""

    # The whole number in E.164, or "" when the query is not a whole, possible number.
    whole: str
    # Digits to find within a kept number: as typed, or, typed the local way, without the
    # trunk prefix (the 0 of "081 234 5678") that E.164 leaves out: the national significant
    # digits.
    parts: tuple[str, ...]


def phone_query(query: str, *, region: str) -> PhoneQuery | None:
    """How to look for ``query`` as a phone number of ``region`` (the business's country),
    or None when it does not look like one (letters in it, or too few digits)."""
    if not _PHONE_LIKE.fullmatch(query.strip()):
        return None
    typed = "".join(ch for ch in query if ch.isdigit() or ch == "+")
    if len(typed.lstrip("+")) < MIN_PHONE_DIGITS:
        return None
    whole = ""
    try:
        number = phonenumbers.parse(typed, region or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        whole = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    parts = [typed]
    if not typed.startswith("+"):  # typed the local way
        national = (
            phonenumbers.national_significant_number(number)
            if number is not None and whole
            else _without_trunk_prefix(typed, region)
        )
        if len(national) >= MIN_PHONE_DIGITS and national != typed:
            # Usually a tail of what was typed, and then all that is looked for: each part
            # is one more probe of the trigram index.
            parts = [national] if national in typed else [typed, national]
    return PhoneQuery(whole=whole, parts=tuple(parts))


def _without_trunk_prefix(digits: str, region: str) -> str:
    """A part of a local number without the country's trunk prefix (0 in Thailand, 8 in
    Kazakhstan), so "081 234" finds +66812345..."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper()) if region else None
    prefix = metadata.national_prefix if metadata is not None else None
    if prefix and digits.startswith(prefix):
        return digits[len(prefix) :]
    return digits
