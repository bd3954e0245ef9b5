"""How a transactional test (live server, threads, ``transaction=True``) hands the database on.

Django ends each one with ``flush``: a single ``TRUNCATE`` of every table, then the
``post_migrate`` signal, which writes the content types and permissions back. On PostgreSQL
that costs about a second per test on a busy machine (a ``TRUNCATE`` makes new files for every
table and index), most of it for tables the test never wrote to. Here the rows are deleted
instead, in one transaction, and the content types and permissions are left in place: they are
the rows ``post_migrate`` would write back. The next test starts from the same database.
"""

from django.db import connections, transaction
from django.test import TransactionTestCase

# Written by post_migrate from the models; flush empties them only to write them again.
KEPT = frozenset({"django_content_type", "auth_permission"})

_flush = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]


def _fixture_teardown(self: TransactionTestCase) -> None:
    names = self._databases_names(include_mirrors=False)  # type: ignore[attr-defined]
    if (
        self.available_apps is not None
        or self.reset_sequences
        or self.serialized_rollback
        or any(connections[name].vendor != "postgresql" for name in names)
    ):
        _flush(self)
        return
    for name in names:
        connection = connections[name]
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        statements = [
            # The names are our models' tables, quoted.
            f"DELETE FROM {connection.ops.quote_name(table)}"  # noqa: S608
            for table in sorted(tables)
            if table not in KEPT
        ]
        # Django's foreign keys are deferrable: checked once, at the commit, on empty tables.
        with transaction.atomic(using=name), connection.cursor() as cursor:
            cursor.execute("; ".join(["SET CONSTRAINTS ALL DEFERRED", *statements]))


def install() -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[attr-defined]
