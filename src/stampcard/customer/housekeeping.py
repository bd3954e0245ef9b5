"""Forgetting one-time links long past their use.

E-mailed return links (``ReturnLink``) and links handed over at the counter
(``HandOverLink``) open a card once and for minutes only; past that they open nothing, and
the row is only a record that one was made. A day after a link expired, used or not, its row
is deleted. (The limit on return links per address counts the last hour only; the audit
trail, not these rows, records who handed a card over.) A join form's attempt
(``JoinAttempt``) answers a form sent again for as long as its browser's join cookie lives (a
day), and is deleted after that. A periodic job (``customer.tasks.purge_spent_links``).
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django_scopes import scopes_disabled

from stampcard.customer.models import HandOverLink, JoinAttempt, ReturnLink

# How long a row stays after its link expired.
KEEP_AFTER_EXPIRY = timedelta(days=1)
# How long a join form's attempt is kept: the life of the join cookie it is bound to.
KEEP_JOIN_ATTEMPTS = timedelta(days=1)


def purge_spent_links(*, now: datetime | None = None) -> int:
    """Delete the return and hand-over links that expired more than a day ago, and join
    attempts older than a day; how many."""
    now = now or timezone.now()
    cutoff = now - KEEP_AFTER_EXPIRY
    removed = 0
    with scopes_disabled():
        for model in (ReturnLink, HandOverLink):
            count, _ = model.objects.filter(expires_at__lt=cutoff).delete()
            removed += count
        count, _ = JoinAttempt.objects.filter(created_at__lt=now - KEEP_JOIN_ATTEMPTS).delete()
        removed += count
    return removed
