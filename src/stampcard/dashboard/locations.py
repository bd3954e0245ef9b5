"""The business's shops: list, add, edit (address, map point, lock-screen text), remove.

The rules (who may, what blocks a removal) live in ``tenancy.services``; wallet passes that
list a shop are refreshed by ``Location.save``/``delete``.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Location
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.services import (
    LOCATION_FIELDS,
    add_location,
    edit_location,
    location_ties,
    remove_location,
)


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = LOCATION_FIELDS
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in ("latitude", "longitude"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "step": "any"})


@requires(Permission.MANAGE_BUSINESS)
def locations(request: HttpRequest, business_slug: str) -> HttpResponse:
    """The list with an add form; a POST with ``remove`` removes one shop."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    business = request.business  # type: ignore[attr-defined]
    form = LocationForm()
    error = ""
    status = 200
    if request.method == "POST":
        try:
            if "remove" in request.POST:
                location = get_object_or_404(Location, pk=_int(request.POST["remove"]))
                remove_location(business=business, actor=actor, location=location)
                messages.success(request, _("Shop “%(name)s” removed.") % {"name": location.name})
                return redirect("dashboard:locations", business.slug)
            form = LocationForm(request.POST)
            if form.is_valid():
                added = add_location(business=business, actor=actor, **form.cleaned_data)
                messages.success(request, _("Shop “%(name)s” added.") % {"name": added.name})
                return redirect("dashboard:locations", business.slug)
            status = 400
        except ValidationError as invalid:
            form.add_error(None, invalid)
            status = 400
        except Refusal as refusal:
            error, status = refusal.message, refusal.http_status
    shops = [(shop, location_ties(shop)) for shop in Location.objects.order_by("name", "pk")]
    return render(
        request,
        "dashboard/locations/list.html",
        {"shops": shops, "form": form, "error": error},
        status=status,
    )


@requires(Permission.MANAGE_BUSINESS)
def location_edit(request: HttpRequest, business_slug: str, location_id: int) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    business = request.business  # type: ignore[attr-defined]
    location = get_object_or_404(Location, pk=location_id)
    form = LocationForm(instance=location)
    status = 200
    if request.method == "POST":
        form = LocationForm(request.POST, instance=Location.objects.get(pk=location.pk))
        if form.is_valid():
            try:
                edit_location(
                    business=business, actor=actor, location=location, **form.cleaned_data
                )
            except ValidationError as invalid:
                form.add_error(None, invalid)
            else:
                messages.success(
                    request, _("Shop “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
                )
                return redirect("dashboard:locations", business.slug)
        status = 400
    return render(
        request,
        "dashboard/locations/edit.html",
        {"location": location, "form": form, "ties": location_ties(location)},
        status=status,
    )


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0
