"""Addresses of the customer's pages that are sent or printed."""

from django.conf import settings
from django.urls import reverse

from stampcard.loyalty.models import Card, Program


def return_path(program: Program, token: str) -> str:
    return reverse(
        "customer:return_link",
        kwargs={"slug": program.business.slug, "program_id": program.pk, "token": token},
    )


def return_url(program: Program, token: str) -> str:
    """The absolute address of an e-mailed one-time link (``PUBLIC_BASE_URL`` + path)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + return_path(program, token)


def card_path(card: Card) -> str:
    return reverse("customer:card", kwargs={"card_token": card.token})
