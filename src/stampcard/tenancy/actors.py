"""Who performs an action: a staff member, a paired device, an API key, an operator, the system.

Every service that changes something takes an ``Actor``, so the ledger and the audit trail
can always say who did what, and from where. An actor built by a door (``for_member``,
``for_device``) also carries what ``tenancy.permissions.require`` needs to decide without a
query: the business it was admitted to, the member's role or the device's kind, and the
locations it is limited to.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from stampcard.tenancy.models import Device, Location, Membership


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    DEVICE = "device", _("Device")
    API = "api", _("API key")
    ADMIN = "admin", _("Operator")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    user_id: int | None = None
    device_id: int | None = None
    api_key_id: int | None = None
    # Where the action happens (recorded in the ledger and the audit trail).
    location_id: int | None = None
    ip_address: str | None = None
    # Set by the doors; an actor without them is looked up when a permission is checked.
    business_id: int | None = None
    role: str | None = None
    device_kind: str | None = None
    # The only locations the actor may act at and see; empty means every location.
    location_ids: frozenset[int] = frozenset()

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def for_member(
        cls,
        membership: "Membership",
        *,
        location: "Location | None" = None,
        ip_address: str | None = None,
    ) -> "Actor":
        """A staff member acting in the membership's business, optionally at one location."""
        return cls(
            kind=ActorKind.STAFF,
            user_id=membership.user_id,
            location_id=location.pk if location is not None else None,
            ip_address=ip_address,
            business_id=membership.business_id,
            role=membership.role,
            location_ids=frozenset(loc.pk for loc in membership.locations.all()),
        )

    @classmethod
    def for_device(cls, device: "Device", *, ip_address: str | None = None) -> "Actor":
        """A paired device; it acts at its own location, and only there when it has one."""
        location_ids = frozenset() if device.location_id is None else {device.location_id}
        return cls(
            kind=ActorKind.DEVICE,
            device_id=device.pk,
            location_id=device.location_id,
            ip_address=ip_address,
            business_id=device.business_id,
            device_kind=device.kind,
            location_ids=frozenset(location_ids),
        )

    @classmethod
    def customer(cls, *, business_id: int, ip_address: str | None = None) -> "Actor":
        """Whoever holds a card's or a voucher's secret link."""
        return cls(kind=ActorKind.CUSTOMER, business_id=business_id, ip_address=ip_address)
