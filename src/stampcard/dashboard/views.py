"""The business's read-only overview: programs, cards and their ledgers, vouchers, audit.

Every view under ``/b/<business_slug>/`` runs inside the business's scope (the dashboard door
in ``tenancy.middleware``), so an object of another business is not found, and states the
permission it needs with ``@requires``. A member limited to some locations sees only their
rows (``tenancy.selectors.at_actors_locations``).
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe

from stampcard.audit.models import AuditEntry
from stampcard.dashboard.paging import keyset_page
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import Card, Customer, Program, Reward, StampEvent
from stampcard.loyalty.selectors import customer_search, searched_card_code
from stampcard.stats.programs import ProgramTotals, program_totals
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.selectors import at_actors_locations, memberships_of
from stampcard.vouchers.code_images import code_svg
from stampcard.vouchers.models import Voucher
from stampcard.wallet.google_callbacks import installs_of

AUDIT_PAGE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = memberships_of(request.user)
    if len(memberships) == 1:
        return redirect("dashboard:business", business_slug=memberships[0].business.slug)
    return render(request, "dashboard/home.html", {"memberships": memberships})


@requires(Permission.VIEW)
def business(request: HttpRequest, business_slug: str) -> HttpResponse:
    actor = _actor(request)
    business: Business = request.business  # type: ignore[attr-defined]
    totals = program_totals(business=business)
    programs = list(Program.objects.order_by("status", "name"))
    for program in programs:
        counted = totals.get(program.pk, ProgramTotals())
        program.card_count, program.stamps_given = counted.cards, counted.stamps  # type: ignore[attr-defined]
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    cards = (
        Card.objects.select_related("customer", "program")
        .prefetch_related("program__milestones")
        # Every reward, milestones too: a cycle may earn several. Counted per card shown
        # (the index on the reward's card), not grouped over every card.
        .annotate(reward_count=_reward_count())
        # The newest cards first, read backwards from the index (business, created_at, id).
        .order_by("-created_at", "-pk")
    )
    if query:
        # The cards of the 50 newest customers found, and the card with the code: the
        # customers through their trigram indexes (``+ 0``: not by walking every customer
        # newest first until 50 match), so a search costs what it finds.
        # Their ids as constants, so their cards are looked up by customer, not filtered
        # out of every card newest first.
        found = list(
            Customer.objects.filter(customer_search(query, actor, business))
            .order_by((F("pk") + 0).desc())
            .values_list("pk", flat=True)[:50]
        )
        cards = cards.filter(Q(customer__in=found) | Q(code=searched_card_code(query)))
    events = StampEvent.objects.select_related("card__customer").order_by("-created_at")
    return render(
        request,
        "dashboard/business.html",
        {
            "programs": programs,
            "cards": cards[:50],
            "query": query,
            "recent_events": at_actors_locations(events, actor)[:20],
        },
    )


@requires(Permission.VIEW)
def program_detail(request: HttpRequest, business_slug: str, program_id: int) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id)
    counted = program_totals(business=request.business).get(program.pk, ProgramTotals())  # type: ignore[attr-defined]
    vouchers = _vouchers(request).filter(program=program).order_by("-created_at")
    return render(
        request,
        "dashboard/program.html",
        {
            "program": program,
            "card_count": counted.cards,
            "rewards": counted.rewards,
            "vouchers": vouchers[:20],
        },
    )


@requires(Permission.VIEW)
def card_detail(request: HttpRequest, business_slug: str, card_code: str) -> HttpResponse:
    code = normalize_card_code(card_code)
    if code is None:
        raise Http404
    card: Card = get_object_or_404(
        Card.objects.select_related("customer", "program").prefetch_related("program__milestones"),
        code=code,
    )
    events = card.events.select_related("actor_user", "actor_device").order_by("-created_at")
    return render(
        request,
        "dashboard/card.html",
        {
            "card": card,
            "events": at_actors_locations(events, _actor(request))[:100],
            "rewards": card.rewards.select_related("milestone", "card__program").order_by(
                "-cycle", "-id"
            ),
            "vouchers": _vouchers(request).filter(card=card).order_by("-created_at"),
            "installs": installs_of(card),
        },
    )


@requires(Permission.VIEW)
def voucher_detail(request: HttpRequest, business_slug: str, voucher_id: int) -> HttpResponse:
    voucher: Voucher = get_object_or_404(
        _vouchers(request).select_related("card__customer"), pk=voucher_id
    )
    # Drawn by us from a code limited to letters, digits, - and _, so safe to inline.
    image = code_svg(voucher.code, voucher.code_display) if voucher.code else ""
    return render(
        request,
        "dashboard/voucher.html",
        {"voucher": voucher, "code_image": mark_safe(image)},  # noqa: S308
    )


@requires(Permission.VIEW_AUDIT)
def audit_trail(request: HttpRequest, business_slug: str) -> HttpResponse:
    """Newest first, AUDIT_PAGE at a time, paged by time and id (``dashboard.paging``), so a
    page far back costs what the first does — no count of every entry, no offset walked."""
    entries = at_actors_locations(
        AuditEntry.objects.select_related("actor_user", "actor_device"), _actor(request)
    )
    page = keyset_page(entries, params=request.GET, size=AUDIT_PAGE)
    return render(request, "dashboard/audit.html", {"entries": page})


def _reward_count() -> Coalesce:
    per_card = (
        Reward.objects.filter(card=OuterRef("pk"))
        .order_by()
        .values("card")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_card, output_field=IntegerField()), 0)


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _vouchers(request: HttpRequest) -> QuerySet[Voucher]:
    """Vouchers the member may see: not redeemed at another of the business's locations."""
    return at_actors_locations(Voucher.objects.all(), _actor(request), field="redeemed_at_location")
