"""Indexes for the dashboard's customers list and its searches.

On PostgreSQL, trigram indexes (pg_trgm) serve the searches by a part of a name, e-mail or
phone (``icontains``/``contains``); on SQLite, which has none, those searches scan. Both get
the btree indexes for the newest-first pages and the join channel filter. Written as SQL,
not in the model's ``Meta``: trigram indexes exist on PostgreSQL only.
"""

from django.db import migrations

BOTH = [
    (
        "CREATE INDEX IF NOT EXISTS customer_business_newest ON loyalty_customer (business_id, id)",
        "DROP INDEX IF EXISTS customer_business_newest",
    ),
    (
        "CREATE INDEX IF NOT EXISTS customer_business_channel"
        " ON loyalty_customer (business_id, join_channel, id)",
        "DROP INDEX IF EXISTS customer_business_channel",
    ),
]
POSTGRESQL = [
    ("CREATE EXTENSION IF NOT EXISTS pg_trgm", ""),
    *[
        (
            f"CREATE INDEX IF NOT EXISTS customer_{column}_trgm"
            f" ON loyalty_customer USING gin (upper({column}::text) gin_trgm_ops)",
            f"DROP INDEX IF EXISTS customer_{column}_trgm",
        )
        for column in ("name", "email")
    ],
    (
        "CREATE INDEX IF NOT EXISTS customer_phone_trgm"
        " ON loyalty_customer USING gin ((phone::text) gin_trgm_ops)",
        "DROP INDEX IF EXISTS customer_phone_trgm",
    ),
]


def forwards(apps, schema_editor):
    for create, _drop in BOTH + (
        POSTGRESQL if schema_editor.connection.vendor == "postgresql" else []
    ):
        schema_editor.execute(create)


def backwards(apps, schema_editor):
    for _create, drop in reversed(
        BOTH + (POSTGRESQL if schema_editor.connection.vendor == "postgresql" else [])
    ):
        if drop:
            schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0005_stamps_by_amount")]

    operations = [migrations.RunPython(forwards, backwards)]
