from django.db import models

from stampcard.audit.models import AuditEntry
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business


def record(
    *,
    business: Business,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    **details: object,
) -> AuditEntry:
    """Append one entry to the business's audit trail (inside the caller's transaction)."""
    return AuditEntry.objects.create(
        business=business,
        action=action,
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_device_id=actor.device_id,
        api_key_id=actor.api_key_id,
        location_id=actor.location_id,
        ip_address=actor.ip_address,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        details=details,
    )
