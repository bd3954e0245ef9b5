"""Google Wallet's own calls to us: its save/delete callbacks, and the images passes show.

None of these URLs belongs to a business door: Google is not a customer holding a card's
token. The callback is recognised by its signature (wallet.google_callbacks opens the card's
business scope itself); the images are public by nature, named by program, design version
and stamp count, and show nothing but the program's colours, stamp, stamp grid and logo. A
voucher's hero image is named by the voucher and a digest of its picture's random stored
name, and shows nothing but that picture.
"""

import hmac
import logging
import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Program
from stampcard.vouchers.models import Voucher
from stampcard.wallet import google, images
from stampcard.wallet.google_callbacks import (
    MAX_BODY_BYTES,
    CallbackRefused,
    CallbackUnavailable,
    take_callback,
)

log = logging.getLogger(__name__)

_HERO_NAME = re.compile(r"(\d{1,12})-(\d{1,9})-(\d{1,3})")
_LOGO_NAME = re.compile(r"(\d{1,12})-(\d{1,9})")
_VOUCHER_HERO_NAME = re.compile(r"(\d{1,18})-([0-9a-f]{32})")
# What shows through a voucher picture's transparency on Google: the same for every pass,
# so the image under an address never changes with a colour.
VOUCHER_HERO_BACKGROUND = "#ffffff"
# The address changes with the design and the stamps, so an image never changes under it.
IMMUTABLE = "public, max-age=31536000, immutable"


@csrf_exempt
@require_POST
def google_callback(request: HttpRequest) -> HttpResponse:
    """Take a save/delete callback: 200 when taken or already taken, 400 when not Google's,
    503 when it cannot be checked now (Google retries callbacks that fail)."""
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return JsonResponse({"error": "too_large"}, status=413)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"error": "too_large"}, status=413)
    try:
        take_callback(body)
    except CallbackUnavailable as unavailable:
        log.warning("Google Wallet callback not checked now: %s", unavailable.code)
        return JsonResponse({"error": unavailable.code}, status=503)
    except CallbackRefused as refused:
        log.warning("Google Wallet callback refused: %s", refused.code)
        return JsonResponse({"error": refused.code}, status=400)
    return JsonResponse({})


def _program(program_id: str, design_version: str) -> Program:
    with scopes_disabled():
        program = Program.objects.prefetch_related("milestones").filter(pk=int(program_id)).first()
    # An older design's address is gone: Google fetches the new one from the patched pass.
    if program is None or program.design_version != int(design_version):
        raise Http404
    return program


@require_GET
def google_hero(request: HttpRequest, name: str) -> HttpResponse:
    """The stamp grid of ``stamps`` at Google's hero size (1032x336), drawn like the strip."""
    found = _HERO_NAME.fullmatch(name)
    if found is None:
        raise Http404
    program = _program(found[1], found[2])
    stamps = int(found[3])
    if stamps > program.stamps_goal:
        raise Http404
    return _png(images.hero_png(program, stamps))


@require_GET
def google_logo(request: HttpRequest, name: str) -> HttpResponse:
    """The program's logo as Google shows it: a square of at least 660 px, cut to a circle."""
    found = _LOGO_NAME.fullmatch(name)
    if found is None:
        raise Http404
    program = _program(found[1], found[2])
    if program.logo:
        return _png(images.square_logo_png(program.logo.name, program.background_color))
    # No logo of the owner's: the card's stamp on its colours, as the pass's icon.
    return _png(
        images.stamp_square_png(
            images.palette_of(program),
            images.GOOGLE_LOGO_SIDE,
            program.stamp_icon,
            program.stamp_image.name or "",
        )
    )


@require_GET
def google_voucher_hero(request: HttpRequest, name: str) -> HttpResponse:
    """The voucher's picture at Google's hero size (1032x336), drawn like the coupon's strip."""
    found = _VOUCHER_HERO_NAME.fullmatch(name)
    if found is None:
        raise Http404
    with scopes_disabled():
        voucher = Voucher.objects.filter(pk=int(found[1])).only("image").first()
    picture = voucher.picture_name if voucher is not None else ""
    if not picture or not hmac.compare_digest(google.picture_digest(picture), found[2]):
        raise Http404
    try:
        return _png(images.voucher_hero_png(picture, VOUCHER_HERO_BACKGROUND))
    except OSError:
        raise Http404 from None


def _png(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = IMMUTABLE
    return response
