from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Logins, two-factor, password change and reset, and the limits on a session."""

    name = "stampcard.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    default = True

    def ready(self) -> None:
        from stampcard.accounts import signals  # noqa: F401  (connects the receivers)


class OTPAdminConfig(admin_apps.AdminConfig):
    """Django's admin on a site that asks operators with a device for their code."""

    default = False
    default_site = "stampcard.accounts.admin_site.AdminSite"
