"""Real parallel requests: each worker thread has its own database connection."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connection, connections
from django_scopes import scopes_disabled

T = TypeVar("T")

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks under real parallel connections"
)


def run_in_parallel(
    work: Callable[[int], T], times: int, *, workers: int = 32
) -> list[T | BaseException]:
    """Call ``work(i)`` for i in range(times) from ``workers`` threads started together.

    Returns each call's result or the exception it raised, in call order.
    """
    barrier = threading.Barrier(min(workers, times))

    def call(i: int) -> T | BaseException:
        if i < workers:
            barrier.wait()
        try:
            with scopes_disabled():
                return work(i)
        except BaseException as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, range(times)))
