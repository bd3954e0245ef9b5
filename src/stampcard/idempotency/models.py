from django.db import models
from django_scopes import ScopedManager

from stampcard.tenancy.models import Business


class IdempotencyKey(models.Model):
    """A client-chosen key for one write, and the outcome it had, kept to answer retries."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=64)
    # sha256 of the request's arguments: the same key with other arguments is refused.
    fingerprint = models.CharField(max_length=64)
    outcome = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return self.key
