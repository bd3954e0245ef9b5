"""The customer's pages: the join page, the way back to a card, and the web card (a PWA).

Join pages come through ``customer.doors.program_door``; the web card and its files through
the customer door of ``tenancy.middleware`` (the card's long token in the URL).
"""

import base64
import functools
import io
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import etag, require_GET, require_http_methods, require_POST
from PIL import Image, ImageDraw

from stampcard.customer import claims, join_tokens, services
from stampcard.customer import hand_over as hand_over_service
from stampcard.customer.doors import program_door
from stampcard.customer.forms import CodeForm, JoinForm, ReturnForm
from stampcard.customer.links import card_path
from stampcard.customer.remembered import remember_card, remembered_card
from stampcard.loyalty import errors
from stampcard.loyalty.models import Card, JoinChannel, Program, RewardStatus
from stampcard.loyalty.progress import progress_of, reward_at
from stampcard.refusals import Refusal
from stampcard.tenancy.errors import NotAllowed
from stampcard.vouchers.code_images import code_svg
from stampcard.vouchers.models import CodeDisplay, RedemptionMethod, Voucher, VoucherStatus
from stampcard.vouchers.services import redeem_voucher
from stampcard.wallet import images, signing
from stampcard.wallet.google import enabled as google_enabled

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
# The card this browser joined with, per program: its join page offers it again.


# --- the join page --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@program_door
def join(request: HttpRequest, program: Program) -> HttpResponse:
    channel = JoinChannel.from_qr(request.GET.get("ch"))
    form = JoinForm(_posted(request), program=program)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            joined = services.join(
                business=program.business,
                program=program,
                name=data.get("name", ""),
                email=data.get("email", ""),
                phone=data.get("phone", ""),
                birthday=data.get("birthday"),
                marketing_consent=bool(data.get("marketing_consent")),
                language=translation.get_language() or settings.LANGUAGE_CODE,
                channel=channel,
                # The same form sent again (a double tap) is answered as the first time.
                attempt_key=join_tokens.attempt_key(request, program),
            )
        except errors.InvalidCustomer as refusal:
            form.add_error(None, refusal.message)
        else:
            if joined.card is None:
                return _check_email(request, program, joined.ticket)
            response = redirect(card_path(joined.card))
            remember_card(response, program, joined.card)
            return response
    context = {
        "program": program,
        # The visitor's language: the one they join in.
        "texts": program.texts_in(translation.get_language()),
        "form": form,
        "join_token": join_tokens.form_token(request),
        "join_token_field": join_tokens.FIELD,
        "known_card": remembered_card(request, program),
        "milestones": [
            {"stamps": m.stamps, "title": m.title_in(translation.get_language())}
            for m in program.milestones.all()
        ],
    }
    page = render(request, "customer/join.html", context, status=400 if form.errors else 200)
    join_tokens.keep_browser_secret(request, page, program)
    return page


@require_http_methods(["GET", "POST"])
@program_door
def return_request(request: HttpRequest, program: Program) -> HttpResponse:
    """ "I already have a card": the way back is e-mailed, and the answer never tells more."""
    form = ReturnForm(_posted(request), program=program)
    if request.method == "POST" and form.is_valid():
        ticket = services.request_return(
            business=program.business,
            program=program,
            email=form.cleaned_data.get("email", ""),
            phone=form.cleaned_data.get("phone", ""),
        )
        return _check_email(request, program, ticket)
    status = 400 if form.errors else 200
    return render(request, "customer/return.html", _program_page(program, form=form), status=status)


@require_POST
@program_door
def return_code(request: HttpRequest, program: Program) -> HttpResponse:
    form = CodeForm(request.POST)
    opened = None
    if form.is_valid():
        opened = services.open_by_code(
            program=program, ticket=form.cleaned_data["ticket"], code=form.cleaned_data["code"]
        )
    if opened is not None:
        return _opened(request, program, opened)
    ticket = request.POST.get("ticket", "")
    return _check_email(request, program, ticket[:100], wrong_code=True)


@require_http_methods(["GET", "POST"])
@program_door
def return_link(request: HttpRequest, program: Program, token: str) -> HttpResponse:
    """The e-mailed link. Opening it (GET) spends nothing, since mail scanners open links too;
    the button on it (POST) does."""
    if request.method == "POST":
        opened = services.open_by_link(program=program, token=token)
        if opened is not None:
            return _opened(request, program, opened)
        return render(request, "customer/link_spent.html", _program_page(program), status=410)
    claims_too = services.link_finishes_a_claim(program=program, token=token)
    return render(
        request, "customer/return_link.html", _program_page(program, claims_too=claims_too)
    )


