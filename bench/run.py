"""The hot path, measured: the stamp service against pgbench doing the same transaction.

Run by ``make bench`` inside scripts/with-services.sh (a throwaway PostgreSQL with fsync and
synchronous_commit on). In one run, bounded in time (about 4 minutes), it:

1. migrates and seeds one business, one active program and ``--cards`` cards;
2. at 1, 8 and 32 clients, measures pgbench running bench/stamp.pgbench (lock the card, write
   the ledger row, bump the counters, write the outbox message, write the reward and its
   message when a cycle closes) and
   ``loyalty.services.add_stamps`` called in a loop by as many concurrent clients (threads in
   as many OS processes as pgbench has threads, one per core). The two take turns
   in slices (pgbench, service, service, pgbench), so drift of this shared machine hits both
   alike;
3. does 2 twice: durable commits (the server's settings) and CPU-bound commits
   (``PGOPTIONS=-c synchronous_commit=off`` for pgbench and the service alike);
4. profiles one service process on 2000 calls (where the client CPU goes);
5. times ``vouchers.services.generate_codes`` for 1,000,000 codes and checks them with SQL;
6. runs the Apple Wallet benchmarks (``bench.wallet_bench``) unless ``--no-wallet``;
7. prints the figures and writes bench/RESULTS.md;
8. runs the scan endpoint's rush hour (``bench.scan_bench``) unless ``--no-scan``.
"""

import argparse
import cProfile
import hashlib
import io
import multiprocessing as mp
import os
import platform
import pstats
import random
import re
import resource
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
PGBENCH_SCRIPT = BENCH_DIR / "stamp.pgbench"
MILESTONES_SCRIPT = BENCH_DIR / "stamp_milestones.pgbench"
MILESTONES = (3, 6, 8)  # before the goal of 10, on the second program's cards
RESULTS = BENCH_DIR / "RESULTS.md"

CLIENTS = (1, 8, 32)
# name -> extra environment for pgbench and the service processes alike.
COMMIT_SETTINGS: dict[str, dict[str, str]] = {
    "durable": {},
    "cpu-bound": {"PGOPTIONS": "-c synchronous_commit=off"},
}
PGBENCH, SERVICE = "pgbench", "service"
# pgbench's threads (-j), one per core; the service gets as many OS processes.
PGBENCH_THREADS = os.cpu_count() or 2
TARGET_RATIO = 0.5
TARGET_CLIENTS = 8
# Ratios at TARGET_CLIENTS of earlier runs that a change may lower by at most MOST_FALL:
# before stamps wrote an outbox message (ac3ee63), and before milestones and stamps by amount
# (244813c), each for the plain one-goal program.
BASELINES = {
    "the last run without the outbox message": {"durable": 0.75, "cpu-bound": 0.48},
    "the last run before milestones and amounts": {"durable": 0.74, "cpu-bound": 0.54},
}
MOST_FALL = 0.10
TARGET_CODE_SECONDS = 30.0
PROFILE_CALLS = 2000
WARMUP_CALLS = 20
BENCH_MEMBER = "bench-barista"  # the staff member the service stamps as


@dataclass
class Slice:
    """One measured slice: pgbench or the service, at one client count and commit setting."""

    seconds: float
    calls: int
    tps: float
    cycles_closed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    user: float = 0.0  # CPU seconds of the service processes, user mode
    system: float = 0.0  # ... kernel mode (socket calls, scheduling)
    switches: int = 0  # context switches of the service processes
    commit_seen: str = ""
    prepared_statements: int = 0  # in pg_prepared_statements of a service connection, warmed up


@dataclass
class Measured:
    """All slices of one side (pgbench, service, ...) at one client count and setting."""

    slices: list[Slice] = field(default_factory=list)

    @property
    def tps(self) -> float:
        return sum(s.tps * s.seconds for s in self.slices) / sum(s.seconds for s in self.slices)

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.slices)

    @property
    def prepared_statements(self) -> int:
        return max(s.prepared_statements for s in self.slices)

    def per_call(self, value: Callable[[Slice], float]) -> float:
        return sum(value(s) for s in self.slices) / max(self.calls, 1)


