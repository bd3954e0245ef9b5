"""What the viewer may see, in templates: ``{% load access %}``.

Fed by ``tenancy.permissions``' table through the actor the door put on the request:
``{% if request.actor|may:"view_audit" %}``, ``{{ customer.email|email_for:request.actor }}``,
``{{ customer.phone|phone_for:request.actor }}``, ``{{ customer|customer_for:request.actor }}``.
Without an actor nothing is allowed and contact details are masked.
"""

import phonenumbers
from django import template

from stampcard.loyalty.models import Customer
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.permissions import Permission, allows

register = template.Library()

MASK = "•••"


@register.filter
def may(actor: Actor | None, permission: str) -> bool:
    if actor is None or actor.business_id is None:
        return False
    return allows(actor, Permission(permission), business=actor.business_id)


def sees_contact_details(actor: Actor | None) -> bool:
    return may(actor, Permission.VIEW_CONTACT_DETAILS)


def mask_email(email: str) -> str:
    """``jane@example.org`` → ``j•••@example.org``: enough to recognise, not to copy."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}{MASK}{at}{domain}" if at else f"{email[:1]}{MASK}"


def mask_phone(phone: object) -> str:
    """``+66812345678`` → ``+66 ••• ••• 678``: the country and the last three digits."""
    text = str(phone)
    digits = "".join(ch for ch in text if ch.isdigit())
    try:
        country = f"+{phonenumbers.parse(text).country_code} "
    except phonenumbers.NumberParseException:
        country = ""
    return f"{country}{MASK} {MASK} {digits[-3:]}"


@register.filter
def email_for(email: str, actor: Actor | None) -> str:
    if not email or sees_contact_details(actor):
        return email
    return mask_email(email)


@register.filter
def phone_for(phone: object, actor: Actor | None) -> str:
    if not phone or sees_contact_details(actor):
        return str(phone or "")
    return mask_phone(phone)


@register.filter
def customer_for(customer: Customer | None, actor: Actor | None) -> str:
    """The customer's name; without one, their e-mail or phone as the viewer may see it."""
    if customer is None:
        return ""
    if customer.name:
        return customer.name
    if customer.email:
        return email_for(customer.email, actor)
    if customer.phone:
        return phone_for(customer.phone, actor)
    return f"#{customer.pk}"
