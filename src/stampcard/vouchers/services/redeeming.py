"""Redeeming and voiding vouchers: each voucher is consumed at most once, whatever races."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from stampcard.audit.services import record
from stampcard.idempotency.services import IdempotentRequest, claim_key, keep_outcome
from stampcard.loyalty.templatetags.sentences import date_in_sentence
from stampcard.outbox.models import Topic
from stampcard.outbox.services import publish
from stampcard.refusals import Refusal
from stampcard.storable import UNSTORABLE_TEXT, is_storable
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business, DeviceKind
from stampcard.tenancy.permissions import Permission, allows, require
from stampcard.vouchers import errors
from stampcard.vouchers.models import RedemptionMethod, Voucher, VoucherStatus

# Who may consume a voucher, by how it is meant to be redeemed: a self-redeem voucher is
# confirmed by its holder (on their phone, or shown to a self-service kiosk: ``_fits``), the
# others at a counter or a till. Operators may always.
REDEEMERS: dict[str, frozenset[str]] = {
    RedemptionMethod.SELF_REDEEM: frozenset({ActorKind.CUSTOMER, ActorKind.ADMIN}),
    RedemptionMethod.STAFF_SCAN: frozenset({ActorKind.STAFF, ActorKind.DEVICE, ActorKind.ADMIN}),
    RedemptionMethod.REDEEM_CODE: frozenset(
        {ActorKind.STAFF, ActorKind.DEVICE, ActorKind.API, ActorKind.ADMIN}
    ),
}
# What redeeming asks of the actor on top, by the same method: the permission table then says
# which members and devices have it (an Autopilot station none, a kiosk no REDEEM).
REDEEM_PERMISSION: dict[str, Permission] = {
    RedemptionMethod.SELF_REDEEM: Permission.SELF_REDEEM,
    RedemptionMethod.STAFF_SCAN: Permission.REDEEM,
    RedemptionMethod.REDEEM_CODE: Permission.REDEEM,
}
_ANY_REDEEM = frozenset(REDEEM_PERMISSION.values())


def _fits(actor: Actor, method: str) -> bool:
    """Whether ``actor`` may redeem a voucher meant to be redeemed by ``method``: a
    self-service kiosk is the holder's own hands at the counter, so it confirms self-redeem."""
    if actor.kind in REDEEMERS[method]:
        return True
    return (
        method == RedemptionMethod.SELF_REDEEM
        and actor.kind == ActorKind.DEVICE
        and actor.device_kind == DeviceKind.KIOSK
    )


def usable_at(now: datetime) -> Q:
    """The vouchers that can be redeemed at ``now``: active and inside their validity. The
    consuming UPDATE and a look at a voucher (``looking``) ask the same question."""
    return Q(status=VoucherStatus.ACTIVE, valid_from__lte=now) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def require_redeemer(*, business: Business, actor: Actor, voucher: Voucher) -> None:
    """Refuse ``actor`` unless it fits the voucher's redemption method (``REDEEMERS``) and
    has its permission (``REDEEM_PERMISSION``). A Staff-Scan voucher shown to a self-service
    kiosk is told to be shown to the staff (``StaffMustScan``): the customer holding it is
    the one reading the answer."""
    if voucher.redemption_method == RedemptionMethod.STAFF_SCAN and (
        actor.kind == ActorKind.DEVICE and actor.device_kind == DeviceKind.KIOSK
    ):
        raise errors.StaffMustScan()
    if not _fits(actor, voucher.redemption_method):
        raise errors.WrongRedemptionMethod(method=voucher.get_redemption_method_display())
    require(actor, REDEEM_PERMISSION[voucher.redemption_method], business=business)


def redeemable_methods(*, business: Business | int, actor: Actor) -> list[str]:
    """The redemption methods of the vouchers ``actor`` may redeem (``require_redeemer``'s
    rule, asked without a voucher): what a counter screen offers to redeem on a card."""
    return [
        method
        for method, permission in REDEEM_PERMISSION.items()
        if _fits(actor, method)
        and allows(actor, permission, business=business)
        and not (
            method == RedemptionMethod.STAFF_SCAN
            and actor.kind == ActorKind.DEVICE
            and actor.device_kind == DeviceKind.KIOSK
        )
    ]


def may_redeem_any(*, business: Business, actor: Actor) -> bool:
    """Whether ``actor`` may redeem vouchers of at least one redemption method."""
    return any(allows(actor, p, business=business) for p in _ANY_REDEEM)


def require_any_redeem(*, business: Business, actor: Actor) -> None:
    """Refuse an actor who may redeem nothing, before any voucher is looked up: it must not
    learn from the answer which tokens or codes exist."""
    if not may_redeem_any(business=business, actor=actor):
        raise NotAllowed()


def _local(when: datetime, business: Business) -> str:
    local = timezone.localtime(when, ZoneInfo(business.time_zone))
    # The sentences end with their own full stop.
    return date_in_sentence(local, "SHORT_DATETIME_FORMAT")


