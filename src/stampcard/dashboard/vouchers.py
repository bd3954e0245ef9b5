"""Vouchers on the dashboard: the list, Issue Voucher, a voucher's image and printable, void.

Thin views: the form parses, ``stampcard.uploads`` makes a picture safe, and
``vouchers.services`` issues or voids. Every view runs in the business's scope (the dashboard
door), so another business's voucher or card is simply not found.
"""

import base64
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from stampcard.loyalty.models import Card, Customer
from stampcard.loyalty.services.customers import CustomerFilters, customer_page
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.selectors import at_actors_locations
from stampcard.uploads import ACCEPT, CleanImage, UnsafeImage, clean_upload
from stampcard.vouchers.code_images import code_png
from stampcard.vouchers.models import CodeDisplay, Voucher, VoucherOrigin, VoucherStatus
from stampcard.vouchers.services import ValidityRule, issue_manual_voucher, void_voucher
from stampcard.vouchers.validity import MAX_VALIDITY, Validity

PAGE_SIZE = 50
PRINT_CSS = Path(__file__).resolve().parent.parent / "static" / "dashboard" / "vouchers-print.css"


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _visible(request: HttpRequest) -> QuerySet[Voucher]:
    """Vouchers the member may see: not redeemed at another of the business's locations."""
    return at_actors_locations(Voucher.objects.all(), _actor(request), field="redeemed_at_location")


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**62 else None


@requires(Permission.VIEW)
def voucher_list(request: HttpRequest, business_slug: str) -> HttpResponse:
    """Newest first, 50 a page after the last id seen; by status and origin."""
    status = request.GET.get("status", "")
    origin = request.GET.get("origin", "")
    vouchers = _visible(request).select_related(
        "card__customer", "redeemed_by_user", "redeemed_by_device", "redeemed_at_location"
    )
    if status in VoucherStatus.values:
        vouchers = vouchers.filter(status=status)
    if origin in VoucherOrigin.values:
        vouchers = vouchers.filter(origin=origin)
    after = _int(request.GET.get("after"))
    if after is not None:
        vouchers = vouchers.filter(pk__lt=after)
    rows = list(vouchers.order_by("-pk")[: PAGE_SIZE + 1])
    next_after = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "dashboard/vouchers/list.html",
        {
            "vouchers": rows[:PAGE_SIZE],
            "next_after": next_after,
            "status": status,
            "origin": origin,
            "statuses": VoucherStatus.choices,
            "origins": VoucherOrigin.choices,
        },
    )


