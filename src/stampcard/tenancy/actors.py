"""Who performs an action: a staff member, a paired device, an API key, an operator, the system.

Every service that changes something takes an ``Actor``, so the ledger and the audit trail
can always say who did what, and from where.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    location_id: int | None = None
    ip_address: str | None = None

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=ActorKind.SYSTEM)