@dataclass
class CodeGeneration:
    count: int
    seconds: float
    rows: int
    distinct: int
    wrong_length: int


@dataclass
class Profile:
    calls: int
    wall_us: float
    user_us: float
    sys_us: float
    layers: list[tuple[str, float]]  # share of profiled CPU by layer, largest first
    top_tottime: str
    top_cumtime: str


# --- setup ---------------------------------------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stampcard.settings")
    import django

    django.setup()


def seed(cards: int) -> tuple[int, list[int], list[int]]:
    """Migrate, then one business, two active programs with ``cards`` cards each.

    The first has one goal; the second the same goal with rewards at ``MILESTONES`` on the
    way. Returns the business id and each program's card ids.
    """
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Milestone, Program, ProgramStatus, RewardKind
    from stampcard.loyalty.services import enroll_customer
    from stampcard.tenancy.models import Business, Membership, Role

    call_command("migrate", interactive=False, verbosity=0)
    with scopes_disabled(), transaction.atomic():
        business = Business.objects.create(name="Bench Coffee", slug="bench-coffee")
        Membership.objects.create(
            business=business, user=User.objects.create(username=BENCH_MEMBER), role=Role.STAFF
        )
        card_ids: list[list[int]] = []
        for name in ("Bench card", "Bench card with milestones"):
            program = Program.objects.create(
                business=business,
                name=name,
                status=ProgramStatus.ACTIVE,
                stamps_goal=10,
                max_stamps_per_visit=1,
                cooldown_seconds=0,
                max_stamps_per_day=None,
                reward_kind=RewardKind.SIMPLE,
                reward_title="A free coffee",
            )
            if card_ids:
                for stamps in MILESTONES:
                    Milestone.objects.create(
                        business=business, program=program, stamps=stamps, reward_title="A treat"
                    )
            card_ids.append(
                sorted(
                    enroll_customer(
                        business=business,
                        program=program,
                        name=f"Customer {i}",
                        email=f"customer{i}@bench.example",
                    ).pk
                    for i in range(cards)
                )
            )
    return business.pk, card_ids[0], card_ids[1]


