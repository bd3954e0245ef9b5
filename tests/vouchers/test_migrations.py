"""A database from before the goal voucher's settings moved to vouchers migrates without loss."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

# Businesses as they were then too: a later column (tenancy 0005's ``languages``) has no
# database default, so rows made with the old model need the old table.
BUSINESSES_THEN = ("tenancy", "0004_invitation")
BEFORE = [("loyalty", "0002_initial"), ("vouchers", "0001_initial"), BUSINESSES_THEN]
AFTER = [
    ("loyalty", "0003_goal_voucher_settings_moved"),
    ("vouchers", "0004_voucher_reward_related_name"),
    BUSINESSES_THEN,
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """Leave the schema as the tests after this one expect it, whatever happened."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_settings_and_reward_links_move_to_vouchers():
    old = migrate(BEFORE)
    business = old.get_model("tenancy", "Business").objects.create(name="Old", slug="old")
    pool = old.get_model("vouchers", "CodePool").objects.create(
        business=business, name="Pool", kind="generated"
    )
    program = old.get_model("loyalty", "Program").objects.create(
        business=business,
        name="Pastry",
        reward_kind="smart_voucher",
        reward_title="Croissant",
        voucher_redemption="redeem_code",
        voucher_code_display="code128",
        voucher_code_pool=pool,
        voucher_validity="days",
        voucher_validity_amount=30,
    )
    customer = old.get_model("loyalty", "Customer").objects.create(business=business)
    card = old.get_model("loyalty", "Card").objects.create(
        business=business, program=program, customer=customer, token="t", code="C"
    )
    now = timezone.now()
    voucher = old.get_model("vouchers", "Voucher").objects.create(
        business=business,
        card=card,
        token="v",
        title="Croissant",
        redemption_method="redeem_code",
        valid_from=now,
        origin="goal",
    )
    reward = old.get_model("loyalty", "Reward").objects.create(
        business=business,
        card=card,
        kind="smart_voucher",
        status="voucher_issued",
        cycle=1,
        stamps_used=6,
        voucher=voucher,
        created_at=now,
    )

    new = migrate(AFTER)
    template = new.get_model("vouchers", "VoucherTemplate").objects.get(program_id=program.pk)
    assert (
        template.redemption_method,
        template.code_display,
        template.code_pool_id,
        template.validity,
        template.validity_amount,
    ) == ("redeem_code", "code128", pool.pk, "days", 30)
    assert new.get_model("vouchers", "Voucher").objects.get(pk=voucher.pk).reward_id == reward.pk
