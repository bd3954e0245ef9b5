"""What the counter calls: the staff scanner, Autopilot and the kiosk (pages, scan endpoint,
card search) and whoami.

Two doors lead here (``tenancy.middleware``): a paired device (``/device/…``, its token in
the HttpOnly cookie or ``Authorization: Device``) and a member logged in
(``/b/<slug>/scanner/…``). Either way the door has decided the business and the actor; these
views parse, hand the scan to ``counter.scan`` and render what it answers.
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, cast

import segno
from csp.constants import WASM_UNSAFE_EVAL
from csp.decorators import csp_update
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from stampcard.counter import cards, errors
from stampcard.counter.scan import Answer, answer_scan, parse_scan, refused_before_scan
from stampcard.customer.hand_over import start_hand_over
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import Card
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device, DeviceKind, Location
from stampcard.tenancy.permissions import Permission, allows
from stampcard.tenancy.services import device_seen

View = Callable[..., HttpResponse]
# What JsonResponse encodes with, made once (an encoder keeps no state between calls).
_JSON = DjangoJSONEncoder()
# What ``add_never_cache_headers`` writes, with Expires now.
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _wasm(view: View) -> View:
    """The camera decoder is WebAssembly: its page, and only its page, may compile it."""
    allowed = csp_update({"script-src": [WASM_UNSAFE_EVAL]})(view)
    return cast(View, allowed)


@require_GET
@never_cache
def whoami(request: HttpRequest) -> JsonResponse:
    """Who this device is, so a counter screen can show it; also notes that it was seen."""
    device: Device = request.device  # type: ignore[attr-defined]
    device_seen(device)
    location = device.location
    return JsonResponse(
        {
            "name": device.name,
            "kind": device.kind,
            "kind_label": str(device.get_kind_display()),
            "business": {"name": device.business.name, "slug": device.business.slug},
            "location": None if location is None else {"id": location.pk, "name": location.name},
            "time_zone": device.business.time_zone,
            "language": device.business.default_language,
            "now": timezone.localtime().isoformat(),
        }
    )


def _csrf_unless_device_header(view: View) -> View:
    """A device sending ``Authorization: Device`` is no browser riding a cookie: no CSRF token.

    A browser page authenticated by the device cookie sends the CSRF token like any form.
    """

    @csrf_exempt
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "HTTP_AUTHORIZATION" not in request.META:  # request.headers, without copying them
            check = CsrfViewMiddleware(lambda r: HttpResponse())
            refused = check.process_view(request, view, (), {})
            if refused is not None:
                return refused
        return view(request, *args, **kwargs)

    return checked


def _scan(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Answer one scan (``counter.scan`` documents the request and the answer)."""
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > 4096:
            raise errors.InvalidScan()
        scan = parse_scan(request.body)
        if scan.location is not None:
            actor = _member_at(request, actor, scan.location)
        answer = answer_scan(business=request.business, actor=actor, scan=scan)  # type: ignore[attr-defined]
    except Refusal as refusal:
        answer = refused_before_scan(refusal)
    except ValueError:
        answer = refused_before_scan(errors.InvalidScan())
    return _answer_response(answer)


def _answer_response(answer: Answer) -> HttpResponse:
    """The answer as ``JsonResponse`` and ``add_never_cache_headers`` would send it, byte for
    byte, with less work on every scan: the JSON already kept under the nonce is sent as it
    is, and the cache headers are written out."""
    body = answer.encoded
    if body is None:
        body = _JSON.encode(answer.body)
    response = HttpResponse(body, content_type="application/json", status=answer.status)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Expires"] = http_date()
    response.headers["Cache-Control"] = _NEVER_CACHE
    return response


