"""APNs pushes that tell devices a pass changed (wallet.md B2).

One HTTP/2 client per process, reused: Apple counts rapid connect/disconnect as abuse, and
HTTP/2 carries many pushes at once as streams of one connection (up to ``APNS_CONCURRENCY``
in flight; a sender that waits for each answer manages one push per round trip). The
connection (``wallet.apns_http2``) lives on an event loop in a thread of its own, so any
thread can send. Auth is either a token (``APNS_KEY_FILE``, an ES256 JWT reused for
``APNS_TOKEN_REFRESH_SECONDS``) or TLS client auth with the pass certificate and key
(``wallet.signing``).

The request is Wallet's: ``POST /3/device/<token>``, ``apns-topic`` = the pass type id, body
``{}``. No ``apns-push-type`` header: Apple documents none for passes and the header's
``background`` type asks for ``content-available``, which a pass push does not carry.
"""

import asyncio
import json
import logging
import ssl
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import jwt
from django.conf import settings

from stampcard.wallet import signing
from stampcard.wallet.apns_http2 import ConnectionLost, Http2Connection

log = logging.getLogger(__name__)
T = TypeVar("T")


class Outcome(StrEnum):
    OK = "ok"
    UNREGISTERED = "unregistered"  # 410: the device no longer wants pushes for this pass
    RETRY = "retry"  # 429, 5xx, an expired token or a broken connection: try again later
    BAD = "bad"  # any other refusal: a bad token or a configuration mismatch, not retried


@dataclass(frozen=True, slots=True)
class Result:
    token: str
    outcome: Outcome
    status: int | None = None
    reason: str = ""
    # For 410: when Apple last knew the token valid.
    timestamp: datetime | None = None


class ProviderToken:
    """The ES256 JWT for token auth, made once and reused until it is due for renewal."""

    def __init__(self, *, key_file: str, key_id: str, team_id: str, refresh_seconds: int) -> None:
        self._key = Path(key_file).read_bytes()
        self._key_id = key_id
        self._team_id = team_id
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._token = ""
        self._issued_at = 0.0

    def get(self) -> str:
        with self._lock:
            now = time.time()
            if not self._token or now - self._issued_at >= self._refresh_seconds:
                self._issued_at = now
                self._token = jwt.encode(
                    {"iss": self._team_id, "iat": int(now)},
                    self._key,
                    algorithm="ES256",
                    headers={"kid": self._key_id},
                )
            return self._token

    def expire(self, token: str) -> None:
        """Drop ``token`` (Apple called it expired), unless another thread already renewed it."""
        with self._lock:
            if self._token == token:
                self._token = ""


class ApnsClient:
    def __init__(
        self,
        *,
        base_url: str,
        topic: str,
        provider_token: ProviderToken | None = None,
        verify: ssl.SSLContext | bool = True,
        timeout: float = 10.0,
        concurrency: int = 20,
    ) -> None:
        self.topic = topic
        self.provider_token = provider_token
        self.concurrency = max(1, concurrency)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else None
        if verify is False:
            raise ValueError("APNs is always reached with its certificate checked")
        self._connection: Http2Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self.connections = 0  # opened so far
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apns", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._connection is not None:
            self._run(self._connection.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def send(self, push_token: str, topic: str | None = None) -> Result:
        return self._run(self._send(push_token, topic or self.topic))

    def send_many(self, push_tokens: Sequence[str], topic: str | None = None) -> list[Result]:
        """Push to every token at once, up to ``concurrency`` concurrent streams of the one
        connection; the results in the order of the tokens, each token once."""
        tokens = list(dict.fromkeys(push_tokens))
        if not tokens:
            return []
        # Until one request succeeds, Apple allows one stream on a token-auth connection.
        first = self.send(tokens[0], topic)
        if len(tokens) == 1:
            return [first]
        return [first, *self._run(self._send_all(tokens[1:], topic or self.topic))]

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    async def _send_all(self, tokens: list[str], topic: str) -> list[Result]:
        streams = asyncio.Semaphore(self.concurrency)

        async def one(token: str) -> Result:
            async with streams:
                return await self._send(token, topic)

        return list(await asyncio.gather(*(one(token) for token in tokens)))

    async def _send(self, push_token: str, topic: str) -> Result:
        headers = [("apns-topic", topic)]
        bearer = self.provider_token.get() if self.provider_token else ""
        if bearer:
            headers.append(("authorization", f"bearer {bearer}"))
        try:
            connection = await self._connection_open()
            status, body = await asyncio.wait_for(
                connection.post(f"/3/device/{push_token}", headers, b"{}"), self.timeout
            )
        except (ConnectionLost, OSError, TimeoutError) as exc:
            return Result(push_token, Outcome.RETRY, reason=f"{type(exc).__name__}: {exc}")
        return self._result(push_token, status, body, bearer)

    async def _connection_open(self) -> Http2Connection:
        """The open connection, or a new one if there is none (only one opens at a time)."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._connection is None or self._connection.closed:
                self._connection = await Http2Connection.open(
                    self.base_url, ssl_context=self._ssl, timeout=self.timeout
                )
                self.connections += 1
            return self._connection

    def _result(self, push_token: str, status: int, body: bytes, bearer: str) -> Result:
        if status == 200:
            return Result(push_token, Outcome.OK, status)
        reason, timestamp = _reason(body)
        if status == 410:
            return Result(push_token, Outcome.UNREGISTERED, status, reason, timestamp)
        if status == 403 and reason == "ExpiredProviderToken" and self.provider_token:
            self.provider_token.expire(bearer)
            return Result(push_token, Outcome.RETRY, status, reason)
        # 403 otherwise is a key or certificate problem: retried, so an operator sees it fail.
        if status in (403, 429) or status >= 500:
            return Result(push_token, Outcome.RETRY, status, reason)
        return Result(push_token, Outcome.BAD, status, reason)


def _reason(content: bytes) -> tuple[str, datetime | None]:
    try:
        body = json.loads(content or b"{}")
    except ValueError:
        return "", None
    if not isinstance(body, dict):
        return "", None
    stamp = body.get("timestamp")
    # Milliseconds since the epoch.
    when = datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int | float) else None
    return str(body.get("reason", "")), when


_client: ApnsClient | None = None
_client_lock = threading.Lock()


def client() -> ApnsClient:
    """This process's client, made on first use from the settings."""
    global _client
    with _client_lock:
        if _client is None:
            _client = _from_settings()
        return _client


def reset_client() -> None:
    """Close and forget this process's client (settings changed, or a test ends)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


def _from_settings() -> ApnsClient:
    provider_token = None
    verify: ssl.SSLContext | bool = True
    if settings.APNS_KEY_FILE:
        provider_token = ProviderToken(
            key_file=settings.APNS_KEY_FILE,
            key_id=settings.APNS_KEY_ID,
            team_id=settings.APPLE_TEAM_ID,
            refresh_seconds=settings.APNS_TOKEN_REFRESH_SECONDS,
        )
    else:
        cert, key, _wwdr = signing.material_paths()
        context = ssl.create_default_context()
        context.load_cert_chain(cert, key)
        verify = context
    return ApnsClient(
        base_url=settings.APNS_URL,
        topic=settings.APPLE_PASS_TYPE_ID,
        provider_token=provider_token,
        verify=verify,
        timeout=settings.APNS_TIMEOUT_SECONDS,
        concurrency=settings.APNS_CONCURRENCY,
    )
