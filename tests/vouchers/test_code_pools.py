import pytest

from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers import errors
from stampcard.vouchers.models import CodePoolKind, PoolCode, VoucherOrigin
from stampcard.vouchers.redeem_codes import UNAMBIGUOUS_ALPHABET
from stampcard.vouchers.services import (
    create_code_pool,
    generate_codes,
    import_codes,
    issue_voucher,
)

ADMIN = Actor(kind=ActorKind.ADMIN)


def pool_of(business, kind, **kwargs):
    return create_code_pool(business=business, actor=ADMIN, name="Pool", kind=kind, **kwargs)


def issue_from(business, pool):
    return issue_voucher(
        business=business,
        actor=ADMIN,
        title="Gift",
        origin=VoucherOrigin.MANUAL,
        redemption_method="redeem_code",
        code_pool=pool,
    )


def test_static_pool_gives_every_voucher_the_same_code(business):
    pool = pool_of(business, CodePoolKind.STATIC, static_code="FREECOFFEE")
    assert {issue_from(business, pool).code for _ in range(3)} == {"FREECOFFEE"}


def test_static_pool_needs_a_clean_code(business):
    with pytest.raises(errors.InvalidVoucher):
        pool_of(business, CodePoolKind.STATIC, static_code="free coffee!")


def test_generated_codes_are_unique_and_unambiguous(business):
    pool = pool_of(business, CodePoolKind.GENERATED, code_length=6)
    assert generate_codes(business=business, actor=ADMIN, pool=pool, count=5000) == 5000
    assert generate_codes(business=business, actor=ADMIN, pool=pool, count=1000) == 1000
    codes = list(PoolCode.objects.filter(pool=pool).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 6000
    assert all(len(c) == 6 and set(c) <= set(UNAMBIGUOUS_ALPHABET) for c in codes)
    assert not set("01OIL").intersection("".join(codes))


def test_vouchers_take_pooled_codes_one_each_and_generated_pools_never_run_dry(business):
    pool = pool_of(business, CodePoolKind.GENERATED)
    generate_codes(business=business, actor=ADMIN, pool=pool, count=2)
    codes = [issue_from(business, pool).code for _ in range(4)]
    assert len(set(codes)) == 4
    assert PoolCode.objects.filter(pool=pool, voucher__isnull=True).count() == 0


def test_generate_refuses_bad_counts_and_wrong_pools(business, other_business):
    pool = pool_of(business, CodePoolKind.GENERATED)
    for count in (0, -5, 10_000_000):
        with pytest.raises(errors.InvalidVoucher):
            generate_codes(business=business, actor=ADMIN, pool=pool, count=count)
    with pytest.raises(errors.InvalidVoucher):
        generate_codes(business=other_business, actor=ADMIN, pool=pool, count=1)
    assert not PoolCode.objects.exists()


def test_import_from_a_pos_csv(business):
    pool = pool_of(business, CodePoolKind.IMPORTED)
    text = "\ufeffid,code,value\n1,POS-001,5\n2,POS-002,5\n\n3,POS-002,5\n"
    result = import_codes(business=business, actor=ADMIN, pool=pool, csv_text=text)
    assert (result.added, result.already_in_pool) == (2, 1)
    again = import_codes(business=business, actor=ADMIN, pool=pool, csv_text=text)
    assert (again.added, again.already_in_pool) == (0, 3)
    assert issue_from(business, pool).code in {"POS-001", "POS-002"}


def test_import_without_header_uses_the_first_column(business):
    pool = pool_of(business, CodePoolKind.IMPORTED)
    result = import_codes(business=business, actor=ADMIN, pool=pool, csv_text="A1\nA2\nA3")
    assert result.added == 3


def test_a_bad_line_refuses_the_whole_file(business):
    pool = pool_of(business, CodePoolKind.IMPORTED)
    text = "code\nGOOD1\nbad code\nGOOD2\n<script>\n"
    with pytest.raises(errors.InvalidCodeImport) as refused:
        import_codes(business=business, actor=ADMIN, pool=pool, csv_text=text)
    assert "3, 5" in refused.value.message
    assert not PoolCode.objects.exists()


def test_an_empty_huge_or_broken_file_is_refused(business):
    pool = pool_of(business, CodePoolKind.IMPORTED)
    with pytest.raises(errors.InvalidCodeImport):
        import_codes(business=business, actor=ADMIN, pool=pool, csv_text="A" * 200_000)
    with pytest.raises(errors.InvalidCodeImport):
        import_codes(business=business, actor=ADMIN, pool=pool, csv_text="code\n\n")
    with pytest.raises(errors.InvalidCodeImport):
        import_codes(business=business, actor=ADMIN, pool=pool, csv_text="A" * (21 * 1024 * 1024))


def test_an_imported_pool_that_ran_dry_says_so(business):
    pool = pool_of(business, CodePoolKind.IMPORTED)
    import_codes(business=business, actor=ADMIN, pool=pool, csv_text="ONLY1")
    issue_from(business, pool)
    with pytest.raises(errors.PoolExhausted) as refused:
        issue_from(business, pool)
    assert "Pool" in refused.value.message


def test_a_refused_import_names_each_bad_line_with_what_it_held_and_why(business):
    pool = pool_of(business, CodePoolKind.IMPORTED)
    text = "code\nGOOD1\nbad code\nGOOD2\n<script>\n" + "X" * 70 + "\n"
    with pytest.raises(errors.InvalidCodeImport) as refused:
        import_codes(business=business, actor=ADMIN, pool=pool, csv_text=text)
    named = [(bad.line, bad.value, str(bad.problem)) for bad in refused.value.bad_lines]
    assert named == [
        (3, "bad code", "a code cannot hold spaces"),
        (5, "<script>", "only letters, digits, - and _ may be used"),
        (6, "X" * 40, "longer than 64 characters"),
    ]
    assert not PoolCode.objects.exists()


def test_a_pool_has_free_codes_while_one_is_left(business):
    from stampcard.vouchers.services.code_pools import has_free_codes

    assert has_free_codes(pool_of(business, CodePoolKind.STATIC, static_code="FREE"))
    pool = pool_of(business, CodePoolKind.IMPORTED)
    assert not has_free_codes(pool)
    import_codes(business=business, actor=ADMIN, pool=pool, csv_text="ONLY1")
    assert has_free_codes(pool)
    issue_from(business, pool)
    assert not has_free_codes(pool)