def _member_at(request: HttpRequest, actor: Actor, location_id: int) -> Actor:
    """A member standing at one of the business's locations; a device stays where it is."""
    if getattr(request, "device", None) is not None:
        if location_id != actor.location_id:
            raise NotAllowed()
        return actor
    if not Location.objects.filter(pk=location_id).exists():
        raise errors.UnknownLocation()
    return dataclasses.replace(actor, location_id=location_id)


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _search(request: HttpRequest) -> JsonResponse:
    actor = _actor(request)
    business = request.business  # type: ignore[attr-defined]
    # Who may stamp somewhere finds the card; the stamp itself is judged where they stand.
    where = [actor.location_id, *actor.location_ids]
    if not any(allows(actor, Permission.STAMP, business=business, location_id=w) for w in where):
        raise NotAllowed()
    found = cards.search_cards(
        business=request.business,  # type: ignore[attr-defined]
        actor=actor,
        query=request.GET.get("q", ""),
    )
    response = JsonResponse({"cards": found})
    add_never_cache_headers(response)
    return response


def _page(request: HttpRequest, *, scan_url: str, search_url: str) -> HttpResponse:
    actor = _actor(request)
    device: Device | None = getattr(request, "device", None)
    locations: list[Location] = []
    if device is None:
        limited = actor.location_ids
        locations = [
            loc for loc in Location.objects.order_by("name") if not limited or loc.pk in limited
        ]
    business = request.business  # type: ignore[attr-defined]
    # A card is handed over to a phone only by who may see customers' details (never a device).
    hand_over_url = ""
    if device is None and allows(actor, Permission.VIEW_CONTACT_DETAILS, business=business):
        hand_over_url = reverse("dashboard:scanner_hand_over", args=[business.slug, "CARD"])
    response = render(
        request,
        "counter/scanner.html",
        {
            "device": device,
            "locations": locations,
            "scan_url": scan_url,
            "search_url": search_url,
            "hand_over_url": hand_over_url,
            "debounce_ms": _ms(settings.SCANNER_DEBOUNCE_SECONDS),
            "text": _screen_text(),
        },
    )
    add_never_cache_headers(response)
    return response


def _screen_text() -> dict[str, str]:
    """The sentences the scanner's script puts on screen, in the user's language."""
    return {
        "camera_off": gettext("The camera is off. Type the code below, or allow the camera."),
        "camera_error": gettext("The camera could not start. Type the code below."),
        "offline": gettext("No connection. Check the network and scan again."),
        "stamps": gettext("%(stamps)s of %(goal)s stamps"),
        "reward_ready": gettext("Reward ready"),
        "hand_over": gettext("Hand over"),
        "redeem": gettext("Redeem"),
        "recent_other": gettext("Stamped %(s)s s ago by another team member."),
        "undo": gettext("Undo"),
        "no_results": gettext("No card matches."),
        "choose_location": gettext("Choose where you are first."),
        "pair_again": gettext("Pair this device again"),
        "redeemed_at": gettext("Redeemed %(when)s"),
        "redeemed_where": gettext("at %(where)s"),
        "queued": gettext(
            "No connection: saved on this device, it will be sent when the connection returns."
        ),
        "pending": gettext("Waiting to be sent: %(n)s"),
        "server_error": gettext("The server could not answer. Try again in a moment."),
        "queued_server": gettext(
            "The server could not answer: saved on this device, it will be sent again."
        ),
        "signed_out": gettext(
            "You were signed out. Sign in again: the stamps waiting on this device are sent then."
        ),
        "sign_in": gettext("Sign in again"),
        "reload_needed": gettext(
            "This screen must be reloaded. The stamps waiting on this device are sent then."
        ),
        "reload": gettext("Reload"),
        "failed": gettext("Not sent: the server failed several times. Add the stamp again."),
        "hand_over_expires": gettext("Works once. Stops working in %(time)s."),
        "hand_over_expired": gettext("This code has expired. Make a new one if it is needed."),
        "hand_over_failed": gettext("The code could not be made. Try again."),
        **_set_aside_text(),
    }


