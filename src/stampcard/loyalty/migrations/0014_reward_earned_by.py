import django.db.models.deletion
from django.db import migrations, models

# A reward is written in the transaction of the ledger row that earned it, with that row's
# very time (``loyalty.services.cycles``): the one row of its card at that time adding
# stamps is the one. Where there is no such row, or more than one (rows whose times were
# moved, as the demo's), the reward is left unknown rather than guessed.
_EARNING_ROWS = (
    "FROM loyalty_stampevent e WHERE e.card_id = loyalty_reward.card_id"
    " AND e.created_at = loyalty_reward.created_at AND e.delta > 0"
)
BACKFILL = (
    f"UPDATE loyalty_reward SET earned_by_id = (SELECT MIN(e.id) {_EARNING_ROWS})"  # noqa: S608
    f" WHERE earned_by_id IS NULL AND (SELECT COUNT(*) {_EARNING_ROWS}) = 1"
)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0013_milestone_translations"),
    ]

    operations = [
        migrations.AddField(
            model_name="reward",
            name="earned_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="loyalty.stampevent",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
