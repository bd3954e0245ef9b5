"""Outbox consumers of the wallet app (``settings.OUTBOX_CONSUMERS``).

The first four only record that passes changed and owe pushes (database work, applied once
in the receipt's transaction); ``send_apple_pushes`` sends what is owed. See
``wallet.changes`` for the debounce between them.
"""

from stampcard.outbox.consumers import in_receipt_transaction
from stampcard.outbox.models import OutboxMessage
from stampcard.wallet import changes

# Raised by send_apple_pushes; here so callers find them beside the consumers.
PushFailed = changes.PushFailed
PushesParked = changes.PushesParked


@in_receipt_transaction
def push_card_changed(message: OutboxMessage) -> None:
    """``card.changed``: the card's pass is to be pushed (wallet.md B2)."""
    changes.card_changed(
        business_id=message.required_business_id, card_id=message.payload["card_id"]
    )


@in_receipt_transaction
def announce_milestone(message: OutboxMessage) -> None:
    """``reward.earned`` / ``voucher.issued``: a milestone reaches the card's Apple pass,
    announced on the lock screen when the notification budget allows."""
    changes.announce_milestone(message)


@in_receipt_transaction
def push_voucher_changed(message: OutboxMessage) -> None:
    """``voucher.redeemed`` / ``voucher.voided`` / ``voucher.expired``: the voucher's coupon
    pass is voided or expired, dated now and pushed."""
    changes.voucher_changed(
        business_id=message.required_business_id, voucher_id=message.payload["voucher_id"]
    )


@in_receipt_transaction
def refresh_passes(message: OutboxMessage) -> None:
    """``wallet.passes_changed``: a program, business or location change reaches every
    affected pass."""
    changes.refresh_passes(
        business_id=message.required_business_id, program_id=message.payload.get("program_id")
    )


# Not in the receipt's transaction: it calls Apple. Repeating it is harmless, a device only
# asks for updates once more.
def send_apple_pushes(message: OutboxMessage) -> None:
    """``wallet.apple_push``: send the pushes owed by now; retried while APNs or the network
    is in trouble, parked at once when APNs refuses our certificate or key."""
    changes.send_due_pushes(message)
