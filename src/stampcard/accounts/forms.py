from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django_otp.forms import OTPTokenForm
from django_otp.plugins.otp_totp.models import TOTPDevice

_CODE_WIDGET = forms.TextInput(
    attrs={
        "autocomplete": "one-time-code",
        "inputmode": "numeric",
        "pattern": "[0-9]*",
        "autofocus": True,
    }
)


class VerifyForm(OTPTokenForm):
    """django-otp's token form, in our words and languages; one device needs no choice."""

    otp_error_messages = dict(
        OTPTokenForm.otp_error_messages,
        token_required=_("Enter the 6-digit code from your authenticator app."),
        invalid_token=_("That code is not right. Check the app and try again."),
        device_required=_("Choose the device that shows your code."),
        n_failed_attempts=_("Too many wrong codes. Wait a little and try again with a new code."),
        verification_not_allowed=_(
            "Too many wrong codes. Wait a little and try again with a new code."
        ),
    )

    def __init__(self, user: Any, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, request, *args, **kwargs)
        self.fields["otp_token"].label = _("Code")
        self.fields["otp_token"].widget = _CODE_WIDGET
        self.fields["otp_device"].label = _("Device")
        choices = self.fields["otp_device"].choices[1:]  # without the blank entry
        if len(choices) == 1:
            self.fields["otp_device"].initial = choices[0][0]
            self.fields["otp_device"].widget = forms.HiddenInput()


class SetupForm(forms.Form):
    """The first code from a new device proves that it was set up right."""

    token = forms.CharField(label=_("Code"), max_length=16, widget=_CODE_WIDGET)

    def __init__(self, device: TOTPDevice, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token: str = self.cleaned_data["token"].strip()
        if not self.device.verify_token(token):
            raise forms.ValidationError(
                _("That code is not right. Check the app and try again."), code="invalid"
            )
        return token


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, its e-mail sent from the outbox (``stampcard.mail``), not in the request."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from stampcard import mail

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else ""
        )
        mail.send_later(
            to=[to_email],
            subject=subject,
            body=body,
            html_body=html,
            valid_for=timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
        )
