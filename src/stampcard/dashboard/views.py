"""The business's read-only overview: programs, cards and their ledgers, vouchers, audit.

Every view under ``/b/<business_slug>/`` runs inside the business's scope (see
``tenancy.middleware``), so an object of another business is not found.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import Card, Program, Reward, StampEvent
from stampcard.tenancy.permissions import Permission, require_permission
from stampcard.tenancy.selectors import memberships_of
from stampcard.vouchers.code_images import code_svg
from stampcard.vouchers.models import Voucher


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = memberships_of(request.user)
    if len(memberships) == 1:
        return redirect("dashboard:business", business_slug=memberships[0].business.slug)
    return render(request, "dashboard/home.html", {"memberships": memberships})


def business(request: HttpRequest, business_slug: str) -> HttpResponse:
    programs = Program.objects.annotate(
        card_count=Count("cards", distinct=True),
        stamps_given=Sum("cards__lifetime_stamps"),
    ).order_by("status", "name")
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    cards = Card.objects.select_related("customer", "program").order_by("-updated_at")
    if query:
        code = normalize_card_code(query)
        cards = cards.filter(
            Q(customer__name__icontains=query)
            | Q(customer__email__icontains=query)
            | Q(customer__phone__contains=query.replace(" ", ""))
            | Q(code=code or query.upper())
        )
    return render(
        request,
        "dashboard/business.html",
        {
            "programs": programs,
            "cards": cards[:50],
            "query": query,
            "recent_events": StampEvent.objects.select_related("card__customer").order_by(
                "-created_at"
            )[:20],
        },
    )


def program_detail(request: HttpRequest, business_slug: str, program_id: int) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id)
    return render(
        request,
        "dashboard/program.html",
        {
            "program": program,
            "card_count": program.cards.count(),
            "rewards": Reward.objects.filter(card__program=program).count(),
            "vouchers": Voucher.objects.filter(program=program).order_by("-created_at")[:20],
        },
    )


def card_detail(request: HttpRequest, business_slug: str, card_code: str) -> HttpResponse:
    code = normalize_card_code(card_code)
    if code is None:
        raise Http404
    card: Card = get_object_or_404(Card.objects.select_related("customer", "program"), code=code)
    return render(
        request,
        "dashboard/card.html",
        {
            "card": card,
            "events": card.events.select_related("actor_user", "actor_device").order_by(
                "-created_at"
            )[:100],
            "rewards": card.rewards.order_by("-cycle"),
            "vouchers": card.vouchers.order_by("-created_at"),
        },
    )


def voucher_detail(request: HttpRequest, business_slug: str, voucher_id: int) -> HttpResponse:
    voucher: Voucher = get_object_or_404(
        Voucher.objects.select_related("card__customer"), pk=voucher_id
    )
    # Drawn by us from a code limited to letters, digits, - and _, so safe to inline.
    image = code_svg(voucher.code, voucher.code_display) if voucher.code else ""
    return render(
        request,
        "dashboard/voucher.html",
        {"voucher": voucher, "code_image": mark_safe(image)},  # noqa: S308
    )


def audit_trail(request: HttpRequest, business_slug: str) -> HttpResponse:
    require_permission(request.membership, Permission.VIEW_AUDIT)  # type: ignore[attr-defined]
    entries = AuditEntry.objects.select_related("actor_user", "actor_device").order_by(
        "-created_at"
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "dashboard/audit.html", {"page": page})
