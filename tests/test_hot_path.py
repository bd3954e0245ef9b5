"""The scan's transaction (``hot_path.hot_path_atomic``) and its kept cursor, on a real
PostgreSQL connection outside any test transaction: what Django's ``atomic()`` guarantees."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from stampcard.hot_path import hot_path_atomic, hot_path_cursor
from tests.concurrency import needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def db():
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE hot_path_probe (n integer PRIMARY KEY)")
    yield db
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE hot_path_probe")


def _rows(db) -> list[int]:
    with db.cursor() as cursor:
        cursor.execute("SELECT n FROM hot_path_probe ORDER BY n")
        return [n for (n,) in cursor.fetchall()]


def _insert(n: int) -> None:
    with hot_path_cursor() as cursor:
        cursor.execute("INSERT INTO hot_path_probe (n) VALUES (%s)", [n])


def _insert_then_fail(block, n: int, *, then=None) -> None:
    with block():
        _insert(n)
        if then is not None:
            then()
        raise ZeroDivisionError


def test_it_commits_and_runs_on_commit_after_and_leaves_autocommit_on(db):
    ran = []
    with hot_path_atomic():
        assert db.in_atomic_block  # add_stamps takes its locked read
        _insert(1)
        transaction.on_commit(lambda: ran.append(_rows(db)))
        assert ran == []
    assert ran == [[1]]
    assert not db.in_atomic_block
    assert db.get_autocommit()
    assert db.connection.autocommit


def test_an_error_rolls_everything_back_and_drops_on_commit(db):
    ran = []
    with pytest.raises(ZeroDivisionError):
        _insert_then_fail(
            hot_path_atomic, 1, then=lambda: transaction.on_commit(lambda: ran.append(True))
        )
    assert _rows(db) == []
    assert ran == []
    assert not db.in_atomic_block
    assert db.get_autocommit()


def test_set_rollback_rolls_back(db):
    with hot_path_atomic():
        _insert(1)
        transaction.set_rollback(True)
    assert _rows(db) == []


def test_a_nested_atomic_takes_a_savepoint(db):
    with hot_path_atomic():
        _insert(1)
        with pytest.raises(ZeroDivisionError):
            _insert_then_fail(transaction.atomic, 2)
        _insert(3)
    assert _rows(db) == [1, 3]


def test_a_durable_atomic_inside_is_refused(db):
    with pytest.raises(RuntimeError), hot_path_atomic(), transaction.atomic(durable=True):
        pass


def test_inside_an_atomic_block_it_is_a_savepoint(db):
    with transaction.atomic():
        _insert(1)
        with pytest.raises(ZeroDivisionError):
            _insert_then_fail(hot_path_atomic, 2)
    assert _rows(db) == [1]


def test_one_cursor_per_connection_a_new_one_for_a_new_connection(db):
    with hot_path_cursor() as first:
        first.execute("SELECT 1")
    with hot_path_cursor() as second:
        assert second is first
        assert second.execute("SELECT 2").fetchone() == (2,)
    db.close()
    with hot_path_cursor() as third:
        assert third is not first
        assert third.execute("SELECT 3").fetchone() == (3,)
