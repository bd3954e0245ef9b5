"""Periodic work of the vouchers app (``settings.CELERY_BEAT_SCHEDULE``)."""

from django.db import close_old_connections

from stampcard.celery import app
from stampcard.vouchers.services import expiring


@app.task(ignore_result=True)
def expire_vouchers() -> int:
    """Vouchers whose validity ended turn expired, and their passes are told."""
    close_old_connections()
    return expiring.expire_vouchers()
