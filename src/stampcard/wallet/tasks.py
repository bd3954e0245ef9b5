"""Periodic work of the wallet app (``settings.CELERY_BEAT_SCHEDULE``)."""

from django.db import close_old_connections

from stampcard.celery import app
from stampcard.wallet import google_callbacks


@app.task(ignore_result=True)
def purge_google_nonces() -> int:
    """Forget the nonces of Google callbacks too old to be accepted again."""
    close_old_connections()
    return google_callbacks.purge_nonces()
