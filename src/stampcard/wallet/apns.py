"""APNs pushes that tell devices a pass changed (wallet.md B2).

One client per process, reused: Apple counts rapid connect/disconnect as abuse. A push is
one stream of a long-lived HTTP/2 connection (``wallet.apns_http2``): a batch goes out as
many streams at once, up to ``APNS_CONCURRENCY`` on a connection and no more than the
server's ``SETTINGS_MAX_CONCURRENT_STREAMS``, spread over up to ``APNS_CONNECTIONS``
connections (Apple advises several for volume); each new connection sends its first push
alone, since with token auth Apple allows one stream until a request succeeds. A sender
that waited for each answer would manage one push per round trip. The connections live on
an event loop in a thread of their own, so any thread can send. Auth is either a token
(``APNS_KEY_FILE``, an ES256 JWT reused for ``APNS_TOKEN_REFRESH_SECONDS``) or TLS client
auth with the pass certificate and key (``wallet.signing``). What a push costs in Python is
h2's framing: the headers are built once per batch, and the results are plain objects.

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
from stampcard.wallet.apns_http2 import Answer, Http2Connection

log = logging.getLogger(__name__)
T = TypeVar("T")
_BODY = b"{}"
# New connections one send may open when the server closes the one it uses.
_CONNECTIONS_PER_SEND = 3
# Connections a large batch is spread over unless told (``APNS_CONNECTIONS``): Apple
# advises several for volume, and each stream costs h2 a little more the more are open on
# its connection.
CONNECTIONS = 4
# The most a process opens: Apple counts a crowd of connections from one sender as abuse.
MAX_CONNECTIONS = 16


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
        connections: int = CONNECTIONS,
    ) -> None:
        self.topic = topic
        self.provider_token = provider_token
        # Streams in flight per connection, at most (and no more than the server allows).
        self.concurrency = max(1, concurrency)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else None
        if verify is False:
            raise ValueError("APNs is always reached with its certificate checked")
        # Long-lived, opened when first needed; a large batch spreads over all of them.
        self._connections: list[Http2Connection | None] = [None] * max(1, connections)
        self._connecting: asyncio.Lock | None = None
        self.connections = 0  # opened so far
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apns", daemon=True)
        self._thread.start()

    def close(self) -> None:
        for connection in self._connections:
            if connection is not None:
                self._run(connection.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def send(self, push_token: str, topic: str | None = None) -> Result:
        (result,) = self.send_many([push_token], topic)
        return result

    def send_many(self, push_tokens: Sequence[str], topic: str | None = None) -> list[Result]:
        """Push to every token at once: up to ``concurrency`` concurrent streams on each
        connection, a large batch spread over the connections; the results in the order of
        the tokens, each token once."""
        tokens = list(dict.fromkeys(push_tokens))
        if not tokens:
            return []
        return self._run(self._send_all(tokens, topic or self.topic))

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    async def _send_all(self, tokens: list[str], topic: str) -> list[Result]:
        bearer = self.provider_token.get() if self.provider_token else ""
        # Built once for every push of the batch; each stream adds only its path.
        headers = [("apns-topic", topic)]
        if bearer:
            headers.append(("authorization", f"bearer {bearer}"))
        results: list[Result | None] = [None] * len(tokens)
        used = min(len(self._connections), -(-len(tokens) // self.concurrency))
        share = -(-len(tokens) // used)
        await asyncio.gather(
            *(
                self._send_on(slot, tokens, range(start, min(start + share, len(tokens))),
                              headers, bearer, results)
                for slot, start in enumerate(range(0, len(tokens), share))
            )
        )  # fmt: skip
        return [result for result in results if result is not None]

    async def _send_on(
        self,
        slot: int,
        tokens: list[str],
        indices: range,
        headers: list[tuple[str, str]],
        bearer: str,
        results: list[Result | None],
    ) -> None:
        """The pushes to ``tokens[indices]`` on connection ``slot``. The ones a lost
        connection left unsent go on a new one (a few times at most, then they are retried
        later: Apple counts rapid reconnecting as abuse)."""
        todo = list(indices)
        failed = "ConnectionLost: the connection closed"
        for _attempt in range(_CONNECTIONS_PER_SEND):
            try:
                connection, fresh = await self._connection_open(slot)
            except (OSError, TimeoutError) as exc:
                failed = f"{type(exc).__name__}: {exc}"
                break
            if fresh and len(todo) > 1:
                # Until one request succeeds, Apple allows one stream on a token-auth
                # connection: the first push goes alone.
                todo = (
                    self._apply(
                        todo[:1],
                        await connection.post_many(
                            [f"/3/device/{tokens[todo[0]]}"], headers, _BODY, self.timeout, 1
                        ),
                        tokens,
                        bearer,
                        results,
                    )
                    + todo[1:]
                )
                if connection.closed:
                    continue
            answers = await connection.post_many(
                [f"/3/device/{tokens[i]}" for i in todo],
                headers,
                _BODY,
                self.timeout,
                self.concurrency,
            )
            todo = self._apply(todo, answers, tokens, bearer, results)
            if not todo:
                return
        for i in todo:
            results[i] = Result(tokens[i], Outcome.RETRY, reason=failed)

    def _apply(
        self,
        todo: list[int],
        answers: list[Answer | Exception | None],
        tokens: list[str],
        bearer: str,
        results: list[Result | None],
    ) -> list[int]:
        """Turn the answers to ``todo`` into results; the ones never sent."""
        unsent = []
        for i, answer in zip(todo, answers, strict=True):
            if answer is None:
                unsent.append(i)
            elif isinstance(answer, Exception):
                reason = f"{type(answer).__name__}: {answer}"
                results[i] = Result(tokens[i], Outcome.RETRY, reason=reason)
            else:
                results[i] = self._result(tokens[i], answer[0], answer[1], bearer)
        return unsent

    async def _connection_open(self, slot: int) -> tuple[Http2Connection, bool]:
        """Connection ``slot`` if open, else a new one (only one opens at a time); and
        whether it is new."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            connection = self._connections[slot]
            if connection is not None and not connection.closed:
                return connection, False
            connection = await Http2Connection.open(
                self.base_url, ssl_context=self._ssl, timeout=self.timeout
            )
            self._connections[slot] = connection
            self.connections += 1
            return connection, True

    def _result(self, push_token: str, status: int, body: bytes, bearer: str) -> Result:
        if status == 200:
            return Result(push_token, Outcome.OK, 200)
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
        connections=settings.APNS_CONNECTIONS,
    )
