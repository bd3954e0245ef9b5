"""Signing up: an e-mail address and a password, confirmed by a link sent to that address.

The account is inactive until the link's page is confirmed with its button (a POST, so a
mail scanner that opens the link confirms nothing), so nobody can sign in with an address
that is not theirs. The link's token is Django's password-reset token keyed on the
account's activity: it works once (activating changes what it was made from) and only for
``PASSWORD_RESET_TIMEOUT``. Signing up with an address that already has an account sends
that address a note instead, and the page says the same either way, so the form does not
tell strangers who has an account.

An account that was never confirmed holds its address for nobody: signing up again sends
that address a fresh link and the new password replaces the old one (which also ends the
earlier link, as the token is made from the password), and one older than the link's
lifetime is replaced by a new account. Nothing is active until the mailbox's owner confirms.

Sign-ups are limited per client address and per e-mail address (the settings
``SIGNUPS_PER_ADDRESS``, ``SIGNUPS_PER_EMAIL`` in ``SIGNUP_WINDOW_SECONDS``, read from the
environment, counted in the cache), so the form cannot
be used to flood someone's inbox or fill the user table. The e-mail is kept in the cache only
as a hash.
"""

import hashlib
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login, password_validation
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from stampcard import mail

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
THROTTLE_PREFIX = "signup"


class ConfirmationTokens(PasswordResetTokenGenerator):
    key_salt = "stampcard.accounts.signup.ConfirmationTokens"

    def _make_hash_value(self, user: AbstractBaseUser, timestamp: int) -> str:
        # Activating the account changes the value, so a link confirms once.
        return f"{user.pk}{user.password}{timestamp}{getattr(user, 'is_active', False)}"


confirmation_tokens = ConfirmationTokens()


class SignupForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not only digits, not a common password."),
    )

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        return email.strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            email = cleaned.get("email") or ""
            user = get_user_model()(username=email, email=email)
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        refusal = _throttled(request, email)
        if refusal:
            form.add_error(None, refusal)
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        _start_account(request, email, form.cleaned_data["password"])
        return HttpResponseRedirect(reverse("signup_sent"))
    return render(request, "accounts/signup.html", {"form": form})


def _throttle_keys(request: HttpRequest, email: str) -> tuple[str, str]:
    address = get_client_ip_address(request) or "-"
    hashed = hashlib.sha256(email.encode()).hexdigest()
    return f"{THROTTLE_PREFIX}:address:{address}", f"{THROTTLE_PREFIX}:email:{hashed}"


def _throttled(request: HttpRequest, email: str) -> str:
    """Why this sign-up is refused for now ("" when it is not); counts it when it is not."""
    by_address, by_email = _throttle_keys(request, email)
    counts = cache.get_many([by_address, by_email])
    window = settings.SIGNUP_WINDOW_SECONDS
    if counts.get(by_address, 0) >= settings.SIGNUPS_PER_ADDRESS:
        return gettext("Too many accounts were started from here. Please try again later.")
    if counts.get(by_email, 0) >= settings.SIGNUPS_PER_EMAIL:
        return gettext(
            "Too many sign-ups for this e-mail address. Check its inbox for our message, "
            "or try again later."
        )
    for key in (by_address, by_email):
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, window)
    return ""


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html")


def is_unconfirmed(user: Any) -> bool:
    """Whether ``user`` is a sign-up whose link was never used: inactive and never signed in
    (an account switched off by an administrator has signed in before)."""
    return not user.is_active and user.last_login is None


def _start_account(request: HttpRequest, email: str, password: str) -> None:
    """Make the inactive account (or renew an unconfirmed one) and record its e-mail, in one
    transaction: the e-mail is sent from the outbox after commit (``stampcard.mail``), never
    from this request."""
    users = get_user_model()
    with transaction.atomic():
        user = users.objects.select_for_update().filter(username__iexact=email).first()
        if user is not None and not is_unconfirmed(user):
            _send(request, email, "accounts/email/already_signed_up.txt", {"email": email})
            return
        if user is not None and _outlived_its_link(user):
            user.delete()
            user = None
        if user is None:
            try:
                with transaction.atomic():
                    user = users(username=email, email=email, is_active=False)
                    user.set_password(password)
                    user.save()
            except IntegrityError:  # started at the same moment by another request
                _send(request, email, "accounts/email/already_signed_up.txt", {"email": email})
                return
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        link = request.build_absolute_uri(
            reverse(
                "signup_confirm",
                kwargs={
                    "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                    "token": confirmation_tokens.make_token(user),
                },
            )
        )
        _send(request, email, "accounts/email/confirm.txt", {"link": link})


def _outlived_its_link(user: Any) -> bool:
    age = timezone.now() - user.date_joined
    return age > timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


def _send(request: HttpRequest, email: str, template: str, context: dict[str, Any]) -> None:
    body = render_to_string(template, context, request=request)
    mail.send_later(
        to=[email],
        subject=gettext("Confirm your e-mail for stampcard"),
        body=body,
        # Worth sending while the link works (a note to an existing account: as long).
        valid_for=timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link shows a button; only its POST activates the account, signs in, and goes on to
    set up the business (mail scanners that open links must not use the link up)."""
    user = _user_of(uidb64)
    if (
        user is None
        or not is_unconfirmed(user)
        or len(token) > 100
        or not confirmation_tokens.check_token(user, token)
    ):
        return render(request, "accounts/signup_invalid.html", status=400)
    if request.method != "POST":
        return render(request, "accounts/signup_confirm.html", {"email": user.email})
    user.is_active = True
    user.save(update_fields=["is_active"])
    login(request, user, backend=MODEL_BACKEND)
    return HttpResponseRedirect(reverse("dashboard:start"))


def _user_of(uidb64: str) -> Any:
    if len(uidb64) > 40:
        return None
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None
    return get_user_model().objects.filter(pk=pk).first()
