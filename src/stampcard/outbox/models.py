"""Messages for the world outside, written in the same transaction as the change they tell of.

A row is the promise that every consumer of its topic will hear of the change at least once;
``Receipt`` rows make each consumer apply it at most once. See ``outbox.dispatch``.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard.tenancy.models import Business


class Topic(models.TextChoices):
    CARD_CHANGED = "card.changed", _("Card changed")
    REWARD_EARNED = "reward.earned", _("Reward earned")
    VOUCHER_ISSUED = "voucher.issued", _("Voucher issued")
    VOUCHER_REDEEMED = "voucher.redeemed", _("Voucher redeemed")
    VOUCHER_VOIDED = "voucher.voided", _("Voucher voided")
    CUSTOMER_JOINED = "customer.joined", _("Customer joined")
    CLAIM_CLAIMED = "claim.claimed", _("Claim code claimed")
    VOUCHER_EXPIRED = "voucher.expired", _("Voucher expired")
    MAIL_SEND = "mail.send", _("E-mail to send")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, will be retried")
    DEAD = "dead", _("Dead: stopped until replayed")


# The statuses the dispatcher still has work for.
OPEN_STATUSES = (MessageStatus.PENDING, MessageStatus.FAILED)


class OutboxMessage(models.Model):
    # Not scoped: the dispatcher reads across businesses and opens each message's scope itself.
    # No index of its own: every stamp writes a row here, and nothing looks messages up by
    # business. None only for a message of no business (a sign-up's e-mail): it is delivered
    # with no scope open, so it can read no business's data.
    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, related_name="+", db_index=False, null=True
    )
    topic = models.CharField(max_length=64, choices=Topic.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the dispatcher may next take it: now for a new message, later after a failure.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A dispatcher that took the message has it until then; past it, it was lost with its
    # worker and is taken again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The dispatcher's one question: which open messages are due? Delivered rows
            # (nearly all of them) stay out of this index.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status__in=["pending", "failed"]),
                name="outbox_due",
            ),
            # What operators look for: the few messages in trouble.
            models.Index(
                fields=["status", "id"],
                condition=models.Q(status__in=["failed", "dead"]),
                name="outbox_trouble",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} ({self.status})"

    @property
    def required_business_id(self) -> int:
        """The business of a message of a business's change (every topic but a few e-mails)."""
        if self.business_id is None:
            raise ValueError(f"outbox message {self.pk} ({self.topic}) names no business")
        return self.business_id


class Receipt(models.Model):
    """A consumer applied a message: written in the consumer's own transaction, once."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="receipts")
    consumer = models.CharField(max_length=200)
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "consumer"], name="outbox_applied_once")
        ]

    def __str__(self) -> str:
        return f"{self.consumer} applied #{self.message_id}"
