"""The baseline for the scan benchmark: a bare psycopg WSGI app answering an Autopilot stamp
(``POST /device/scan``, ``action`` "stamp") with the same SQL as ``counter.scan``, and no Django.

Per request, as the Django path runs it on PostgreSQL: the device found by its token's hash
(compared in constant time, refused when revoked), then in one transaction the nonce's
idempotency row looked up, the card read and locked (``loyalty.services.card_state`` 's
statement: inside the scan's transaction ``add_stamps`` takes its locked path), the
stamp written (``loyalty.services.stamping`` 's one statement: card counters, ledger row,
outbox message), the answer's three reads (card with customer and program, last ledger row,
ready rewards), the answer kept under the nonce, commit; then the same JSON answer.

Run by gunicorn exactly like the Django app (``bench.scan_bench``); configured by the
environment: ``DATABASE_URL`` and ``SCAN_BARE_SQL`` (a JSON object with the project's own
``read_card`` and ``stamp`` statements, so the two sides cannot drift apart).
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
_SQL: dict[str, str] = json.loads(os.environ.get("SCAN_BARE_SQL", "{}"))

DEVICE_SQL = (
    "SELECT d.id, d.business_id, d.location_id, d.token_hash, d.revoked_at"
    " FROM tenancy_device d JOIN tenancy_business b ON b.id = d.business_id"
    " LEFT JOIN tenancy_location l ON l.id = d.location_id"
    " WHERE d.token_hash = %s ORDER BY d.id LIMIT 1"
)
KEY_SQL = (
    "SELECT operation, fingerprint, outcome FROM idempotency_idempotencykey"
    " WHERE business_id = %s AND key = %s"
)
ANSWER_CARD_SQL = (
    "SELECT c.id, c.code, c.stamps, cu.name, cu.email, cu.phone, p.name, p.stamps_goal,"
    " p.max_stamps_per_visit FROM loyalty_card c"
    " JOIN loyalty_customer cu ON cu.id = c.customer_id"
    " JOIN loyalty_program p ON p.id = c.program_id"
    " WHERE c.business_id = %s AND c.code = %s ORDER BY c.id LIMIT 1"
)
LAST_EVENT_SQL = (
    "SELECT id, kind, delta, actor_kind, actor_user_id, actor_device_id, created_at"
    " FROM loyalty_stampevent WHERE business_id = %s AND card_id = %s ORDER BY 1 DESC LIMIT 1"
)
READY_SQL = (
    "SELECT r.id, m.reward_title FROM loyalty_reward r"
    " LEFT JOIN loyalty_milestone m ON m.id = r.milestone_id"
    " WHERE r.business_id = %s AND r.card_id = %s AND r.status = 'ready' ORDER BY 1"
)
INSERT_KEY_SQL = (
    "INSERT INTO idempotency_idempotencykey"
    " (business_id, key, operation, fingerprint, outcome, created_at)"
    " VALUES (%s, %s, 'counter.stamp', %s, %s, %s)"
    " ON CONFLICT (business_id, key) DO NOTHING RETURNING id"
)


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
        device = cursor.execute(DEVICE_SQL, [token_hash]).fetchone()
        if device is None or not hmac.compare_digest(token_hash, device[3]) or device[4]:
            return _reply(start, "401 Unauthorized", {"ok": False})
        device_id, business_id, location_id = device[0], device[1], device[2]
        key = f"scan:device:{device_id}:{scan['nonce']}"
        fingerprint = hashlib.sha256(raw).hexdigest()
        with db.transaction():
            if cursor.execute(KEY_SQL, [business_id, key]).fetchone() is not None:
                return _reply(start, "409 Conflict", {"ok": False})
            card = cursor.execute(_SQL["read_card"], [scan["code"], business_id]).fetchone()
            if card is None:
                return _reply(start, "404 Not Found", {"ok": False})
            card_id, version, stamps, goal = card[0], card[3], card[4], card[11]
            now = datetime.now(UTC)
            cycles, after = divmod(stamps + 1, goal)
            cursor.execute(
                _SQL["stamp"],
                [after, 1, cycles, now, now.date(), 1, now, card_id, business_id, version,
                 business_id, now, now,
                 business_id, card_id, "stamp", 1, "autopilot", None, "device", None, device_id,
                 location_id, after, now],
            )  # fmt: skip
            event = cursor.fetchone()
            shown: Any = cursor.execute(ANSWER_CARD_SQL, [business_id, scan["code"]]).fetchone()
            last = cursor.execute(LAST_EVENT_SQL, [business_id, card_id]).fetchone()
            ready = cursor.execute(READY_SQL, [business_id, card_id]).fetchall()
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
                    "rewards_ready": [{"id": r[0], "title": r[1]} for r in ready],
                    "last_event": last[0] if last else 0,
                    "last_stamp": {"event_id": last[0], "added": last[2], "seconds_ago": 0,
                                   "by_you": last[5] == device_id} if last else None,
                },
                "voucher": None,
                "nonce": scan["nonce"],
                "scanned_at": scan["scanned_at"],
            }  # fmt: skip
            body = json.dumps(answer)
            cursor.execute(INSERT_KEY_SQL, [business_id, key, fingerprint, body, now])
    data = body.encode()
    start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
