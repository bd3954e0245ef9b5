"""Google Wallet's "Save" link for a card, when this business can offer one."""

from stampcard.loyalty.models import Card


def google_save_url(card: Card) -> str | None:
    """The card's Google Wallet save link, or None while Google Wallet is not set up here."""
    return None
