"""stampcard: self-hostable digital stamp cards for Apple Wallet and Google Wallet."""

from stampcard.celery import app as celery_app

__all__ = ["celery_app"]
