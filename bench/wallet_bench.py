"""Apple Wallet, measured: each figure a ratio against a bare baseline run in the same run.

``make bench`` runs it after the stamp benchmark (``bench.run``) and adds its section to
RESULTS.md; alone: ``scripts/with-services.sh .venv/bin/python -m bench.wallet_bench``
(``--output`` writes the section elsewhere; without it the section in RESULTS.md is
replaced). It seeds one business with a program of ``--cards`` cards (10,000), each with a
pass registered on a device of its own, then:

1. **build**: ``wallet.apple.build_pass`` (pass.json from the database, images from their
   caches, manifest, signature, zip) against a bare loop that only zips prepared bytes and
   signs their manifest; the two take turns (build, bare, bare, build, twice);
2. **PassKit after a change**: the program's design changes, the outbox consumer refreshes
   every card (timed), then 32 concurrent clients ask "serials updated since" (each a device
   of its own, expecting its one serial) and "latest pass" (the signed pass, from the cache
   the first fetch fills) of the Django app behind gunicorn, and the same requests of a bare
   psycopg WSGI app (``bench.wallet_bare_app``) behind the same gunicorn; throughput and p99;
3. **pushes**: a second program change pushed through ``wallet.changes`` to every
   registration by one worker (one ``deliver`` of the ``wallet.apple_push`` message) against
   the APNs stand-in (``bench.wallet_apns_stand_in``, in its own process, answering after
   ``--apns-delay`` seconds like a far server); beside it a sender that waits for each answer.
   The worker's CPU per push and the stand-in's are reported apart.

Then the PassKit endpoints go through Django's WSGI handler in this process under cProfile
(``profile_passkit``): CPU per request and the functions that cost most. ``--only build``,
``--only profile`` or ``--only pushes`` runs one part and prints it, for a quick look while
tuning (``--only build`` also prints where a build's time goes, from cProfile).
"""

import argparse
import cProfile
import hashlib
import http.client
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import serving

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
START_MARK = "<!-- wallet: start -->"
END_MARK = "<!-- wallet: end -->"
PASS_TYPE = "pass.local.stampcard"  # noqa: S105  # an identifier, not a secret
TARGET_RATIO = 0.5
TARGET_PUSHES = 1000.0
CLIENTS = 32
LOAD_PROCESSES = 2
GUNICORN = ["-w", "2", "-k", "gthread", "--threads", "16"]
WORKING_SET = 600  # cards whose passes the "latest pass" clients fetch, built once first


@dataclass
class Rate:
    name: str
    done: int
    seconds: float
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    # This process's CPU over ``seconds`` (the build's wait on PostgreSQL is not in it).
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


@dataclass
class Seeded:
    business_id: int
    program_id: int
    card_ids: list[int]
    codes: list[str]


def seed(cards: int) -> Seeded:
    from django.db import transaction
    from django_scopes import scopes_disabled

    from stampcard import tokens
    from stampcard.loyalty.card_codes import new_card_code
    from stampcard.loyalty.models import Card, Customer, Program, ProgramStatus
    from stampcard.tenancy.models import Business, Location
    from stampcard.wallet.models import PassRegistration

    with scopes_disabled(), transaction.atomic():
        business = Business.objects.create(name="Bench Wallet Cafe", slug="bench-wallet-cafe")
        Location.objects.create(
            business=business, name="Main", latitude=13.75, longitude=100.5, relevant_text="Hi"
        )
        program = Program.objects.create(
            business=business,
            name="Wallet bench card",
            status=ProgramStatus.ACTIVE,
            stamps_goal=10,
            reward_title="A free coffee",
        )
        customers = Customer.objects.bulk_create(
            [Customer(business=business, name=f"Wallet {i}") for i in range(cards)]
        )
        made = Card.objects.bulk_create(
            [
                Card(
                    business=business,
                    program=program,
                    customer=customer,
                    token=tokens.new_secret(),
                    code=new_card_code(),
                    stamps=i % 10,
                )
                for i, customer in enumerate(customers)
            ]
        )
        PassRegistration.objects.bulk_create(
            [
                PassRegistration(
                    business=business,
                    card=card,
                    device_library_id=f"bench-device-{card.pk}",
                    pass_type_id=PASS_TYPE,
                    push_token=f"bench-token-{card.pk}",
                )
                for card in made
            ]
        )
    return Seeded(business.pk, program.pk, [c.pk for c in made], [c.code for c in made])


