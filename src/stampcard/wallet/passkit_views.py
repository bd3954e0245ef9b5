"""The PassKit web service: the five endpoints Apple Wallet calls (wallet.md B1).

The endpoints naming a serial number come through the PassKit door (tenancy.middleware),
which checks ``Authorization: ApplePass <token>`` and opens the pass's business's scope. A
pass is a card's store card (``request.card``) or a voucher's coupon (``request.voucher``). The
list and log endpoints carry no token: they run unscoped, and answer only what a device's own
library identifier already tells (the serial numbers of the passes it registered).

Apple posts JSON without cookies, so the endpoints are CSRF-exempt; bodies are bounded.
"""

import json
import logging
import re
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card
from stampcard.vouchers.models import Voucher
from stampcard.wallet import passkit
from stampcard.wallet.apple import PKPASS_TYPE, build_voucher_pass, card_pass
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
    card: Card | None = getattr(request, "card", None)  # set by the PassKit door, or
    voucher: Voucher | None = getattr(request, "voucher", None)  # this one
    owner = {"card": card} if card is not None else {"voucher": voucher}
    mine = PassRegistration.objects.filter(
        device_library_id=device_id, pass_type_id=pass_type_id, **owner
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
    business_id = request.business.pk  # type: ignore[attr-defined]  # the door's business
    with transaction.atomic():
        _registration, created = PassRegistration.objects.update_or_create(
            device_library_id=device_id,
            pass_type_id=pass_type_id,
            **owner,
            defaults={"push_token": push_token},
            create_defaults={
                "push_token": push_token,
                "business_id": business_id,
                "pass_changed_at": timezone.now() if voucher is not None else None,
            },
        )
    return HttpResponse(status=201 if created else 200)


@require_http_methods(["GET"])
def updated_serials(request: HttpRequest, device_id: str, pass_type_id: str) -> HttpResponse:
    since = passkit.parse_tag(request.GET.get("passesUpdatedSince"))
    # A device's passes may belong to several businesses; see the module docstring.
    with scopes_disabled():
        mine = PassRegistration.objects.filter(
            device_library_id=device_id, pass_type_id=pass_type_id
        )
        rows = list(mine.filter(card__isnull=False).values_list("card__code", "card__updated_at"))
        rows += [
            (f"v{voucher_id}", moment)
            for voucher_id, moment in mine.filter(voucher__isnull=False).values_list(
                "voucher_id", Coalesce(F("pass_changed_at"), F("voucher__created_at"))
            )
        ]
    if since is not None:
        rows = [(serial, moment) for serial, moment in rows if passkit.tag_of(moment) > since]
    if not rows:
        return HttpResponse(status=204)
    tag = passkit.next_tag([moment for _serial, moment in rows], since)
    return JsonResponse(
        {
            "serialNumbers": sorted({serial for serial, _moment in rows}),
            "lastUpdated": str(tag),
        }
    )


@require_http_methods(["GET", "HEAD"])
def latest_pass(request: HttpRequest, pass_type_id: str, serial_number: str) -> HttpResponse:
    voucher: Voucher | None = getattr(request, "voucher", None)  # set by the PassKit door
    if voucher is not None:
        # Rarely asked for, and dated by its registrations: always built, never a 304.
        return _pkpass(request, build_voucher_pass(voucher))
    card: Card = request.card  # type: ignore[attr-defined]  # set by the PassKit door
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if passkit.unchanged_since(card, since):
        response = HttpResponse(status=304)
        response["Cache-Control"] = "no-store"
    else:
        response = _pkpass(request, card_pass(card))
    response["Last-Modified"] = http_date(passkit.last_modified(card))
    return response


def _pkpass(request: HttpRequest, data: bytes) -> HttpResponse:
    # HEAD answers like GET: the same headers, no body.
    response = HttpResponse(b"" if request.method == "HEAD" else data)
    response["Content-Type"] = PKPASS_TYPE
    response["Content-Length"] = str(len(data))
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