class IssueVoucherForm(forms.Form):
    card = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(label=_("Voucher title"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    image = forms.FileField(label=_("Image"), required=False)
    with_code = forms.BooleanField(label=_("Redeem code"), required=False)
    validity = forms.ChoiceField(
        label=_("Validity"),
        choices=Validity.choices,
        initial=Validity.UNLIMITED,
        widget=forms.RadioSelect,
    )
    days = forms.IntegerField(
        label=_("Days"), required=False, min_value=1, max_value=MAX_VALIDITY[Validity.DAYS]
    )
    months = forms.IntegerField(
        label=_("Months"), required=False, min_value=1, max_value=MAX_VALIDITY[Validity.MONTHS]
    )
    until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["image"].widget.attrs["accept"] = ACCEPT
        self.clean_picture: CleanImage | None = None

    def clean_card(self) -> Card | None:
        card_id = self.cleaned_data.get("card")
        if not card_id:
            return None
        # The business's scope is open: another business's card is not found.
        card = Card.objects.select_related("customer", "program").filter(pk=card_id).first()
        if card is None:
            raise ValidationError(_("This card was not found. Search the customer again."))
        return card

    def clean_image(self) -> Any:
        upload = self.cleaned_data.get("image")
        if upload is None:
            return None
        try:
            self.clean_picture = clean_upload(upload)
        except UnsafeImage as refusal:
            raise ValidationError(refusal.message) from None
        return upload

    def validity_rule(self) -> ValidityRule:
        kind = self.cleaned_data["validity"]
        amount = {Validity.DAYS: "days", Validity.MONTHS: "months"}.get(kind)
        until: date | None = self.cleaned_data.get("until")
        return ValidityRule(
            kind=kind,
            amount=self.cleaned_data.get(amount) if amount else None,
            until=until if kind == Validity.FIXED_DATE else None,
        )


@requires(Permission.ISSUE_VOUCHERS)
def issue_voucher(request: HttpRequest, business_slug: str) -> HttpResponse:
    """Issue Voucher: for a customer's card, or a free printable voucher for anyone."""
    form = IssueVoucherForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        card = form.cleaned_data["card"]
        try:
            voucher = issue_manual_voucher(
                business=request.business,  # type: ignore[attr-defined]
                actor=_actor(request),
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                card=card,
                with_code=form.cleaned_data["with_code"],
                image=form.clean_picture,
                validity=form.validity_rule(),
            )
        except Refusal as refusal:
            form.add_error(None, refusal.message)
        else:
            return redirect("dashboard:voucher", business_slug=business_slug, voucher_id=voucher.pk)
    chosen: Card | None
    if form.is_bound:
        chosen = getattr(form, "cleaned_data", {}).get("card")
    else:  # from a customer's page: ?card=<id>, found in this business's scope or not at all
        card_id = _int(request.GET.get("card"))
        chosen = (
            Card.objects.select_related("customer", "program").filter(pk=card_id).first()
            if card_id is not None
            else None
        )
    status = 400 if form.is_bound else 200
    return render(
        request,
        "dashboard/vouchers/issue.html",
        {"form": form, "chosen": chosen, "accept": ACCEPT},
        status=status,
    )


@requires(Permission.ISSUE_VOUCHERS)
def customer_choices(request: HttpRequest, business_slug: str) -> HttpResponse:
    """The cards of the customers a search finds, to tie a voucher to (an htmx fragment)."""
    query = request.GET.get("q", "")
    rows: Sequence[Customer] = []
    cards: list[Card] = []
    if query.strip():
        rows = customer_page(
            business=request.business,  # type: ignore[attr-defined]
            actor=_actor(request),
            filters=CustomerFilters(query=query),
        ).rows[:10]
        cards = list(
            Card.objects.filter(customer__in=rows)
            .select_related("customer", "program")
            .order_by("-customer_id", "program__name")
        )
    template = "dashboard/vouchers/_customer_choices.html"
    context = {"cards": cards, "query": query.strip()[:100]}
    if request.headers.get("HX-Request"):
        return HttpResponse(render_to_string(template, context, request=request))
    return render(request, "dashboard/vouchers/choose_customer.html", context)


@requires(Permission.VIEW)
def voucher_image(request: HttpRequest, business_slug: str, voucher_id: int) -> HttpResponse:
    """The voucher's picture as we drew it (never the upload itself)."""
    voucher = get_object_or_404(_visible(request), pk=voucher_id)
    if not voucher.picture_name:  # none, or a name that is not a picture the issuing stored
        raise Http404
    kind = "image/png" if (voucher.image.name or "").endswith(".png") else "image/jpeg"
    with voucher.image.open("rb") as stored:  # at most a few hundred kB: drawn by uploads
        response = HttpResponse(stored.read(), content_type=kind)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@requires(Permission.VIEW)
def voucher_printable(request: HttpRequest, business_slug: str, voucher_id: int) -> HttpResponse:
    """A one-page PDF to print or send: title, picture, code as text, QR and Code 128, validity."""
    voucher = get_object_or_404(_visible(request).select_related("business"), pk=voucher_id)
    # Loaded on first use: it is heavy and few requests need it.
    from weasyprint import CSS, HTML

    def data_uri(data: bytes, kind: str) -> str:
        return f"data:{kind};base64,{base64.b64encode(data).decode()}"

    image = ""
    if voucher.picture_name:
        with voucher.image.open("rb") as stored:
            kind = "image/png" if (voucher.image.name or "").endswith(".png") else "image/jpeg"
            image = data_uri(stored.read(), kind)
    context = {
        "voucher": voucher,
        "image": image,
        "qr": data_uri(code_png(voucher.code, CodeDisplay.QR), "image/png") if voucher.code else "",
        "barcode": (
            data_uri(code_png(voucher.code, CodeDisplay.CODE128), "image/png")
            if voucher.code
            else ""
        ),
    }
    html = render_to_string("dashboard/vouchers/printable.html", context, request=request)
    # The page's style is a file of ours (pages carry no inline style); nothing is fetched.
    pdf = HTML(string=html, base_url=None).write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="voucher-{voucher.pk}.pdf"'
    return response


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


@requires(Permission.ISSUE_VOUCHERS)
def void(request: HttpRequest, business_slug: str, voucher_id: int) -> HttpResponse:
    """Cancel an active voucher, with a reason (asked on a page of its own first)."""
    voucher = get_object_or_404(_visible(request), pk=voucher_id)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            void_voucher(
                business=request.business,  # type: ignore[attr-defined]
                actor=_actor(request),
                voucher=voucher,
                reason=form.cleaned_data["reason"],
            )
        except Refusal as refusal:
            form.add_error(None, refusal.message)
        else:
            return redirect("dashboard:voucher", business_slug=business_slug, voucher_id=voucher.pk)
    return render(
        request,
        "dashboard/vouchers/void.html",
        {"voucher": voucher, "form": form},
        status=400 if form.is_bound else 200,
    )
