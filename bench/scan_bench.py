"""The scan endpoint under a rush hour: Autopilot stations stamping in parallel.

``make bench`` runs it after the other benchmarks (``bench.run``, unless ``--no-scan``) and
replaces its section of RESULTS.md; alone:
``scripts/with-services.sh .venv/bin/python -m bench.scan_bench`` (``--output`` writes the
section elsewhere). It seeds one business with ``STATIONS`` Autopilot devices and ``--cards``
cards (cooldown 0, a goal no stamp reaches: every scan is a plain stamp), then, taking turns
in slices (django, bare, pgbench, pgbench, bare, django) so drift hits all alike:

1. **django**: gunicorn serving ``stampcard.wsgi`` with the workers and threads of
   ``make run``; ``STATIONS`` client threads (in ``LOAD_PROCESSES`` processes), each a
   station with its own token, post ``action: "stamp"`` scans with a fresh nonce to cards
   drawn at random; throughput, p50/p99 from send to answer, worker CPU per request
   (utime + stime of the worker processes from /proc over the requests answered) and worker
   RSS at the end;
2. **bare**: the same load against ``bench.scan_bare_app`` (psycopg, the same SQL, no Django)
   behind the same gunicorn;
3. **pgbench**: bench/scan.pgbench (the same transaction) at ``PGBENCH_CLIENTS`` clients.

Then one worker's request path is profiled in-process with cProfile (``--no-profile`` skips).
"""

import argparse
import cProfile
import http.client
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import serving
from bench.wallet_bench import Rate

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
PGBENCH_SCRIPT = BENCH_DIR / "scan.pgbench"
START_MARK = "<!-- scan: start -->"
END_MARK = "<!-- scan: end -->"
STATIONS = 50
LOAD_PROCESSES = 2
PGBENCH_CLIENTS = 32
# As `make run` serves (Makefile): gunicorn stampcard.wsgi --workers 2 --threads 4.
GUNICORN = ["--workers", "2", "--threads", "4"]
TARGET_PGBENCH = 0.3
TARGET_BARE = 0.9
DJANGO, BARE, PGBENCH = "django", "bare", "pgbench"


@dataclass
class Seeded:
    business_id: int
    card_ids: list[int]
    codes: list[str]
    tokens: list[str]
    token_hash: str


@dataclass
class Served:
    rate: Rate
    cpu_us: float  # worker CPU per answered request
    rss_mb: float  # summed over the workers at the end


def seed(cards: int) -> Seeded:
    from django.contrib.auth.models import User
    from django.db import transaction
    from django_scopes import scopes_disabled

    from stampcard import tokens
    from stampcard.loyalty.card_codes import new_card_code
    from stampcard.loyalty.models import Card, Customer, Program, ProgramStatus, RewardKind
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Business, DeviceKind, Location, Membership, Role
    from stampcard.tenancy.services import pair_device

    with scopes_disabled(), transaction.atomic():
        business = Business.objects.create(name="Bench Rush Cafe", slug="bench-rush-cafe")
        shop = Location.objects.create(business=business, name="Counter")
        owner = Membership.objects.create(
            business=business, user=User.objects.create(username="bench-rush-owner"),
            role=Role.OWNER,
        )  # fmt: skip
        program = Program.objects.create(
            business=business,
            name="Rush card",
            status=ProgramStatus.ACTIVE,
            stamps_goal=30_000,  # no cycle closes in a run: every scan is the plain stamp
            max_stamps_per_visit=1,
            cooldown_seconds=0,
            max_stamps_per_day=None,
            reward_kind=RewardKind.SIMPLE,
            reward_title="A free coffee",
        )
        customers = Customer.objects.bulk_create(
            [Customer(business=business, name=f"Rush {i}", email=f"rush{i}@bench.example")
             for i in range(cards)]
        )  # fmt: skip
        made = Card.objects.bulk_create(
            [
                Card(
                    business=business,
                    program=program,
                    customer=customer,
                    token=tokens.new_secret(),
                    code=new_card_code(),
                )
                for customer in customers
            ]
        )
        actor = Actor.for_member(owner)
        paired = [
            pair_device(
                business=business, actor=actor, name=f"Autopilot {i}", kind=DeviceKind.AUTOPILOT,
                location=shop,
            )
            for i in range(STATIONS)
        ]  # fmt: skip
    ids = sorted(card.pk for card in made)
    by_id = {card.pk: card.code for card in made}
    return Seeded(
        business.pk,
        ids,
        [by_id[i] for i in ids],
        [p.token for p in paired],
        tokens.hash_secret(paired[0].token),
    )


