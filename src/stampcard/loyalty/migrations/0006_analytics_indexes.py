"""Indexes for the analytics page: each figure reads one business's rows of a period.

The ledger's index covers the columns the analytics read (PostgreSQL ``INCLUDE``), so a
period's figures are read from the index alone; databases without covering indexes get the
plain two-column index the model states.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

LEDGER_INDEX = models.Index(fields=["business", "created_at"], name="stampevent_business_time")
COVERED = ["kind", "delta", "source", "location", "actor_user", "card"]


def create_ledger_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("loyalty", "StampEvent")
    index = LEDGER_INDEX
    if schema_editor.connection.features.supports_covering_indexes:
        index = models.Index(fields=index.fields, include=COVERED, name=index.name)
    schema_editor.add_index(model, index)


def drop_ledger_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.remove_index(apps.get_model("loyalty", "StampEvent"), LEDGER_INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0005_stamps_by_amount"),
        ("tenancy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["business", "created_at"], name="customer_business_joined"),
        ),
        migrations.AddIndex(
            model_name="reward",
            index=models.Index(fields=["business", "created_at"], name="reward_business_earned"),
        ),
        migrations.AddIndex(
            model_name="reward",
            index=models.Index(
                condition=models.Q(("status", "redeemed")),
                fields=["business", "settled_at"],
                name="reward_business_handed_over",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="stampevent", index=LEDGER_INDEX)],
            database_operations=[migrations.RunPython(create_ledger_index, drop_ledger_index)],
        ),
    ]
