"""Customers on the dashboard: the list and its filters, a profile, corrections, CSV, erasure.

Thin views over ``loyalty.services.customers`` (search, import, export, erase) and
``loyalty.services.correct_stamps``. Every view runs in the business's scope (the dashboard
door), so another business's customer is not found.
"""

import csv
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from stampcard.dashboard.paging import count_up_to, keyset_page
from stampcard.loyalty.models import Card, Customer, JoinChannel, Program, Reward, StampEvent
from stampcard.loyalty.services import MAX_CORRECTION, correct_stamps
from stampcard.loyalty.services.customers import (
    LAST_VISIT_CHOICES,
    MAX_IMPORT_BYTES,
    CustomerFilters,
    ImportRefused,
    customer_page,
    erase_customer,
    export_rows,
    import_customers,
)
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Location
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.selectors import at_actors_locations
from stampcard.vouchers.models import Voucher

HISTORY_PAGE = 50
# A profile's section says how many rows it holds, counted this far and shown as "1,000+" beyond.
HISTORY_COUNT_CAP = 1000


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 <= number < 2**62 else None


@requires(Permission.VIEW)
def customer_list(request: HttpRequest, business_slug: str) -> HttpResponse:
    get = request.GET
    last_visit = _int(get.get("last_visit", "").lstrip("-"))
    if last_visit is not None and get.get("last_visit", "").startswith("-"):
        last_visit = -last_visit
    filters = CustomerFilters(
        query=get.get("q", ""),
        last_visit=last_visit if last_visit in LAST_VISIT_CHOICES else None,
        min_stamps=_int(get.get("min_stamps")),
        rewards_waiting=get.get("rewards") == "1",
        program_id=_int(get.get("program")),
        location_id=_int(get.get("location")),
        join_channel=get.get("channel", "") if get.get("channel") in JoinChannel.values else "",
    )
    page = customer_page(
        business=request.business,  # type: ignore[attr-defined]
        actor=_actor(request),
        filters=filters,
        after=_int(get.get("after")),
    )
    more = get.copy()
    more["after"] = str(page.next_after or "")
    return render(
        request,
        "dashboard/customers/list.html",
        {
            "page": page,
            "filters": filters,
            "query": filters.query.strip()[:100],
            "programs": Program.objects.order_by("name").only("pk", "name"),
            "locations": Location.objects.order_by("name").only("pk", "name"),
            "channels": JoinChannel.choices,
            "last_visits": [(str(days), _last_visit_label(days)) for days in LAST_VISIT_CHOICES],
            "last_visit": str(filters.last_visit or ""),
            "next_query": more.urlencode(),
        },
    )


def _last_visit_label(days: int) -> str:
    if days > 0:
        return ngettext("In the last %(n)d day", "In the last %(n)d days", days) % {"n": days}
    return ngettext("Not for %(n)d day", "Not for %(n)d days", -days) % {"n": -days}


@requires(Permission.VIEW)
def customer_detail(request: HttpRequest, business_slug: str, customer_id: int) -> HttpResponse:
    """The person, their cards, and their stamp, reward and voucher history: each newest
    first, HISTORY_PAGE at a time, paged on its own by time and id (``dashboard.paging``)."""
    customer = get_object_or_404(Customer, pk=customer_id)
    cards = list(customer.cards.select_related("program").order_by("program__name"))
    # By the card ids: each history is read from its (card, …) index, not joined.
    card_ids = [card.pk for card in cards]
    actor = _actor(request)
    events = at_actors_locations(
        StampEvent.objects.filter(card__in=card_ids).select_related(
            "card", "actor_user", "actor_device", "location"
        ),
        actor,
    )
    rewards = Reward.objects.filter(card__in=card_ids).select_related("card__program", "milestone")
    vouchers = at_actors_locations(
        Voucher.objects.filter(card__in=card_ids).select_related("redeemed_at_location"),
        actor,
        field="redeemed_at_location",
    )
    params = request.GET
    return render(
        request,
        "dashboard/customers/detail.html",
        {
            "customer": customer,
            "cards": cards,
            "events": keyset_page(events, params=params, size=HISTORY_PAGE, prefix="stamps_"),
            "rewards": keyset_page(rewards, params=params, size=HISTORY_PAGE, prefix="rewards_"),
            "vouchers": keyset_page(vouchers, params=params, size=HISTORY_PAGE, prefix="vouchers_"),
            "counts": {
                "events": count_up_to(events, cap=HISTORY_COUNT_CAP),
                "rewards": count_up_to(rewards, cap=HISTORY_COUNT_CAP),
                "vouchers": count_up_to(vouchers, cap=HISTORY_COUNT_CAP),
            },
            "correction_form": CorrectionForm(cards=cards),
            # A section a link asks to open (?open=stamps), besides the one it pages.
            "opened": params.get("open", ""),
        },
    )