@require_GET
@never_cache
@program_door
def hand_over(request: HttpRequest, program: Program, token: str) -> HttpResponse:
    """The QR staff showed at the counter (``customer.hand_over``): opening it uses it up,
    remembers the card in this browser as the join page does, and opens the web card. A phone
    camera opens a link once, and nothing mails it around, so the GET itself spends it."""
    card = hand_over_service.open_hand_over(program=program, token=token)
    if card is None:
        return render(request, "customer/hand_over_spent.html", _program_page(program), status=410)
    response = redirect(card_path(card))
    remember_card(response, program, card)
    return response


def _opened(request: HttpRequest, program: Program, opened: services.Returned) -> HttpResponse:
    """The card a returning customer proved is theirs: remembered in this browser, then
    opened, or first the claim they were making when asked to prove it (``customer.claims``)."""
    if opened.then_claim:
        response = claims.finish_claim(request, program, opened.card, opened.then_claim)
    else:
        response = redirect(card_path(opened.card))
    remember_card(response, program, opened.card)
    return response


def _program_page(program: Program, **context: Any) -> dict[str, Any]:
    """The context of a page under a program's join page: the program and its texts in the
    visitor's language."""
    return {"program": program, "texts": program.texts_in(translation.get_language()), **context}


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (an empty one too, so it is answered with what is missing)."""
    return request.POST if request.method == "POST" else None


def _check_email(
    request: HttpRequest, program: Program, ticket: str, *, wrong_code: bool = False
) -> HttpResponse:
    context = _program_page(
        program,
        form=CodeForm(initial={"ticket": ticket}),
        wrong_code=wrong_code,
        minutes=services.RETURN_LINK_MINUTES,
    )
    return render(request, "customer/check_email.html", context, status=400 if wrong_code else 200)


# --- the web card ---------------------------------------------------------------------


@require_GET
def card(request: HttpRequest, card_token: str) -> HttpResponse:
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    card = Card.objects.select_related("program", "customer", "business").get(pk=card.pk)
    program = card.program
    # The program's texts in the customer's language, whatever language the page is in.
    language = card.customer.language
    progress = progress_of(card, language)
    milestones = {m.stamps: m for m in program.milestones.all()}
    cells = [
        {
            "number": n,
            "filled": n <= card.stamps,
            "milestone": milestones.get(n),
            "title": milestones[n].title_in(language) if n in milestones else "",
        }
        for n in range(1, program.stamps_goal + 1)
    ]
    # Every reward of a cycle, the milestones first, and which this cycle has reached
    # (the goal's never: reaching it starts the next cycle). Worded as the wallet passes.
    cycle_rewards = [
        {
            "label": reward_at(m.stamps),
            "title": m.title_in(language),
            "reached": m.stamps <= card.stamps,
        }
        for m in sorted(milestones.values(), key=lambda m: m.stamps)
    ]
    if cycle_rewards:
        cycle_rewards.append(
            {
                "label": reward_at(program.stamps_goal),
                "title": program.text_in("reward_title", language),
                "reached": False,
            }
        )
    rewards = [
        reward.title_in(language)
        for reward in card.rewards.filter(status=RewardStatus.READY)
        .select_related("milestone", "card__program")
        .order_by("created_at")
    ]
    now = timezone.now()
    vouchers = [
        {
            "voucher": voucher,
            "image": _code_image(voucher),
            "picture": _picture_url(card, voucher),
        }
        for voucher in Voucher.objects.filter(card=card, status=VoucherStatus.ACTIVE)
        .exclude(valid_until__lte=now)
        .order_by("created_at")
    ]
    apple_wallet = signing.can_sign()
    context: dict[str, Any] = {
        "card": card,
        "program": program,
        "texts": program.texts_in(language),
        "business": card.business,
        "progress": progress,
        "cells": cells,
        "rewards": rewards,
        "cycle_rewards": cycle_rewards,
        "vouchers": vouchers,
        "card_qr": _scalable(code_svg(card.code, CodeDisplay.QR)),
        "apple_wallet": apple_wallet,
        "apple_pass_url": reverse("wallet:apple_pass", kwargs={"card_token": card.token})
        if apple_wallet
        else None,
        # Through our redirect, which writes the object before Google's save page opens.
        "google_save_url": reverse("wallet:google_card_save", kwargs={"card_token": card.token})
        if google_enabled()
        else None,
        # Each voucher's own offer in Google Wallet (wallet:google_card_voucher_save).
        "google_vouchers": google_enabled(),
        "logo": images.logo_data_uri(program.logo.name) if program.logo else "",
    }
    response = render(request, "customer/card.html", context)
    # The customer's own page: never kept by shared caches; the service worker keeps a copy.
    response["Cache-Control"] = "private, no-cache"
    return response


def _code_image(voucher: Voucher) -> str:
    if not voucher.code or voucher.code_display == CodeDisplay.TEXT:
        return ""
    return _scalable(code_svg(voucher.code, voucher.code_display))


def _picture_url(card: Card, voucher: Voucher) -> str:
    """Where the card's page shows the voucher's picture (``voucher_picture``), or ""."""
    if not voucher.picture_name:
        return ""
    return reverse(
        "customer:voucher_picture", kwargs={"card_token": card.token, "voucher_id": voucher.pk}
    )


_SVG_SIZE = re.compile(r'^<svg width="(\d+)" height="(\d+)"')


def _scalable(svg: str) -> str:
    """The code's SVG (drawn here from the code alone) with a viewBox, so CSS can size it."""
    svg = _SVG_SIZE.sub(r'<svg width="\1" height="\2" viewBox="0 0 \1 \2"', svg.lstrip(), count=1)
    return mark_safe(svg)  # noqa: S308  # drawn by our code image helpers, no user markup


