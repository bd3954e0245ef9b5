"""The vouchers services ask ``tenancy.permissions`` first: a refused actor writes nothing."""

import pytest

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.models import StampEvent
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Device, Membership
from stampcard.vouchers.claims import claim_code, create_claim_batch
from stampcard.vouchers.errors import StaffMustScan
from stampcard.vouchers.models import ClaimBatch, ClaimCode, CodePool, PoolCode, Voucher
from stampcard.vouchers.services import (
    create_code_pool,
    generate_codes,
    import_codes,
    issue_voucher,
    redeem_voucher,
    void_voucher,
)


def written():
    """Everything a vouchers write leaves behind, counted."""
    return (
        list(Voucher.objects.order_by("id").values_list("status", flat=True)),
        CodePool.objects.count(),
        PoolCode.objects.count(),
        ClaimBatch.objects.count(),
        ClaimCode.objects.filter(claimed_at__isnull=False).count(),
        StampEvent.objects.count(),
        OutboxMessage.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def bob_at_the_shop(bob, business, shop):
    """Bob (staff role, limited to the shop) as the dashboard door admits him there."""
    return Actor.for_member(Membership.objects.get(business=business, user=bob), location=shop)


def device(business, kind, location=None):
    made = Device.objects.create(
        business=business, name=kind, kind=kind, location=location, token_hash=f"{kind}-hash"
    )
    return Actor.for_device(made)


def issue(business, actor, method="staff_scan"):
    return issue_voucher(
        business=business,
        actor=actor,
        title="Free cake",
        origin="manual",
        redemption_method=method,
    )


def test_staff_may_not_issue_or_void_vouchers(business, bob_at_the_shop, staff_actor):
    voucher = issue(business, staff_actor)
    before = written()
    with pytest.raises(NotAllowed):
        issue(business, bob_at_the_shop)
    with pytest.raises(NotAllowed):
        void_voucher(business=business, actor=bob_at_the_shop, voucher=voucher, reason="x")
    assert written() == before


@pytest.mark.parametrize(
    ("kind", "refusal"),
    # The customer at a kiosk is told that the staff scan it, not only "not allowed".
    [("autopilot", NotAllowed), ("kiosk", StaffMustScan)],
)
def test_a_device_without_redeem_may_not_redeem_at_the_counter(
    business, shop, staff_actor, kind, refusal
):
    voucher = issue(business, staff_actor)
    before = written()
    with pytest.raises(refusal):
        redeem_voucher(business=business, actor=device(business, kind, shop), token=voucher.token)
    assert written() == before
    scanner = device(business, "scanner", shop)
    assert redeem_voucher(business=business, actor=scanner, token=voucher.token).status == (
        "redeemed"
    )


@pytest.mark.parametrize("who", ["autopilot", "api"])
def test_an_actor_who_may_redeem_nothing_cannot_tell_real_vouchers_from_missing_ones(
    business, shop, staff_actor, who
):
    voucher = issue(business, staff_actor, method="redeem_code")
    actor = Actor(kind=ActorKind.API) if who == "api" else device(business, who, shop)
    before = written()
    # The same refusal for a token and a code that exist and for ones that do not.
    for lookup in (
        {"token": voucher.token},
        {"token": "no-such-token"},
        {"code": voucher.code or "X"},
        {"code": "NO-SUCH-CODE"},
    ):
        with pytest.raises(NotAllowed):
            redeem_voucher(business=business, actor=actor, **lookup)
    assert written() == before


def test_a_customer_of_another_business_may_not_self_redeem(business, other_business, staff_actor):
    voucher = issue(business, staff_actor, method="self")
    before = written()
    with pytest.raises(NotAllowed):
        redeem_voucher(
            business=business,
            actor=Actor.customer(business_id=other_business.pk),
            token=voucher.token,
        )
    assert written() == before
    customer = Actor.customer(business_id=business.pk)
    assert redeem_voucher(business=business, actor=customer, token=voucher.token).status == (
        "redeemed"
    )


def test_staff_may_not_manage_codes(business, program, bob_at_the_shop, staff_actor):
    generated = create_code_pool(business=business, actor=staff_actor, name="G", kind="generated")
    imported = create_code_pool(business=business, actor=staff_actor, name="I", kind="imported")
    before = written()
    refused = [
        lambda: create_code_pool(business=business, actor=bob_at_the_shop, name="P", kind="static"),
        lambda: generate_codes(business=business, actor=bob_at_the_shop, pool=generated, count=5),
        lambda: import_codes(
            business=business, actor=bob_at_the_shop, pool=imported, csv_text="A1"
        ),
        lambda: create_claim_batch(
            business=business, actor=bob_at_the_shop, program=program, count=5
        ),
    ]
    for attempt in refused:
        with pytest.raises(NotAllowed):
            attempt()
    assert written() == before


def test_who_may_claim_a_receipt_code(business, card, shop, other_business, staff_actor):
    batch = create_claim_batch(business=business, actor=staff_actor, program=card.program, count=3)
    codes = list(batch.codes.values_list("code", flat=True))
    before = written()
    for refused in (
        device(business, "autopilot", shop),
        Actor.customer(business_id=other_business.pk),
    ):
        with pytest.raises(NotAllowed):
            claim_code(business=business, actor=refused, code=codes[0], card=card)
    assert written() == before
    # The customer for their own card, and a kiosk or scanner at the counter.
    for allowed, code in zip(
        (
            Actor.customer(business_id=business.pk),
            device(business, "kiosk", shop),
            device(business, "scanner", shop),
        ),
        codes,
        strict=True,
    ):
        claim_code(business=business, actor=allowed, code=code, card=card)
    assert list(StampEvent.objects.values_list("source", "actor_kind").order_by("id")) == [
        ("receipt", "customer"),
        ("receipt", "device"),
        ("receipt", "device"),
    ]
