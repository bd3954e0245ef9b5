"""The platform operators' admin: operators who have a two-factor device must have used it."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django_otp.admin import OTPAdminSite

from stampcard.accounts.two_factor import has_device


class AdminSite(OTPAdminSite):
    # The password is asked by Django's own admin login; the code by the one verify page that
    # the dashboard uses too (TwoFactorMiddleware sends operators there).
    login_form = AdminAuthenticationForm
    login_template = None

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not admin.AdminSite.has_permission(self, request):
            return False
        return user.is_verified() or not has_device(user)  # type: ignore[union-attr]
