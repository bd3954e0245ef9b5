"""The tenant (Business) and who may act for it: staff memberships and paired devices."""

import functools
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(_("Choose a time zone such as Asia/Bangkok."), code="time_zone")


class Business(models.Model):
    """The tenant. Every other row of the domain belongs to exactly one business."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    # ISO 3166 code; phone numbers typed without a country code are read as this country's.
    country = models.CharField(_("country"), max_length=2, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    brand_color = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#1f2937",
        validators=[
            RegexValidator(
                r"^#[0-9a-fA-F]{6}$", _("Choose a colour such as #1f2937."), code="brand_color"
            )
        ],
    )
    # The languages offered besides the default one (program texts, customer pages);
    # empty means every language the product speaks (``other_languages``).
    languages = models.JSONField(_("languages"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("business")
        verbose_name_plural = _("businesses")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        from stampcard.wallet import changes  # the wallet app builds on this one

        # A new business has no passes yet.
        shown = not self._state.adding and changes.shown_fields_changed(self)
        with transaction.atomic():
            super().save(*args, **kwargs)
            if shown:
                changes.business_changed(self)

    @property
    def other_languages(self) -> list[tuple[str, "str | Promise"]]:
        """(code, name) of the languages offered besides the default one, in product order."""
        offered = set(self.languages or [code for code, _name in settings.LANGUAGES])
        return [
            (code, name)
            for code, name in settings.LANGUAGES
            if code in offered and code != self.default_language
        ]

    def clean(self) -> None:
        known = {code for code, _name in settings.LANGUAGES}
        if not isinstance(self.languages, list) or not set(self.languages) <= known:
            raise ValidationError({"languages": _("Choose languages from the list.")})


class Location(models.Model):
    """A shop of the business; its coordinates make wallet passes relevant nearby."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Between -90 and 90, e.g. 13.7563."),
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text=_("Between -180 and 180, e.g. 100.5018."),
    )
    relevant_text = models.CharField(
        _("text shown nearby"),
        max_length=120,
        blank=True,
        help_text=_("Shown on the lock screen near this shop, at most 120 characters."),
    )

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return self.name

    # Passes list the shops near which they show up: a change refreshes them (wallet.changes).
    def save(self, *args: Any, **kwargs: Any) -> None:
        from stampcard.wallet import changes  # the wallet app builds on this one

        shown = changes.shown_fields_changed(self)
        with transaction.atomic():
            super().save(*args, **kwargs)
            if shown:
                changes.location_changed(self)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        from stampcard.wallet import changes

        with transaction.atomic():
            deleted = super().delete(*args, **kwargs)
            changes.location_changed(self)
        return deleted

    def clean(self) -> None:
        # A point on the map needs both halves; half of one makes no pass relevant anywhere.
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError(
                _("Give both the latitude and the longitude, or neither."), code="coordinates"
            )


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    STAFF = "staff", _("Staff")


class Membership(models.Model):
    """A user's role in one business, optionally limited to some of its locations."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    # Empty means every location of the business.
    locations = models.ManyToManyField(Location, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.business} ({self.role})"


class DeviceKind(models.TextChoices):
    SCANNER = "scanner", _("Staff scanner")
    KIOSK = "kiosk", _("Self-service kiosk")
    AUTOPILOT = "autopilot", _("Autopilot")


class Device(models.Model):
    """A paired station (a shared tablet or a scanner PC) that acts without a personal login."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(max_length=16, choices=DeviceKind.choices)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PairingCode(models.Model):
    """A short one-time code an owner or manager creates to pair a device.

    Typed on the device at ``/device/pair/``; only its hash is kept. It pairs one device with
    the name, kind and location chosen when it was made, within ``expires_at``, once.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(max_length=16, choices=DeviceKind.choices)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    device = models.OneToOneField(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="pairing_code"
    )

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Invitation(models.Model):
    """An e-mail invitation to join the business with a role (``tenancy.team``).

    Only the hash of its link's token is kept. It works once, until ``expires_at``; resending
    it replaces the token (the old link dies), cancelling it ends it. ``limited`` remembers
    that it was for some shops only, so that shops removed in the meantime never turn it
    into an invitation for every shop.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"), max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    locations = models.ManyToManyField(Location, blank=True, related_name="+")
    limited = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            # One open invitation per address and business; e-mails are stored lower-case.
            models.UniqueConstraint(
                fields=["business", "email"],
                condition=models.Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} · {self.business} ({self.role})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None
