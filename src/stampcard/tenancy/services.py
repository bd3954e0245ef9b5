"""Creating businesses, adding staff, pairing and revoking devices."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scopes_disabled

from stampcard import tokens
from stampcard.audit.services import record
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business, Device, DeviceKind, Location, Membership, Role


def create_business(
    *, owner: User, name: str, slug: str = "", time_zone: str = "UTC", **fields: str
) -> Business:
    """A new business with ``owner`` as its first owner.

    Raises Django's ValidationError for fields a form should have caught (e.g. the time zone).
    """
    business = Business(
        name=name.strip(), slug=slug or _free_slug(name), time_zone=time_zone, **fields
    )
    business.full_clean()
    with transaction.atomic():
        business.save()
        Membership.objects.create(business=business, user=owner, role=Role.OWNER)
        record(
            business=business,
            actor=Actor(kind="staff", user_id=owner.pk),  # type: ignore[arg-type]
            action="business.created",
            target=business,
        )
    return business


def _free_slug(name: str) -> str:
    base = slugify(name)[:50] or "business"
    slug, n = base, 1
    while Business.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def add_member(
    *,
    business: Business,
    actor: Actor,
    user: User,
    role: Role,
    locations: list[Location] | None = None,
) -> Membership:
    """Give ``user`` a role in the business, optionally limited to some of its locations."""
    with transaction.atomic():
        membership, _ = Membership.objects.update_or_create(
            business=business, user=user, defaults={"role": role}
        )
        membership.locations.set([loc for loc in locations or [] if loc.business_id == business.pk])
        record(business=business, actor=actor, action="member.saved", target=membership, role=role)
    return membership


@dataclass(frozen=True, slots=True)
class PairedDevice:
    device: Device
    token: str  # shown once, when pairing; only its hash is kept


def pair_device(
    *,
    business: Business,
    actor: Actor,
    name: str,
    kind: DeviceKind,
    location: Location | None = None,
) -> PairedDevice:
    """Pair a kiosk, Autopilot or scanner station; returns its token, which is never stored."""
    if location is not None and location.business_id != business.pk:
        raise Location.DoesNotExist()
    token = tokens.new_secret()
    with transaction.atomic():
        device = Device.objects.create(
            business=business,
            name=name.strip(),
            kind=kind,
            location=location,
            token_hash=tokens.hash_secret(token),
        )
        record(business=business, actor=actor, action="device.paired", target=device)
    return PairedDevice(device=device, token=token)


def revoke_device(*, business: Business, actor: Actor, device: Device) -> None:
    """Revoke a device's token at once; the device must be paired again to act."""
    with transaction.atomic():
        Device.objects.filter(pk=device.pk, business=business, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record(business=business, actor=actor, action="device.revoked", target=device)


def authenticate_device(token: str) -> Device | None:
    """The active device this token belongs to, or None (unknown, malformed or revoked).

    Looked up by the token's hash, then compared in constant time.
    """
    if not token or len(token) > 200:
        return None
    with scopes_disabled():
        device = (
            Device.objects.select_related("business", "location")
            .filter(token_hash=tokens.hash_secret(token), revoked_at__isnull=True)
            .first()
        )
    if device is None or not tokens.secret_matches(token, device.token_hash):
        return None
    return device
