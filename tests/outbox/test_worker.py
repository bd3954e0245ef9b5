"""Delivery across crashes and outages, with a real Celery worker and a real Redis broker.

Each test starts its own Redis and a Celery worker (with its beat, which runs the relay) as
separate processes against the test database, stamps cards so that messages are written, and
then does to the worker or the broker what happens in production: SIGKILL, a stopped broker.
Every message must end delivered, and applied exactly once.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from stampcard.background import business_scope
from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.outbox import dispatch
from stampcard.outbox.models import MessageStatus, OutboxMessage, Topic
from stampcard.tenancy.actors import Actor
from tests import factories
from tests.concurrency import needs_postgres
from tests.outbox import consumers

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]
PROJECT = Path(__file__).resolve().parents[2]
ACTOR = Actor.system()  # these tests are about the messages, not who stamps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, *, what: str, limit: float = 90.0) -> None:
    """Poll ``condition`` until it holds; a bound on the wait, not a claim about speed."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        time.sleep(0.05)


class Broker:
    """A Redis of this test's own on a loopback port, which can be stopped and started."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, what="redis to answer", limit=20)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class Worker:
    """``celery worker -B`` in its own process group, so SIGKILL takes all of it at once."""

    def __init__(self, tmp_path: Path, broker: Broker) -> None:
        self.tmp_path = tmp_path
        self.broker = broker
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.outbox.worker_settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": self.broker.url,
            "PYTHONPATH": f"{PROJECT / 'src'}:{PROJECT}",
        }
        log = open(self.tmp_path / f"worker-{self.starts}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "stampcard", "worker", "-B",
             "-s", str(self.tmp_path / f"beat-{self.starts}"), "--concurrency", "2",
             "--loglevel", "INFO", "--without-mingle", "--without-gossip",
             "-n", f"test{self.starts}-{os.getpid()}@%h"],
            cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker(tmp_path):
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def worker(tmp_path, broker):
    worker = Worker(tmp_path, broker)
    yield worker
    worker.stop()


def stamp_new_cards(count):
    program = factories.ProgramFactory()
    for _ in range(count):
        card = factories.CardFactory(program=program)
        add_stamps(business=card.business, actor=ACTOR, source=StampSource.STAFF, card_id=card.pk)


def delivered() -> int:
    return OutboxMessage.objects.filter(status=MessageStatus.DELIVERED).count()


def assert_each_applied_once(total: int) -> None:
    assert OutboxMessage.objects.count() == total
    assert delivered() == total
    applied = consumers.applied()
    assert sorted(applied) == sorted(OutboxMessage.objects.values_list("id", flat=True))
    assert set(applied.values()) == {1}, {k: v for k, v in applied.items() if v != 1}


def test_a_worker_killed_mid_dispatch_loses_nothing_and_applies_nothing_twice(worker):
    stamp_new_cards(80)
    worker.start()
    wait_until(lambda: len(consumers.applied()) >= 10, what="the worker to be under way")
    worker.kill()
    assert delivered() < 80, "the kill came after the work: nothing was proved"
    worker.start()
    wait_until(lambda: delivered() == 80, what="every message delivered after the restart")
    assert_each_applied_once(80)


def test_a_broker_outage_during_dispatch_loses_nothing(worker, broker):
    stamp_new_cards(30)
    worker.start()
    wait_until(lambda: len(consumers.applied()) >= 5, what="the worker to be under way")
    broker.stop()
    # Stamps go on without a broker: their messages wait in the database.
    stamp_new_cards(30)
    time.sleep(1)  # let the worker notice the broker is gone
    broker.start()
    wait_until(lambda: delivered() == 60, what="every message delivered after the outage")
    assert_each_applied_once(60)


def test_a_hanging_consumer_does_not_slow_a_stamp(settings):
    settings.OUTBOX_CONSUMERS = {Topic.CARD_CHANGED: ["tests.outbox.consumers.hang"]}
    card = factories.CardFactory(program__max_stamps_per_visit=5)
    add_stamps(business=card.business, actor=ACTOR, source=StampSource.STAFF, card_id=card.pk)
    ((message_id, business_id),) = dispatch.claim_due()

    def dispatcher() -> None:
        try:
            with business_scope(business_id):
                dispatch.deliver(message_id)
        finally:
            connection.close()

    consumers.release.clear()
    hanging = threading.Thread(target=dispatcher)
    hanging.start()
    try:
        wait_until(lambda: hanging.is_alive(), what="the consumer to hang")
        # The consumer is stuck inside its delivery (its transaction open); the same card
        # takes stamps, and every one of them writes its own message.
        for _ in range(20):
            add_stamps(
                business=card.business, actor=ACTOR, source=StampSource.STAFF, card_id=card.pk
            )
        assert hanging.is_alive(), "the consumer was released before the stamps were done"
        card.refresh_from_db()
        assert card.lifetime_stamps == 21
        changed = OutboxMessage.objects.filter(topic=Topic.CARD_CHANGED, status="pending")
        assert changed.count() == 21
    finally:
        consumers.release.set()
        hanging.join(timeout=60)
    assert OutboxMessage.objects.get(pk=message_id).status == MessageStatus.DELIVERED
