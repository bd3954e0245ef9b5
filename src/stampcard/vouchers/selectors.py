"""Reads of the vouchers app worth naming: the code pools as the dashboard lists them."""

from dataclasses import dataclass

from django.db.models import Count, Q

from stampcard.loyalty.models import Reward
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import CodePool, CodePoolKind, Voucher
from stampcard.vouchers.services.issuing import waiting_for

# Fewer free codes than this and the pool page warns: time to generate or import more.
LOW_FREE_CODES = 50


@dataclass(frozen=True, slots=True)
class PoolOverview:
    """A pool with its counts: ``free`` codes no voucher holds yet (None for a static pool,
    which never runs out), ``used`` codes handed to vouchers, and rewards ``waiting`` for a
    code because the pool was dry when they were earned."""

    pool: CodePool
    free: int | None
    used: int
    waiting: int

    @property
    def empty(self) -> bool:
        return self.free == 0

    @property
    def low(self) -> bool:
        return self.free is not None and 0 < self.free < LOW_FREE_CODES


def code_pool_overviews(business: Business) -> list[PoolOverview]:
    """The business's pools, newest first, with their counts (one query for the codes, then
    one per pool for its waiting rewards; a business has a handful of pools)."""
    pools = list(
        CodePool.objects.filter(business=business)
        .annotate(
            free_codes=Count("codes", filter=Q(codes__voucher__isnull=True)),
            used_codes=Count("codes", filter=Q(codes__voucher__isnull=False)),
        )
        .order_by("-created_at", "-pk")
    )
    overviews = []
    for pool in pools:
        static = pool.kind == CodePoolKind.STATIC
        used = (
            Voucher.objects.filter(business=business, code=pool.static_code).count()
            if static
            else pool.used_codes
        )
        waiting = Reward.objects.filter(waiting_for(pool), business=business).count()
        overviews.append(
            PoolOverview(
                pool=pool,
                free=None if static else pool.free_codes,
                used=used,
                waiting=waiting,
            )
        )
    return overviews