def _set_aside_text() -> dict[str, str]:
    """What the list of stamps set aside on this device says (offline-queue.js)."""
    return {
        "aside_failed": gettext(
            "No answer from the server: it may have been added. Send it again to check; "
            "it is added at most once."
        ),
        "aside_refused": gettext("Refused: %(message)s"),
        "late_done": gettext("Sent: %(message)s"),
        "late_refused": gettext(
            "Sent, but refused: %(message)s It waits in the list of stamps set aside."
        ),
        "late_failed": gettext(
            "No answer from the server: set aside. Send it again from the list to check; "
            "it is added at most once."
        ),
        "send_again": gettext("Send again"),
        "discard": gettext("Discard"),
        "discard_confirm": gettext("Discard this stamp? It will not be sent."),
        "discard_yes": gettext("Yes, discard"),
        "discard_no": gettext("Keep it"),
        "final": gettext("It cannot be sent again. Discard it, or add the stamp anew."),
        "resent_done": gettext("Sent again: %(message)s"),
        "resent_refused": gettext("Sent again, refused again: %(message)s"),
        "resent_offline": gettext("Still no connection. It stays here."),
        "resent_error": gettext("The server could not answer. It stays here."),
    }


# A paired device: /device/…

# Each kind of device opens its own screen, and only that one.
PAGES = {
    DeviceKind.SCANNER: "counter:scanner",
    DeviceKind.KIOSK: "counter:kiosk",
    DeviceKind.AUTOPILOT: "counter:autopilot",
}


def page_for(kind: str) -> str:
    """The path of the screen a device of ``kind`` opens."""
    return reverse(PAGES.get(DeviceKind(kind), "counter:whoami"))


def _for_kind(kind: DeviceKind) -> Callable[[View], View]:
    """Only a device of ``kind`` opens this page; another is told, in its language, which is
    its own (HTTP 403). The device door has already refused unknown and revoked devices."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            device: Device = request.device  # type: ignore[attr-defined]
            if device.kind != kind:
                response = render(
                    request,
                    "counter/wrong_device.html",
                    {
                        "device": device,
                        "wanted": DeviceKind(kind).label,
                        "own_page": page_for(device.kind),
                    },
                    status=403,
                )
                add_never_cache_headers(response)
                return response
            device_seen(device)
            return view(request, *args, **kwargs)

        return checked

    return decorate


@require_GET
@_for_kind(DeviceKind.SCANNER)
@_wasm
def device_scanner(request: HttpRequest) -> HttpResponse:
    return _page(request, scan_url=reverse("counter:scan"), search_url=reverse("counter:cards"))


@require_GET
@_for_kind(DeviceKind.AUTOPILOT)
def autopilot(request: HttpRequest) -> HttpResponse:
    """The Autopilot station: a keyboard-wedge scanner types card codes, each one stamps."""
    text = {
        "ready": gettext("Ready. Scan a card."),
        "typed": gettext("This code was typed by hand. Add a stamp to it?"),
        "duplicate": gettext("Already scanned a moment ago. Nothing was added."),
        "queued": gettext(
            "No connection: saved on this device, it will be sent when the connection returns."
        ),
        "pending": gettext("Waiting to be sent: %(n)s"),
        "stamps": gettext("%(stamps)s of %(goal)s stamps"),
        "offline": gettext("No connection."),
        "queued_server": gettext(
            "The server could not answer: saved on this device, it will be sent again."
        ),
        "reload": gettext(
            "This screen must be reloaded. The stamps waiting on this device are sent then."
        ),
        "failed": gettext("Not sent: the server failed several times. Add the stamp again."),
        **_set_aside_text(),
    }
    return _device_page(request, "counter/autopilot.html", text)


@require_GET
@_for_kind(DeviceKind.KIOSK)
@_wasm
def kiosk(request: HttpRequest) -> HttpResponse:
    """The self-service kiosk: the customer shows their card or a Self-Redeem voucher."""
    text = {
        "camera_off": gettext("The camera is off. Please ask a team member."),
        "camera_error": gettext("The camera could not start. Please ask a team member."),
        "offline": gettext("No connection right now. Please ask a team member."),
        "stamps": gettext("%(stamps)s of %(goal)s stamps"),
        "reward_ready": gettext("Reward ready: %(title)s. Show this screen to a team member."),
        "switched_off": gettext("This kiosk has been switched off. Please ask a team member."),
        "queued": gettext(
            "No connection: saved on this device, it will be sent when the connection returns."
        ),
        "pending": gettext("Waiting to be sent: %(n)s"),
        "use_voucher": gettext("Use your voucher: %(title)s"),
    }
    # The screen's timers are the server's, so one setting changes every kiosk (and a test
    # need not wait out the long ones).
    timers = {
        "idle_ms": _ms(settings.KIOSK_IDLE_SECONDS),
        "confirm_ms": _ms(settings.KIOSK_CONFIRM_SECONDS),
        "gone_ms": _ms(settings.KIOSK_GONE_SECONDS),
        "again_ms": _ms(settings.KIOSK_AGAIN_SECONDS),
    }
    return _device_page(request, "counter/kiosk.html", text, **timers)


def _ms(seconds: float) -> int:
    """A timer setting in seconds, as the milliseconds a page's script counts in."""
    return round(seconds * 1000)


