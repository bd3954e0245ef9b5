"""The baseline for the scan benchmark: a bare psycopg WSGI app answering an Autopilot stamp
(``POST /device/scan``, ``action`` "stamp") with the same SQL as ``counter.scan``, and no Django.

Per request, as the Django path runs it on PostgreSQL: the device found by its token's hash
(``tenancy.services.find_device`` 's statement: the device with its business and location;
compared in constant time, refused when revoked), then in one transaction the nonce's
idempotency key claimed, the card read and locked (``loyalty.services.card_state`` 's
statement: inside the scan's transaction ``add_stamps`` takes its locked path), the stamp
written (``loyalty.services.stamping`` 's one statement: card counters, ledger row, outbox
message), what the screen shows (``counter.cards.card_answer`` 's one statement), the answer
kept under the nonce, commit; then the same JSON answer. Each statement is prepared once per
connection, as the Django path sends them (``stampcard.hot_path``).

Run by gunicorn exactly like the Django app (``bench.scan_bench``); configured by the
environment: ``DATABASE_URL`` and ``SCAN_BARE_SQL`` (a JSON object with the project's own
statements, so the two sides cannot drift apart).
"""

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import psycopg

_local = threading.local()
_SQL: dict[str, Any] = json.loads(os.environ.get("SCAN_BARE_SQL", "{}"))
_DEVICE: dict[str, int] = _SQL.get("device_columns", {})


def _connection() -> psycopg.Connection[Any]:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        _local.connection = connection
    return connection


def _reply(start: Callable[..., Any], status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") != "/device/scan" or environ.get("REQUEST_METHOD") != "POST":
        return _reply(start, "404 Not Found", {"ok": False})
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if scheme.lower() != "device" or not token or length > 4096:
        return _reply(start, "401 Unauthorized", {"ok": False})
    raw = environ["wsgi.input"].read(length)
    scan = json.loads(raw)
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    db = _connection()
    with db.cursor() as cursor:
        device = cursor.execute(_SQL["find_device"], [token_hash], prepare=True).fetchone()
        if (
            device is None
            or not hmac.compare_digest(token_hash, device[_DEVICE["token_hash"]])
            or device[_DEVICE["revoked_at"]]
        ):
            return _reply(start, "401 Unauthorized", {"ok": False})
        device_id = device[_DEVICE["id"]]
        business_id = device[_DEVICE["business_id"]]
        location_id = device[_DEVICE["location_id"]]
        key = f"scan:device:{device_id}:{scan['nonce']}"
        fingerprint = hashlib.sha256(raw).hexdigest()
        body = None
        with db.transaction():
            claim = _SQL["idempotency_claim"]
            claimed = cursor.execute(
                claim, [business_id, key, "counter.stamp", fingerprint, datetime.now(UTC)],
                prepare=True,
            ).fetchone()  # fmt: skip
            if claimed is None:
                return _reply(start, "409 Conflict", {"ok": False})
            card = cursor.execute(
                _SQL["read_card"], [scan["code"], business_id], prepare=True
            ).fetchone()
            if card is None:
                raise psycopg.Rollback()  # the claimed key goes with it, as in counter.scan
            card_id, version, stamps, goal = card[0], card[3], card[4], card[11]
            now = datetime.now(UTC)
            cycles, after = divmod(stamps + 1, goal)
            cursor.execute(
                _SQL["stamp"],
                [after, 1, cycles, now, now.date(), 1, now, card_id, business_id, version,
                 business_id, now, now,
                 business_id, card_id, "stamp", 1, "autopilot", None, "device", None, device_id,
                 location_id, after, now],
                prepare=True,
            )  # fmt: skip
            event = cursor.fetchone()
            code = scan["code"]
            rows = cursor.execute(
                _SQL["card_answer"], [code, business_id, code, business_id],
                prepare=True,
            ).fetchall()  # fmt: skip
            shown = rows[0]
            answer = {
                "ok": event is not None,
                "outcome": "stamped" if event is not None else "refused",
                "kind": "card",
                "refusal": None,
                "message": "1 stamp added.",
                "card": {
                    "code": shown[1], "customer": shown[3], "email": shown[4],
                    "phone": shown[5], "program": shown[6], "stamps": shown[2],
                    "goal": shown[7], "max_per_visit": shown[8],
                    "rewards_ready": [
                        {"id": r[17], "title": r[18] or shown[9]} for r in rows if r[17]
                    ],
                    "last_event": shown[10] or 0,
                    "last_stamp": {"event_id": shown[10], "added": shown[12], "seconds_ago": 0,
                                   "by_you": shown[15] == device_id} if shown[10] else None,
                },
                "voucher": None,
                "nonce": scan["nonce"],
                "scanned_at": scan["scanned_at"],
            }  # fmt: skip
            body = json.dumps(answer)
            cursor.execute(
                _SQL["idempotency_keep"],
                [body, business_id, key],
                prepare=True,
            )
    if body is None:
        return _reply(start, "404 Not Found", {"ok": False})
    data = body.encode()
    start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
