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
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from stampcard.loyalty.models import Card
from stampcard.vouchers.models import Voucher
from stampcard.wallet import passkit
from stampcard.wallet.apple import PKPASS_TYPE, build_voucher_pass, cached_card_pass, card_pass
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
    found = passkit.updated_passes(device_id, pass_type_id, since)
    if found is None:
        return HttpResponse(status=204)
    serials, latest = found
    body = {"serialNumbers": serials, "lastUpdated": str(passkit.next_tag(latest, since))}
    return HttpResponse(json.dumps(body), content_type="application/json")


@require_http_methods(["GET", "HEAD"])
def latest_pass(request: HttpRequest, pass_type_id: str, serial_number: str) -> HttpResponse:
    """The pass as it is now, dated by ``Last-Modified``; 304 without building or reading
    anything when the device's copy (``If-Modified-Since``) is current; HEAD like GET
    without the body."""
    # Set by the PassKit door: a card's store card, or a voucher's coupon.
    owner: passkit.PassOwner = getattr(request, "card", None) or request.voucher  # type: ignore[attr-defined]
    changed = passkit.changed_at(owner)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if changed is not None and passkit.unchanged_since(changed, since):
        response = HttpResponse(status=304)
    else:
        data = _pass_of(owner)
        # HEAD answers like GET: the same headers, no body.
        response = HttpResponse(b"" if request.method == "HEAD" else data, PKPASS_TYPE)
        response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "no-store"
    if changed is not None:
        response["Last-Modified"] = http_date(passkit.last_modified(changed))
    return response


def _pass_of(owner: passkit.PassOwner) -> bytes:
    """A card's pass from the cache of its version, else built (and cached) from the whole
    card; a voucher's, rarely asked for, built. The door read only part of them."""
    if isinstance(owner, Voucher):
        return build_voucher_pass(passkit.full_pass(owner))
    cached = cached_card_pass(owner, *passkit.door_pass_key(owner))
    return cached if cached is not None else card_pass(passkit.full_pass(owner))


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
