from django.db import models
from django_scopes import ScopedManager

from stampcard.loyalty.models import Card
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import Voucher


class PassRegistration(models.Model):
    """A device that asked Apple Wallet to keep a pass up to date (wallet.md B1).

    The pass is a card's store card or a voucher's coupon: exactly one of ``card`` and
    ``voucher`` is set. Pushes are debounced through ``push_due_at`` (``wallet.changes``).
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    card = models.ForeignKey(
        Card, on_delete=models.CASCADE, null=True, blank=True, related_name="pass_registrations"
    )
    voucher = models.ForeignKey(
        Voucher,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="pass_registrations",
    )
    device_library_id = models.CharField(max_length=64)
    pass_type_id = models.CharField(max_length=255)
    # Where APNs reaches the device; the device may send a new one, which replaces this.
    push_token = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When a voucher's pass last changed (a card's pass follows the card's ``updated_at``).
    pass_changed_at = models.DateTimeField(null=True, blank=True)
    # A push is owed no later than this; set once per debounce window (wallet.changes).
    push_due_at = models.DateTimeField(null=True, blank=True)
    # The outbox message that took the owed push, so a redelivery sends it again.
    push_batch = models.BigIntegerField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            # Registration is idempotent: a repeated one finds this row (wallet.md B1).
            models.UniqueConstraint(
                fields=["device_library_id", "pass_type_id", "card"],
                name="one_registration_per_device_and_pass",
            ),
            models.UniqueConstraint(
                fields=["device_library_id", "pass_type_id", "voucher"],
                name="one_registration_per_device_and_voucher_pass",
            ),
            models.CheckConstraint(
                condition=models.Q(card__isnull=False, voucher__isnull=True)
                | models.Q(card__isnull=True, voucher__isnull=False),
                name="registration_of_a_card_or_a_voucher",
            ),
        ]
        indexes = [
            # The debounced pushes still owed, per business (wallet.changes.send_due_pushes).
            models.Index(
                fields=["business", "push_due_at"],
                name="registration_push_due",
                condition=models.Q(push_due_at__isnull=False),
            ),
            models.Index(
                fields=["push_batch"],
                name="registration_push_batch",
                condition=models.Q(push_batch__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_library_id} {self.card_id or self.voucher_id}"
