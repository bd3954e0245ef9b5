"""CPU per scan, counted in instructions: the Django path against the bare psycopg app.

Wall-clock throughput on a shared machine is noise; the instructions a worker executes per
scan are not. Alone, inside the throwaway services:
``scripts/with-services.sh .venv/bin/python -m bench.scan_instructions`` (``--scans``,
``--cards``; ``--src`` measures another checkout's code; ``--seeded`` reuses a database
seeded by an earlier run). It seeds the scan bench's business (``bench.scan_bench.seed``),
then for each side starts one process under ``valgrind --tool=callgrind`` that warms up
(connection, prepared statements, imports) and then posts ``--scans`` Autopilot stamps
in-process, through the server's WSGI handler (``stampcard.wsgi``'s
``MachineRequestsHandler``) or through ``bench.scan_bare_app``, as ``bench.scan_bench``
profiles them. Only the scans are counted: valgrind starts without instrumenting
(``--instr-atstart=no``, so Python and Django start at a few times their speed), and the
loop switches callgrind's instrumentation on and off around itself (its client requests,
from a few lines of C compiled with ``cc`` on the fly). PostgreSQL's work is in its own
processes and not counted, as the bench's worker CPU does not count it; neither is the
server's (gunicorn's) own work per request, the same on both sides. Prints instructions per
scan for both sides and their ratio, and the CPU time per scan of the same loop without
valgrind (as noisy as the machine).
"""

import argparse
import ctypes
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
DJANGO, BARE = "django", "bare"
WARM_UP = 30


def _environ(body: bytes, token: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/device/scan", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Device {token}", "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1", "wsgi.errors": sys.stderr,
    }  # fmt: skip


def _app(side: str) -> Callable[..., Iterable[bytes]]:
    if side == BARE:
        from bench.scan_bare_app import app

        return app
    os.environ["SELF_SERVICE_MIN_COOLDOWN_SECONDS"] = "0"
    from stampcard.wsgi import application

    return application


def measure(side: str, scans: int, seeded: dict[str, Any], *, counted: bool) -> float:
    """Post ``scans`` stamps after a warm-up; the CPU seconds per scan of the loop."""
    app = _app(side)
    pick = random.Random(7)
    codes, token = seeded["codes"], seeded["tokens"][0]

    def one() -> None:
        body = json.dumps(
            {"code": codes[pick.randrange(len(codes))], "nonce": uuid.uuid4().hex,
             "scanned_at": datetime.now(UTC).isoformat(), "action": "stamp"}
        ).encode()  # fmt: skip
        statuses: list[str] = []

        def start(status: str, headers: Any, *rest: Any) -> Any:
            statuses.append(status)

        for chunk in app(_environ(body, token), start):
            del chunk
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{side} scan answered {statuses[0]}")

    for _ in range(WARM_UP):
        one()

    requests = ctypes.CDLL(os.environ["SCAN_CALLGRIND_LIB"]) if counted else None
    if requests is not None:
        requests.counting_on()
    try:
        started = time.process_time()
        for _ in range(scans):
            one()
        took = time.process_time() - started
    finally:
        if requests is not None:
            requests.counting_off()
    return took / scans


def _seed(cards: int) -> dict[str, Any]:
    from bench.run import setup_django

    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("needs PostgreSQL: run it inside scripts/with-services.sh")
    call_command("migrate", interactive=False, verbosity=0)
    from bench.scan_bench import _environment, seed

    seeded = seed(cards)
    return {
        "codes": seeded.codes,
        "tokens": seeded.tokens[:1],
        "env": _environment(),
    }


_CLIENT_REQUESTS = """
#include <valgrind/callgrind.h>
void counting_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void counting_off(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


def _client_requests(at: Path) -> Path:
    source, lib = at / "counting.c", at / "counting.so"
    source.write_text(_CLIENT_REQUESTS)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(lib), str(source)], check=True)  # noqa: S603, S607
    return lib


def _callgrind(side: str, scans: int, seeded_file: Path, env: dict[str, str]) -> int:
    at = Path(tempfile.mkdtemp(prefix="stampcard-scan-instructions-"))
    out = at / "callgrind.out"
    env = {**env, "SCAN_CALLGRIND_LIB": str(_client_requests(at))}
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--instr-atstart=no",
        sys.executable, "-m", "bench.scan_instructions",
        "--side", side, "--scans", str(scans), "--seeded", str(seeded_file), "--counted",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"{side} under callgrind failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    total = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
    if total is None:
        raise SystemExit(f"no totals in {out}")
    return int(total.group(1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--cards", type=int, default=2_000)
    parser.add_argument("--side", choices=(DJANGO, BARE), help="one side, in this process")
    parser.add_argument(
        "--seeded", type=Path, help="reuse what an earlier run seeded in this database (its file)"
    )
    parser.add_argument(
        "--src", type=Path, default=PROJECT_DIR / "src", help="the code to measure (its src)"
    )
    parser.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        seeded = json.loads(args.seeded.read_text())
        per_scan = measure(args.side, args.scans, seeded, counted=args.counted)
        print(f"{args.side}: {per_scan * 1e6:,.0f} µs CPU per scan", flush=True)
        return
    if args.seeded is None:
        seeded = _seed(args.cards)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(seeded, file)
        args.seeded = Path(file.name)
        print(f"seeded: {args.seeded}", flush=True)
    seeded_file = args.seeded
    env = {
        **json.loads(seeded_file.read_text())["env"],
        "DJANGO_SETTINGS_MODULE": "stampcard.settings",
        # This checkout's code, also where the virtualenv is another checkout's.
        "PYTHONPATH": f"{args.src.resolve()}:{PROJECT_DIR}",
    }
    cpu: dict[str, float] = {}
    for side in (DJANGO, BARE):
        command = [sys.executable, "-m", "bench.scan_instructions", "--side", side,
                   "--scans", str(args.scans), "--seeded", str(seeded_file)]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
        took = float(done.stdout.split(":")[1].split()[0].replace(",", ""))
        cpu[side] = min(cpu.get(side, took), took)
    counts = {side: _callgrind(side, args.scans, seeded_file, env) / args.scans
              for side in (DJANGO, BARE)}  # fmt: skip
    print(f"{args.scans} scans per side, after {WARM_UP} to warm up")
    for side in (DJANGO, BARE):
        print(f"  {side:6} {counts[side]:>12,.0f} instructions/scan  "
              f"{cpu[side]:>7,.0f} µs CPU/scan (no valgrind)")  # fmt: skip
    print(f"  django / bare: {counts[DJANGO] / counts[BARE]:.3f} x instructions, "
          f"{cpu[DJANGO] / cpu[BARE]:.2f} x CPU")  # fmt: skip


if __name__ == "__main__":
    main()