def _device_page(
    request: HttpRequest, template: str, text: dict[str, str], **context: Any
) -> HttpResponse:
    response = render(
        request,
        template,
        {"device": request.device, "scan_url": reverse("counter:scan"), "text": text, **context},  # type: ignore[attr-defined]
    )
    add_never_cache_headers(response)
    return response


@require_http_methods(["POST"])
@_csrf_unless_device_header
def device_scan(request: HttpRequest) -> HttpResponse:
    return _scan(request, _actor(request))


@require_GET
def device_cards(request: HttpRequest) -> JsonResponse:
    return _search(request)


# A member logged in: /b/<slug>/scanner/…


@requires(Permission.VIEW)
@require_http_methods(["GET", "POST"])
@_wasm
def staff_scanner(request: HttpRequest, business_slug: str) -> HttpResponse:
    """The scanner page (GET); the page posts its scans here (POST, JSON)."""
    if request.method == "POST":
        return _scan(request, _actor(request))
    slug = request.business.slug  # type: ignore[attr-defined]
    return _page(
        request,
        scan_url=reverse("dashboard:scanner", args=[slug]),
        search_url=reverse("dashboard:scanner_cards", args=[slug]),
    )


@requires(Permission.VIEW)
@require_GET
def staff_cards(request: HttpRequest, business_slug: str) -> JsonResponse:
    return _search(request)


@requires(Permission.VIEW_CONTACT_DETAILS)
@require_http_methods(["GET", "POST"])
def staff_hand_over(request: HttpRequest, business_slug: str, card_code: str) -> HttpResponse:
    """POST: a one-time link to the card, as a QR for the customer's own phone
    (``customer.hand_over``): ``{"url", "qr", "expires_at", "seconds"}``. Another business's
    card, or none, is not found; GET makes nothing (405)."""
    code = normalize_card_code(card_code)
    if code is None or not Card.objects.filter(code=code).exists():
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    made = start_hand_over(
        business=request.business,  # type: ignore[attr-defined]
        actor=_actor(request),
        card_code=code,
    )
    url = settings.PUBLIC_BASE_URL.rstrip("/") + made.path
    response = JsonResponse(
        {
            "url": url,
            "qr": segno.make_qr(url, error="m").svg_data_uri(scale=6, border=4),
            "expires_at": made.expires_at.isoformat(),
            "seconds": int((made.expires_at - timezone.now()).total_seconds()),
        }
    )
    add_never_cache_headers(response)
    return response
