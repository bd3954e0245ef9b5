"""A pool that ran dry: the rewards earned meanwhile wait, and get their vouchers (with the
new codes) as soon as codes are imported."""

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.models import Reward, StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.vouchers.models import CodePool, PoolCode, Voucher, VoucherTemplate
from stampcard.vouchers.selectors import code_pool_overviews
from stampcard.vouchers.services import import_codes
from tests import factories


def test_rewards_earned_while_the_pool_was_dry_are_issued_when_it_is_filled(business, staff_actor):
    pool = CodePool.objects.create(business=business, name="Till", kind="imported")
    PoolCode.objects.create(business=business, pool=pool, code="FIRST1")
    program = factories.ProgramFactory(
        business=business, stamps_goal=1, reward_kind="smart_voucher"
    )
    VoucherTemplate.objects.create(program=program, redemption_method="redeem_code", code_pool=pool)
    cards = [factories.CardFactory(program=program) for _ in range(3)]
    for card in cards:
        add_stamps(business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk)

    statuses = list(Reward.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["voucher_issued", "voucher_pending", "voucher_pending"]
    assert AuditEntry.objects.filter(action="reward.voucher_not_issued").count() == 2
    (overview,) = code_pool_overviews(business)
    assert (overview.free, overview.used, overview.waiting, overview.empty) == (0, 1, 2, True)

    import_codes(business=business, actor=staff_actor, pool=pool, csv_text="NEXT1\nNEXT2\nNEXT3")

    statuses = list(Reward.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["voucher_issued"] * 3
    codes = [Voucher.objects.get(card=card).code for card in cards]
    assert codes[0] == "FIRST1"
    assert len(set(codes[1:])) == 2
    assert set(codes[1:]) <= {"NEXT1", "NEXT2", "NEXT3"}
    (overview,) = code_pool_overviews(business)
    assert (overview.free, overview.used, overview.waiting, overview.low) == (1, 3, 0, True)


def test_filling_one_pool_leaves_rewards_waiting_for_another(business, staff_actor):
    dry, other = (
        CodePool.objects.create(business=business, name=name, kind="imported")
        for name in ("Dry", "Other")
    )
    program = factories.ProgramFactory(
        business=business, stamps_goal=1, reward_kind="smart_voucher"
    )
    VoucherTemplate.objects.create(program=program, redemption_method="redeem_code", code_pool=dry)
    card = factories.CardFactory(program=program)
    add_stamps(business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk)
    import_codes(business=business, actor=staff_actor, pool=other, csv_text="ELSE1")
    assert Reward.objects.get().status == "voucher_pending"
    assert not Voucher.objects.exists()