def find_voucher(*, business: Business, token: str | None, code: str | None) -> Voucher:
    # Text that cannot be stored matches no voucher, and PostgreSQL would refuse the query.
    if not is_storable(token or "", code or ""):
        raise errors.VoucherNotFound()
    vouchers = Voucher.objects.filter(business=business)
    found: Voucher | None = None
    if token:
        found = vouchers.filter(token=token).first()
    elif code and code.strip():
        matches = vouchers.filter(code=code.strip())
        active = list(matches.filter(status=VoucherStatus.ACTIVE)[:2])
        if len(active) > 1:
            raise errors.AmbiguousCode()
        found = active[0] if active else matches.order_by("-id").first()
    if found is None:
        raise errors.VoucherNotFound()
    return found


def redeem_voucher(
    *,
    business: Business,
    actor: Actor,
    token: str | None = None,
    code: str | None = None,
    idempotency_key: str | None = None,
) -> Voucher:
    """Consume a voucher found by its token (QR, voucher page) or its redeem code.

    Guarantees: a voucher is consumed at most once; the consuming write is one UPDATE that
    only matches an active voucher inside its validity, so of any number of parallel attempts
    exactly one succeeds and the others get ``VoucherAlreadyRedeemed``. The actor must fit the
    voucher's redemption method (``REDEEMERS``) and have its permission (``REDEEM_PERMISSION``),
    both checked once the voucher is found, before anything is written; an actor with neither
    redeem permission is refused before the voucher is looked up. With an
    ``idempotency_key`` a retry of the successful call raises ``AlreadyDone``, also when it ran
    beside the first attempt. Audited.
    """
    require_any_redeem(business=business, actor=actor)
    request = IdempotentRequest.for_key(
        idempotency_key,
        business_id=business.pk,
        operation="redeem_voucher",
        token=token,
        code=code,
    )
    now = timezone.now()
    with transaction.atomic():
        if request is not None:
            claim_key(request)  # before the voucher: a retry in flight waits here
        voucher = find_voucher(business=business, token=token, code=code)
        require_redeemer(business=business, actor=actor, voucher=voucher)
        consumed = Voucher.objects.filter(usable_at(now), pk=voucher.pk).update(
            status=VoucherStatus.REDEEMED,
            redeemed_at=now,
            redeemed_by_kind=actor.kind,
            redeemed_by_user_id=actor.user_id,
            redeemed_by_device_id=actor.device_id,
            redeemed_at_location_id=actor.location_id,
        )
        voucher.refresh_from_db()
        if consumed != 1:
            raise why_not_usable(business=business, voucher=voucher, now=now)
        publish(
            business_id=business.pk,
            topic=Topic.VOUCHER_REDEEMED,
            voucher_id=voucher.pk,
            card_id=voucher.card_id,
        )
        record(business=business, actor=actor, action="voucher.redeemed", target=voucher)
        if request is not None:
            keep_outcome(request, {"voucher_id": voucher.pk, "redeemed_at": now.isoformat()})
    return voucher


def why_not_usable(*, business: Business, voucher: Voucher, now: datetime) -> Refusal:
    """The refusal that says why ``voucher`` (not ``usable_at(now)``) cannot be redeemed."""
    if voucher.status == VoucherStatus.REDEEMED and voucher.redeemed_at is not None:
        return errors.VoucherAlreadyRedeemed(when=_local(voucher.redeemed_at, business))
    if voucher.status == VoucherStatus.VOID:
        return errors.VoucherVoid()
    if voucher.valid_until is not None and voucher.valid_until <= now:
        return errors.VoucherExpired(when=_local(voucher.valid_until, business))
    if voucher.valid_from > now:
        return errors.VoucherNotYetValid(when=_local(voucher.valid_from, business))
    return errors.VoucherExpired(when=_local(voucher.valid_until or now, business))


def void_voucher(*, business: Business, actor: Actor, voucher: Voucher, reason: str) -> Voucher:
    """Cancel an active voucher. Refuses one already redeemed, or not this business's.

    Needs ISSUE_VOUCHERS: voiding takes back what was issued. Audited.
    """
    require(actor, Permission.ISSUE_VOUCHERS, business=business)
    if not is_storable(reason):
        raise errors.InvalidVoucher(UNSTORABLE_TEXT)
    with transaction.atomic():
        of_business = Voucher.objects.filter(pk=voucher.pk, business=business)
        voided = of_business.filter(status=VoucherStatus.ACTIVE).update(status=VoucherStatus.VOID)
        found = of_business.first()
        if found is None:
            raise errors.VoucherNotFound()
        voucher = found
        if voided != 1:
            raise why_not_usable(business=business, voucher=voucher, now=timezone.now())
        publish(
            business_id=business.pk,
            topic=Topic.VOUCHER_VOIDED,
            voucher_id=voucher.pk,
            card_id=voucher.card_id,
        )
        record(
            business=business, actor=actor, action="voucher.voided", target=voucher, reason=reason
        )
    return voucher
