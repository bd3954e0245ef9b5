"""Wallet passes downloaded by the customer, through the customer door (the card's token)."""

from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_GET

from stampcard.loyalty.models import Card
from stampcard.wallet.apple import PKPASS_TYPE, build_pass


@require_GET
def apple_pass(request: HttpRequest, card_token: str) -> HttpResponse:
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    response = HttpResponse(build_pass(card), content_type=PKPASS_TYPE)
    response["Content-Disposition"] = 'attachment; filename="card.pkpass"'
    response["Last-Modified"] = http_date(card.updated_at.timestamp())
    # The pass changes with every stamp; a stale copy from a cache would undo an update.
    response["Cache-Control"] = "no-store"
    return response
