"""The join page's form, asking only what the program asks, and the returning customer's."""

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard.loyalty import errors
from stampcard.loyalty.models import Customer, JoinField, Program
from stampcard.loyalty.services.contacts import clean_email, clean_phone
from stampcard.storable import shows_nothing

_NAME_MAX = Customer._meta.get_field("name").max_length


class PhoneInput(forms.TextInput):
    input_type = "tel"


class DateInput(forms.DateInput):
    input_type = "date"


class DescribedErrors(forms.Form):
    """Ties each field's error message to its input, for screen readers (see field.html)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}-error"


class ContactFields(DescribedErrors):
    """Email and phone, kept in the one form per person that ``loyalty.services`` keeps."""

    region = ""

    def clean_email(self) -> str:
        try:
            return clean_email(self.cleaned_data.get("email") or "")
        except errors.InvalidCustomer as refusal:
            raise forms.ValidationError(refusal.message) from None

    def clean_phone(self) -> str:
        try:
            return clean_phone(self.cleaned_data.get("phone") or "", region=self.region)
        except errors.InvalidCustomer as refusal:
            raise forms.ValidationError(refusal.message) from None


def _email_field(required: bool) -> forms.EmailField:
    return forms.EmailField(
        label=_("Email"),
        required=required,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def _phone_field(required: bool) -> forms.CharField:
    return forms.CharField(
        label=_("Phone"),
        required=required,
        max_length=32,
        widget=PhoneInput(attrs={"autocomplete": "tel"}),
    )


class JoinForm(ContactFields):
    def __init__(self, *args: Any, program: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = program.business.country
        asks = {
            "name": program.join_name,
            "email": program.join_email,
            "phone": program.join_phone,
            "birthday": program.join_birthday,
            "marketing_consent": program.join_marketing_consent,
        }
        shown = {field: how for field, how in asks.items() if how != JoinField.OFF}
        required = {field: how == JoinField.REQUIRED for field, how in shown.items()}
        if "name" in shown:
            self.fields["name"] = forms.CharField(
                label=_("Your name"),
                required=required["name"],
                max_length=_NAME_MAX,
                widget=forms.TextInput(attrs={"autocomplete": "name"}),
            )
        if "email" in shown:
            self.fields["email"] = _email_field(required["email"])
        if "phone" in shown:
            self.fields["phone"] = _phone_field(required["phone"])
        if "birthday" in shown:
            self.fields["birthday"] = forms.DateField(
                label=_("Birthday"),
                required=required["birthday"],
                widget=DateInput(attrs={"autocomplete": "bday"}),
            )
        if "marketing_consent" in shown:
            self.fields["marketing_consent"] = forms.BooleanField(
                label=_("Send me news and offers from %(business)s")
                % {"business": program.business.name},
                required=False,
            )

    def clean_name(self) -> str:
        name: str = self.cleaned_data.get("name") or ""
        if shows_nothing(name):
            # Only invisible characters (zero-width spaces, a byte order mark...): no name.
            if self.fields["name"].required:
                raise forms.ValidationError(
                    self.fields["name"].error_messages["required"], code="required"
                )
            return ""
        return name

    def clean_birthday(self) -> date | None:
        birthday: date | None = self.cleaned_data.get("birthday")
        if birthday is not None and not (date(1900, 1, 1) <= birthday <= timezone.localdate()):
            raise forms.ValidationError(_("Enter your real date of birth."))
        return birthday


class ReturnForm(ContactFields):
    """A returning customer's email or phone: the card's way back goes to their e-mail."""

    def __init__(self, *args: Any, program: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = program.business.country
        self.fields["email"] = _email_field(False)
        if program.join_phone != JoinField.OFF:
            self.fields["phone"] = _phone_field(False)

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors and not (
            self.cleaned_data.get("email") or self.cleaned_data.get("phone")
        ):
            raise forms.ValidationError(_("Enter the email address you joined with."))
        return cleaned


class CodeForm(DescribedErrors):
    ticket = forms.CharField(widget=forms.HiddenInput, max_length=100)
    code = forms.CharField(
        label=_("Code from the e-mail"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}
        ),
    )