def _theme_etag(request: HttpRequest, card_token: str) -> str:
    program = request.card.program  # type: ignore[attr-defined]
    return f"{program.pk}-{program.design_version}-r{images.RENDERING}"


# A filled stamp's icon on the web card, in pixels: 2.5rem stamps on a 3x screen, and more.
WEB_STAMP_SIDE = 128


@require_GET
@etag(_theme_etag)
def theme(request: HttpRequest, card_token: str) -> HttpResponse:
    """The program's look as CSS variables (the pages' policy allows no inline style): its
    colours, the filled stamps' icon (built-in, in the background colour on a disc of the text
    colour; or the owner's picture on its own transparency) and the strip picture behind the
    card, as ``data:`` images. Tagged by design version, so a repeat visit is a 304."""
    program = request.card.program  # type: ignore[attr-defined]
    background = _colour(program.background_color, "#1f2937")
    foreground = _colour(program.foreground_color, "#ffffff")
    picture = program.stamp_image.name if program.stamp_image else ""
    icon = images.stamp_icon_png(program.stamp_icon, picture, background, WEB_STAMP_SIDE)
    variables = {
        "--card-bg": background,
        "--card-fg": foreground,
        "--card-label": _colour(program.label_color, "#d1d5db"),
        "--stamp-icon": f'url("data:image/png;base64,{base64.b64encode(icon).decode()}")',
        "--stamp-fill": "transparent" if picture else foreground,
    }
    if program.strip_image:
        strip = images.web_strip_jpeg(program.strip_image.name, background)
        variables["--card-strip"] = (
            f'url("data:image/jpeg;base64,{base64.b64encode(strip).decode()}") center / cover'
        )
    css = ":root{" + ";".join(f"{name}:{value}" for name, value in variables.items()) + "}\n"
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, no-cache"
    return response


def _colour(value: str, default: str) -> str:
    return value if isinstance(value, str) and _HEX.fullmatch(value) else default


