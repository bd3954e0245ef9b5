"""The baseline for the PassKit benchmark: a bare psycopg WSGI app answering the same two
requests as ``wallet.passkit_views`` with the same SQL, and no Django.

- ``GET /passkit/v1/devices/<device>/registrations/<type>?passesUpdatedSince=<tag>``: the
  serials of the device's passes changed since the tag (cards and vouchers, the two queries
  the view runs), as the same JSON;
- ``GET /passkit/v1/passes/<type>/<serial>``: the card found by its code, the
  ``ApplePass`` token checked as the view checks it, and the signed pass read from the same
  on-disk cache the Django view fills (``wallet.apple.card_pass``).

Run by gunicorn exactly like the Django app (``bench.wallet_bench``); configured by the
environment: ``DATABASE_URL``, ``STAMPCARD_DATA_DIR``.
"""

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import psycopg

SETTLE_US = 2_000_000
_SALT = "stampcard.wallet.passkit.authentication_token"
_local = threading.local()

CARDS_SQL = (
    "SELECT c.code, c.updated_at FROM wallet_passregistration r"
    " JOIN loyalty_card c ON c.id = r.card_id"
    " WHERE r.device_library_id = %s AND r.pass_type_id = %s AND r.card_id IS NOT NULL"
)
VOUCHERS_SQL = (
    "SELECT r.voucher_id, COALESCE(r.pass_changed_at, v.created_at)"
    " FROM wallet_passregistration r JOIN vouchers_voucher v ON v.id = r.voucher_id"
    " WHERE r.device_library_id = %s AND r.pass_type_id = %s AND r.voucher_id IS NOT NULL"
)
CARD_SQL = "SELECT id, token FROM loyalty_card WHERE code = %s"


def _connection() -> psycopg.Connection[Any]:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        _local.connection = connection
    return connection


def _token(card_id: int, token: str) -> str:
    # As wallet.passkit.authentication_token derives it.
    return hashlib.sha256(f"{_SALT}:card:{card_id}:{token}".encode()).hexdigest()


def _tag(moment: Any) -> int:
    return int(moment.timestamp() * 1_000_000)


def serials(device: str, pass_type: str, since: int | None) -> tuple[str, bytes]:
    with _connection().cursor() as cursor:
        rows = [
            (code, _tag(moment)) for code, moment in cursor.execute(CARDS_SQL, (device, pass_type))
        ]
        rows += [
            (f"v{voucher_id}", _tag(moment))
            for voucher_id, moment in cursor.execute(VOUCHERS_SQL, (device, pass_type))
        ]
    if since is not None:
        rows = [(serial, tag) for serial, tag in rows if tag > since]
    if not rows:
        return "204 No Content", b""
    settled = int(time.time() * 1_000_000) - SETTLE_US
    tag = max(min(max(tag for _serial, tag in rows), settled), since or 0)
    body = {"serialNumbers": sorted({serial for serial, _tag in rows}), "lastUpdated": str(tag)}
    return "200 OK", json.dumps(body).encode()


def latest_pass(serial: str, authorization: str) -> tuple[str, bytes]:
    scheme, _, presented = authorization.partition(" ")
    with _connection().cursor() as cursor:
        row = cursor.execute(CARD_SQL, (serial,)).fetchone()
    if row is None or scheme.lower() != "applepass":
        return "401 Unauthorized", b""
    card_id, token = row
    if not hmac.compare_digest(_token(card_id, token), presented.strip()):
        return "401 Unauthorized", b""
    folder = Path(os.environ["STAMPCARD_DATA_DIR"]) / "cache" / "passes" / str(card_id)
    for path in folder.glob("*.pkpass"):
        return "200 OK", path.read_bytes()
    return "404 Not Found", b""


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    parts = environ["PATH_INFO"].strip("/").split("/")
    if parts[:3] == ["passkit", "v1", "devices"] and len(parts) == 6:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        since = query.get("passesUpdatedSince", [""])[0]
        status, body = serials(parts[3], parts[5], int(since) if since.isdigit() else None)
        kind = "application/json"
    elif parts[:3] == ["passkit", "v1", "passes"] and len(parts) == 5:
        status, body = latest_pass(parts[4], environ.get("HTTP_AUTHORIZATION", ""))
        kind = "application/vnd.apple.pkpass"
    elif parts == ["healthz"]:
        status, body, kind = "200 OK", b"ok", "text/plain"
    else:
        status, body, kind = "404 Not Found", b"", "text/plain"
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
