"""Delivers outbox messages from this process: the dispatcher of a box without a broker.

``make run`` starts it beside the web server. A few threads deliver side by side, so one
consumer that hangs does not hold up the others; a message it holds is taken again by any
dispatcher once its lease runs out.
"""

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from stampcard.background import business_scope
from stampcard.outbox import dispatch


class Command(BaseCommand):
    help = "Deliver outbox messages to their consumers until stopped (no broker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument(
            "--once", action="store_true", help="deliver what is due now, then stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.set())
        threads: int = options["threads"]
        free = threading.Semaphore(threads)
        next_purge = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="outbox") as pool:
            while not stopping.is_set():
                close_old_connections()
                if time.monotonic() >= next_purge:
                    dispatch.purge_delivered(older_than=timedelta(days=settings.OUTBOX_KEEP_DAYS))
                    next_purge = time.monotonic() + 3600
                due = dispatch.claim_due(limit=threads * 10)
                for message_id, business_id in due:
                    free.acquire()
                    pool.submit(self._deliver, message_id, business_id, free)
                if options["once"] and not due:
                    break
                if not due:
                    stopping.wait(settings.OUTBOX_POLL_SECONDS)

    @staticmethod
    def _deliver(message_id: int, business_id: int, free: threading.Semaphore) -> None:
        try:
            with business_scope(business_id):
                dispatch.deliver(message_id)
        finally:
            connections.close_all()
            free.release()
