"""Celery's part: the rollup job on Celery beat's schedule (``CELERY_BEAT_SCHEDULE``)."""

from django.db import close_old_connections

from stampcard.celery import app
from stampcard.stats import rollup


@app.task(ignore_result=True)
def roll_up() -> int:
    """Bring the daily rollups up to date; how many business days were recomputed."""
    close_old_connections()
    run = rollup.roll_up()
    return run.days if run is not None else 0
