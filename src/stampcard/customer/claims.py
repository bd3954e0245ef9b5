"""The public claim page of printed one-time codes and signed receipt codes.

The QR on a printed code carries ``loyalty.links.claim_url``: ``/k/<business slug>/<code>/``;
``/k/<business slug>/`` takes the code typed from the paper. Two kinds of code are taken
there: a claim code of a printed batch (``vouchers.claims``; typed without case, spaces or
dashes) and a receipt code a POS signed offline (``vouchers.receipts``, ``R1.…``/``R2.…``;
forgiving as that module says). Either is the secret, so the page is open to anyone and
guarded against guessing: every code it does not find counts against the caller's address
(the one the trusted proxy saw, as for logins) and against the business, and past either
limit it answers nothing but "try later" for a while.

A found code sends the browser on to the same claim under its program's join page,
``/j/<slug>/<program id>/k/<code>/`` (a receipt code is not tied to a program: with several
active programs the customer picks the card). The card this browser joined with is
remembered in a cookie of that path (``customer.remembered``), so there the page knows it.
With a card, one tap claims onto it; without one, the join form comes first (the customer
app's form and service). A returning customer proves the card is theirs by e-mail, as on the
join page: the e-mailed link (or code) remembers the claim, and following it opens the card
and claims the code onto it (``finish_claim``), without the code being opened again.
Finding and claiming are ``vouchers.services.claiming`` (``claim_code`` or ``claim_receipt``,
as the staff scanner claims too) with the customer's actor, so the engine's rules and
refusals apply and a code is used once whatever races.
"""

from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_scopes import scope, scopes_disabled

from stampcard.customer import join_tokens, services
from stampcard.customer.doors import program_door
from stampcard.customer.forms import CodeForm, JoinForm
from stampcard.customer.remembered import remember_card, remembered_card
from stampcard.loyalty import errors as loyalty_errors
from stampcard.loyalty.models import Card, JoinChannel, Program, ProgramStatus
from stampcard.refusals import Refusal
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business
from stampcard.vouchers import errors, receipts
from stampcard.vouchers.services.claiming import Claimable, claim_printed_code, find_claimable

# Codes not found, per caller and per business, within the window; then only "try later".
MISSES_PER_IP = 10
MISSES_PER_BUSINESS = 200
MISS_WINDOW_SECONDS = 15 * 60
# A receipt code typed with spaces between groups is longer than its printed form.
_MAX_TYPED_RECEIPT = 2 * receipts.MAX_CODE


class TooManyTries(Refusal):
    code = "too_many_tries"
    default_message = _("Too many codes were tried here. Please wait a few minutes and try again.")
    http_status = 429


def _keys(request: HttpRequest, business: Business) -> tuple[str, str]:
    ip = get_client_ip_address(request) or "-"
    return f"claim-miss:ip:{ip}", f"claim-miss:business:{business.pk}"


def _check_tries(request: HttpRequest, business: Business) -> None:
    by_ip, by_business = _keys(request, business)
    counts = cache.get_many([by_ip, by_business])
    if counts.get(by_ip, 0) >= MISSES_PER_IP or counts.get(by_business, 0) >= MISSES_PER_BUSINESS:
        raise TooManyTries()


def _count_miss(request: HttpRequest, business: Business) -> None:
    for key in _keys(request, business):
        cache.add(key, 0, MISS_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, MISS_WINDOW_SECONDS)


def _find(request: HttpRequest, business: Business, typed: object) -> Claimable:
    """The business's claim code or receipt code, counting a miss; refusals as
    ``vouchers.errors`` words them."""
    _check_tries(request, business)
    try:
        return find_claimable(business=business, code=typed)
    except (errors.ClaimCodeNotFound, errors.ClaimCodeOtherBusiness):
        _count_miss(request, business)
        raise


def _business(slug: str) -> Business:
    with scopes_disabled():
        business = Business.objects.filter(slug=slug).first()
    if business is None:
        raise Http404
    return business


def _claim_path(business: Business, program_id: int, code: str) -> str:
    return reverse(
        "customer:claim", kwargs={"slug": business.slug, "program_id": program_id, "code": code}
    )


# --- /k/<slug>/ and /k/<slug>/<code>/: the printed address ---------------------------------


