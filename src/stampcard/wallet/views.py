"""Wallet passes downloaded by the customer, through the customer door (the card's or the
voucher's token)."""

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import http_date
from django.views.decorators.http import require_GET

from stampcard.loyalty.models import Card
from stampcard.vouchers.models import Voucher
from stampcard.wallet import google
from stampcard.wallet.apple import PKPASS_TYPE, build_voucher_pass, card_pass

log = logging.getLogger(__name__)
_MAX_ID = 2**63 - 1


@require_GET
def apple_pass(request: HttpRequest, card_token: str) -> HttpResponse:
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    response = _download(card_pass(card), "card.pkpass")
    response["Last-Modified"] = http_date(card.updated_at.timestamp())
    return response


@require_GET
def apple_voucher_pass(request: HttpRequest, voucher_token: str) -> HttpResponse:
    voucher: Voucher = request.voucher  # type: ignore[attr-defined]  # set by the customer door
    return _download(build_voucher_pass(voucher), "voucher.pkpass")


@require_GET
def google_card_save(request: HttpRequest, card_token: str) -> HttpResponse:
    """To Google's save page for the card's loyalty object, written first with its class.

    The save link only names the object, which the outbox writes when the card changes: a
    card made while Google Wallet was not set up, saved before the outbox ran, or last
    written under an older design (its hero image gone) would save a missing or stale one.
    Writing is a patch (or an insert when Google has none), harmless to repeat.
    """
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    link = google.save_link(card)
    if link is None:
        raise Http404
    try:
        client = google.client()
        client.upsert_class(card.program)
        client.upsert_object(card)
    except google.GoogleWalletError as refused:
        # The outbox's copy, if Google has one, is still the one to save.
        log.warning("Google Wallet refused card %s: %s", card.pk, refused)
    return _no_store_redirect(link)


@require_GET
def google_voucher_save(request: HttpRequest, voucher_token: str) -> HttpResponse:
    voucher: Voucher = request.voucher  # type: ignore[attr-defined]  # set by the customer door
    return _save_offer(voucher)


@require_GET
def google_card_voucher_save(
    request: HttpRequest, card_token: str, voucher_id: int
) -> HttpResponse:
    """A voucher of the card's, saved from the card's pages (they never show its token)."""
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    if not 0 < voucher_id <= _MAX_ID:
        raise Http404
    voucher = Voucher.objects.filter(card=card, pk=voucher_id).select_related("program").first()
    if voucher is None:
        raise Http404
    return _save_offer(voucher)


def _save_offer(voucher: Voucher) -> HttpResponse:
    """To Google's save page for the voucher's offer object, written first: the outbox writes
    it when the voucher changes, but a voucher issued before offers existed has none yet.
    Writing is a patch (or an insert when Google has none), harmless to repeat."""
    link = google.voucher_save_link(voucher)
    if link is None:
        raise Http404
    try:
        google.client().upsert_offer(voucher)
    except google.GoogleWalletError as refused:
        # The outbox's copy, if Google has one, is still the one to save.
        log.warning("Google Wallet refused voucher %s: %s", voucher.pk, refused)
    return _no_store_redirect(link)


def _no_store_redirect(link: str) -> HttpResponse:
    # The link holds a signed token that names what was just written: never kept by a cache.
    response = HttpResponseRedirect(link)
    response["Cache-Control"] = "no-store"
    return response


def _download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=PKPASS_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The pass changes with every stamp; a stale copy from a cache would undo an update.
    response["Cache-Control"] = "no-store"
    return response
