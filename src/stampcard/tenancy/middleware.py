"""The one place a request's tenant is decided: one door per kind of caller.

``BusinessScopeMiddleware`` resolves the URL and hands the request to the door that URL
belongs to. The door recognises the caller, decides the business, and puts ``request.business``
and ``request.actor`` (an ``Actor`` that ``tenancy.permissions`` can judge) on the request;
the middleware then runs the view inside that business's django-scopes scope and time zone.
Every query on a tenant-owned model is limited to it, so another business's object is simply
not found (404).

=====================  ==============================  ===========================================
URL                    door                            the caller is recognised by
=====================  ==============================  ===========================================
``admin:``             platform operators              Django admin's own staff login; unscoped,
                                                       by design
kwarg business_slug    ``dashboard_door``              session + membership of that business;
                       (``/b/<slug>/…``)               also ``request.membership``
namespace ``counter``  ``device_door``                 ``Authorization: Device <token>`` or the
                       (``/device/…``)                 HttpOnly ``DEVICE_COOKIE``; also
                                                       ``request.device``; acts at its location
kwarg card_token /     ``customer_door``               the object's long random token in the URL;
voucher_token                                          also ``request.card`` / ``request.voucher``
namespace ``passkit``  ``passkit_door``                ``Authorization: ApplePass <token>`` of the
(``/passkit/v1/…``)    (URLs with a serial_number)     pass (wallet.passkit); the serial, the card
                                                       code or v<voucher id>, is looked up
                                                       unscoped; also ``request.card`` or
                                                       ``request.voucher``. Unknown pass type: 404;
                                                       bad token or unknown serial: 401. The
                                                       list and log URLs carry no token: no scope
anything else          none                            no scope: a tenant query raises
=====================  ==============================  ===========================================

API keys get a door of their own here when they exist (their namespace, ``Authorization:
Bearer``), recognised by the key's hash like a device. Background tasks do not pass through
this middleware: the outbox task base class opens the scope of the business its message
carries.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.errors import DeviceRevoked, DeviceUnknown
from stampcard.tenancy.models import Business
from stampcard.tenancy.selectors import membership_in
from stampcard.tenancy.services import find_device
from stampcard.wallet import passkit

DEVICE_COOKIE = "stampcard_device"
# What tokens.new_secret makes: URL-safe base64, long. A 9-character card code never fits.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,100}")
# The URL kwarg naming a customer's object, and the model whose ``token`` it is.
CUSTOMER_TOKENS = {"card_token": "loyalty.Card", "voucher_token": "vouchers.Voucher"}


@dataclass(frozen=True, slots=True)
class Admitted:
    business: Business
    actor: Actor


Door = Callable[[HttpRequest, ResolverMatch], Admitted | HttpResponse]


class BusinessScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = request.resolver_match  # resolved by MachineRequestsMiddleware, if it ran
        if match is None:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
        if match.app_name == "admin":
            with scopes_disabled():
                return self.get_response(request)
        door = door_for(match)
        if door is None:
            return self.get_response(request)
        admitted = door(request, match)
        if isinstance(admitted, HttpResponse):
            return admitted
        request.business = admitted.business  # type: ignore[attr-defined]
        request.actor = admitted.actor  # type: ignore[attr-defined]
        # Times are shown in the business's own time zone.
        with (
            scope(business=admitted.business),
            timezone.override(ZoneInfo(admitted.business.time_zone)),
        ):
            return self.get_response(request)


def door_for(match: ResolverMatch) -> Door | None:
    if "passkit" in match.namespaces:
        return passkit_door if "serial_number" in match.kwargs else None
    if "business_slug" in match.kwargs:
        return dashboard_door
    if "counter" in match.namespaces:
        return device_door
    if any(name in match.kwargs for name in CUSTOMER_TOKENS):
        return customer_door
    return None


def dashboard_door(request: HttpRequest, match: ResolverMatch) -> Admitted | HttpResponse:
    membership = membership_in(request.user, match.kwargs["business_slug"])
    if membership is None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    request.membership = membership  # type: ignore[attr-defined]
    return Admitted(
        business=membership.business,
        actor=Actor.for_member(membership, ip_address=_ip(request)),
    )


def device_door(request: HttpRequest, match: ResolverMatch) -> Admitted | HttpResponse:
    token = _device_token(request)
    device = find_device(token) if token else None
    if device is None:
        return _device_refused(request, DeviceUnknown())
    if not device.is_active:
        return _device_refused(request, DeviceRevoked())
    request.device = device  # type: ignore[attr-defined]
    return Admitted(
        business=device.business, actor=Actor.for_device(device, ip_address=_ip(request))
    )


def customer_door(request: HttpRequest, match: ResolverMatch) -> Admitted | HttpResponse:
    name = next(name for name in CUSTOMER_TOKENS if name in match.kwargs)
    token = match.kwargs[name]
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise Http404
    model = apps.get_model(CUSTOMER_TOKENS[name])
    with scopes_disabled():
        owned = model.objects.select_related("business").filter(token=token).first()
    if owned is None:
        raise Http404
    setattr(request, name.removesuffix("_token"), owned)
    business: Business = owned.business
    return Admitted(
        business=business, actor=Actor.customer(business_id=business.pk, ip_address=_ip(request))
    )


def passkit_door(request: HttpRequest, match: ResolverMatch) -> Admitted | HttpResponse:
    if match.kwargs["pass_type_id"] != settings.APPLE_PASS_TYPE_ID:
        raise Http404
    owner = passkit.authenticated_pass(
        match.kwargs["serial_number"], request.headers.get("Authorization")
    )
    if owner is None:
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = "ApplePass"
        return response
    # A card's store card or a voucher's coupon.
    setattr(request, "voucher" if isinstance(owner, passkit.Voucher) else "card", owner)
    return Admitted(
        business=owner.business,
        actor=Actor.customer(business_id=owner.business_id, ip_address=_ip(request)),
    )


def remember_device(response: HttpResponse, token: str) -> None:
    """Keep a just-paired device's token in a cookie that scripts on the page cannot read."""
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=10 * 365 * 24 * 3600,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Strict",
    )


def _device_token(request: HttpRequest) -> str | None:
    """The token from ``Authorization: Device <token>``, else from the cookie; None if malformed."""
    # Read from META: ``request.headers`` would first copy every header of the request.
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "device":
            return None
    else:
        token = request.COOKIES.get(DEVICE_COOKIE, "")
    token = token.strip()
    return token if _TOKEN.fullmatch(token) else None


def _device_refused(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """A device's screen opened in the browser gets a page with the way back to pairing (an
    installed, full-screen app has no address bar to leave a bare refusal); its scripts get JSON."""
    if (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in request.META
        and "text/html" in request.META.get("HTTP_ACCEPT", "")
    ):
        return TemplateResponse(
            request,
            "counter/device_refused.html",
            {"message": refusal.message},
            status=refusal.http_status,
        ).render()
    return _refused(refusal)


def _refused(refusal: Refusal) -> HttpResponse:
    response = JsonResponse(
        {"code": refusal.code, "message": refusal.message}, status=refusal.http_status
    )
    if refusal.http_status == 401:
        response["WWW-Authenticate"] = "Device"
    return response


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None
