from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from stampcard.loyalty.models import Card, Program
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


class Wallet(models.TextChoices):
    APPLE = "apple", _("Apple Wallet")
    GOOGLE = "google", _("Google Wallet")


class PassSend(models.Model):
    """One update sent to a card's pass in one wallet, and whether it was allowed to notify.

    The notification budget (wallet.notifications) counts these rows; each outbox message is
    sent at most once per pass and wallet (the unique constraint is the dedupe).
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="pass_sends")
    wallet = models.CharField(max_length=8, choices=Wallet.choices)
    # The outbox message this send applied; None for a send not caused by one.
    message_id = models.BigIntegerField(null=True, blank=True)
    topic = models.CharField(max_length=64)
    notified = models.BooleanField(default=False)
    # Why it notified or stayed silent: a stable code of wallet.notifications.Why.
    reason = models.CharField(max_length=32)
    sent_at = models.DateTimeField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["card", "wallet", "message_id"], name="one_send_per_message_and_pass"
            ),
        ]
        indexes = [
            # The budget's one question: this pass's notifying sends since a moment.
            models.Index(
                fields=["card", "wallet", "sent_at"],
                condition=models.Q(notified=True),
                name="pass_send_notified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wallet} {self.card_id} {self.topic}"


class AppleAnnouncement(models.Model):
    """The count of rewards earned that a card's Apple pass announces on the lock screen.

    The pass's ``earned`` field carries its ``changeMessage`` only while it shows this count:
    a milestone the notification budget allowed (wallet.changes.announce_milestone), so the
    device alerts once for it; any other change of the count updates silently.
    """

    card = models.OneToOneField(Card, on_delete=models.CASCADE, primary_key=True, related_name="+")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    rewards_earned = models.PositiveIntegerField()

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"{self.pk} {self.rewards_earned}"


class GoogleInstall(models.Model):
    """What the latest of Google's save/delete events said of a card's object (true install
    state). Latest by the time Google signed into the event's message, not by arrival: Google
    may deliver callbacks out of order, and an older event arriving after a newer one is
    ignored (wallet.google_callbacks)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    card = models.OneToOneField(Card, on_delete=models.CASCADE, related_name="google_install")
    saved = models.BooleanField()
    # When the event in force reached us (its callback's arrival; a later-arriving older
    # event changes neither this nor ``saved``). Google's message carries no time of the
    # event itself, only its expiry below.
    event_at = models.DateTimeField()
    # The ``expTimeMillis`` Google signed into the message of the event in force: each
    # event's message expires a fixed while after it was made, so this orders the events as
    # they happened. None for a row from before it was kept (any event then replaces it).
    message_expires_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"{self.card_id} saved={self.saved}"


class GoogleCallbackNonce(models.Model):
    """A callback already taken: Google retries, and a repeated nonce is ignored."""

    # Not scoped: checked before the message's business is known.
    nonce = models.CharField(max_length=128, unique=True)
    received_at = models.DateTimeField()

    class Meta:
        # The hourly purge deletes the nonces received before a cutoff (google_callbacks).
        indexes = [models.Index(fields=["received_at"], name="google_nonce_received")]

    def __str__(self) -> str:
        return self.nonce


class GoogleClassState(models.Model):
    """The design version of a program last written to its Google loyalty class."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="+")
    design_version = models.PositiveIntegerField()

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"{self.program_id} v{self.design_version}"
