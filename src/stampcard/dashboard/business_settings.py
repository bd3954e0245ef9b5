"""The business's own settings, corrected after onboarding: name, country, time zone, currency,
languages and brand colour. Validated as onboarding does (its ``BusinessForm``), saved by
``tenancy.services.change_business_settings``; the owner's page (MANAGE_BUSINESS)."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from stampcard.dashboard.onboarding import BusinessForm
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.services import BUSINESS_SETTINGS, change_business_settings


class BusinessSettingsForm(BusinessForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages offered"),
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Your cards' texts can be given in these; none ticked offers them all."),
    )
    brand_color = forms.RegexField(
        label=_("Brand colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": _("Choose a colour such as #1f2937.")},
    )


@requires(Permission.MANAGE_BUSINESS)
def business_settings(request: HttpRequest, business_slug: str) -> HttpResponse:
    business: Business = request.business  # type: ignore[attr-defined]
    initial = {field: getattr(business, field) for field in BUSINESS_SETTINGS}
    initial["languages"] = business.languages or [code for code, _name in settings.LANGUAGES]
    form = BusinessSettingsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                change_business_settings(
                    business=business,
                    actor=request.actor,  # type: ignore[attr-defined]
                    **form.cleaned_data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(request.path + "?saved=1")
        status = 400
    return render(
        request,
        "dashboard/business_settings.html",
        {"form": form, "saved": "saved" in request.GET and request.method == "GET"},
        status=status,
    )