class CorrectionForm(forms.Form):
    card = forms.TypedChoiceField(label=_("Card"), coerce=int)
    delta = forms.IntegerField(
        label=_("Stamps to add (or take back, with a minus)"),
        min_value=-MAX_CORRECTION,
        max_value=MAX_CORRECTION,
    )
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def __init__(self, *args: Any, cards: list[Card], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["card"].choices = [  # type: ignore[attr-defined]
            (card.pk, f"{card.program.name} · {card.display_code}") for card in cards
        ]


@requires(Permission.CORRECT_STAMPS)
def correct(request: HttpRequest, business_slug: str, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    cards = list(customer.cards.select_related("program").order_by("program__name"))
    form = CorrectionForm(request.POST or None, cards=cards)
    if request.method == "POST" and form.is_valid():
        card = next(card for card in cards if card.pk == form.cleaned_data["card"])
        try:
            correct_stamps(
                business=request.business,  # type: ignore[attr-defined]
                actor=_actor(request),
                card=card,
                delta=form.cleaned_data["delta"],
                reason=form.cleaned_data["reason"],
            )
        except Refusal as refusal:
            form.add_error(None, refusal.message)
        else:
            # Back to the profile with the stamp history open, where the correction now shows.
            profile = reverse(
                "dashboard:customer",
                kwargs={"business_slug": business_slug, "customer_id": customer.pk},
            )
            return redirect(f"{profile}?open=stamps#stamps")
    return render(
        request,
        "dashboard/customers/correct.html",
        {"customer": customer, "form": form},
        status=400 if form.is_bound else 200,
    )


@requires(Permission.MANAGE_CUSTOMERS)
def erase(request: HttpRequest, business_slug: str, customer_id: int) -> HttpResponse:
    """Erase on request: asked on a page of its own, done by a POST."""
    customer = get_object_or_404(Customer, pk=customer_id)
    if request.method == "POST":
        erase_customer(
            business=request.business,  # type: ignore[attr-defined]
            actor=_actor(request),
            customer=customer,
        )
        return redirect("dashboard:customer", business_slug=business_slug, customer_id=customer.pk)
    return render(request, "dashboard/customers/erase.html", {"customer": customer})


class _Echo:
    def write(self, value: str) -> str:
        return value


@requires(Permission.MANAGE_CUSTOMERS)
def export(request: HttpRequest, business_slug: str) -> HttpResponse:
    """Every customer as CSV, streamed: memory stays flat whatever the number."""
    writer = csv.writer(_Echo())
    rows = export_rows(business=request.business, actor=_actor(request))  # type: ignore[attr-defined]
    response: HttpResponse = StreamingHttpResponse(  # type: ignore[assignment]
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="customers-{business_slug}.csv"'
    return response


class ImportForm(forms.Form):
    program: "forms.ModelChoiceField[Program]" = forms.ModelChoiceField(
        label=_("Stamp card"), queryset=Program.objects.none()
    )
    file = forms.FileField(label=_("CSV file"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Evaluated inside the request's scope: this business's programs only.
        self.fields["program"].queryset = Program.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"


@requires(Permission.MANAGE_CUSTOMERS)
def import_csv(request: HttpRequest, business_slug: str) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[tuple[int, str]] = []
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = import_customers(
                business=request.business,  # type: ignore[attr-defined]
                actor=_actor(request),
                program=form.cleaned_data["program"],
                data=upload.read(MAX_IMPORT_BYTES + 1),
            )
        except ImportRefused as refusal:
            form.add_error(None, refusal.message)
            problems = refusal.problems
        except Refusal as refusal:
            form.add_error(None, refusal.message)
    return render(
        request,
        "dashboard/customers/import.html",
        {"form": form, "problems": problems, "result": result},
        status=400 if form.is_bound and result is None else 200,
    )
