"""From a confirmed account to a live card and a printed QR: business, first shop, first card.

Three steps after the e-mail is confirmed (``accounts.signup``): the business (``start``), its
first location (``start_location``), then the program designer (``dashboard.programs``), which
ends here on ``start_done``: the card's join QR, going live, and the printables. Each step is a
service call (``tenancy.services``, ``loyalty.services.programs``); these views only parse.
"""

import functools
import zoneinfo

from babel import Locale
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from stampcard import money
from stampcard.loyalty.links import join_url
from stampcard.loyalty.models import Program
from stampcard.printables.layout import KINDS, SIZES, qr_svg
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.services import add_location, create_business


@functools.cache
def _time_zones() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


# CLDR's two-letter codes that name no country: unions, "unknown", private-use ranges.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "ZZ"}


def _countries(language: str) -> list[tuple[str, str]]:
    names = Locale.parse(to_locale(language)).territories
    found = sorted(
        (
            (code, name)
            for code, name in names.items()
            if len(code) == 2
            and code.isalpha()
            and code not in _NOT_COUNTRIES
            and not (code.startswith("Q") or (code.startswith("X") and code != "XK"))
        ),
        key=lambda pair: pair[1],
    )
    return [("", "—"), *found]


def _currencies() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(money._currencies())]


class BusinessForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=120)
    country = forms.ChoiceField(label=_("Country"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="UTC")
    currency = forms.ChoiceField(label=_("Currency"), initial="USD")
    default_language = forms.ChoiceField(
        label=_("Language of your customers"), choices=settings.LANGUAGES
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["country"].choices = _countries(get_language() or "en")  # type: ignore[attr-defined]
        self.fields["time_zone"].choices = _time_zones()  # type: ignore[attr-defined]
        self.fields["currency"].choices = _currencies()  # type: ignore[attr-defined]
        self.fields["default_language"].initial = get_language()

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].replace("\x00", "").strip()
        if not name:
            raise ValidationError(_("Give your business a name."))
        return name


class LocationForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the shop"), max_length=120, help_text=_("For example: Main Street")
    )
    address = forms.CharField(label=_("Address"), max_length=255, required=False)


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Step 1: the business. Its creator becomes its owner."""
    form = BusinessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # No business yet, so no door opened a scope: its first rows are written here.
            with scopes_disabled():
                business = create_business(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("dashboard:start_location", business_slug=business.slug)
    return render(request, "dashboard/onboarding/business.html", {"form": form, "step": 1})


@requires(Permission.MANAGE_BUSINESS)
def start_location(request: HttpRequest, business_slug: str) -> HttpResponse:
    """Step 2: the first shop (where stamps are given and the pass shows up nearby)."""
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            add_location(business=request.business, actor=request.actor, **form.cleaned_data)  # type: ignore[attr-defined]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(reverse("dashboard:program_new", args=[business_slug]) + "?start=1")
    return render(request, "dashboard/onboarding/location.html", {"form": form, "step": 2})


@requires(Permission.MANAGE_PROGRAMS)
def start_done(request: HttpRequest, business_slug: str, program_id: int) -> HttpResponse:
    """Step 4: the join QR, going live, and the printables."""
    program = get_object_or_404(Program, pk=program_id)
    url = join_url(program, "poster")
    return render(
        request,
        "dashboard/onboarding/done.html",
        {
            "program": program,
            "step": 4,
            "join_url": url,
            # Drawn by us (segno) from our own URL: safe to inline.
            "qr": mark_safe(qr_svg(url)),  # noqa: S308
            "kinds": KINDS,
            "sizes": SIZES,
        },
    )