@require_GET
def manifest(request: HttpRequest, card_token: str) -> HttpResponse:
    card: Card = request.card  # type: ignore[attr-defined]
    program = card.program
    name = program.text_in("name", card.customer.language)
    here = reverse("customer:card", kwargs={"card_token": card.token})
    document = {
        "name": f"{name} · {card.business.name}",
        "short_name": name[:30],
        "start_url": here,
        "scope": here,
        "id": here,
        "display": "standalone",
        "background_color": _colour(program.background_color, "#1f2937"),
        "theme_color": _colour(program.background_color, "#1f2937"),
        "lang": translation.get_language() or settings.LANGUAGE_CODE,
        "icons": [
            {
                "src": reverse("customer:icon", kwargs={"card_token": card.token, "size": size}),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in ICON_SIZES
        ],
    }
    response = JsonResponse(document, content_type="application/manifest+json")
    response["Cache-Control"] = "private, no-cache"
    return response


ICON_SIZES = (192, 512)


@require_GET
def icon(request: HttpRequest, card_token: str, size: int) -> HttpResponse:
    if size not in ICON_SIZES:
        raise Http404
    program = request.card.program  # type: ignore[attr-defined]
    png = _icon_png(
        _colour(program.background_color, "#1f2937"),
        _colour(program.foreground_color, "#ffffff"),
        size,
    )
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@functools.lru_cache(maxsize=64)
def _icon_png(background: str, foreground: str, size: int) -> bytes:
    """A plain icon in the card's colours: a stamp (a ring and a dot) on its background."""
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    ring = size * 0.3
    centre = size / 2
    draw.ellipse(
        (centre - ring, centre - ring, centre + ring, centre + ring),
        outline=foreground,
        width=max(2, size // 24),
    )
    dot = size * 0.14
    draw.ellipse((centre - dot, centre - dot, centre + dot, centre + dot), fill=foreground)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@require_GET
def service_worker(request: HttpRequest, card_token: str) -> HttpResponse:
    """The card's service worker, served under the card's URL so that its scope is the card."""
    here = reverse("customer:card", kwargs={"card_token": card_token})
    script = _worker_source().replace(
        "/*SHELL*/",
        ",".join(
            f'"{url}"'
            for url in (
                here,
                here + "theme.css",
                static("customer/customer.css"),
                static("customer/card.js"),
                static("js/language.js"),
            )
        ),
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@functools.cache
def _worker_source() -> str:
    found = finders.find("customer/sw.js")
    if not isinstance(found, str):
        raise ImproperlyConfigured("static customer/sw.js is missing")
    return Path(found).read_text(encoding="utf-8")


# --- Self-Redeem ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def voucher(request: HttpRequest, card_token: str, voucher_id: int) -> HttpResponse:
    """A Self-Redeem voucher of this card: held to confirm, then a live "redeemed" state.

    The redeemed state shows the redemption time beside a running clock and an animation, so
    a screenshot of it is told apart at the counter. Redeeming is ``redeem_voucher`` with the
    customer's actor, so a voucher is consumed once whatever races.
    """
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    if not 0 < voucher_id <= _MAX_ID:
        raise Http404
    found = (
        Voucher.objects.filter(
            card=card, pk=voucher_id, redemption_method=RedemptionMethod.SELF_REDEEM
        )
        .select_related("program")
        .first()
    )
    if found is None:
        raise Http404
    refusal = ""
    status = 200
    if request.method == "POST":
        if request.POST.get("held") == "1" or request.POST.get("confirm") == "on":
            try:
                found = redeem_voucher(
                    business=card.business,
                    actor=request.actor,  # type: ignore[attr-defined]
                    token=found.token,
                )
            except (Refusal, NotAllowed) as refused:
                found.refresh_from_db()
                if found.status != VoucherStatus.REDEEMED:
                    refusal, status = _refusal_text(refused), 409
            else:
                return redirect(request.path)
        else:
            refusal, status = gettext("Hold the button until it is full."), 400
    context = {
        "card": card,
        "program": card.program,
        "texts": card.program.texts_in(card.customer.language),
        "business": card.business,
        "voucher": found,
        # Expired by the clock already, or by the expiry job (vouchers.services.expiring).
        "expired": found.status == VoucherStatus.EXPIRED
        or (
            found.status == VoucherStatus.ACTIVE
            and found.valid_until is not None
            and found.valid_until <= timezone.now()
        ),
        "refusal": refusal,
        "code_image": _code_image(found),
        "picture": _picture_url(card, found),
        "apple_wallet": signing.can_sign(),
        # Written to Google (if it is not yet) when the customer follows it.
        "google_save_url": reverse(
            "wallet:google_card_voucher_save",
            kwargs={"card_token": card.token, "voucher_id": found.pk},
        )
        if google_enabled()
        else None,
    }
    response = render(request, "customer/voucher.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def voucher_picture(request: HttpRequest, card_token: str, voucher_id: int) -> HttpResponse:
    """The picture of a voucher of this card, as the issuing drew it again (a PNG or JPEG,
    never an upload as it came, never another stored file)."""
    card: Card = request.card  # type: ignore[attr-defined]  # set by the customer door
    if not 0 < voucher_id <= _MAX_ID:
        raise Http404
    found = Voucher.objects.filter(card=card, pk=voucher_id).only("image").first()
    name = found.picture_name if found is not None else ""
    if not name:
        raise Http404
    try:
        data, kind = images.voucher_picture(name)
    except OSError:
        raise Http404 from None
    response = HttpResponse(data, content_type=kind)
    # A picture is never replaced under its voucher; only this customer's browser keeps it.
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _refusal_text(refused: Exception) -> str:
    return (
        refused.message
        if isinstance(refused, Refusal)
        else gettext("This voucher cannot be redeemed here.")
    )


_MAX_ID = 2**63 - 1