@require_http_methods(["GET", "POST"])
def claim_start(request: HttpRequest, slug: str, code: str = "") -> HttpResponse:
    """The code from the QR (in the URL) or typed into the form; a found one goes on to its
    program's claim page (a receipt code, to the card the customer picks)."""
    business = _business(slug)
    typed = request.POST.get("code", "") if request.method == "POST" else code
    refusal = ""
    status = 200
    # (the card's name in the visitor's language, its claim page)
    choices: list[tuple[str, str]] = []
    if typed:
        with scope(business=business):
            try:
                found = _find(request, business, typed)
            except Refusal as refused:
                refusal, status = refused.message, refused.http_status
            else:
                programs = Program.objects.filter(business=business, status=ProgramStatus.ACTIVE)
                if found.program_id is not None:
                    programs = programs.filter(pk=found.program_id)
                choices = [
                    (
                        program.text_in("name", translation.get_language()),
                        _claim_path(business, program.pk, found.code),
                    )
                    for program in programs.order_by("pk")
                ]
                if not choices:
                    refusal, status = loyalty_errors.ProgramInactive().message, 409
                elif len(choices) == 1:
                    return redirect(choices[0][1])
    context = {
        "business": business,
        "refusal": refusal,
        "typed": typed[:_MAX_TYPED_RECEIPT],
        "choices": choices,
    }
    response = render(request, "customer/claim_start.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


# --- /j/<slug>/<program id>/k/<code>/: the claim, with or without a card -----------------


@require_http_methods(["GET", "POST"])
@program_door
def claim(request: HttpRequest, program: Program, code: str) -> HttpResponse:
    business = program.business
    try:
        found = _find(request, business, code)
    except Refusal as refused:
        return _answer(request, program, refusal=refused.message, status=refused.http_status)
    if found.program_id not in (None, program.pk):
        raise Http404
    card = remembered_card(request, program)
    attempt_key = join_tokens.attempt_key(request, program) if request.method == "POST" else ""
    earlier = (
        services.card_of_earlier_sending(program=program, attempt_key=attempt_key)
        if card is None and attempt_key
        else None
    )
    if earlier is not None:
        # The join form sent again (a double tap) before its first answer set the cookie:
        # that sending's card, and the code claimed onto it (by the first sending, or now).
        response = (
            _used(request, program, found, earlier)
            if found.claimed
            else _claim_onto(request, program, found.code, earlier, found=found)
        )
        remember_card(response, program, earlier)
        return response
    if found.claimed:
        return _used(request, program, found, card)
    if found.expired:
        return _answer(request, program, refusal=errors.ClaimCodeExpired().message, status=409)
    if card is not None:
        if request.method == "POST" and request.POST.get("claim") == "1":
            return _claim_onto(request, program, found.code, card, found=found)
        return _answer(request, program, found=found, card=card)
    form = JoinForm(request.POST if request.method == "POST" else None, program=program)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            joined = services.join(
                business=business,
                program=program,
                name=data.get("name", ""),
                email=data.get("email", ""),
                phone=data.get("phone", ""),
                birthday=data.get("birthday"),
                marketing_consent=bool(data.get("marketing_consent")),
                language=translation.get_language() or settings.LANGUAGE_CODE,
                channel=JoinChannel.RECEIPT,
                then_claim=found.code,
                attempt_key=attempt_key,
            )
        except loyalty_errors.InvalidCustomer as refusal:
            form.add_error(None, refusal.message)
        else:
            if joined.card is None:
                context = {
                    "program": program,
                    "texts": program.texts_in(translation.get_language()),
                    "form": CodeForm(initial={"ticket": joined.ticket}),
                    "wrong_code": False,
                    "minutes": services.RETURN_LINK_MINUTES,
                    "claim_again": request.path,
                }
                return render(request, "customer/claim_check_email.html", context)
            response = _claim_onto(request, program, found.code, joined.card, found=found)
            remember_card(response, program, joined.card)
            return response
    return _answer(request, program, found=found, form=form, status=400 if form.errors else 200)


def finish_claim(request: HttpRequest, program: Program, card: Card, code: str) -> HttpResponse:
    """The claim a returning customer started, finished once the e-mailed link (or code)
    opened their card: the code is claimed onto it and the page says what was added, or why
    not (used in the meantime, expired, a rule of the card). Nothing to open again."""
    return _claim_onto(request, program, code, card)


def _claim_onto(
    request: HttpRequest,
    program: Program,
    code: str,
    card: Card,
    *,
    found: Claimable | None = None,
) -> HttpResponse:
    try:
        outcome = claim_printed_code(
            business=program.business,
            actor=request.actor,  # type: ignore[attr-defined]
            code=code,
            card=card,
        )
    except (Refusal, NotAllowed) as refused:
        if isinstance(refused, errors.ClaimCodeUsed):
            # Used by this very card: a parallel sending of the same form claimed it first.
            now = find_claimable(business=program.business, code=code)
            if now.claimed_by_id == card.pk:
                return _used(request, program, now, card)
        message = (
            refused.message
            if isinstance(refused, Refusal)
            else gettext("This code cannot be claimed here.")
        )
        return _answer(request, program, found=found, card=card, refusal=message, status=409)
    card.refresh_from_db()
    return _answer(request, program, found=found, card=card, added=outcome.added)


def _used(
    request: HttpRequest, program: Program, found: Claimable, card: Card | None
) -> HttpResponse:
    """A claimed code: "already on your card" when ``card`` claimed it, else refused."""
    mine = card is not None and found.claimed_by_id == card.pk
    return _answer(
        request,
        program,
        found=found,
        card=card,
        refusal="" if mine else errors.ClaimCodeUsed().message,
        already_mine=mine,
        status=200 if mine else 409,
    )


def _answer(
    request: HttpRequest,
    program: Program,
    *,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    context.setdefault("found", None)
    context.setdefault("card", None)
    context.setdefault("refusal", "")
    context.setdefault("form", None)
    context.setdefault("added", None)
    context.setdefault("already_mine", False)
    context["program"] = program
    context["texts"] = program.texts_in(translation.get_language())
    if context["form"] is not None:
        # The join form's one-time token: sent twice, it is one join (customer.join_tokens).
        context["join_token"] = join_tokens.form_token(request)
        context["join_token_field"] = join_tokens.FIELD
    response = render(request, "customer/claim.html", context, status=status)
    response["Cache-Control"] = "no-store"
    if context["form"] is not None:
        join_tokens.keep_browser_secret(request, response, program)
    return response