# --- serving -------------------------------------------------------------------------------


def start_gunicorn(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    return serving.start_gunicorn(app, env, GUNICORN)


def _workers(master: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{master}/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        found = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
        total += int(found.group(1)) if found else 0
    return total / 1024


def _station(
    port: int, token: str, codes: list[str], deadline: float, pick: random.Random
) -> tuple[int, int, list[float]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Device {token}",
        "Host": "127.0.0.1",
    }
    latencies: list[float] = []
    done = errors = 0
    while time.perf_counter() < deadline:
        body = json.dumps(
            {
                "code": codes[pick.randrange(len(codes))],
                "nonce": uuid.uuid4().hex,
                "scanned_at": datetime.now(UTC).isoformat(),
                "action": "stamp",
            }
        )
        started = time.perf_counter()
        try:
            connection.request("POST", "/device/scan", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            ok = response.status == 200 and b'"stamped"' in answer
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ok = False
        latencies.append(time.perf_counter() - started)
        done += ok
        errors += not ok
    connection.close()
    return done, errors, latencies


def _client_process(
    port: int, tokens: list[str], codes: list[str], seconds: float, start_at: float, out: Any
) -> None:
    results: list[tuple[int, int, list[float]]] = []
    lock = threading.Lock()

    def run(n: int, token: str) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        found = _station(
            port, token, codes, time.perf_counter() + seconds, random.Random(hash(token) + n)
        )
        with lock:
            results.append(found)

    threads = [threading.Thread(target=run, args=(n, t)) for n, t in enumerate(tokens)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    out.put(
        (sum(r[0] for r in results), sum(r[1] for r in results), [x for r in results for x in r[2]])
    )


def load(name: str, master: int, port: int, seeded: Seeded, seconds: float) -> Served:
    """``STATIONS`` stations posting scans for ``seconds``; the workers' CPU over the same time."""
    context = mp.get_context("fork")
    out = context.Queue()
    start_at = time.time() + 1.0
    processes = [
        context.Process(
            target=_client_process,
            args=(port, seeded.tokens[i::LOAD_PROCESSES], seeded.codes, seconds, start_at, out),
        )
        for i in range(LOAD_PROCESSES)
    ]
    for process in processes:
        process.start()
    workers = _workers(master)
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = _cpu_seconds(workers)
    results = [out.get(timeout=seconds + 120) for _ in processes]
    cpu = _cpu_seconds(workers) - cpu_before
    rss = _rss_mb(workers)
    for process in processes:
        process.join()
    latencies = sorted(x for r in results for x in r[2])
    done, errors = sum(r[0] for r in results), sum(r[1] for r in results)

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    rate = Rate(name, done, seconds, errors, percentile(0.5), percentile(0.99))
    return Served(rate, cpu / max(done, 1) * 1e6, rss)


def _environment() -> dict[str, str]:
    """The server's environment: the bench database, and the project's own statements for the
    bare app. No REDIS_URL, as ``make run`` serves."""
    from django.db import connection

    from stampcard.counter.cards import _CARD_ANSWER
    from stampcard.idempotency.services import _CLAIM, _KEEP
    from stampcard.loyalty.services.card_state import _read_card_sql
    from stampcard.loyalty.services.stamping import _MOVE_CARD_AND_WRITE_EVENT
    from stampcard.tenancy.services import _device_columns

    device, _business, _location, find_device = _device_columns(connection.alias)
    statements = {
        "find_device": find_device,
        # Where the device row's columns the bare app needs are, in that statement.
        "device_columns": {
            name: device.names.index(name)
            for name in ("id", "business_id", "location_id", "token_hash", "revoked_at")
        },
        "idempotency_claim": _CLAIM,
        "read_card": _read_card_sql("code", row_locks=True),
        "stamp": _MOVE_CARD_AND_WRITE_EVENT,
        "card_answer": _CARD_ANSWER,
        "idempotency_keep": _KEEP,
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    # Stations stamp cards drawn at random, again and again: no least self-service cooldown.
    return {
        **env,
        "SELF_SERVICE_MIN_COOLDOWN_SECONDS": "0",
        "SCAN_BARE_SQL": json.dumps(statements),
    }


def _booted(master: int, *, timeout: float = 180.0) -> None:
    """Wait until the workers have loaded the app: the port opens before they have, and on a
    busy machine importing Django takes seconds. A keep-alive connection stays with the
    worker that took it, so a worker still booting during the load would leave the other
    with every station (and its import would be counted as serving CPU)."""
    deadline = time.monotonic() + timeout
    before = -1.0
    while time.monotonic() < deadline:
        workers = _workers(master)
        used = _cpu_seconds(workers) if len(workers) == int(GUNICORN[1]) else -1.0
        if used >= 0 and used - before < 0.02:
            return
        before = used
        time.sleep(0.5)


def serve_and_load(name: str, app: str, seeded: Seeded, seconds: float) -> Served:
    process, port = start_gunicorn(app, _environment())
    try:
        _booted(process.pid)
        load(name, process.pid, port, seeded, 2.0)  # warm up: connections, prepared statements
        return load(name, process.pid, port, seeded, seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def run_pgbench(seeded: Seeded, seconds: float) -> Rate:
    from bench.run import _pg_command

    logs_at = Path(tempfile.mkdtemp(prefix="stampcard-scan-bench-"))
    command = _pg_command(
        "pgbench", "-n", "-M", "prepared", "-c", str(PGBENCH_CLIENTS), "-j", "2",
        "-T", str(round(seconds)), "-f", str(PGBENCH_SCRIPT),
        "-D", f"minid={seeded.card_ids[0]}", "-D", f"maxid={seeded.card_ids[-1]}",
        "-D", f"business={seeded.business_id}", "-D", f"hash={seeded.token_hash}",
        "-P", str(max(1, round(seconds))), "--log", "--log-prefix", str(logs_at / "scan-pgbench"),
    )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    if done.returncode != 0 or tps is None or processed is None:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    rate = Rate(PGBENCH, int(processed.group(1)), float(processed.group(1)) / float(tps.group(1)))
    rate.errors = int(failed.group(1)) if failed else 0
    rate.p50_ms = float(latency.group(1)) if latency else 0.0
    logs = sorted(logs_at.glob("scan-pgbench.*"))
    took = sorted(int(line.split()[2]) for log in logs for line in log.read_text().splitlines())
    shutil.rmtree(logs_at)
    if took:
        rate.p50_ms = took[len(took) // 2] / 1000
        rate.p99_ms = took[min(len(took) - 1, int(0.99 * len(took)))] / 1000
    return rate


def settle() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE loyalty_card")
        cursor.execute("CHECKPOINT")
    connection.close()


# --- profile -------------------------------------------------------------------------------


def profile_django(seeded: Seeded, calls: int) -> str:
    """``calls`` scans through the server's WSGI handler (``stampcard.wsgi``) in this process,
    under cProfile."""
    from stampcard.machine_requests import MachineRequestsHandler

    handler = MachineRequestsHandler()
    pick = random.Random(7)

    def one() -> None:
        body = json.dumps(
            {"code": seeded.codes[pick.randrange(len(seeded.codes))], "nonce": uuid.uuid4().hex,
             "scanned_at": datetime.now(UTC).isoformat(), "action": "stamp"}
        ).encode()  # fmt: skip
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/device/scan", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Device {seeded.tokens[0]}", "wsgi.input": io.BytesIO(body),
            "REMOTE_ADDR": "127.0.0.1", "wsgi.errors": sys.stderr,
        }  # fmt: skip
        statuses: list[str] = []

        def start(status: str, headers: Any, *rest: Any) -> Any:
            statuses.append(status)

        for chunk in handler(environ, start):
            del chunk
        if not statuses[0].startswith("200"):
            raise SystemExit(f"profiled scan answered {statuses[0]}")

    for _ in range(20):
        one()
    queries = _queries(one)
    started = time.process_time()
    for _ in range(calls):
        one()
    cpu_us = (time.process_time() - started) / calls * 1e6
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(calls):
        one()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("cumulative").print_callees("card_answer")
    top = "\n".join(line for line in text.getvalue().splitlines() if line.strip())
    return (
        f"In-process, no server: **{cpu_us:,.0f} µs CPU per scan**, {queries} SQL round trips"
        " (BEGIN/COMMIT included, and Django's connection health check when it runs)."
        f" Then {calls} more under cProfile (CPU clock), top functions by cumulative time:"
        f"\n\n```\n{top}\n```\n"
    )


def _queries(one: Any) -> int:
    """Statements one scan sends: through Django's cursor (BEGIN/COMMIT/SAVEPOINT included),
    on the hot-path cursor (``stampcard.hot_path``), the BEGIN and COMMIT of the scan's
    transaction (``hot_path_atomic``, on psycopg's connection) and Django's connection health
    check."""
    from contextlib import contextmanager
    from unittest import mock

    import psycopg
    from django.db import DEFAULT_DB_ALIAS, connection, connections
    from django.test.utils import CaptureQueriesContext

    from stampcard.hot_path import _PreparingCursor

    sent = 0
    execute = _PreparingCursor.execute
    wrapper = type(connections[DEFAULT_DB_ALIAS])
    is_usable = wrapper.is_usable

    def counting(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        nonlocal sent
        sent += 1
        return execute(self, query, params, **kwargs)

    def checking(self: Any) -> bool:
        nonlocal sent
        sent += 1
        return is_usable(self)

    transaction = psycopg.Connection.transaction

    @contextmanager
    def begun(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal sent
        sent += 2  # BEGIN, then COMMIT or ROLLBACK
        with transaction(self, *args, **kwargs) as block:
            yield block

    with (
        CaptureQueriesContext(connection) as captured,
        mock.patch.object(_PreparingCursor, "execute", counting),
        mock.patch.object(wrapper, "is_usable", checking),
        mock.patch.object(psycopg.Connection, "transaction", begun),
    ):
        one()
    return len(captured.captured_queries) + sent


def write_section(section: str, output: Path) -> None:
    """Replace the scan section of ``output`` (or add it at the end)."""
    text = output.read_text() if output.exists() else ""
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        _old, tail = rest.split(END_MARK, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    output.write_text(text)


# --- report --------------------------------------------------------------------------------


def render(
    *, figures: dict[str, Served], pg: Rate, seeded: Seeded, seconds: float, profile: str,
    context: dict[str, str], started: str, load_average: str,
) -> str:  # fmt: skip
    django, bare = figures[DJANGO], figures[BARE]
    to_pg = django.rate.per_second / pg.per_second
    to_bare = django.rate.per_second / bare.rate.per_second
    lines = [
        START_MARK,
        "## Scan endpoint under a rush hour (`bench.scan_bench`)",
        "",
        f"Run {started}, load average before {load_average} (the machine is shared). "
        + "; ".join(f"{key}: {value}" for key, value in context.items())
        + ".",
        "",
        f"{STATIONS} Autopilot stations (threads in {LOAD_PROCESSES} client processes on the"
        f' same machine), each with its own device token, post `action: "stamp"` scans'
        f" with fresh nonces to {len(seeded.card_ids):,} cards drawn at random (cooldown 0, no"
        " cycle closes), through keep-alive connections to gunicorn"
        f" `{' '.join(GUNICORN)}` as `make run` serves. {seconds:.0f} s per side in two"
        " halves taking turns (django, bare, pgbench, pgbench, bare, django) after a 2 s"
        f" warm-up; pgbench runs bench/scan.pgbench at {PGBENCH_CLIENTS} clients (-j 2,"
        " prepared). Worker CPU: utime + stime of the gunicorn workers over the load, per"
        " answered request; RSS summed over the 2 workers at the end.",
        "",
        "| side | scans/s | p50 ms | p99 ms | errors | worker CPU µs/scan | worker RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, served in figures.items():
        r = served.rate
        lines.append(
            f"| {name} | {r.per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors}"
            f" | {served.cpu_us:,.0f} | {served.rss_mb:,.0f} |"
        )
    lines += [
        f"| pgbench ({PGBENCH_CLIENTS} clients) | {pg.per_second:,.0f} | {pg.p50_ms:.1f}"
        f" | {pg.p99_ms:.1f} | {pg.errors} | n/a | n/a |",
        "",
        f"- Django ≥ {TARGET_PGBENCH} x pgbench: {to_pg:.2f} —"
        f" {'met' if to_pg >= TARGET_PGBENCH else '**not met**'}",
        f"- Django ≥ {TARGET_BARE} x bare psycopg app: {to_bare:.2f} —"
        f" {'met' if to_bare >= TARGET_BARE else '**not met**'}",
        "",
        "### Where a Django scan's CPU goes",
        "",
        profile,
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def run(
    *, cards: int = 20_000, seconds: float = 10.0, profile_calls: int = 500, only: str = ""
) -> str:
    """Everything above on an already set-up Django; the section for RESULTS.md."""
    from bench.run import code_state, machine_context

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    context = machine_context(code_state())
    load_average = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Scan: seeding {cards:,} cards and {STATIONS} Autopilot stations …", flush=True)
    seeded = seed(cards)
    served: dict[str, list[Served]] = {DJANGO: [], BARE: []}
    pg: list[Rate] = []
    apps = {DJANGO: "stampcard.wsgi", BARE: "bench.scan_bare_app:app"}
    for side in (DJANGO, BARE, PGBENCH, PGBENCH, BARE, DJANGO):
        if only and side != only:
            continue
        settle()
        if side == PGBENCH:
            pg.append(run_pgbench(seeded, seconds / 2))
            print(f"  pgbench {pg[-1].per_second:,.0f}/s", flush=True)
        else:
            served[side].append(serve_and_load(side, apps[side], seeded, seconds / 2))
            r = served[side][-1].rate
            print(f"  {side} {r.per_second:,.0f}/s p99 {r.p99_ms:.1f} ms, {r.errors} errors",
                  flush=True)  # fmt: skip
    figures = {side: _merge(halves) for side, halves in served.items()}
    both = Rate(
        PGBENCH,
        sum(r.done for r in pg),
        sum(r.seconds for r in pg),
        sum(r.errors for r in pg),
        max(r.p50_ms for r in pg),
        max(r.p99_ms for r in pg),
    )
    settle()
    profile = profile_django(seeded, profile_calls) if profile_calls else "(not profiled)\n"
    return render(
        figures=figures, pg=both, seeded=seeded, seconds=seconds, profile=profile,
        context=context, started=started, load_average=load_average,
    )  # fmt: skip


def _merge(halves: list[Served]) -> Served:
    done = sum(h.rate.done for h in halves)
    rate = Rate(
        halves[0].rate.name,
        done,
        sum(h.rate.seconds for h in halves),
        sum(h.rate.errors for h in halves),
        max(h.rate.p50_ms for h in halves),
        max(h.rate.p99_ms for h in halves),
    )
    cpu = sum(h.cpu_us * h.rate.done for h in halves) / max(done, 1)
    return Served(rate, cpu, max(h.rss_mb for h in halves))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per side")
    parser.add_argument("--profile-calls", type=int, default=500, help="0 skips the profile")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", choices=(DJANGO, BARE, PGBENCH), default="", help="debugging")
    args = parser.parse_args(argv)
    from bench.run import setup_django

    setup_django()
    from django.conf import settings

    # The profiled stamps come back to the same cards: no least self-service cooldown.
    settings.SELF_SERVICE_MIN_COOLDOWN_SECONDS = 0
    from django.core.management import call_command

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("bench needs PostgreSQL: run it inside scripts/with-services.sh")
    call_command("migrate", interactive=False, verbosity=0)
    section = run(
        cards=args.cards, seconds=args.seconds, profile_calls=args.profile_calls, only=args.only
    )
    write_section(section, args.output)
    print(f"\nWrote the scan section of {args.output}")


if __name__ == "__main__":
    main()
