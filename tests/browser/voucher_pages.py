"""What the voucher page tests share: a card with one voucher issued by hand, the addresses of
its pages, and a page opened at phone and at desktop size."""

from collections.abc import Iterator

from django.urls import reverse

from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SIZES = (("phone", PHONE), ("desktop", DESKTOP))


def coffee_card_voucher(**voucher):
    """A customer's "Coffee card", and a voucher given on it by hand with ``voucher``'s terms."""
    card = factories.CardFactory(program__name="Coffee card")
    given = issue_voucher(
        business=card.business,
        actor=Actor.system(),
        card=card,
        origin=VoucherOrigin.MANUAL,
        **voucher,
    )
    return card, given


def voucher_path(card, voucher) -> str:
    return reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})


def card_path(card) -> str:
    return reverse("customer:card", kwargs={"card_token": card.token})


def at_each_size(browser, url: str, locale: str) -> Iterator[tuple[str, object]]:
    """``url`` opened at phone, then at desktop size, each in a fresh browser context."""
    for name, viewport in SIZES:
        context = browser.new_context(viewport=viewport, locale=locale)
        try:
            page = context.new_page()
            page.goto(url)
            yield name, page
        finally:
            context.close()
