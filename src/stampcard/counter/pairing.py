"""Pairing a device: ``/device/pair/`` takes the one-time code made on the dashboard.

These pages come before any door: the device has no token yet. The code is the proof; a
paired device keeps its token in the HttpOnly cookie the device door reads.

**Why a pairing code cannot be guessed** (``tenancy.services.pair_with_code``). A code is 8
characters of a 29-letter alphabet: 29^8 = 500,246,412,961 ≈ 5.0·10^11 codes. It lives
PAIRING_CODE_LIFETIME (10 minutes) and pairs once. Every wrong code counts twice for
PAIRING_FAILURE_WINDOW (15 minutes, a window that starts at its first wrong code):

- against the caller's address, as the trusted proxy in front of us saw it (the same
  address logins are throttled by, ``AXES_IPWARE_*`` settings), not the proxy's own: after
  PAIRING_FAILURE_LIMIT (5) that address is refused without a look, the right code too;
- against everyone together: after PAIRING_GLOBAL_FAILURE_LIMIT (100) every caller is
  refused without a look until the window ends. Someone with many addresses (or many
  customers behind one) gets no more guesses than that.

A code's 10 minutes overlap at most two windows, so at most 2 * 100 = 200 wrong codes are
ever judged while it is live, from however many addresses. The chance that they hit it is at
most 200 / 5.0·10^11 = 4·10^-10; with L codes live at once, L times that. An attacker who
kept guessing all year (52,560 code lifetimes) against 10 codes live at every moment would
have a chance of 10 * 52,560 * 4·10^-10 ≈ 2·10^-4 of pairing one device, and would keep
pairing paused for everyone meanwhile, which owners would notice: that pause is the price
of the global count, and it stops nothing but new pairings (paired devices keep working).

The counts live in the cache: Redis in production, shared by every process. Without Redis
each process counts on its own (``make run`` serves from one process).
"""

from axes.helpers import get_client_ip_address
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
from stampcard.tenancy.services import find_device, pair_with_code


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
                code=form.cleaned_data["code"], client=get_client_ip_address(request)
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
    """Where the installed counter app opens: the paired device's own screen (scanner, kiosk
    or Autopilot), else the member's scanner, else pairing."""
    device = find_device(request.COOKIES.get(DEVICE_COOKIE, ""))
    if device is not None and device.is_active:
        return redirect(page_for(device.kind))
    memberships = memberships_of(request.user)
    if memberships:
        return redirect("dashboard:scanner", business_slug=memberships[0].business.slug)
    return redirect("pairing:pair")


@require_GET
@never_cache
def kiosk_start(request: HttpRequest) -> HttpResponse:
    """Where the installed kiosk app opens: the paired device's own screen, else pairing.

    Never a member's scanner: the tablet faces customers. And never the device door's refusal,
    which a full-screen app without an address bar could not leave (a home-screen app may also
    keep cookies of its own, so it starts unpaired there)."""
    device = find_device(request.COOKIES.get(DEVICE_COOKIE, ""))
    if device is not None and device.is_active:
        return redirect(page_for(device.kind))
    return redirect("pairing:pair")
