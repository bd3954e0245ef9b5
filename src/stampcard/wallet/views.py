"""Wallet passes downloaded by the customer, through the customer door (the card's or the
voucher's token)."""

from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_GET

from stampcard.loyalty.models import Card
from stampcard.vouchers.models import Voucher
from stampcard.wallet.apple import PKPASS_TYPE, build_voucher_pass, card_pass


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


def _download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=PKPASS_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The pass changes with every stamp; a stale copy from a cache would undo an update.
    response["Cache-Control"] = "no-store"
    return response
