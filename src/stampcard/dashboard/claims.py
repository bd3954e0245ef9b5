"""Claim codes in the dashboard: batches (create, list with used and unused counts, the
printable sheet as PDF and the codes as CSV) and the receipt keys a POS signs codes with.

Owners and managers only (``MANAGE_CODES``); every view runs in the business's scope (the
dashboard door), so a batch of another business is not found.
"""

from datetime import datetime, time
from typing import Any

from django import forms
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard.loyalty.models import Program, ProgramStatus
from stampcard.refusals import Refusal
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.permissions import Permission, allows
from stampcard.vouchers import claim_sheets
from stampcard.vouchers.claims import MAX_BATCH, create_claim_batch
from stampcard.vouchers.models import ClaimBatch, ReceiptKey
from stampcard.vouchers.receipts import (
    MAX_VALID_DAYS,
    MIN_VALID_DAYS,
    create_receipt_key,
    revoke_receipt_key,
    set_receipt_key_validity,
)


class BatchForm(forms.Form):
    program: "forms.ModelChoiceField[Program]" = forms.ModelChoiceField(
        queryset=Program.objects.none(), label=_("Stamp card")
    )
    count = forms.IntegerField(label=_("Number of codes"), min_value=1, max_value=MAX_BATCH)
    stamps_per_code = forms.IntegerField(label=_("Stamps per code"), min_value=1, initial=1)
    label = forms.CharField(label=_("Label"), max_length=120, required=False)
    expires_on = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(  # type: ignore[attr-defined]
            status=ProgramStatus.ACTIVE
        ).order_by("name")


def _batches() -> Any:
    return ClaimBatch.objects.select_related("program").annotate(
        total=Count("codes"),
        used=Count("codes", filter=Q(codes__claimed_at__isnull=False)),
        unused=Count("codes", filter=Q(codes__claimed_at__isnull=True)),
    )


@requires(Permission.MANAGE_CODES)
def claim_batches(request: HttpRequest, business_slug: str) -> HttpResponse:
    form = BatchForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        expires_at = None
        if data["expires_on"]:
            # Valid through the whole day, in the business's time zone (the door's).
            end = datetime.combine(data["expires_on"], time.max)
            expires_at = timezone.make_aware(end)
        try:
            batch = create_claim_batch(
                business=request.business,  # type: ignore[attr-defined]
                actor=request.actor,  # type: ignore[attr-defined]
                program=data["program"],
                count=data["count"],
                stamps_per_code=data["stamps_per_code"],
                label=data["label"],
                expires_at=expires_at,
            )
        except Refusal as refused:
            form.add_error(None, refused.message)
        else:
            return redirect(f"{request.path}?made={batch.pk}#batch-{batch.pk}")
    context = {
        "form": form,
        "batches": _batches().order_by("-created_at")[:200],
        "formats": claim_sheets.FORMATS.values(),
        "made": request.GET.get("made", ""),
        "max_sheet": claim_sheets.MAX_SHEET_LABELS,
    }
    status = 400 if form.errors else 200
    return render(request, "dashboard/claims/batches.html", context, status=status)


def _batch(batch_id: int) -> ClaimBatch:
    if not 0 < batch_id < 2**63:
        raise Http404
    return get_object_or_404(ClaimBatch.objects.select_related("program", "business"), pk=batch_id)


@requires(Permission.MANAGE_CODES)
def claim_sheet(request: HttpRequest, business_slug: str, batch_id: int) -> HttpResponse:
    batch = _batch(batch_id)
    sheet = claim_sheets.FORMATS.get(request.GET.get("format") or "a4_3x8")
    if sheet is None:
        raise Http404
    if batch.codes.count() > claim_sheets.MAX_SHEET_LABELS:
        return HttpResponse(
            _("This batch is too big for one sheet; print it from the CSV."),
            status=413,
            content_type="text/plain; charset=utf-8",
        )
    pdf = claim_sheets.sheet_pdf(batch, sheet)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="claim-codes-{batch.pk}-{sheet.key}.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Permission.MANAGE_CODES)
def claim_csv(request: HttpRequest, business_slug: str, batch_id: int) -> HttpResponse:
    batch = _batch(batch_id)
    response = HttpResponse(claim_sheets.sheet_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="claim-codes-{batch.pk}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- receipt keys: what a POS signs receipt codes with (vouchers.receipts) ---------------


@requires(Permission.MANAGE_CODES)
def receipt_keys(request: HttpRequest, business_slug: str) -> HttpResponse:
    """The business's POS keys: a new one's secret is shown on this answer only, never again."""
    business = request.business  # type: ignore[attr-defined]
    actor = request.actor  # type: ignore[attr-defined]
    new_key = None
    refusal = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            new_key = create_receipt_key(business=business, actor=actor)
        elif action in ("revoke", "validity"):
            key = ReceiptKey.objects.filter(key_id=str(request.POST.get("key_id", ""))[:8]).first()
            if key is None:
                raise Http404
            if action == "revoke":
                revoke_receipt_key(business=business, actor=actor, key=key)
                return redirect(request.path)
            try:
                set_receipt_key_validity(
                    business=business, actor=actor, key=key, days=_whole_number(request)
                )
            except Refusal as refused:
                refusal, status = refused.message, refused.http_status
            else:
                return redirect(f"{request.path}?saved={key.key_id}")
    context = {
        "keys": ReceiptKey.objects.order_by("-created_at").only(
            "key_id", "created_at", "revoked_at", "valid_days"
        ),
        "new_key": new_key,
        "refusal": refusal,
        "saved": request.GET.get("saved", "")[:8],
        "can_set_validity": allows(actor, Permission.MANAGE_BUSINESS, business=business),
        "least": MIN_VALID_DAYS,
        "most": MAX_VALID_DAYS,
    }
    response = render(request, "dashboard/claims/receipt_keys.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new secret is on it
    return response


def _whole_number(request: HttpRequest) -> int | None:
    """The typed number of days, or None when it is no whole number (the service says so)."""
    typed = str(request.POST.get("valid_days", "")).strip()
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 6 else None
