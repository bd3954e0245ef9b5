"""The PassKit web service: the five endpoints Apple Wallet calls (wallet.md B1).

The endpoints naming a serial number come through the PassKit door (tenancy.middleware),
which checks ``Authorization: ApplePass <token>`` and opens the card's business's scope. The
list and log endpoints carry no token: they run unscoped, and answer only what a device's own
library identifier already tells (the serial numbers of the passes it registered).

Apple posts JSON without cookies, so the endpoints are CSRF-exempt; bodies are bounded.
"""

import json
import logging
import re
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card
from stampcard.wallet import passkit
from stampcard.wallet.apple import PKPASS_TYPE, build_pass
from stampcard.wallet.models import PassRegistration

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_LOG_LINES = 20
MAX_LOG_LINE = 500
# Long runs of token-like characters: a device's log line may quote a URL or a token.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-+/=]{24,}")


class _BadBody(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def _json_body(request: HttpRequest) -> Any:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _BadBody(400) from None
    if length > MAX_BODY:
        raise _BadBody(413)
    body = request.body
    if len(body) > MAX_BODY:
        raise _BadBody(413)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _BadBody(400) from None


@csrf_exempt
@require_http_methods(["POST", "DELETE"])
def registration(
    request: HttpRequest, device_id: str, pass_type_id: str, serial_number: str
) -> HttpResponse:
    card: Card = request.card  # type: ignore[attr-defined]  # set by the PassKit door
    mine = PassRegistration.objects.filter(
        device_library_id=device_id, pass_type_id=pass_type_id, card=card
    )
    if request.method == "DELETE":
        mine.delete()
        return HttpResponse(status=200)
    try:
        body = _json_body(request)
    except _BadBody as bad:
        return HttpResponse(status=bad.status)
    push_token = body.get("pushToken") if isinstance(body, dict) else None
    if not isinstance(push_token, str) or not 0 < len(push_token) <= 255:
        return HttpResponse(status=400)
    with transaction.atomic():
        _registration, created = PassRegistration.objects.update_or_create(
            device_library_id=device_id,
            pass_type_id=pass_type_id,
            card=card,
            defaults={"push_token": push_token},
            create_defaults={"push_token": push_token, "business_id": card.business_id},
        )
    return HttpResponse(status=201 if created else 200)


@require_http_methods(["GET"])
def updated_serials(request: HttpRequest, device_id: str, pass_type_id: str) -> HttpResponse:
    since = passkit.parse_tag(request.GET.get("passesUpdatedSince"))
    # A device's passes may belong to several businesses; see the module docstring.
    with scopes_disabled():
        cards = Card.objects.filter(
            pass_registrations__device_library_id=device_id,
            pass_registrations__pass_type_id=pass_type_id,
        ).distinct()
        rows = list(cards.values_list("code", "updated_at"))
    if since is not None:
        rows = [(code, moment) for code, moment in rows if passkit.tag_of(moment) > since]
    if not rows:
        return HttpResponse(status=204)
    tag = passkit.next_tag([moment for _code, moment in rows], since)
    return JsonResponse(
        {"serialNumbers": sorted(code for code, _moment in rows), "lastUpdated": str(tag)}
    )


@require_http_methods(["GET", "HEAD"])
def latest_pass(request: HttpRequest, pass_type_id: str, serial_number: str) -> HttpResponse:
    card: Card = request.card  # type: ignore[attr-defined]  # set by the PassKit door
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    modified = http_date(passkit.last_modified(card))
    if passkit.unchanged_since(card, since):
        response = HttpResponse(status=304)
    else:
        data = build_pass(card)
        # HEAD answers like GET: the same headers, no body.
        response = HttpResponse(b"" if request.method == "HEAD" else data)
        response["Content-Type"] = PKPASS_TYPE
        response["Content-Length"] = str(len(data))
    response["Last-Modified"] = modified
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["POST"])
def device_log(request: HttpRequest) -> HttpResponse:
    try:
        body = _json_body(request)
    except _BadBody as bad:
        return HttpResponse(status=bad.status)
    lines = body.get("logs") if isinstance(body, dict) else None
    if not isinstance(lines, list):
        return HttpResponse(status=400)
    for line in lines[:MAX_LOG_LINES]:
        text = _SECRET_LIKE.sub("[redacted]", str(line))[:MAX_LOG_LINE]
        logger.warning("Apple Wallet device log: %s", text)
    return HttpResponse(status=200)