# --- 1. building and signing a pass ------------------------------------------------------


def bare_package(files: dict[str, bytes]) -> bytes:
    """What any pass costs at least: the manifest of prepared bytes, its signature, the zip."""
    from stampcard.wallet.signing import sign_manifest

    manifest = json.dumps(
        {
            name: hashlib.sha1(data, usedforsecurity=False).hexdigest()
            for name, data in files.items()
        }
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            stored = name.endswith(".png")
            archive.writestr(
                name, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            )
        archive.writestr("manifest.json", manifest)
        archive.writestr("signature", sign_manifest(manifest))
    return out.getvalue()


def _loop(name: str, seconds: float, work: Any) -> Rate:
    done = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        work()
        done += 1
    return Rate(
        name, done, time.perf_counter() - started, cpu_seconds=time.process_time() - cpu_started
    )


def measure_build(seeded: Seeded, seconds: float) -> tuple[Rate, Rate]:
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Card
    from stampcard.wallet import apple

    with scopes_disabled():
        cards = list(
            Card.objects.select_related("program", "business", "customer").filter(
                pk__in=seeded.card_ids[:10]
            )
        )
        for card in cards:  # images cached: the strips of these counts drawn once
            apple.build_pass(card)
        with zipfile.ZipFile(io.BytesIO(apple.build_pass(cards[0]))) as archive:
            prepared = {
                name: archive.read(name)
                for name in archive.namelist()
                if name not in ("manifest.json", "signature")
            }
        turn = {"i": 0}

        def build() -> None:
            turn["i"] += 1
            apple.build_pass(cards[turn["i"] % len(cards)])

        slices = {"build": Rate("build", 0, 0.0), "bare": Rate("bare", 0, 0.0)}
        # Twice build, bare, bare, build: a change of the machine's load weighs on both.
        for name in ("build", "bare", "bare", "build") * 2:
            work = build if name == "build" else (lambda: bare_package(prepared))
            measured = _loop(name, seconds / 8, work)
            slices[name].done += measured.done
            slices[name].seconds += measured.seconds
            slices[name].cpu_seconds += measured.cpu_seconds
    return slices["build"], slices["bare"]


def build_only(seeded: Seeded, seconds: float, calls: int) -> str:
    """The build measurement alone with the load average, then ``calls`` builds profiled."""
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Card
    from stampcard.wallet import apple

    load_average = " ".join(f"{value:.2f}" for value in os.getloadavg())
    build, bare = measure_build(seeded, seconds)
    lines = [
        f"load average at the start: {load_average}",
        f"build {build.per_second:,.0f}/s ({1000 / build.per_second:.2f} ms),"
        f" bare {bare.per_second:,.0f}/s ({1000 / bare.per_second:.2f} ms),"
        f" ratio {build.per_second / bare.per_second:.2f}",
        f"CPU of this process: build {1e6 * build.cpu_seconds / build.done:,.0f} µs,"
        f" bare {1e6 * bare.cpu_seconds / bare.done:,.0f} µs,"
        f" ratio {(bare.cpu_seconds / bare.done) / (build.cpu_seconds / build.done):.2f}",
    ]
    with scopes_disabled():
        cards = list(
            Card.objects.select_related("program", "business", "customer").filter(
                pk__in=seeded.card_ids[:10]
            )
        )
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(calls):
            apple.build_pass(cards[i % len(cards)])
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    lines.append(out.getvalue())
    return "\n".join(lines)


# --- 2. the PassKit web service after a change ---------------------------------------------


def start_gunicorn(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    return serving.start_gunicorn(app, env, GUNICORN)


def _client_process(
    port: int,
    requests: list[tuple[str, dict[str, str], int]],
    seconds: float,
    threads: int,
    out: Any,
) -> None:
    latencies: list[float] = []
    counts = {"done": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(seed: int) -> None:
        pick = random.Random(seed)  # picks requests, not secrets
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        done = errors = 0
        while time.perf_counter() < deadline:
            path, headers, expected = requests[pick.randrange(len(requests))]
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == expected
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            mine.append(time.perf_counter() - started)
            done += ok
            errors += not ok
        with lock:
            latencies.extend(mine)
            counts["done"] += done
            counts["errors"] += errors

    workers = [
        threading.Thread(target=client, args=(os.getpid() * 100 + i,)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((counts["done"], counts["errors"], latencies))


def load(
    name: str, port: int, requests: list[tuple[str, dict[str, str], int]], seconds: float
) -> Rate:
    """``CLIENTS`` keep-alive clients (threads in ``LOAD_PROCESSES`` processes) for ``seconds``."""
    context = mp.get_context("fork")
    out = context.Queue()
    processes = [
        context.Process(
            target=_client_process,
            args=(port, requests, seconds, CLIENTS // LOAD_PROCESSES, out),
        )
        for _ in range(LOAD_PROCESSES)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    results = [out.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for _done, _errors, found in results for latency in found)
    done = sum(found[0] for found in results)
    errors = sum(found[1] for found in results)

    def percentile(share: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000
            if latencies
            else 0.0
        )

    return Rate(
        name, done, min(elapsed, seconds) or seconds, errors, percentile(0.5), percentile(0.99)
    )


def change_program(seeded: Seeded) -> float:
    """Change the program's design and run the refresh the outbox delivers; its seconds."""
    from django_scopes import scope, scopes_disabled

    from stampcard.loyalty.models import Program
    from stampcard.outbox.dispatch import deliver
    from stampcard.outbox.models import MessageStatus, OutboxMessage
    from stampcard.tenancy.models import Business
    from stampcard.wallet import changes

    with scopes_disabled():
        program = Program.objects.get(pk=seeded.program_id)
        program.reward_title = f"A free coffee ({time.time():.0f})"
        program.save()
        (message,) = OutboxMessage.objects.filter(
            topic=changes.PASSES_CHANGED,
            status=MessageStatus.PENDING,
            payload__program_id=program.pk,
        )
        business = Business.objects.get(pk=seeded.business_id)
    started = time.perf_counter()
    with scope(business=business):
        if deliver(message.pk) != MessageStatus.DELIVERED:
            raise SystemExit("the program change was not delivered")
    return time.perf_counter() - started


def measure_passkit(seeded: Seeded, seconds: float) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connections
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Card
    from stampcard.wallet import apple, passkit

    moment = timezone.now()
    before = passkit.tag_of(moment)
    refresh_seconds = change_program(seeded)
    with scopes_disabled():
        moved = Card.objects.filter(program_id=seeded.program_id, updated_at__gt=moment).count()
        working = list(
            Card.objects.select_related("program", "business", "customer").filter(
                pk__in=seeded.card_ids[:WORKING_SET]
            )
        )
        first = time.perf_counter()
        for card in working:
            apple.card_pass(card)  # the first fetch after the change builds and caches
        first_fetch = Rate("first fetch", len(working), time.perf_counter() - first)
        fetches = [
            (
                f"/passkit/v1/passes/{PASS_TYPE}/{card.code}",
                {"Authorization": f"ApplePass {passkit.authentication_token(card)}"},
                200,
            )
            for card in working
        ]
    lists: list[tuple[str, dict[str, str], int]] = [
        (
            f"/passkit/v1/devices/bench-device-{card_id}/registrations/{PASS_TYPE}"
            f"?passesUpdatedSince={before}",
            {},
            200,
        )
        for card_id in seeded.card_ids
    ]
    connections.close_all()  # none may cross the fork of the clients
    env = {
        **os.environ,
        "PYTHONPATH": f"{PROJECT_DIR / 'src'}:{PROJECT_DIR}",
        "SECRET_KEY": settings.SECRET_KEY,
        "STAMPCARD_DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "stampcard.settings",
    }
    django_app, django_port = start_gunicorn("stampcard.wsgi:application", env)
    bare_app, bare_port = start_gunicorn("bench.wallet_bare_app:app", env)
    results: dict[str, Rate] = {}
    # The floor under any Django view: the middleware stack answering /healthz.
    health: list[tuple[str, dict[str, str], int]] = [("/healthz", {}, 200)]
    try:
        for kind, requests in (("serials", lists), ("latest", fetches), ("healthz", health)):
            for side, port in (("django", django_port), ("bare", bare_port)):
                load(f"warm {side}", port, requests, 1)
            for side, port in (
                ("django", django_port),
                ("bare", bare_port),
                ("bare", bare_port),
                ("django", django_port),
            ):
                measured = load(f"{kind} {side}", port, requests, seconds / 4)
                key = f"{kind} {side}"
                if key in results:
                    merged = results[key]
                    total = merged.done + measured.done
                    results[key] = Rate(
                        key,
                        total,
                        merged.seconds + measured.seconds,
                        merged.errors + measured.errors,
                        max(merged.p50_ms, measured.p50_ms),
                        max(merged.p99_ms, measured.p99_ms),
                    )
                else:
                    results[key] = measured
    finally:
        for process in (django_app, bare_app):
            process.terminate()
            process.wait(30)
    return {
        "refresh_seconds": refresh_seconds,
        "moved": moved,
        "first_fetch": first_fetch,
        "rates": results,
    }


def profile_passkit(seeded: Seeded, calls: int) -> str:
    """The PassKit endpoints through Django's WSGI handler in this process: CPU per request
    and SQL round trips of each, then "serials updated since" and "latest pass" under
    cProfile (CPU clock)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django.utils.http import http_date
    from django_scopes import scopes_disabled

    from stampcard.loyalty.models import Card
    from stampcard.wallet import apple, passkit

    handler = WSGIHandler()
    before = passkit.tag_of(timezone.now()) - 3_600_000_000
    with scopes_disabled():
        cards = list(
            Card.objects.select_related("program", "business", "customer").filter(
                pk__in=seeded.card_ids[:50]
            )
        )
        for card in cards:
            apple.card_pass(card)
    pick = random.Random(7)  # picks requests, not secrets

    def request(method: str, path: str, query: str, headers: dict[str, str], expected: int):
        def one() -> None:
            environ = {
                "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
                "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
                "REMOTE_ADDR": "127.0.0.1", "wsgi.errors": sys.stderr, **headers,
            }  # fmt: skip
            statuses: list[str] = []

            def start(status: str, _headers: Any, *_rest: Any) -> Any:
                statuses.append(status)

            response = handler(environ, start)
            for chunk in response:
                del chunk
            response.close()
            if not statuses[0].startswith(str(expected)):
                raise SystemExit(f"profiled {method} {path} answered {statuses[0]}")

        return one

    def card_request(kind: str) -> Any:
        card = cards[pick.randrange(len(cards))]
        auth = {"HTTP_AUTHORIZATION": f"ApplePass {passkit.authentication_token(card)}"}
        if kind == "serials":
            return request(
                "GET", f"/passkit/v1/devices/bench-device-{card.pk}/registrations/{PASS_TYPE}",
                f"passesUpdatedSince={before}", {}, 200,
            )  # fmt: skip
        path = f"/passkit/v1/passes/{PASS_TYPE}/{card.code}"
        if kind == "latest":
            return request("GET", path, "", auth, 200)
        if kind == "304":
            since = {"HTTP_IF_MODIFIED_SINCE": http_date(passkit.last_modified(card.updated_at))}
            return request("GET", path, "", {**auth, **since}, 304)
        return request("GET", "/healthz", "", {}, 200)

    lines = []
    profiles = []
    for kind in ("serials", "latest", "304", "healthz"):
        for _ in range(20):
            card_request(kind)()
        with CaptureQueriesContext(connection) as captured:
            card_request(kind)()
        queries = len(captured.captured_queries)
        work = [card_request(kind) for _ in range(calls)]
        started = time.process_time()
        for one in work:
            one()
        cpu_us = (time.process_time() - started) / calls * 1e6
        lines.append(f"| {kind} | {cpu_us:,.0f} | {queries} |")
        if kind in ("serials", "latest"):
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for one in work:
                one()
            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("cumulative").print_stats(22)
            stats.sort_stats("tottime").print_stats(12)
            top = "\n".join(
                line.replace(str(PROJECT_DIR) + "/", "")
                for line in text.getvalue().splitlines()
                if line.strip()
            )
            profiles.append(f'"{kind}", {calls} requests:\n\n```\n{top}\n```\n')
    return "\n".join(
        [
            f"In-process through Django's WSGI handler, no server, {calls} requests each"
            " (the door's read and the serials' statement go through the prepared hot-path"
            " cursor, which Django's query log does not see: one statement each, as"
            " tests/wallet/test_passkit_matrix.py checks):",
            "",
            "| request | µs CPU each | ORM queries |",
            "| --- | ---: | ---: |",
            *lines,
            "",
            *profiles,
        ]
    )


# --- 3. pushes -----------------------------------------------------------------------------


def measure_pushes(seeded: Seeded, delay: float) -> dict[str, Any]:
    from django.conf import settings
    from django_scopes import scope, scopes_disabled

    from bench.wallet_apns_stand_in import StandInProcess
    from stampcard.outbox.dispatch import deliver
    from stampcard.outbox.models import MessageStatus, OutboxMessage
    from stampcard.tenancy.models import Business
    from stampcard.wallet import apns, changes

    stand_in = StandInProcess(delay, max_streams=APNS_STREAMS)
    url = stand_in.start()
    settings.APNS_ENABLED = True
    settings.APNS_URL = url
    settings.APNS_KEY_FILE = ""  # certificate auth, with the development chain
    settings.WALLET_PUSH_DEBOUNCE_SECONDS = 0
    apns.reset_client()
    try:
        client = apns.client()
        client.send("bench-warm-up")
        one_by_one = _loop("one by one", 2.0, lambda: client.send("bench-one-by-one"))
        change_program(seeded)
        with scopes_disabled():
            (message,) = OutboxMessage.objects.filter(
                topic=changes.APPLE_PUSH, status=MessageStatus.PENDING
            )
            business = Business.objects.get(pk=seeded.business_id)
        stand_in_before = stand_in.cpu_seconds()
        started = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        with scope(business=business):
            status = deliver(message.pk)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_seconds = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        stand_in_seconds = stand_in.cpu_seconds() - stand_in_before
    finally:
        apns.reset_client()
        answered = stand_in.stop()
        settings.APNS_ENABLED = False
    pushed = answered - one_by_one.done - 1
    return {
        "batch": Rate(
            "program change", pushed, elapsed, 0 if status == MessageStatus.DELIVERED else 1
        ),
        "one_by_one": one_by_one,
        "registrations": len(seeded.card_ids),
        "delay": delay,
        "cpu_seconds": cpu_seconds,
        "stand_in_cpu_seconds": stand_in_seconds,
    }


# --- report --------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def render(
    *,
    cards: int,
    build: tuple[Rate, Rate],
    passkit_figures: dict[str, Any],
    pushes: dict[str, Any],
    load_average: str,
    seconds: float,
    started: str,
    context: dict[str, str],
    profile: str,
) -> str:
    built, bare = build
    build_ratio = built.per_second / bare.per_second
    rates: dict[str, Rate] = passkit_figures["rates"]
    lines = [
        START_MARK,
        "## Apple Wallet (bench/wallet_bench.py)",
        "",
        f"Run {started}, {cards:,} cards each with a registered pass, {seconds:g} s per"
        f" measurement split in turns; load average at the start: {load_average} (other"
        " work shares this machine: figures are ratios measured side by side).",
        "",
        *(f"- {name}: {value}" for name, value in context.items()),
        "",
        "| what | measured | baseline (same run) | ratio | target |",
        "| --- | --- | --- | --- | --- |",
        f"| build and sign a card pass (`apple.build_pass`) | {built.per_second:,.0f}/s"
        f" ({1000 / built.per_second:.2f} ms) | bare zip + manifest + signature"
        f" {bare.per_second:,.0f}/s ({1000 / bare.per_second:.2f} ms) | **{build_ratio:.2f}**"
        f" | ≥ {TARGET_RATIO} {_met(build_ratio >= TARGET_RATIO)} |",
    ]
    for kind, label in (
        ("serials", '"serials updated since"'),
        ("latest", '"latest pass" (cached)'),
    ):
        mine, base = rates[f"{kind} django"], rates[f"{kind} bare"]
        ratio = mine.per_second / base.per_second if base.per_second else 0.0
        lines.append(
            f"| {label}, {CLIENTS} clients, gunicorn {' '.join(GUNICORN)} |"
            f" {mine.per_second:,.0f}/s, p50 {mine.p50_ms:.1f} ms, p99 {mine.p99_ms:.1f} ms,"
            f" {mine.errors} errors | bare psycopg WSGI {base.per_second:,.0f}/s, p50"
            f" {base.p50_ms:.1f} ms, p99 {base.p99_ms:.1f} ms | **{ratio:.2f}** |"
            f" ≥ {TARGET_RATIO} {_met(ratio >= TARGET_RATIO)} |"
        )
    floor, floor_bare = rates["healthz django"], rates["healthz bare"]
    lines.append(
        f"| for scale: Django's `/healthz` (the middleware stack, no query), same clients |"
        f" {floor.per_second:,.0f}/s, p99 {floor.p99_ms:.1f} ms | bare app's `/healthz`"
        f" {floor_bare.per_second:,.0f}/s | {floor.per_second / floor_bare.per_second:.2f} | |"
    )
    batch: Rate = pushes["batch"]
    single: Rate = pushes["one_by_one"]
    lines.append(
        f"| program change pushed to {pushes['registrations']:,} registrations, one worker"
        f" (stand-in answers after {pushes['delay'] * 1000:.0f} ms) | {batch.done:,} pushes in"
        f" {batch.seconds:.2f} s = **{batch.per_second:,.0f}/s** | waiting for each answer"
        f" {single.per_second:,.1f}/s | {batch.per_second / single.per_second:,.0f} times |"
        f" ≥ {TARGET_PUSHES:,.0f}/s {_met(batch.per_second >= TARGET_PUSHES)} |"
    )
    first: Rate = passkit_figures["first_fetch"]
    cpu_us = pushes["cpu_seconds"] / max(batch.done, 1) * 1_000_000
    stand_in_us = pushes["stand_in_cpu_seconds"] / max(batch.done, 1) * 1_000_000
    lines += [
        "",
        f"- Where the pushes' time goes: the pushing worker (reading the batch, HTTP/2 client,"
        f" recording the sends) used {pushes['cpu_seconds']:.2f} s of CPU for {batch.done:,}"
        f" pushes, **{cpu_us:,.0f} µs each** ({1_000_000 / cpu_us:,.0f}/s for a core of its"
        f" own); the stand-in (pure-Python h2 server) {pushes['stand_in_cpu_seconds']:.2f} s,"
        f" **{stand_in_us:,.0f} µs each**. Both run on the same two cores as everything else;"
        " against Apple only the worker's share is ours.",
        f"- The program change itself: the save writes one outbox message; its consumer moved"
        f" `updated_at` of {passkit_figures['moved']:,} cards and owed their pushes in"
        f" {passkit_figures['refresh_seconds'] * 1000:,.0f} ms (two set-based UPDATEs).",
        f"- First fetch of a pass after the change (built, signed, cached):"
        f" {first.per_second:,.0f}/s in one process ({1000 / first.per_second:.1f} ms each);"
        f' "latest pass" above then serves {WORKING_SET} passes from the cache, as for a second'
        " device or a retried download.",
        '- "serials updated since": every client is a device of its own asking with the tag it'
        " had before the change; each answer lists its one card.",
        "- How to read the PassKit rows: the `/healthz` row is Django's floor on this machine"
        " (WSGI handler, URL resolution, the machine requests' short chain of security headers,"
        " language and door, no query); the endpoints do more, so their ratio to the bare app"
        " falls under it unless the machine's load moves between the turns.",
        "",
        profile,
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str, output: Path) -> None:
    """Replace the wallet section of ``output`` (or add it at the end)."""
    text = output.read_text() if output.exists() else ""
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        _old, tail = rest.split(END_MARK, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    output.write_text(text)


CARDS = 10_000
SECONDS = 8.0
APNS_DELAY = 0.04  # a round trip to Apple from far away
PROFILE_CALLS = 300
# The streams the stand-in allows at once on a connection, as APNs announces in its SETTINGS
# (commonly reported as 1,000 once a connection is trusted); the client opens no more than
# APNS_CONCURRENCY (100) of them on each of its connections.
APNS_STREAMS = 1000


def run(*, cards: int = CARDS, seconds: float = SECONDS, apns_delay: float = APNS_DELAY) -> str:
    """Everything above, on an already set-up Django; the section for RESULTS.md."""
    from django.conf import settings

    from bench.run import code_state, machine_context

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    context = machine_context(code_state())
    load_average = " ".join(f"{value:.1f}" for value in os.getloadavg())
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="stampcard-wallet-bench-"))
    print(f"Wallet: seeding {cards:,} cards with registrations …", flush=True)
    seeded = seed(cards)
    print("Wallet: building passes …", flush=True)
    build = measure_build(seeded, seconds)
    print(f"  build {build[0].per_second:,.0f}/s, bare {build[1].per_second:,.0f}/s", flush=True)
    print("Wallet: PassKit after a program change …", flush=True)
    passkit_figures = measure_passkit(seeded, seconds * 2)
    for rate in passkit_figures["rates"].values():
        print(
            f"  {rate.name}: {rate.per_second:,.0f}/s, p99 {rate.p99_ms:.1f} ms,"
            f" {rate.errors} errors"
        )
    print("Wallet: profiling the PassKit endpoints …", flush=True)
    profile = profile_passkit(seeded, PROFILE_CALLS)
    print("Wallet: pushes …", flush=True)
    pushes = measure_pushes(seeded, apns_delay)
    print(
        f"  {pushes['batch'].done:,} pushes, {pushes['batch'].per_second:,.0f}/s;"
        f" one by one {pushes['one_by_one'].per_second:,.1f}/s",
        flush=True,
    )
    return render(
        cards=cards,
        build=build,
        passkit_figures=passkit_figures,
        pushes=pushes,
        load_average=load_average,
        seconds=seconds,
        started=started,
        context=context,
        profile=profile,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cards", type=int, default=CARDS)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="per measurement")
    parser.add_argument("--apns-delay", type=float, default=APNS_DELAY, help="APNs stand-in delay")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--only",
        choices=("build", "profile", "pushes"),
        help="run one part and print it, writing nothing (for a quick look while tuning)",
    )
    parser.add_argument("--calls", type=int, default=PROFILE_CALLS, help="profiled requests")
    args = parser.parse_args(argv)
    from bench.run import setup_django

    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("bench needs PostgreSQL: run it inside scripts/with-services.sh")
    call_command("migrate", interactive=False, verbosity=0)
    if args.only:
        settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="stampcard-wallet-bench-"))
        seeded = seed(args.cards)
        if args.only == "build":
            print(build_only(seeded, args.seconds, args.calls))
        elif args.only == "profile":
            print(profile_passkit(seeded, args.calls))
        else:
            print(measure_pushes(seeded, args.apns_delay))
        return
    section = run(cards=args.cards, seconds=args.seconds, apns_delay=args.apns_delay)
    write_section(section, args.output)
    print(f"\nWrote the wallet section of {args.output}")


if __name__ == "__main__":
    main()
