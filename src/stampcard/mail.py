"""E-mail, sent from the outbox: never inside a request.

``send_later`` records a rendered e-mail as an outbox message (topic ``mail.send``) in the
caller's transaction. It leaves only if that transaction commits, and then the outbox
delivers it with its retries and backoff (``outbox.dispatch``): a slow or unreachable mail
server delays the e-mail, never the page, and an e-mail whose change was rolled back is
never sent. ``deliver_mail`` is the consumer that hands it to the configured backend.

Secrets in e-mail (a one-time link, a code): the mail is rendered when it is recorded, so
the message's payload holds the link until it is sent. Keeping only a hash instead is not
possible: the mail must carry the secret itself. So the payload lives no longer than it has
to:

- once the mail server took the e-mail, the consumer replaces the payload with a stub
  (``{"wiped": true}``); a repeated delivery finds the stub and sends nothing again;
- every e-mail states how long it is worth sending (``valid_for``, the life of its link):
  past that it is not sent, and ``wipe_stale`` (a periodic job) wipes it in any state,
  failed and dead ones included. Until then an operator may still replay a dead one;
- the message row itself goes with the outbox's purge of delivered messages.

To send an e-mail from new code, render its subject and body in the recipient's language,
then call ``send_later(to=[...], subject=..., body=..., valid_for=..., business_id=...)``
inside the transaction of the change it tells of, instead of ``send_mail``/``.send()``.
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.utils import timezone

from stampcard.outbox.models import OPEN_STATUSES, MessageStatus, OutboxMessage, Topic

log = logging.getLogger(__name__)

WIPED = {"wiped": True}
# How long an e-mail without a stated life is worth sending.
DEFAULT_VALID_FOR = timedelta(days=3)
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def send_later(
    *,
    to: Sequence[str],
    subject: str,
    body: str,
    html_body: str = "",
    business_id: int | None = None,
    valid_for: timedelta = DEFAULT_VALID_FOR,
) -> OutboxMessage:
    """Record an e-mail to send once the caller's transaction commits.

    Joins the caller's transaction (or opens one of its own when there is none). Nothing is
    sent here; see the module docstring for delivery and how long the text is kept.
    ``business_id`` is the business the e-mail is sent for, None for one of no business
    (signing up, a password).
    """
    recipients = [address for address in to if address]
    if not recipients:
        raise ValueError("an e-mail needs a recipient")
    now = timezone.now()
    payload: dict[str, Any] = {
        "to": recipients,
        "subject": " ".join(subject.split()),  # a header: one line
        "body": body,
        "from": settings.DEFAULT_FROM_EMAIL,
        "discard_after": (now + valid_for).astimezone(UTC).strftime(_ISO),
    }
    if html_body:
        payload["html"] = html_body
    with transaction.atomic():
        return OutboxMessage.objects.create(
            business_id=business_id,
            topic=Topic.MAIL_SEND,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )


def _past_use(payload: dict[str, Any], now: datetime) -> bool:
    try:
        until = datetime.strptime(payload["discard_after"], _ISO).replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return True
    return until <= now


def wipe(message_id: int) -> None:
    """Forget the e-mail's text and addresses, keeping the message row for the record."""
    OutboxMessage.objects.filter(pk=message_id, topic=Topic.MAIL_SEND).update(payload=WIPED)


def deliver_mail(message: OutboxMessage) -> None:
    """``mail.send``: hand the e-mail to the mail server, then wipe the payload.

    Runs outside any transaction (the mail server may be slow). Raises when the server
    cannot be reached or refuses: the outbox tries again later. The Message-ID is made from
    the outbox message, so the rare e-mail sent twice (a crash between the server's answer
    and the wipe) is one e-mail to a mail client. An e-mail past its use is dropped unsent.
    """
    payload = message.payload
    if payload.get("wiped"):
        return  # sent before, or dropped
    if _past_use(payload, timezone.now()):
        log.warning("e-mail %s dropped unsent: past its use", message.pk)
        wipe(message.pk)
        return
    email = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        to=list(payload["to"]),
        headers={"Message-ID": f"<stampcard-mail-{message.pk}@{DNS_NAME}>"},
    )
    if payload.get("html"):
        email.attach_alternative(payload["html"], "text/html")
    email.send(fail_silently=False)
    wipe(message.pk)


def wipe_stale(*, now: datetime | None = None) -> int:
    """Wipe every e-mail past its use that was not sent (pending, failing or dead).

    A periodic job (``CELERY_BEAT_SCHEDULE``, or ``deliver_outbox`` without a broker). An
    e-mail still open is wiped too: the consumer then drops it unsent. How many were wiped.
    """
    now = now or timezone.now()
    unsent = OutboxMessage.objects.filter(
        topic=Topic.MAIL_SEND, status__in=[*OPEN_STATUSES, MessageStatus.DEAD]
    ).exclude(payload=WIPED)
    stale = [pk for pk, payload in unsent.values_list("pk", "payload") if _past_use(payload, now)]
    if stale:
        OutboxMessage.objects.filter(pk__in=stale).update(payload=WIPED)
    return len(stale)
