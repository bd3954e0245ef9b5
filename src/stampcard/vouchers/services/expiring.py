"""Vouchers whose validity ended: marked expired and told to the wallets, each exactly once.

A periodic job (``vouchers.tasks.expire_vouchers``: Celery beat with a broker, the outbox
dispatcher of ``make run`` without one) calls ``expire_vouchers``. A voucher past its
``valid_until`` was already refused at the counter; what changes here is what its passes
show: its status becomes "expired", and one ``voucher.expired`` message tells the Apple
coupon pass and the card's Google object.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.vouchers.models import Voucher, VoucherStatus


def expire_vouchers(*, now: datetime | None = None, batch: int = 500) -> int:
    """Expire every active voucher whose validity ended by ``now``; how many were expired.

    Runs across businesses (a job of no business: the scope is disabled here, out loud).
    Each batch is one transaction: the vouchers are taken with row locks, skipping those
    another transaction holds, set to "expired", and one ``voucher.expired`` outbox message
    is written per voucher. So each voucher is expired and told exactly once, also when two
    runs overlap: a voucher locked by one run is skipped by the other, and once committed it
    is no longer active. A voucher redeemed or voided at the same moment is either taken by
    that first (then it is not expired) or waited for by it (then that finds it expired).
    Vouchers still active whose time came while the job was not running are caught up by
    the next run: the question is "active and past its end", not "ended since the last run".
    """
    now = now or timezone.now()
    expired = 0
    with scopes_disabled():
        while True:
            with transaction.atomic():
                due = list(
                    Voucher.objects.filter(status=VoucherStatus.ACTIVE, valid_until__lte=now)
                    .order_by("valid_until", "id")
                    .select_for_update(skip_locked=True)
                    .values_list("id", "business_id", "card_id")[:batch]
                )
                if not due:
                    return expired
                Voucher.objects.filter(
                    id__in=[voucher_id for voucher_id, _, _ in due], status=VoucherStatus.ACTIVE
                ).update(status=VoucherStatus.EXPIRED)
                written = timezone.now()
                OutboxMessage.objects.bulk_create(
                    OutboxMessage(
                        business_id=business_id,
                        topic=Topic.VOUCHER_EXPIRED,
                        payload={"voucher_id": voucher_id, "card_id": card_id},
                        next_attempt_at=written,
                        created_at=written,
                    )
                    for voucher_id, business_id, card_id in due
                )
            expired += len(due)
