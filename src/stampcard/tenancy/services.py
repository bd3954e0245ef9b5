"""Creating businesses and correcting their settings, adding staff, pairing, renaming,
moving and revoking devices.

Each service takes the business explicitly and checks the actor against
``tenancy.permissions`` first. Objects handed in (a location, a device) are read inside the
business's scope by the door that called, so they are the business's own.
"""

import functools
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from stampcard import tokens
from stampcard.audit.services import record
from stampcard.hot_path import Columns, hot_path_cursor
from stampcard.storable import is_storable
from stampcard.tenancy import errors
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.models import (
    Business,
    Device,
    DeviceKind,
    Location,
    Membership,
    PairingCode,
    Role,
)
from stampcard.tenancy.permissions import Permission, require_within


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
        membership = Membership.objects.create(business=business, user=owner, role=Role.OWNER)
        record(
            business=business,
            actor=Actor.for_member(membership),
            action="business.created",
            target=business,
        )
    return business


BUSINESS_SETTINGS = (
    "name",
    "country",
    "time_zone",
    "currency",
    "default_language",
    "languages",
    "brand_color",
)


def change_business_settings(*, business: Business, actor: Actor, **fields: object) -> Business:
    """Correct what onboarding set: ``BUSINESS_SETTINGS`` (name, country, time zone, currency,
    languages, brand colour); the slug, and so every link already printed, stays.

    Needs MANAGE_BUSINESS for an actor limited to no location (the owner's). Validated as the
    model does (``full_clean``, raising Django's ValidationError); a change to what passes
    show (name, brand colour) publishes their refresh through the outbox in the same
    transaction (``Business.save``). Audited with the names of the fields that changed.
    """
    require_within(actor, Permission.MANAGE_BUSINESS, business=business, location_ids=None)
    unknown = set(fields) - set(BUSINESS_SETTINGS)
    if unknown:
        raise TypeError(f"not a business setting: {sorted(unknown)}")
    with transaction.atomic():
        current = Business.objects.select_for_update().get(pk=business.pk)
        for field, value in fields.items():
            setattr(current, field, value.strip() if isinstance(value, str) else value)
        current.full_clean()
        changed = sorted(f for f in fields if getattr(business, f) != getattr(current, f))
        if changed:
            current.save()
            record(
                business=current,
                actor=actor,
                action="business.changed",
                target=current,
                fields=changed,
            )
    return current


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
    """Give ``user`` a role in the business, optionally limited to some of its locations.

    Needs MANAGE_STAFF, for the given locations (none: every location) and, when the user is
    already a member, for the locations they have now: a limited owner neither lifts anyone's
    limits (their own included) nor changes a member who works elsewhere. Locations of another
    business are ignored: callers outside a scope (the demo loader, an operator's script) may
    hand in anything.
    """
    wanted = [loc.pk for loc in locations or []]
    require_within(actor, Permission.MANAGE_STAFF, business=business, location_ids=wanted)
    with transaction.atomic():
        current = (
            Membership.objects.select_for_update()
            .filter(business=business, user=user)
            .prefetch_related("locations")
            .first()
        )
        if current is not None:
            require_within(
                actor,
                Permission.MANAGE_STAFF,
                business=business,
                location_ids=[loc.pk for loc in current.locations.all()],
            )
        membership, _ = Membership.objects.update_or_create(
            business=business, user=user, defaults={"role": role}
        )
        membership.locations.set(Location.objects.filter(business=business, pk__in=wanted))
        record(business=business, actor=actor, action="member.saved", target=membership, role=role)
    return membership


