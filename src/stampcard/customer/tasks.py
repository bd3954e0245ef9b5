"""Periodic work of the customer app (``settings.CELERY_BEAT_SCHEDULE``)."""

from django.db import close_old_connections

from stampcard.celery import app
from stampcard.customer import housekeeping


@app.task(ignore_result=True)
def purge_spent_links() -> int:
    """Forget return and hand-over links that expired more than a day ago."""
    close_old_connections()
    return housekeeping.purge_spent_links()
