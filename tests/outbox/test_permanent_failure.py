"""A consumer's ``PermanentFailure`` parks its message at once; a replay delivers it."""

import logging

import pytest

from stampcard.background import business_scope
from stampcard.outbox import dispatch
from stampcard.outbox.consumers import PermanentFailure
from stampcard.outbox.models import MessageStatus, OutboxMessage, Topic

pytestmark = pytest.mark.django_db

# What the consumer below does next: "refuse" (permanent), "fail" (to retry) or "take".
behaviour = {"next": "refuse"}


def consume(message: OutboxMessage) -> None:
    if behaviour["next"] == "refuse":
        raise PermanentFailure("the certificate was refused")
    if behaviour["next"] == "fail":
        raise ConnectionError("the receiving end is down")


@pytest.fixture
def message(settings, card):
    settings.OUTBOX_CONSUMERS = {Topic.CARD_CHANGED: [f"{__name__}.consume"]}
    settings.OUTBOX_MAX_ATTEMPTS = 15
    behaviour["next"] = "refuse"
    return OutboxMessage.objects.create(
        business=card.business, topic=Topic.CARD_CHANGED, payload={"card_id": card.pk}
    )


def deliver(message):
    with business_scope(message.business_id):
        return dispatch.deliver(message.pk)


def test_a_permanent_failure_parks_the_message_after_one_attempt(message, caplog):
    with caplog.at_level(logging.ERROR, logger="stampcard.outbox.dispatch"):
        assert deliver(message) == MessageStatus.DEAD
    message.refresh_from_db()
    assert message.status == MessageStatus.DEAD
    assert message.attempts == 1
    assert message.last_error == "PermanentFailure: the certificate was refused"
    assert "parked" in caplog.text
    # No dispatcher takes it again by itself.
    assert dispatch.claim_due() == []


def test_a_failure_to_retry_is_still_retried(message):
    behaviour["next"] = "fail"
    assert deliver(message) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


def test_a_parked_message_replayed_after_the_fix_is_delivered(message):
    deliver(message)
    behaviour["next"] = "take"
    assert dispatch.replay([message.pk]) == 1
    assert deliver(message) == MessageStatus.DELIVERED