def add_location(
    *,
    business: Business,
    actor: Actor,
    name: str,
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    relevant_text: str = "",
) -> Location:
    """A new shop of the business. Needs MANAGE_BUSINESS, for an actor limited to no location
    (a limited one would reach the new shop by no right of its own).

    Raises Django's ValidationError for what a form should have caught (coordinates out of
    range, one coordinate without the other, a lock-screen text over 120 characters)."""
    require_within(actor, Permission.MANAGE_BUSINESS, business=business, location_ids=None)
    location = Location(
        business=business,
        name=name.strip(),
        address=address.strip(),
        latitude=latitude,
        longitude=longitude,
        relevant_text=relevant_text.strip(),
    )
    location.full_clean()
    with transaction.atomic():
        location.save()
        record(business=business, actor=actor, action="location.added", target=location)
    return location


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
    """Pair a kiosk, Autopilot or scanner station; returns its token, which is never stored.

    Needs MANAGE_DEVICES at the device's location; a device without one acts business-wide,
    so pairing it needs an actor limited to no location. The location is the business's own:
    the caller read it inside the business's scope.
    """
    require_within(
        actor,
        Permission.MANAGE_DEVICES,
        business=business,
        location_ids=[location.pk] if location is not None else None,
    )
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
    """Revoke a device's token at once; the device must be paired again to act.

    Needs MANAGE_DEVICES at the device's location; a business-wide device (no location) needs
    an actor limited to no location.
    """
    _require_device_manager(actor, business, device.location_id)
    with transaction.atomic():
        Device.objects.filter(pk=device.pk, business=business, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record(business=business, actor=actor, action="device.revoked", target=device)


def rename_device(*, business: Business, actor: Actor, device: Device, name: str) -> Device:
    """Give a device another name (as shown on the devices page and in the audit trail).

    Needs MANAGE_DEVICES at the device's location, as revoking it does. Refuses an empty or
    too long name (``InvalidDevice``). Audited with the old and the new name.
    """
    _require_device_manager(actor, business, device.location_id)
    name = _device_name(name)
    with transaction.atomic():
        current = Device.objects.select_for_update().get(business=business, pk=device.pk)
        if current.name != name:
            Device.objects.filter(pk=current.pk).update(name=name)
            record(
                business=business,
                actor=actor,
                action="device.renamed",
                target=current,
                old=current.name,
                new=name,
            )
            current.name = name
    return current


def move_device(
    *, business: Business, actor: Actor, device: Device, location: Location | None
) -> Device:
    """Move an active device to another of the business's locations (None: every location).

    The device door reads the device's location on every request, so from the next one on
    it acts, and stamps, only at ``location``. Needs MANAGE_DEVICES at both the old and the
    new location: nobody moves a device out of their reach or widens it to the whole
    business (a limited actor cannot make it business-wide). A revoked device stays where it
    was (``InvalidDevice``). Audited with both locations.
    """
    _require_device_manager(actor, business, device.location_id)
    _require_device_manager(actor, business, location.pk if location is not None else None)
    with transaction.atomic():
        current = Device.objects.select_for_update().get(business=business, pk=device.pk)
        if not current.is_active:
            raise errors.InvalidDevice(_("A revoked device cannot be moved; pair a new one."))
        new_location_id = location.pk if location is not None else None
        if current.location_id != new_location_id:
            record(
                business=business,
                actor=actor,
                action="device.moved",
                target=current,
                old_location_id=current.location_id,
                new_location_id=new_location_id,
            )
            Device.objects.filter(pk=current.pk).update(location=location)
            current.location = location
    return current


def cancel_pairing_code(*, business: Business, actor: Actor, pairing: PairingCode) -> None:
    """Withdraw a pairing code not used yet: from now on it is refused as expired.

    Needs MANAGE_DEVICES at the code's location, as making it did. A code already used (or
    expired) is left as it is: the device it paired is revoked, not its code. Audited.
    """
    _require_device_manager(actor, business, pairing.location_id)
    now = timezone.now()
    with transaction.atomic():
        cancelled = PairingCode.objects.filter(
            business=business, pk=pairing.pk, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        if cancelled:
            record(business=business, actor=actor, action="pairing_code.cancelled", target=pairing)


def _require_device_manager(actor: Actor, business: Business, location_id: int | None) -> None:
    """MANAGE_DEVICES at a device's location; at none, for an actor limited to no location."""
    where = [location_id] if location_id is not None else None
    require_within(actor, Permission.MANAGE_DEVICES, business=business, location_ids=where)


def _device_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 120 or not is_storable(name):
        raise errors.InvalidDevice()
    return name


def find_device(token: str) -> Device | None:
    """The device this token was given to, revoked or not; None if unknown or malformed.

    Looked up by the token's hash, then compared in constant time. It is the device door's
    read (across businesses, before any scope is open); everything else wants
    ``authenticate_device``. One statement, written out (every scan comes through here): the
    device with its business and location, as ``select_related`` would give them.
    """
    if not token or len(token) > 200:
        return None
    device, business, location, sql = _device_columns(DEFAULT_DB_ALIAS)
    with hot_path_cursor() as cursor:
        cursor.execute(sql, [tokens.hash_secret(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    found = device.load(row[: len(device)])
    if not tokens.secret_matches(token, found.token_hash):
        return None
    found.business = business.load(row[len(device) : len(device) + len(business)])
    if found.location_id is not None:
        found.location = location.load(row[len(device) + len(business) :])
    return found


@functools.cache
def _device_columns(
    alias: str,
) -> tuple[Columns[Device], Columns[Business], Columns[Location], str]:
    db = connections[alias]
    device = Columns(Device, "d", db)
    business = Columns(Business, "b", db)
    location = Columns(Location, "l", db)
    sql = (
        f"SELECT {device.sql}, {business.sql}, {location.sql}"  # noqa: S608
        f" FROM {Device._meta.db_table} d"
        f" JOIN {Business._meta.db_table} b ON b.id = d.business_id"
        f" LEFT JOIN {Location._meta.db_table} l"
        "  ON l.id = d.location_id AND l.business_id = d.business_id"
        " WHERE d.token_hash = %s"
    )
    return device, business, location, sql


def authenticate_device(token: str) -> Device | None:
    """The active device this token belongs to, or None (unknown, malformed or revoked)."""
    device = find_device(token)
    return device if device is not None and device.is_active else None


def device_seen(device: Device) -> None:
    """Note that the device just called in (shown on the devices page; revoked ones stay put)."""
    Device.objects.filter(pk=device.pk, revoked_at__isnull=True).update(last_seen_at=timezone.now())


# Pairing codes: short enough to type on a tablet, from an alphabet without look-alikes
# (no 0/O, 1/I/L, U/V), valid PAIRING_CODE_LIFETIME, used once. Wrong codes are counted per
# client address and over all callers together; ``counter.pairing`` sets out why guessing a
# live code is then hopeless, with the figures.
PAIRING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
PAIRING_CODE_LENGTH = 8
PAIRING_CODE_LIFETIME = timedelta(minutes=10)
PAIRING_FAILURE_LIMIT = 5
PAIRING_GLOBAL_FAILURE_LIMIT = 100
PAIRING_FAILURE_WINDOW = timedelta(minutes=15)
_GLOBAL_FAILURES = "pairing-failures:all"


@dataclass(frozen=True, slots=True)
class IssuedPairingCode:
    pairing: PairingCode
    code: str  # shown once, to be typed on the device; only its hash is kept

    @property
    def display_code(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


def _pairing_hash(code: str) -> str:
    # Keyed: a short code's plain hash could be reversed by trying them all.
    return hmac.new(settings.SECRET_KEY.encode(), f"pairing:{code}".encode(), "sha256").hexdigest()


def normalize_pairing_code(typed: str) -> str | None:
    """The code as issued, from what someone typed (case, spaces and dashes do not matter)."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != PAIRING_CODE_LENGTH or any(c not in PAIRING_ALPHABET for c in code):
        return None
    return code


def create_pairing_code(
    *,
    business: Business,
    actor: Actor,
    name: str,
    kind: DeviceKind | str,
    location: Location | None = None,
) -> IssuedPairingCode:
    """A one-time code that pairs one device (this name, kind and location) when typed on it.

    Needs MANAGE_DEVICES for the location, as pairing the device itself will (a device
    without a location acts business-wide, so only an unlimited actor may make its code).
    Valid for PAIRING_CODE_LIFETIME; only its keyed hash is stored. Audited.
    """
    require_within(
        actor,
        Permission.MANAGE_DEVICES,
        business=business,
        location_ids=[location.pk] if location is not None else None,
    )
    name = _device_name(name)
    if kind not in DeviceKind.values:
        raise errors.InvalidDevice()
    code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))
    with transaction.atomic():
        pairing = PairingCode.objects.create(
            business=business,
            code_hash=_pairing_hash(code),
            name=name,
            kind=kind,
            location=location,
            created_by_id=actor.user_id,
            expires_at=timezone.now() + PAIRING_CODE_LIFETIME,
        )
        record(business=business, actor=actor, action="pairing_code.created", target=pairing)
    return IssuedPairingCode(pairing=pairing, code=code)


def pair_with_code(*, code: str, client: str | None) -> PairedDevice:
    """Pair the device that typed ``code``: the code is used up and a device token made.

    Refuses a malformed or unknown code (``PairingCodeWrong``), one used before
    (``PairingCodeUsed``) or expired (``PairingCodeExpired``). Each refusal counts against
    ``client`` (the caller's address as the trusted proxy saw it) and against everyone
    together, for PAIRING_FAILURE_WINDOW: a client with PAIRING_FAILURE_LIMIT of them is
    refused without a look (``PairingThrottled``), and once PAIRING_GLOBAL_FAILURE_LIMIT
    are reached every caller is (``PairingPaused``) until the window ends, the right code
    too, since telling it apart would be one more guess. The code is taken by one
    conditional write, so of two devices typing it at once exactly one is paired. Whoever
    created the code must still be allowed to pair that device (``pair_device``); the device
    is the code's business's.
    """
    by_client = f"pairing-failures:{client or '-'}"
    counts = cache.get_many([by_client, _GLOBAL_FAILURES])
    if counts.get(by_client, 0) >= PAIRING_FAILURE_LIMIT:
        raise errors.PairingThrottled()
    if counts.get(_GLOBAL_FAILURES, 0) >= PAIRING_GLOBAL_FAILURE_LIMIT:
        raise errors.PairingPaused()
    try:
        return _pair_with_code(code)
    except errors.PairingRefused:
        window = int(PAIRING_FAILURE_WINDOW.total_seconds())
        for key in (by_client, _GLOBAL_FAILURES):
            if cache.add(key, 1, window) is False:
                try:
                    cache.incr(key)
                except ValueError:  # expired in between
                    cache.add(key, 1, window)
        raise


def _pair_with_code(typed: str) -> PairedDevice:
    code = normalize_pairing_code(typed) if len(typed) < 100 else None
    if code is None:
        raise errors.PairingCodeWrong()
    now = timezone.now()
    with scopes_disabled(), transaction.atomic():
        codes = PairingCode.objects.filter(code_hash=_pairing_hash(code))
        taken = codes.filter(used_at__isnull=True, expires_at__gt=now).update(used_at=now)
        pairing = codes.select_related("business", "location").first()
        if pairing is None:
            raise errors.PairingCodeWrong()
        if taken != 1:
            if pairing.used_at is not None:
                raise errors.PairingCodeUsed()
            raise errors.PairingCodeExpired()
        creator = Actor(kind=ActorKind.STAFF, user_id=pairing.created_by_id)
        paired = pair_device(
            business=pairing.business,
            actor=creator,
            name=pairing.name,
            kind=DeviceKind(pairing.kind),
            location=pairing.location,
        )
        PairingCode.objects.filter(pk=pairing.pk).update(device=paired.device)
    return paired


LOCATION_FIELDS = ("name", "address", "latitude", "longitude", "relevant_text")


def edit_location(
    *, business: Business, actor: Actor, location: Location, **fields: object
) -> Location:
    """Change a shop's name, address, coordinates or lock-screen text (``LOCATION_FIELDS``).

    Needs MANAGE_BUSINESS for an unlimited actor, like adding one. Passes that list the shop
    are refreshed by ``Location.save``. Raises ValidationError as ``add_location`` does.
    """
    require_within(actor, Permission.MANAGE_BUSINESS, business=business, location_ids=None)
    unknown = set(fields) - set(LOCATION_FIELDS)
    if unknown:
        raise TypeError(f"not a location field: {sorted(unknown)}")
    with transaction.atomic():
        current = Location.objects.select_for_update().get(business=business, pk=location.pk)
        for field, value in fields.items():
            setattr(current, field, value.strip() if isinstance(value, str) else value)
        current.full_clean()
        changed = sorted(f for f in fields if getattr(location, f) != getattr(current, f))
        current.save()
        record(
            business=business,
            actor=actor,
            action="location.changed",
            target=current,
            fields=changed,
        )
    return current


@dataclass(frozen=True)
class LocationTies:
    """What is tied to a shop: what blocks its removal, and what its removal changes."""

    active_devices: int
    limited_members: int
    revoked_devices: int
    pending_codes: int

    @property
    def blocking(self) -> bool:
        return bool(self.active_devices or self.limited_members)


def location_ties(location: Location) -> LocationTies:
    devices = Device.objects.filter(business_id=location.business_id, location=location)
    return LocationTies(
        active_devices=devices.filter(revoked_at__isnull=True).count(),
        revoked_devices=devices.filter(revoked_at__isnull=False).count(),
        limited_members=Membership.objects.filter(
            business_id=location.business_id, locations=location
        ).count(),
        pending_codes=PairingCode.objects.filter(
            business_id=location.business_id, location=location, used_at__isnull=True
        ).count(),
    )


def remove_location(*, business: Business, actor: Actor, location: Location) -> None:
    """Remove a shop. Needs MANAGE_BUSINESS for an unlimited actor.

    Refused (``errors.LocationInUse``) while a device still works there or a member is limited
    to it: they must be moved or revoked first, so nobody silently gains or loses reach.
    Revoked devices forget the shop, unused pairing codes for it lapse, and the history
    (ledger, redemptions, audit) stays but no longer names it. Passes stop listing it.
    """
    require_within(actor, Permission.MANAGE_BUSINESS, business=business, location_ids=None)
    with transaction.atomic():
        current = Location.objects.select_for_update().get(business=business, pk=location.pk)
        ties = location_ties(current)
        if ties.blocking:
            raise errors.LocationInUse()
        Device.objects.filter(business=business, location=current).update(location=None)
        record(
            business=business,
            actor=actor,
            action="location.removed",
            target=current,
            name=current.name,
        )
        current.delete()
