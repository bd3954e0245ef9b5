"""Scarce things are consumed at most once under real parallel requests on PostgreSQL."""

import pytest

from stampcard.idempotency.services import AlreadyDone
from stampcard.loyalty.models import Card, StampEvent
from stampcard.vouchers.claims import claim_code, create_claim_batch
from stampcard.vouchers.models import CodePoolKind, PoolCode, Voucher, VoucherOrigin
from stampcard.vouchers.services import create_code_pool, issue_voucher, redeem_voucher
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_100_parallel_redemptions_of_one_voucher_succeed_once():
    business = factories.BusinessFactory()
    manager = factories.member_actor(business, role="manager")
    voucher = issue_voucher(
        business=business,
        actor=manager,
        title="Free coffee",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
    )

    results = run_in_parallel(
        lambda i: redeem_voucher(business=business, actor=manager, token=voucher.token), 100
    )

    successes = [r for r in results if isinstance(r, Voucher)]
    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(successes) == 1
    assert len(refusals) == 99
    assert {r.code for r in refusals} == {"already_used"}
    assert all("already redeemed" in r.message for r in refusals)
    voucher.refresh_from_db()
    assert voucher.status == "redeemed"


def test_100_parallel_claims_of_one_code_add_stamps_once():
    program = factories.ProgramFactory()
    manager = factories.member_actor(program.business, role="manager")
    batch = create_claim_batch(business=program.business, actor=manager, program=program, count=1)
    code = batch.codes.get().code
    cards = [factories.CardFactory(program=program) for _ in range(10)]

    results = run_in_parallel(
        lambda i: claim_code(
            business=program.business, actor=manager, code=code, card=cards[i % 10]
        ),
        100,
    )

    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(refusals) == 99
    assert {r.code for r in refusals} == {"already_used"}
    assert StampEvent.objects.filter(card__program=program).count() == 1
    assert sum(Card.objects.filter(program=program).values_list("stamps", flat=True)) == 1


def test_100_parallel_redemptions_with_one_idempotency_key_succeed_once():
    business = factories.BusinessFactory()
    manager = factories.member_actor(business, role="manager")
    voucher = issue_voucher(
        business=business,
        actor=manager,
        title="Free cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="redeem_code",
        code="CAKE-2026-XY",
    )

    results = run_in_parallel(
        lambda i: redeem_voucher(
            business=business, actor=manager, code="CAKE-2026-XY", idempotency_key="pos-1"
        ),
        100,
    )

    assert sum(isinstance(r, Voucher) for r in results) == 1
    # Every retry is told its own request succeeded, never "already redeemed".
    refusals = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, AlreadyDone) for r in refusals), {type(r) for r in refusals}
    assert {r.outcome["voucher_id"] for r in refusals} == {voucher.pk}
    voucher.refresh_from_db()
    assert voucher.status == "redeemed"


def test_parallel_issues_never_hand_one_pooled_code_to_two_vouchers():
    business = factories.BusinessFactory()
    manager = factories.member_actor(business, role="manager")
    pool = create_code_pool(
        business=business, actor=manager, name="POS", kind=CodePoolKind.IMPORTED
    )
    PoolCode.objects.bulk_create(
        PoolCode(business=business, pool=pool, code=f"POS{n:04d}") for n in range(30)
    )

    results = run_in_parallel(
        lambda i: issue_voucher(
            business=business,
            actor=manager,
            title="Gift",
            origin=VoucherOrigin.MANUAL,
            redemption_method="redeem_code",
            code_pool=pool,
        ),
        40,
    )

    issued = [r for r in results if isinstance(r, Voucher)]
    refusals = [r for r in results if isinstance(r, BaseException)]
    assert len(issued) == 30
    assert len({v.code for v in issued}) == 30
    assert {r.code for r in refusals} == {"pool_exhausted"}
    assert Voucher.objects.filter(business=business).count() == 30
