"""The cursor of the scan's hot path: statements prepared once per connection.

The scan endpoint (``counter.scan``) runs the same dozen statements on every request: the
device door's lookup, the nonce's idempotency row, the stamp, what the screen shows. On
PostgreSQL they run on psycopg's own cursor, binding parameters on the server and preparing
each statement once per connection (as ``pgbench -M prepared`` does): this saves most of the
client CPU that Django's client-side binding and cursor wrapper spend on every query. The
statements are written out once, as module constants, with ``%s`` placeholders; elsewhere
(SQLite for ``make run``) the same SQL runs on Django's cursor.

Raw SQL is not guarded by django-scopes: every statement that reads or writes a tenant's
rows names the business in its WHERE clause.

The connection's health is checked here, without Django's ``SELECT 1`` round trip where
nothing can have gone wrong (``ready_connection``).
"""

import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from psycopg import pq

M = TypeVar("M", bound=Model)


def hot_path_cursor(db: BaseDatabaseWrapper | None = None) -> Any:
    """A cursor for the hot path's statements, in whatever transaction state the connection is.

    Its errors are psycopg's own on PostgreSQL (it bypasses Django's cursor wrapper); the
    statements written for it raise none that a caller is meant to handle.
    """
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        ready_connection(db)
        return _kept_cursor(db)
    return db.cursor()


def _kept_cursor(db: BaseDatabaseWrapper) -> "_PreparingCursor":
    """The connection's one hot-path cursor, made on first use and kept with it.

    Making a psycopg cursor (its adapters, its loaders) costs more client CPU than binding
    most of the scan's statements, and a scan asked for five. A connection wrapper belongs to
    one thread, and every statement here is read to the end before the next one runs, so one
    cursor serves them all; a new connection (reconnected, replaced) gets a new one.
    """
    kept: _PreparingCursor | None = getattr(db, _KEPT, None)
    if kept is None or kept.connection is not db.connection or kept.closed:
        kept = _PreparingCursor(db.connection)
        setattr(db, _KEPT, kept)
    return kept


@contextmanager
def hot_path_atomic(db: BaseDatabaseWrapper | None = None) -> Iterator[None]:
    """``transaction.atomic()`` for the scan's transaction, without switching autocommit.

    Django opens a transaction by turning the connection's autocommit off, and turns it back
    on after COMMIT: two more trips through psycopg's wait loop and Django's bookkeeping on
    every scan, for the same BEGIN and COMMIT. On PostgreSQL, outside any atomic block, BEGIN
    and COMMIT are sent as the bare app sends them (psycopg's ``Connection.transaction``)
    while the connection says what Django's ``atomic()`` makes it say: in an atomic block
    (``add_stamps`` reads it to lock the card), autocommit off (a nested ``atomic()`` takes
    a savepoint), ``on_commit`` callbacks run after COMMIT and dropped on rollback, a
    ``set_rollback(True)`` rolls back. Anywhere else it is ``transaction.atomic()``.
    """
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or db.in_atomic_block:
        with transaction.atomic(using=db.alias):
            yield
        return
    ready_connection(db)
    if not db.get_autocommit():
        with transaction.atomic(using=db.alias):
            yield
        return
    state: Any = db  # the atomic block's state is not in Django's type stubs
    state.in_atomic_block = True
    state.commit_on_exit = True
    state.needs_rollback = False
    state.autocommit = False
    # What a durable atomic() nested inside looks for: it is refused, as under atomic().
    state.atomic_blocks.append(transaction.Atomic(db.alias, savepoint=True, durable=False))
    committed = False
    try:
        with db.wrap_database_errors, db.connection.transaction():
            yield
            rolled_back = state.needs_rollback
            if rolled_back:
                raise psycopg.Rollback()
        committed = not rolled_back
    finally:
        state.atomic_blocks.pop()
        state.in_atomic_block = False
        state.needs_rollback = False
        state.autocommit = True
        if state.closed_in_transaction:
            state.connection = None  # closed inside: Django's atomic() forgets it too
        if committed:
            db.run_and_clear_commit_hooks()
        else:
            state.run_on_commit = []


def ready_connection(db: BaseDatabaseWrapper) -> None:
    """Connect, or check the kept connection once per request as ``CONN_HEALTH_CHECKS`` asks.

    Django checks with a ``SELECT 1`` round trip before a request's first query. A kept
    connection that is idle and whose socket has nothing to read is healthy as far as that
    round trip could tell: a server that ended the session (restart, ``pg_terminate_backend``,
    ``idle_session_timeout``) sends its last message and closes the socket, which then reads
    as ready. Only then does Django's check run, and it replaces the connection that fails it.
    A hot-path statement runs on psycopg's own cursor, whose errors Django does not see, so
    without this a dropped connection would be used again until ``CONN_MAX_AGE``.
    """
    kept: Any = db  # the health check's state is not in Django's type stubs
    if kept.connection is not None and kept.health_check_enabled and not kept.health_check_done:
        if _quiet(kept.connection):
            kept.health_check_done = True
        else:
            kept.close_if_health_check_failed()
    db.ensure_connection()


def _quiet(connection: psycopg.Connection[Any]) -> bool:
    if connection.closed or connection.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poll = select.poll()
    poll.register(connection.fileno(), select.POLLIN)
    return not poll.poll(0)


_KEPT = "_stampcard_hot_path_cursor"


class _PreparingCursor(psycopg.Cursor[Any]):
    def __exit__(self, *exc_info: object) -> None:
        """Left open at the end of a ``with``: it is kept for the next one (``_kept_cursor``)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> "_PreparingCursor":
        return super().execute(query, params, prepare=True)


class Columns(Generic[M]):
    """A model's concrete columns in written-out SQL, and its instances from their values.

    ``sql`` lists the columns under a table alias, for a SELECT; ``load`` turns the values
    that came back into an instance, converted as the ORM converts them (the backend's and
    each field's ``get_db_converters``), so it is the same object a queryset would give.

    The instance is built as ``Model.from_db`` builds it, without running ``Model.__init__``
    (its argument handling costs more than the device door's whole statement): the values
    go straight into the instance's ``__dict__`` under the fields' attnames, where
    ``__init__`` puts them too (a field's descriptor keeps its value there), and the state
    says "from the database". A model that anything listens to ``pre_init`` or
    ``post_init`` for (an ``ImageField`` with dimension fields) is built by ``from_db``.
    """

    def __init__(self, model: type[M], alias: str, db: BaseDatabaseWrapper) -> None:
        self.model = model
        self.db = db
        fields = model._meta.concrete_fields
        self.names = [field.attname for field in fields]
        self.sql = ", ".join(f"{alias}.{db.ops.quote_name(str(field.column))}" for field in fields)
        self.converters: list[tuple[int, Any, list[Any]]] = []
        for i, field in enumerate(fields):
            column = field.get_col(alias)
            found = db.ops.get_db_converters(column) + column.get_db_converters(db)
            if found:
                self.converters.append((i, column, found))

    def __len__(self) -> int:
        return len(self.names)

    def load(self, values: Sequence[Any]) -> M:
        values = list(values)
        for i, column, converters in self.converters:
            for convert in converters:
                values[i] = convert(values[i], column, self.db)
        model = self.model
        if pre_init.has_listeners(model) or post_init.has_listeners(model):
            return model.from_db(self.db.alias, self.names, values)
        instance = model.__new__(model)
        state = ModelState()
        state.adding = False
        state.db = self.db.alias
        instance.__dict__["_state"] = state
        instance.__dict__.update(zip(self.names, values, strict=True))
        return instance
