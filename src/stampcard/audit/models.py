from django.conf import settings
from django.db import models
from django_scopes import ScopedManager

from stampcard.tenancy.actors import ActorKind
from stampcard.tenancy.models import Business, Device, Location


class AuditEntry(models.Model):
    """Who did what, from where. Stamps are audited by their own ledger rows."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key_id = models.BigIntegerField(null=True, blank=True)
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ScopedManager(business="business")

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["business", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
