"""Celery's part when a broker is configured: a relay that hands due messages to workers.

``relay`` runs every ``OUTBOX_POLL_SECONDS`` (Celery beat) and turns each due message into a
``deliver_message`` task. Tasks are acknowledged late and given back if their worker dies; and
whatever the broker loses, the message's lease runs out and the relay hands it over again.
"""

from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections

from stampcard import mail
from stampcard.background import BusinessTask
from stampcard.celery import app
from stampcard.outbox import dispatch

_MOST_PER_RELAY = 5_000


@app.task(acks_late=True, ignore_result=True)
def relay() -> int:
    """Hand due messages to delivery tasks; how many were handed over.

    At most ``_MOST_PER_RELAY`` a run: a backlog larger than the workers can take within one
    lease would only be handed out again; the next relay goes on with the rest.
    """
    close_old_connections()
    handed = 0
    while handed < _MOST_PER_RELAY and (due := dispatch.claim_due(limit=500)):
        for message_id, business_id in due:
            deliver_message.apply_async(
                kwargs={"message_id": message_id, "business_id": business_id}
            )
        handed += len(due)
    return handed


@app.task(ignore_result=True)
def purge() -> int:
    close_old_connections()
    return dispatch.purge_delivered(older_than=timedelta(days=settings.OUTBOX_KEEP_DAYS))


@app.task(
    base=BusinessTask,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.OUTBOX_CONSUMER_TIME_LIMIT,
)
def deliver_message(*, message_id: int, business_id: int | None) -> str:
    return dispatch.deliver(message_id).value


@app.task(ignore_result=True)
def wipe_stale_mail() -> int:
    """E-mails past their use lose their text, sent or not (``stampcard.mail``)."""
    close_old_connections()
    return mail.wipe_stale()
