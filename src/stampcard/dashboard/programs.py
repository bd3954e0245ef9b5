"""The program designer: create and change a card, see it as customers will, take it live.

The page posts its form to ``program_preview`` as the owner types (htmx), which answers with
the Apple pass, the Google pass and the web card drawn from what was typed, nothing saved.
Saving calls ``loyalty.services.programs.save_program``; going live or archiving calls
``set_program_status``; both publish the change to issued passes.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from stampcard.dashboard.program_forms import (
    PICTURES,
    MilestoneFormSet,
    ProgramForm,
    VoucherForm,
    milestone_drafts,
    milestone_initial,
)
from stampcard.dashboard.program_preview import preview_context, preview_logo
from stampcard.loyalty.models import Program, ProgramStatus, RewardKind
from stampcard.loyalty.services.programs import save_program, set_program_status
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.permissions import Permission
from stampcard.vouchers.models import VoucherTemplate
from stampcard.vouchers.services.goal_voucher_settings import save_goal_voucher_settings


def _forms(
    request: HttpRequest, program: Program | None, picture_tokens: dict[str, str] | None = None
) -> tuple[ProgramForm, VoucherForm, Any]:
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    business = request.business  # type: ignore[attr-defined]
    instance = program if program is not None else Program(business=business)
    template = None
    if program is not None:
        template = VoucherTemplate.objects.filter(program=program).first()
    return (
        ProgramForm(
            data, files, instance=instance, business=business, picture_tokens=picture_tokens
        ),
        VoucherForm(data, instance=template or VoucherTemplate(), prefix="voucher"),
        MilestoneFormSet(
            data,
            initial=milestone_initial(program),
            prefix="ms",
            form_kwargs={"languages": business.other_languages},
        ),
    )


def _attach(form: BaseForm, error: ValidationError) -> None:
    """Put a service's refusal on the field it names, or on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            name = f"{field}_text" if f"{field}_text" in form.fields else field
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@requires(Permission.MANAGE_PROGRAMS)
def designer(
    request: HttpRequest, business_slug: str, program_id: int | None = None
) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id) if program_id is not None else None
    form, voucher_form, milestones = _forms(request, program)
    onboarding = request.GET.get("start") == "1"
    if request.method == "POST":
        smart = request.POST.get("reward_kind") == RewardKind.SMART_VOUCHER
        if form.is_valid() and milestones.is_valid() and (not smart or voucher_form.is_valid()):
            business, actor = request.business, request.actor  # type: ignore[attr-defined]
            refused_on: BaseForm = form  # where a refusal is shown: the part that gave it
            try:
                # One transaction: the program and its voucher settings, or neither.
                with transaction.atomic():
                    form.store_pictures()
                    saved = save_program(
                        business=business,
                        actor=actor,
                        program=program,
                        values=form.values(),
                        translations=form.translations(),
                        milestones=milestone_drafts(milestones),
                    )
                    if smart:
                        refused_on = voucher_form
                        save_goal_voucher_settings(
                            business=business,
                            actor=actor,
                            program=saved,
                            values=voucher_form.values(),
                        )
            except ValidationError as error:
                _attach(refused_on, error)
            else:
                if onboarding:
                    return redirect("dashboard:start_done", business_slug, saved.pk)
                messages.success(request, _("Saved. Issued cards show the change."))
                return redirect("dashboard:program", business_slug, saved.pk)
    context = {
        "form": form,
        "voucher_form": voucher_form,
        "milestones": milestones,
        "program": program,
        "onboarding": onboarding,
        "step": 3,
        "preview_languages": settings.LANGUAGES,
        **preview_context(
            request.business,  # type: ignore[attr-defined]
            form.instance,
            milestone_drafts_safe(milestones),
            logo=preview_logo(form.instance, form.logo_image),
            uploads=form.pictures,
        ),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/programs/designer.html", context, status=status)


def milestone_drafts_safe(milestones: Any, language: str | None = None) -> list[tuple[int, str]]:
    """(stamps, reward) of the milestone rows that parsed, for the preview: the reward in
    ``language`` where one was typed for it, else in the default language."""
    rows = []
    for form in milestones.forms:
        cleaned = getattr(form, "cleaned_data", None)
        data = cleaned or form.initial
        if data.get("stamps"):
            title = str(data.get("reward_title") or "")
            typed = (
                cleaned.get(f"tr_{language}")
                if cleaned
                else (form.initial.get("titles") or {}).get(language or "")
            )
            rows.append((int(data["stamps"]), typed.strip() if typed and typed.strip() else title))
    return rows


@requires(Permission.MANAGE_PROGRAMS)
def preview(request: HttpRequest, business_slug: str) -> HttpResponse:
    """The previews of what was typed (POST), or of a new card (GET); nothing is saved.

    ``program`` names the card being changed (in the business's scope), so its stored logo
    shows until another is chosen or it is removed. A picture is sent once, when it is
    chosen: the answer hands back a token for it (``<field>_token``, in ``#picture-tokens``),
    which the following previews send instead (``ProgramForm.keep_for_preview``).
    """
    program_id = request.POST.get("program", "")
    program = Program.objects.filter(pk=int(program_id)).first() if program_id.isdigit() else None
    tokens = {
        field: request.POST.get(f"{field}_token", "")
        for _upload, field, _folder in PICTURES
        if request.POST.get(f"{field}_token")
    }
    form, _voucher, milestones = _forms(request, program, tokens)
    form.is_valid()  # sets what parsed on form.instance; errors show on save
    milestones.is_valid()
    language = request.POST.get("preview_language", "")
    context = preview_context(
        request.business,  # type: ignore[attr-defined]
        form.instance,
        milestone_drafts_safe(milestones, language),
        language=language,
        logo=preview_logo(form.instance, form.logo_image),
        uploads=form.pictures,
    )
    context["picture_tokens"] = form.keep_for_preview()
    return render(request, "dashboard/programs/_preview_answer.html", context)


@requires(Permission.MANAGE_PROGRAMS)
def change_status(request: HttpRequest, business_slug: str, program_id: int) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    status = request.POST.get("status", "")
    if status not in ProgramStatus.values:
        messages.error(request, _("A program cannot move from this status to that one."))
    else:
        try:
            set_program_status(
                business=request.business,  # type: ignore[attr-defined]
                actor=request.actor,  # type: ignore[attr-defined]
                program=program,
                status=status,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The card is live.") if status == "active" else _("Saved."))
    back = reverse("dashboard:program", args=[business_slug, program.pk])
    if request.POST.get("next") == "start":
        back = reverse("dashboard:start_done", args=[business_slug, program.pk])
    return redirect(back)
