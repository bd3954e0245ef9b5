"""Bad input tried from outside: refused with the service's own refusal, nothing written.

PostgreSQL raises a raw DataError for a NUL in text and SQLite would store it, so each
service refuses it first, on both databases.
"""

import pytest
from django_scopes import scope

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.errors import ProgramNotFound
from stampcard.loyalty.models import StampEvent
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers import errors
from stampcard.vouchers.claims import claim_code, create_claim_batch
from stampcard.vouchers.models import ClaimBatch, ClaimCode, CodePool, PoolCode, Voucher
from stampcard.vouchers.services import (
    create_code_pool,
    generate_codes,
    import_codes,
    issue_voucher,
    redeem_voucher,
    void_voucher,
)
from tests import factories

ADMIN = Actor(kind=ActorKind.ADMIN)
NUL = "FREE\x00COFFEE"


def issue(business, **fields):
    return issue_voucher(
        business=business,
        actor=ADMIN,
        origin="manual",
        redemption_method="redeem_code",
        **{"title": "Gift"} | fields,
    )


@pytest.mark.parametrize("field", ["title", "description", "code"])
def test_a_voucher_with_unstorable_text_is_refused(business, field):
    with pytest.raises(errors.InvalidVoucher) as refused:
        issue(business, **{field: NUL})
    assert "cannot be saved" in refused.value.message
    assert not Voucher.objects.exists()


@pytest.mark.parametrize("field", ["name", "static_code"])
def test_a_code_pool_with_unstorable_text_is_refused(business, field):
    fields = {"name": "Pool", "static_code": "FREECOFFEE"} | {field: NUL}
    with pytest.raises(errors.InvalidVoucher):
        create_code_pool(business=business, actor=ADMIN, kind="static", **fields)
    assert not CodePool.objects.exists()


def test_a_claim_batch_with_an_unstorable_label_is_refused(program):
    with pytest.raises(errors.InvalidVoucher):
        create_claim_batch(
            business=program.business, actor=ADMIN, program=program, count=1, label=NUL
        )
    assert not ClaimBatch.objects.exists()


def test_unstorable_codes_and_tokens_are_not_found(business, card):
    voucher = issue(business, code="FREECOFFEE")
    with pytest.raises(errors.VoucherNotFound):
        redeem_voucher(business=business, actor=ADMIN, token=voucher.token + "\x00")
    with pytest.raises(errors.VoucherNotFound):
        redeem_voucher(business=business, actor=ADMIN, code=NUL)
    with pytest.raises(errors.InvalidVoucher):
        void_voucher(business=business, actor=ADMIN, voucher=voucher, reason=NUL)
    with pytest.raises(errors.ClaimCodeNotFound):
        claim_code(business=business, actor=ADMIN, code=NUL, card=card)
    voucher.refresh_from_db()
    assert voucher.status == "active"
    assert not AuditEntry.objects.filter(action__in=["voucher.redeemed", "voucher.voided"]).exists()


def imported_pool(business):
    return create_code_pool(business=business, actor=ADMIN, name="POS", kind="imported")


def test_an_upload_is_read_as_utf8_bytes_with_or_without_a_bom(business):
    pool = imported_pool(business)
    result = import_codes(
        business=business, actor=ADMIN, pool=pool, csv_text="\ufeffcode\nAb-1\nab_2\n".encode()
    )
    assert result.added == 2
    # Imported codes keep their case: the POS compares them exactly.
    assert set(PoolCode.objects.values_list("code", flat=True)) == {"Ab-1", "ab_2"}


@pytest.mark.parametrize("upload", [b"code\n\xff\xfeAB12\n", "code\nAB\ud80012\n", "AB\x0012"])
def test_an_upload_that_is_not_text_gets_a_clear_refusal(business, upload):
    pool = imported_pool(business)
    with pytest.raises(errors.InvalidCodeImport) as refused:
        import_codes(business=business, actor=ADMIN, pool=pool, csv_text=upload)
    assert refused.value.message
    assert not PoolCode.objects.exists()


def test_a_foreign_card_or_pool_inside_the_business_scope_is_not_found(
    business, other_business, card
):
    foreign_card = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    foreign_pool = CodePool.objects.create(business=other_business, name="Theirs", kind="generated")
    foreign_import = CodePool.objects.create(business=other_business, name="POS", kind="imported")
    code = create_claim_batch(
        business=business, actor=ADMIN, program=card.program, count=1
    ).codes.get()
    with scope(business=business):
        with pytest.raises(errors.VoucherNotFound):
            issue(business, card=foreign_card)
        with pytest.raises(errors.VoucherNotFound):
            issue(business, code_pool=foreign_pool)
        with pytest.raises(errors.VoucherNotFound):
            issue(business, program=foreign_card.program)
        with pytest.raises(errors.InvalidVoucher):
            generate_codes(business=business, actor=ADMIN, pool=foreign_pool, count=5)
        with pytest.raises(errors.InvalidCodeImport):
            import_codes(business=business, actor=ADMIN, pool=foreign_import, csv_text="AB12")
        with pytest.raises(errors.ClaimCodeWrongProgram):
            claim_code(business=business, actor=ADMIN, code=code.code, card=foreign_card)
        with pytest.raises(ProgramNotFound):
            create_claim_batch(
                business=business, actor=ADMIN, program=foreign_card.program, count=1
            )
    assert not Voucher.objects.exists()
    assert not PoolCode.objects.exists()
    assert not StampEvent.objects.exists()
    assert ClaimCode.objects.get().claimed_at is None
    assert ClaimBatch.objects.count() == 1
