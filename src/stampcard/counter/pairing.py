"""Pairing a device: ``/device/pair/`` takes the one-time code made on the dashboard.

These pages come before any door: the device has no token yet. The code is the proof; a
paired device keeps its token in the HttpOnly cookie the device door reads.
"""

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from stampcard.counter.views import page_for
from stampcard.refusals import Refusal
from stampcard.tenancy.middleware import DEVICE_COOKIE, remember_device
from stampcard.tenancy.selectors import memberships_of
from stampcard.tenancy.services import pair_with_code


class PairForm(forms.Form):
    code = forms.CharField(
        label=_("Pairing code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
                "placeholder": "ABCD-EFGH",
            }
        ),
    )


@require_http_methods(["GET", "POST"])
@never_cache
def pair(request: HttpRequest) -> HttpResponse:
    """Type the code; on success the device gets its token (cookie) and opens its screen."""
    form = PairForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            paired = pair_with_code(
                code=form.cleaned_data["code"], client=request.META.get("REMOTE_ADDR")
            )
        except Refusal as refusal:
            form.add_error("code", refusal.message)
            status = refusal.http_status
        else:
            # Each kind to its own screen: scanner, kiosk or Autopilot.
            response = HttpResponseRedirect(page_for(paired.device.kind))
            remember_device(response, paired.token)
            return response
    elif request.method == "POST":
        status = 400
    return render(request, "counter/pair.html", {"form": form}, status=status)


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Where the installed scanner app opens: the paired device's scanner, or the member's."""
    if request.COOKIES.get(DEVICE_COOKIE):
        return redirect("counter:scanner")
    memberships = memberships_of(request.user)
    if memberships:
        return redirect("dashboard:scanner", business_slug=memberships[0].business.slug)
    return redirect("pairing:pair")
