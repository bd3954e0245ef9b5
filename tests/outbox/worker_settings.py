"""Settings for a Celery worker started by the tests: the recording consumer, short leases."""

from stampcard.settings import *  # noqa: F403

OUTBOX_CONSUMERS = {"card.changed": ["tests.outbox.consumers.record_slowly"]}
OUTBOX_POLL_SECONDS = 0.2
OUTBOX_LEASE_SECONDS = 3
OUTBOX_RETRY_BASE_SECONDS = 0.2
OUTBOX_RETRY_MAX_SECONDS = 1.0
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {"task": "stampcard.outbox.tasks.relay", "schedule": OUTBOX_POLL_SECONDS},
}
TEST_CONSUMER_SECONDS = 0.05