def sql(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def settle() -> None:
    """Give every slice the same starting point: card table vacuumed, WAL checkpointed."""
    from django.db import connection

    sql("VACUUM ANALYZE loyalty_card")
    sql("CHECKPOINT")
    connection.close()  # no connection may cross the fork of the service processes


# --- pgbench -------------------------------------------------------------------------------


def _pg_command(tool: str, *args: str) -> list[str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"))
    command = [str(found[-1]) if found else tool, "-h", str(db["HOST"]), "-U", str(db["USER"])]
    if db.get("PORT"):
        command += ["-p", str(db["PORT"])]
    return [*command, *args, str(db["NAME"])]


def run_pgbench(
    *,
    setting: str,
    clients: int,
    seconds: float,
    business_id: int,
    card_ids: list[int],
    script: Path = PGBENCH_SCRIPT,
) -> Slice:
    command = _pg_command(
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(clients, PGBENCH_THREADS)),
        "-T",
        str(round(seconds)),
        "-f",
        str(script),
        "-D",
        f"minid={card_ids[0]}",
        "-D",
        f"maxid={card_ids[-1]}",
        "-D",
        f"business={business_id}",
    )
    env = {**os.environ, **COMMIT_SETTINGS[setting]}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    out = done.stdout
    tps = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    if done.returncode != 0 or tps is None or processed is None:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{out}\n{done.stderr}")
    measured = Slice(seconds=round(seconds), calls=int(processed.group(1)), tps=float(tps.group(1)))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if failed and int(failed.group(1)):
        measured.errors["failed transactions"] = int(failed.group(1))
    return measured


def libpq_commit_setting(setting: str) -> str:
    """synchronous_commit as a libpq client (pgbench's library) sees it under ``setting``."""
    command = _pg_command("psql", "-Atc", "SHOW synchronous_commit")
    env = {**os.environ, **COMMIT_SETTINGS[setting]}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.strip()


# --- the service ---------------------------------------------------------------------------


def _open_service(setting: str) -> Any:
    """In a fresh process: the commit setting, then the stamp call as the product makes it."""
    os.environ.update(COMMIT_SETTINGS[setting])  # libpq reads it when the connection opens
    from django.db import connection
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import StampSource
    from stampcard.loyalty.services import add_stamps
    from stampcard.tenancy.actors import Actor
    from stampcard.tenancy.models import Membership

    # A staff member as a door admits them, once per process: add_stamps then checks the
    # permission in memory, as it does for every request.
    with scopes_disabled():
        membership = Membership.objects.prefetch_related("locations").get(
            user__username=BENCH_MEMBER
        )
    actor = Actor.for_member(membership)
    connection.close()  # each client thread opens its own

    def stamp(business: Any, card_id: int) -> Any:
        return add_stamps(
            business=business, actor=actor, source=StampSource.STAFF, count=1, card_id=card_id
        )

    return stamp


def _service_worker(
    *,
    setting: str,
    threads: int,
    business_id: int,
    card_ids: list[int],
    seconds: float,
    barrier: Any,
    results: Any,
    seed_value: int,
) -> None:
    """One OS process whose ``threads`` threads each call add_stamps in a loop.

    Every thread has its own database connection (Django's are per thread); while one waits
    for PostgreSQL, another runs Python.
    """
    stamp = _open_service(setting)
    from django.db import connection
    from django_scopes import scope

    from stampcard.tenancy.models import Business

    warmed = threading.Barrier(threads + 1)
    go = threading.Event()
    tallies: list[dict[str, Any]] = []

    def client(n: int) -> None:
        rng = random.Random(seed_value * 1000 + n)
        calls = cycles = 0
        errors: Counter[str] = Counter()
        with scope(business=business_id):
            business = Business.objects.get(pk=business_id)
            for _ in range(WARMUP_CALLS):  # connection, imports, statement caches
                stamp(business, rng.choice(card_ids))
            commit = sql("SHOW synchronous_commit")[0][0]
            prepared = sql("SELECT count(*) FROM pg_prepared_statements")[0][0]
            warmed.wait()
            go.wait()
            deadline = time.monotonic() + seconds
            while True:
                try:
                    outcome = stamp(business, rng.choice(card_ids))
                except Exception as error:  # counted and reported, never hidden
                    errors[type(error).__name__] += 1
                    outcome = None
                if time.monotonic() > deadline:
                    break  # the call in flight at the deadline does not count
                if outcome is not None:
                    calls += 1
                    cycles += bool(outcome.reward_ids)
        connection.close()
        tallies.append(
            {"calls": calls, "cycles": cycles, "errors": errors, "commit": commit,
             "prepared": prepared}
        )  # fmt: skip

    clients = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for each in clients:
        each.start()
    warmed.wait()
    barrier.wait()
    before = resource.getrusage(resource.RUSAGE_SELF)
    go.set()
    for each in clients:
        each.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    results.put(
        {
            "calls": sum(t["calls"] for t in tallies),
            "cycles": sum(t["cycles"] for t in tallies),
            "errors": sum((t["errors"] for t in tallies), Counter()),
            "user": after.ru_utime - before.ru_utime,
            "system": after.ru_stime - before.ru_stime,
            "switches": after.ru_nvcsw + after.ru_nivcsw - before.ru_nvcsw - before.ru_nivcsw,
            "commit": "/".join(sorted({t["commit"] for t in tallies})),
            "prepared": max(t["prepared"] for t in tallies),
        }
    )


def run_service(
    *,
    setting: str,
    clients: int,
    seconds: float,
    business_id: int,
    card_ids: list[int],
) -> Slice:
    """``clients`` concurrent callers in as many processes as pgbench has threads (``-j``).

    pgbench drives its connections from ``min(clients, cores)`` threads; the service gets the
    same number of OS processes, each running its share of the clients as threads. More
    processes than cores would only measure the scheduler.
    """
    processes = min(clients, PGBENCH_THREADS)
    context = mp.get_context("fork")  # the parent holds no connection: see settle()
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(
            target=_service_worker,
            kwargs={
                "setting": setting,
                "threads": clients // processes + (n < clients % processes),
                "business_id": business_id,
                "card_ids": card_ids,
                "seconds": seconds,
                "barrier": barrier,
                "results": results,
                "seed_value": n,
            },
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=120)
    reports = [results.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        if worker.exitcode != 0:
            raise SystemExit(f"a service process failed (exit code {worker.exitcode})")
    calls = sum(r["calls"] for r in reports)
    return Slice(
        seconds=seconds,
        calls=calls,
        tps=calls / seconds,
        cycles_closed=sum(r["cycles"] for r in reports),
        errors=sum((r["errors"] for r in reports), Counter()),
        user=sum(r["user"] for r in reports),
        system=sum(r["system"] for r in reports),
        switches=sum(r["switches"] for r in reports),
        commit_seen="/".join(sorted({r["commit"] for r in reports})),
        prepared_statements=max(r["prepared"] for r in reports),
    )


# Where a profiled function lives, by the first fragment its file name contains.
LAYERS = (
    ("/stampcard/", "stampcard (services, models)"),
    ("/psycopg/", "psycopg (with the libpq and socket calls it makes)"),
    ("/django/db/", "Django database layer"),
    ("/django_scopes/", "django-scopes"),
    ("/django/", "Django, other"),
    ("dataclasses.py", "dataclasses (asdict)"),
    ("copy.py", "copy (deepcopy from asdict)"),
    ("~", "C built-ins (isinstance, getattr, dict.get, …)"),
)


def _layer(filename: str) -> str:
    return next((name for fragment, name in LAYERS if fragment in filename), "other")


def _profile_worker(*, setting: str, business_id: int, card_ids: list[int], results: Any) -> None:
    stamp = _open_service(setting)
    from django.db import connection
    from django_scopes import scope

    from stampcard.tenancy.models import Business

    rng = random.Random(0)
    with scope(business=business_id):
        business = Business.objects.get(pk=business_id)

        def stamp_many(n: int) -> None:
            for _ in range(n):
                stamp(business, rng.choice(card_ids))

        stamp_many(50)
        before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        stamp_many(PROFILE_CALLS)
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall
        # CPU time, not wall time: waiting for the server costs the process nothing.
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(stamp_many, PROFILE_CALLS)
    connection.close()
    stats = pstats.Stats(profiler)
    by_layer: defaultdict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[_layer(filename)] += tottime
    total = sum(by_layer.values()) or 1.0
    tables = []
    for key in ("tottime", "cumulative"):
        text = io.StringIO()
        stats.stream = text  # type: ignore[attr-defined]
        stats.strip_dirs().sort_stats(key).print_stats(18)
        tables.append("   ncalls" + text.getvalue().split("   ncalls", 1)[-1].rstrip())
    results.put(
        {
            "wall_us": wall / PROFILE_CALLS * 1e6,
            "user_us": (after.ru_utime - before.ru_utime) / PROFILE_CALLS * 1e6,
            "sys_us": (after.ru_stime - before.ru_stime) / PROFILE_CALLS * 1e6,
            "layers": sorted(((k, v / total) for k, v in by_layer.items()), key=lambda x: -x[1]),
            "tottime": tables[0],
            "cumtime": tables[1],
        }
    )


def profile_service(*, setting: str, business_id: int, card_ids: list[int]) -> Profile:
    context = mp.get_context("fork")
    results = context.Queue()
    kwargs = {"setting": setting, "business_id": business_id, "card_ids": card_ids}
    worker = context.Process(target=_profile_worker, kwargs={**kwargs, "results": results})
    worker.start()
    report = results.get(timeout=180)
    worker.join(timeout=30)
    return Profile(
        calls=PROFILE_CALLS,
        wall_us=report["wall_us"],
        user_us=report["user_us"],
        sys_us=report["sys_us"],
        layers=report["layers"],
        top_tottime=report["tottime"],
        top_cumtime=report["cumtime"],
    )


# --- code pool -----------------------------------------------------------------------------


def generate_pool(*, business_id: int, count: int) -> CodeGeneration:
    from django_scopes import scopes_disabled

    from stampcard.tenancy.actors import Actor, ActorKind
    from stampcard.tenancy.models import Business
    from stampcard.vouchers.models import CodePoolKind
    from stampcard.vouchers.services import create_code_pool, generate_codes

    actor = Actor(kind=ActorKind.ADMIN)
    with scopes_disabled():
        business = Business.objects.get(pk=business_id)
        pool = create_code_pool(
            business=business,
            actor=actor,
            name="bench",
            kind=CodePoolKind.GENERATED,
            code_length=8,
        )
        started = time.perf_counter()
        added = generate_codes(business=business, actor=actor, pool=pool, count=count)
        seconds = time.perf_counter() - started
    if added != count:
        raise SystemExit(f"generate_codes reported {added} codes, asked for {count}")
    ((rows, distinct, wrong_length),) = sql(
        "SELECT count(*), count(DISTINCT code), count(*) FILTER (WHERE length(code) <> 8)"
        " FROM vouchers_poolcode WHERE pool_id = %s",
        [pool.pk],
    )
    return CodeGeneration(
        count=count, seconds=seconds, rows=rows, distinct=distinct, wrong_length=wrong_length
    )


# --- report --------------------------------------------------------------------------------


def _command(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=PROJECT_DIR)  # noqa: S603
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def code_state() -> str:
    """The commit measured and, if src/ differs from it, which files (read before importing)."""
    commit = _command("git", "rev-parse", "--short", "HEAD")
    changed = _command("git", "diff", "--name-only", "HEAD", "--", "src").split()
    if not changed or changed == ["unknown"]:
        return commit
    diff = _command("git", "diff", "HEAD", "--", "src").encode()
    digest = hashlib.sha1(diff, usedforsecurity=False).hexdigest()[:10]
    return f"{commit} plus uncommitted changes (diff sha1 {digest}) in {', '.join(changed)}"


def machine_context(commit: str) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    server = {
        name: sql(f"SHOW {name}")[0][0]
        for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes")
    }
    return {
        "CPUs": f"{len(os.sched_getaffinity(0))} (nproc)",
        "CPU model": model.group(1).strip() if model else "unknown",
        "Memory": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "PostgreSQL": f"{server['server_version']}, loopback TCP (scripts/with-services.sh);"
        f" server fsync={server['fsync']}, synchronous_commit={server['synchronous_commit']},"
        f" full_page_writes={server['full_page_writes']}",
        "Python": f"{platform.python_version()}, Django {_django_version()},"
        f" psycopg {_psycopg_version()}",
        "Commit": commit,
    }


def _django_version() -> str:
    import django

    return django.get_version()


def _psycopg_version() -> str:
    import psycopg

    return f"{psycopg.__version__} ({psycopg.pq.__impl__})"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _ratio(service: Measured, base: Measured) -> str:
    """The ratio over the whole, and per half (first pair of slices, second pair)."""
    halves = [s.tps / b.tps for s, b in zip(service.slices, base.slices, strict=False)]
    spread = " to ".join(f"{r:.2f}" for r in sorted(halves)) if len(halves) > 1 else ""
    return f"**{service.tps / base.tps:.2f}**" + (f" ({spread})" if spread else "")


HOW_TO_READ = """\
`pgbench` runs bench/stamp.pgbench: the same transaction as `loyalty.services.add_stamps`
(lock the card joined to its program, insert the ledger row, update the card's counters and
version, write the outbox's card.changed message, insert the reward and its reward.earned
message when the cycle closes) on the same tables, with prepared statements and no Python.
`service` is `add_stamps` itself, called in a loop by N concurrent clients, each with
its own connection: threads spread over as many OS processes as pgbench has threads (`-j`, one
per core), as a gunicorn with threaded workers would run them.
**ratio** = service tps / pgbench tps at the same client count and commit setting:
1.0 would mean the Python side costs nothing; in brackets the ratios of the two halves of the
run (pgbench and the service take turns: pgbench, service, service, pgbench), a measure of how
noisy this shared machine was. *durable* is the server as configured (fsync and
synchronous_commit on: every commit waits for a WAL flush, so the disk sets the pace at low
concurrency); *cpu-bound* sets `synchronous_commit=off` through `PGOPTIONS` for both sides, so
the figures show CPU per stamp — client and server share the same 2 cores, and every µs of
Python is a µs PostgreSQL does not get. *Client CPU* is the service processes' own CPU time
(user + kernel) per successful call. Only the latest run is kept."""


def render(
    *,
    started: datetime,
    elapsed: float,
    context: dict[str, str],
    measured: dict[tuple[str, str, int], Measured],
    with_milestones: dict[tuple[str, str, int], Measured],
    commit_seen: dict[str, str],
    profile: Profile | None,
    codes: CodeGeneration | None,
    seconds: int,
    cards: int,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "## How to read",
        "",
        HOW_TO_READ,
        "",
        "## Run",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC (whole bench {elapsed:.0f} s)",
        "- Command: `make bench`",
        *(f"- {key}: {value}" for key, value in context.items()),
        f"- Data: 1 business, 1 active program (goal 10, 1 stamp per visit, no cooldown, no"
        f" daily limit, simple reward), {cards} cards; every call stamps a random card."
        f" {seconds} s per side, client count and setting, in two slices.",
        "- synchronous_commit as the clients saw it: "
        + "; ".join(f"{name}: {value}" for name, value in commit_seen.items()),
        "- Statements prepared on a warmed-up service connection (pg_prepared_statements): "
        + "; ".join(
            f"{side}: {m.prepared_statements}"
            for side in (SERVICE,)
            if (m := measured.get((side, "cpu-bound", TARGET_CLIENTS)))
        ),
        "",
        "## Stamp: service vs pgbench",
        "",
        "| commit setting | clients | pgbench tps | service tps | ratio (halves)"
        " | client CPU µs/call (user + sys) | context switches/call | calls closing a cycle"
        " | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for setting in COMMIT_SETTINGS:
        for clients in CLIENTS:
            base = measured.get((PGBENCH, setting, clients))
            service = measured.get((SERVICE, setting, clients))
            if base is None or service is None:
                continue
            errors = sum((s.errors for s in service.slices + base.slices), Counter())
            user = service.per_call(lambda s: s.user) * 1e6
            system = service.per_call(lambda s: s.system) * 1e6
            lines.append(
                f"| {setting} | {clients} | {base.tps:,.0f} | {service.tps:,.0f}"
                f" | {_ratio(service, base)} | {user + system:,.0f} ({user:,.0f} + {system:,.0f})"
                f" | {service.per_call(lambda s: s.switches):.1f}"
                f" | {100 * service.per_call(lambda s: s.cycles_closed):.1f} %"
                f" | {', '.join(f'{k}: {v}' for k, v in errors.items()) or 'none'} |"
            )
    lines += [
        "",
        "## Stamp on a card with three milestones",
        "",
        f"The second program: rewards at {', '.join(map(str, MILESTONES))} stamps on the way to"
        f" its goal of 10 (bench/stamp_milestones.pgbench writes the same), {TARGET_CLIENTS}"
        " clients. About 4 stamps in 10 reach a reward and take the locked path.",
        "",
        "| commit setting | clients | pgbench tps | service tps | ratio (halves) | errors |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for setting in COMMIT_SETTINGS:
        base = with_milestones.get((PGBENCH, setting, TARGET_CLIENTS))
        service = with_milestones.get((SERVICE, setting, TARGET_CLIENTS))
        if base is None or service is None:
            continue
        errors = sum((s.errors for s in service.slices + base.slices), Counter())
        lines.append(
            f"| {setting} | {TARGET_CLIENTS} | {base.tps:,.0f} | {service.tps:,.0f}"
            f" | {_ratio(service, base)}"
            f" | {', '.join(f'{k}: {v}' for k, v in errors.items()) or 'none'} |"
        )
    lines += ["", "## Targets", ""]
    for setting in COMMIT_SETTINGS:
        base = measured.get((PGBENCH, setting, TARGET_CLIENTS))
        service = measured.get((SERVICE, setting, TARGET_CLIENTS))
        if base and service:
            ratio = service.tps / base.tps
            lines.append(
                f"- Service ≥ {TARGET_RATIO} x pgbench at {TARGET_CLIENTS} clients, {setting}:"
                f" {ratio:.2f} — {_met(ratio >= TARGET_RATIO)}"
            )
            for before, ratios in BASELINES.items():
                floor = ratios[setting] * (1 - MOST_FALL)
                lines.append(
                    f"- {setting} at {TARGET_CLIENTS} clients no more than {MOST_FALL:.0%} below"
                    f" {before} ({ratios[setting]:.2f}, so ≥ {floor:.2f}):"
                    f" {ratio:.2f} — {_met(ratio >= floor)}"
                )
    if codes is not None:
        ok = codes.seconds <= TARGET_CODE_SECONDS and codes.distinct == codes.rows == codes.count
        lines.append(
            f"- {codes.count:,} pool codes in ≤ {TARGET_CODE_SECONDS:.0f} s, all distinct:"
            f" {codes.seconds:.1f} s, {codes.distinct:,} distinct — {_met(ok)}"
        )
        lines += [
            "",
            "## Code pool",
            "",
            f"`vouchers.services.generate_codes(count={codes.count:_})` into a new generated pool"
            f" of 8-symbol codes, durable commit: **{codes.seconds:.1f} s**,"
            f" {codes.count / codes.seconds:,.0f} codes/s. Checked with SQL afterwards:"
            f" {codes.rows:,} rows, {codes.distinct:,} distinct codes,"
            f" {codes.wrong_length} of the wrong length.",
        ]
    if profile is not None:
        lines += [
            "",
            "## Where the service's time goes",
            "",
            f"One process, cpu-bound setting, {profile.calls} calls of `add_stamps`, no"
            f" profiler: **{profile.wall_us:,.0f} µs wall per call, of which"
            f" {profile.user_us + profile.sys_us:,.0f} µs client CPU** ({profile.user_us:,.0f}"
            f" user + {profile.sys_us:,.0f} kernel); the rest is waiting for PostgreSQL."
            f" Then {profile.calls} more calls under cProfile with a CPU-time clock (waiting"
            " costs nothing; the profiler's overhead inflates the absolute times, the"
            " proportions are what matter). Share of the profiled CPU by layer:",
            "",
            "| layer | share |",
            "|---|---:|",
            *(f"| {name} | {share:.0%} |" for name, share in profile.layers),
            "",
            "Top functions by own time:",
            "",
            "```",
            profile.top_tottime,
            "```",
            "",
            "Top functions by cumulative time:",
            "",
            "```",
            profile.top_cumtime,
            "```",
        ]
    return "\n".join(lines) + "\n"


def print_table(measured: dict[tuple[str, str, int], Measured]) -> None:
    print(f"\n{'setting':<10} {'clients':>7} {'pgbench':>9} {'service':>9} {'ratio':>6}")
    for setting in COMMIT_SETTINGS:
        for clients in CLIENTS:
            base = measured.get((PGBENCH, setting, clients))
            service = measured.get((SERVICE, setting, clients))
            if base and service:
                print(
                    f"{setting:<10} {clients:>7} {base.tps:>9,.0f} {service.tps:>9,.0f}"
                    f" {service.tps / base.tps:>6.2f}"
                )


# --- main ----------------------------------------------------------------------------------


def measure_stamps(
    *,
    seconds: int,
    business_id: int,
    card_ids: list[int],
    clients_counts: tuple[int, ...] = CLIENTS,
    script: Path = PGBENCH_SCRIPT,
) -> tuple[dict[tuple[str, str, int], Measured], dict[str, str]]:
    """Every side at every client count and setting, in slices that take turns."""
    measured: defaultdict[tuple[str, str, int], Measured] = defaultdict(Measured)
    commit_seen: dict[str, str] = {}
    for setting in COMMIT_SETTINGS:
        seen: set[str] = set()
        for clients in clients_counts:
            half = max(1, round(seconds / 2))
            sides = [PGBENCH, SERVICE]
            for side in sides + sides[::-1]:
                settle()
                if side == PGBENCH:
                    done = run_pgbench(
                        setting=setting,
                        clients=clients,
                        seconds=half,
                        business_id=business_id,
                        card_ids=card_ids,
                        script=script,
                    )
                else:
                    done = run_service(
                        setting=setting,
                        clients=clients,
                        seconds=half,
                        business_id=business_id,
                        card_ids=card_ids,
                    )
                    seen.add(done.commit_seen)
                measured[side, setting, clients].slices.append(done)
                print(f"{setting:<9} c={clients:<2} {side:<28} {done.tps:>8,.0f} tps", flush=True)
        commit_seen[setting] = (
            f"pgbench (libpq) {libpq_commit_setting(setting)}, service {'/'.join(sorted(seen))}"
        )
    return measured, commit_seen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per side, client count, setting")
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--codes", type=int, default=1_000_000, help="0 skips the code pool")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-wallet", action="store_true", help="skip bench.wallet_bench")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-scan", action="store_true", help="skip bench.scan_bench")
    parser.add_argument(
        "--no-dashboard", action="store_true", help="skip bench.dashboard_pages (100k customers)"
    )
    args = parser.parse_args(argv)

    started_at, started = datetime.now(UTC), time.monotonic()
    commit = code_state()
    setup_django()
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("bench needs PostgreSQL: run it with `make bench`")

    print(f"Seeding {args.cards} cards …", flush=True)
    business_id, card_ids, milestone_card_ids = seed(args.cards)
    for ids in (card_ids, milestone_card_ids):
        if ids[-1] - ids[0] + 1 != len(ids):
            raise SystemExit("card ids are not contiguous; pgbench draws from the id range")
    context = machine_context(commit)

    measured, commit_seen = measure_stamps(
        seconds=args.seconds, business_id=business_id, card_ids=card_ids
    )
    print(f"Three milestones ({', '.join(map(str, MILESTONES))} before 10) …", flush=True)
    with_milestones, _ = measure_stamps(
        seconds=args.seconds,
        business_id=business_id,
        card_ids=milestone_card_ids,
        clients_counts=(TARGET_CLIENTS,),
        script=MILESTONES_SCRIPT,
    )

    profile = None
    if not args.no_profile:
        settle()
        profile = profile_service(setting="cpu-bound", business_id=business_id, card_ids=card_ids)
        print(
            f"profile: {profile.wall_us:,.0f} µs wall,"
            f" {profile.user_us + profile.sys_us:,.0f} µs CPU per call",
            flush=True,
        )

    codes = None
    if args.codes:
        settle()
        print(f"Generating {args.codes:,} pool codes …", flush=True)
        codes = generate_pool(business_id=business_id, count=args.codes)
        print(f"codes: {codes.seconds:.1f} s, {codes.distinct:,} distinct of {codes.rows:,}")

    print_table(measured)
    text = render(
        started=started_at,
        elapsed=time.monotonic() - started,
        context=context,
        measured=measured,
        with_milestones=with_milestones,
        commit_seen=commit_seen,
        profile=profile,
        codes=codes,
        seconds=args.seconds,
        cards=args.cards,
    )
    if not args.no_wallet:
        from bench import wallet_bench

        settle()
        text = text.rstrip("\n") + "\n\n" + wallet_bench.run()
    args.output.write_text(text)
    print(f"\nWrote {args.output}")
    if not args.no_dashboard:
        # Its own section of the same file, after the stamp's (analytics and export pages).
        from bench import dashboard_pages

        dashboard_pages.main(["--no-migrate", "--output", str(args.output)])
    if not args.no_scan:
        # Its own marked section: 50 Autopilot stations against gunicorn, bare app, pgbench.
        from bench import scan_bench

        settle()
        scan_bench.write_section(scan_bench.run(), args.output)


if __name__ == "__main__":
    main()
