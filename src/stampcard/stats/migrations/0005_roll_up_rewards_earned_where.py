from django.db import migrations


def roll_up_again(apps, schema_editor):
    """Rewards earned now record the shop, staff member and workflow of the ledger row that
    earned them (loyalty 0014, which found it for the rewards before): the next run of the
    job rolls the whole history up again (as ``stats.rollup.rebuild``), every figure read
    live from the ledger until then."""
    apps.get_model("stats", "RollupState").objects.update(
        rolled_until=None,
        last_event_id=0,
        last_customer_id=0,
        last_reward_id=0,
        last_voucher_id=0,
        last_card_id=0,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0004_measure_days"),
        ("loyalty", "0014_reward_earned_by"),
    ]

    operations = [migrations.RunPython(roll_up_again, migrations.RunPython.noop)]
