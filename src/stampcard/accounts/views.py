"""The sign-in pages: password, the two-factor code, and setting up an authenticator app."""

import base64
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import views as otp_views
from django_otp.plugins.otp_totp.models import TOTPDevice

from stampcard.accounts import two_factor
from stampcard.accounts.forms import SetupForm, VerifyForm


def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


@method_decorator(login_required, name="dispatch")
class VerifyView(otp_views.LoginView):
    """The second step after the password: the code from the user's authenticator app."""

    template_name = "accounts/verify.html"
    otp_token_form = VerifyForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not two_factor.needs_verification(request.user):
            return HttpResponseRedirect(_next_url(request))
        return super().dispatch(request, *args, **kwargs)


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Adds an authenticator app: scan the QR code, then type its first code to confirm it.

    Someone who already has a device must have used it in this session first, so a stolen
    password alone cannot add a new device.
    """
    user = request.user
    if two_factor.needs_verification(user):
        query = urlencode({"next": reverse("otp_setup")})
        return HttpResponseRedirect(f"{reverse('otp_verify')}?{query}")
    if two_factor.has_device(user):
        return render(request, "accounts/setup_done.html", {"next": _next_url(request)})
    # The same draft device across reloads, so the QR code stays the one the app scanned.
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    form = SetupForm(device, request.POST or None)
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        return HttpResponseRedirect(_next_url(request))
    qr = segno.make(device.config_url, error="m", micro=False)
    context = {
        "form": form,
        # A data: URI image, which the Content-Security-Policy allows (img-src data:).
        "qr_data_uri": qr.svg_data_uri(scale=5, border=2),
        "secret": base64.b32encode(device.bin_key).decode(),
        "next": _next_url(request),
        "required": two_factor.setup_required(),
    }
    return render(request, "accounts/setup.html", context)


class LoginView(auth_views.LoginView):
    """Django's login; someone with a device is taken straight to the code step."""

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if two_factor.needs_verification(self.request.user):
            return f"{reverse('otp_verify')}?{urlencode({'next': url})}"
        return url


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """django-axes' answer to a locked login (the dashboard's and the admin's), in the
    visitor's language."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "accounts/locked_out.html", {"cooloff_minutes": minutes}, status=429)
