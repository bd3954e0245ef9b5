from django.db import models
from django_scopes import ScopedManager

from stampcard.loyalty.models import Card
from stampcard.tenancy.models import Business


class PassRegistration(models.Model):
    """A device that asked Apple Wallet to keep a card's pass up to date (wallet.md B1)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="pass_registrations")
    device_library_id = models.CharField(max_length=64)
    pass_type_id = models.CharField(max_length=255)
    # Where APNs reaches the device; the device may send a new one, which replaces this.
    push_token = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            # Registration is idempotent: a repeated one finds this row (wallet.md B1).
            models.UniqueConstraint(
                fields=["device_library_id", "pass_type_id", "card"],
                name="one_registration_per_device_and_pass",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_library_id} {self.card_id}"
