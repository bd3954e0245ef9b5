"""Serving a WSGI app for a benchmark: gunicorn on a free loopback port, as the README runs it."""

import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_gunicorn(
    app: str, env: dict[str, str], options: list[str]
) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn serving ``app`` with ``options``, once it accepts connections; and its port."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
        [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}", app],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn serving {app} did not start")
