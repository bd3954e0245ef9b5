"""Delivers outbox messages from this process: the dispatcher of a box without a broker.

``make run`` starts it beside the web server. A few threads deliver side by side, so one
consumer that hangs does not hold up the others, and a message this process is still working
on is not taken again when its lease runs out. A database that goes away (a restart, a busy
SQLite) is waited out, not fatal. Stopped by SIGTERM or SIGINT; a delivery still hanging
then does not keep the process alive (its message is taken again after its lease).

It is also the box's beat: every entry of ``CELERY_BEAT_SCHEDULE`` but the relay (which is
this loop) runs here in turn on its schedule, once at start, so the periodic jobs (purges,
voucher expiry, the analytics' rollups) have one list whether a broker runs them or not.
"""

import logging
import queue
import signal
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections
from django.utils.module_loading import import_string

from stampcard.background import business_scope
from stampcard.outbox import dispatch

log = logging.getLogger(__name__)
_MOST_BACKOFF = 30.0
_RELAY = "stampcard.outbox.tasks.relay"


class PeriodicJob:
    """One entry of ``CELERY_BEAT_SCHEDULE``, run in this process when it is due."""

    def __init__(self, name: str, entry: dict[str, Any]) -> None:
        self.name = name
        self.task = import_string(entry["task"])
        schedule = entry["schedule"]
        self.every = (
            schedule.total_seconds() if isinstance(schedule, timedelta) else float(schedule)
        )
        self.next_run = time.monotonic()

    def run_if_due(self) -> None:
        if time.monotonic() < self.next_run:
            return
        self.next_run = time.monotonic() + self.every
        try:
            self.task()  # a Celery task called directly runs here, in this thread
        except Exception:  # one failing job does not stop delivery or the other jobs
            log.exception("outbox dispatcher: periodic job %s failed", self.name)


def periodic_jobs() -> list[PeriodicJob]:
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    return [PeriodicJob(name, entry) for name, entry in schedule.items() if entry["task"] != _RELAY]


class Command(BaseCommand):
    help = "Deliver outbox messages to their consumers until stopped (no broker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument(
            "--once", action="store_true", help="deliver what is due now, then stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = threading.Event()
        if not options["once"] and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stopping.set())
        threads: int = options["threads"]
        self.work: queue.Queue[tuple[int, int | None]] = queue.Queue()
        self.in_flight: set[int] = set()
        self.lock = threading.Lock()
        for n in range(threads):
            # Daemon threads: one stuck in a consumer does not keep a stopped process alive.
            threading.Thread(target=self._deliver_forever, name=f"outbox-{n}", daemon=True).start()
        jobs, pause = periodic_jobs(), settings.OUTBOX_POLL_SECONDS
        while not self.stopping.is_set():
            try:
                close_old_connections()
                for job in jobs:
                    job.run_if_due()
                taken = self._take_due(room=threads * 2 - self.work.qsize())
                pause = settings.OUTBOX_POLL_SECONDS
            except Exception:  # the database went away: wait and try again, never die
                log.exception("outbox dispatcher: cannot reach the database, retrying")
                connections.close_all()
                pause = min(pause * 2, _MOST_BACKOFF)
                self.stopping.wait(pause)
                continue
            if options["once"] and not taken:
                if not self.work.unfinished_tasks:
                    return  # nothing due, nothing under way
                self.work.join()  # then look again: the queue had no room for all of it
                continue
            if not taken:
                self.stopping.wait(pause)

    def _take_due(self, *, room: int) -> int:
        """Queue due messages that no thread here is working on; how many were queued."""
        if room <= 0:
            return 0
        taken = 0
        for message_id, business_id in dispatch.claim_due(limit=room):
            with self.lock:
                if message_id in self.in_flight:
                    continue  # its lease ran out while a thread here still works on it
                self.in_flight.add(message_id)
            self.work.put((message_id, business_id))
            taken += 1
        return taken

    def _deliver_forever(self) -> None:
        while True:
            message_id, business_id = self.work.get()
            try:
                with business_scope(business_id):
                    dispatch.deliver(message_id)
            except Exception:  # e.g. its business was deleted, or the database went away
                log.exception("outbox dispatcher: delivering message %s failed", message_id)
            finally:
                connections.close_all()
                with self.lock:
                    self.in_flight.discard(message_id)
                self.work.task_done()
