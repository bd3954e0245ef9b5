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
``{}``, ``apns-priority: 10`` (deliver now: the device fetches the pass at once; it is also
APNs's default) and ``apns-expiration`` a week ahead (APNs keeps a push for an offline device
until then, the latest one per device and topic; 0 would drop it). No ``apns-push-type``
header: Apple documents none for passes and the header's ``background`` type asks for
``content-available`` and priority 5, which a pass push does not carry.

Certificate auth is TLS client auth: the pass certificate is presented with the WWDR
intermediate that issued it (the server knows only Apple's root), over TLS 1.2 or later with
HTTP/2 agreed through ALPN (``wallet.apns_http2`` refuses anything else); the server's
certificate is checked against ``APNS_CA_FILE`` or the system's trust store.

A refusal of our credentials is a configuration error, not a passing trouble: a 403 other
than ``ExpiredProviderToken`` (``BadCertificate``, ``BadCertificateEnvironment``,
``InvalidProviderToken``, ``MissingProviderToken``, ``Forbidden``…) or a TLS refusal
(the certificate refused, the server's certificate not trusted, no TLS 1.2 or HTTP/2) is
``Outcome.CONFIG``. The client then forgets its TLS context and provider token and closes its
connections, so the next push connects with the files as they are by then (a replaced
certificate or key); ``wallet.changes`` parks the pushes for an operator.
"""

import asyncio
import functools
import json
import logging
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from stampcard.wallet import signing
from stampcard.wallet.apns_http2 import Answer, Http2Connection, Misconfigured, tls_context

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
# How long APNs keeps a push for a device that is offline (``apns-expiration``): a week, so a
# phone switched off over a holiday still hears its pass changed.
PUSH_LIFETIME_SECONDS = 7 * 24 * 3600
# Deliver at once (``apns-priority``): Apple's 10, which is also what APNs assumes unsaid.
PRIORITY = "10"
# The 403 reason that only means "make a new provider token": retried with a fresh one.
_EXPIRED_TOKEN = "ExpiredProviderToken"  # noqa: S105  # a reason name, not a secret


class Outcome(StrEnum):
    OK = "ok"
    UNREGISTERED = "unregistered"  # 410: the device no longer wants pushes for this pass
    RETRY = "retry"  # 429, 5xx, an expired token or a broken connection: try again later
    BAD = "bad"  # any other refusal: a bad token or a configuration mismatch, not retried
    # Our credentials refused (403, or TLS): no retry helps until an operator fixes them.
    CONFIG = "config"


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
        # Read again for each new token: a replaced key is used from the next one on.
        self._key_file = key_file
        Path(key_file).read_bytes()  # a missing key fails here, at start, not at the push
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
                    Path(self._key_file).read_bytes(),
                    algorithm="ES256",
                    headers={"kid": self._key_id},
                )
            return self._token

    def expire(self, token: str) -> None:
        """Drop ``token`` (Apple called it expired or refused it), unless another thread
        already renewed it."""
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
        tls: Callable[[], ssl.SSLContext] = tls_context,
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
        # Makes the TLS context (with the client certificate, for certificate auth) when a
        # connection first needs it, and again after a refusal of our credentials.
        self._tls_factory = tls
        self._tls: ssl.SSLContext | None = None
        self.tls_contexts = 0  # made so far
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
        headers = [
            ("apns-topic", topic),
            ("apns-priority", PRIORITY),
            ("apns-expiration", str(int(time.time()) + PUSH_LIFETIME_SECONDS)),
        ]
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
        done = [result for result in results if result is not None]
        if any(result.outcome is Outcome.CONFIG for result in done):
            await self._forget_credentials(bearer)
        return done

    async def _forget_credentials(self, bearer: str) -> None:
        """Our credentials were refused: the next connection reads them afresh (a replaced
        certificate, key or .p8), and none made with the refused ones stays open."""
        self._tls = None
        if self.provider_token and bearer:
            self.provider_token.expire(bearer)
        for slot, connection in enumerate(self._connections):
            if connection is not None:
                self._connections[slot] = None
                await connection.close()

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
        outcome = Outcome.RETRY
        for _attempt in range(_CONNECTIONS_PER_SEND):
            try:
                connection, fresh = await self._connection_open(slot)
            except Misconfigured as exc:
                failed, outcome = f"{type(exc).__name__}: {exc}", Outcome.CONFIG
                break
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
                if connection.refused is not None:
                    failed, outcome = _why(connection.refused), Outcome.CONFIG
                    break
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
            if connection.refused is not None:
                # Connecting again would present the same refused certificate.
                failed, outcome = _why(connection.refused), Outcome.CONFIG
                break
        for i in todo:
            results[i] = Result(tokens[i], outcome, reason=failed)

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
            elif isinstance(answer, Misconfigured):
                results[i] = Result(tokens[i], Outcome.CONFIG, reason=_why(answer))
            elif isinstance(answer, Exception):
                results[i] = Result(tokens[i], Outcome.RETRY, reason=_why(answer))
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
            context = None
            if self.base_url.startswith("https:"):
                if self._tls is None:
                    self._tls = self._make_tls()
                context = self._tls
            connection = await Http2Connection.open(
                self.base_url, ssl_context=context, timeout=self.timeout
            )
            self._connections[slot] = connection
            self.connections += 1
            return connection, True

    def _make_tls(self) -> ssl.SSLContext:
        """A new TLS context; a certificate, key or CA file that cannot be used (missing, not
        a pair, not PEM) is a configuration error like a refusal."""
        try:
            context = self._tls_factory()
        except (OSError, ValueError, ImproperlyConfigured) as exc:
            raise Misconfigured(
                f"the TLS certificate, key or CA file cannot be used: {_why(exc)}"
            ) from exc
        self.tls_contexts += 1
        return context

    def _result(self, push_token: str, status: int, body: bytes, bearer: str) -> Result:
        if status == 200:
            return Result(push_token, Outcome.OK, 200)
        reason, timestamp = _reason(body)
        if status == 410:
            return Result(push_token, Outcome.UNREGISTERED, status, reason, timestamp)
        if status == 403 and reason == _EXPIRED_TOKEN and self.provider_token:
            self.provider_token.expire(bearer)
            return Result(push_token, Outcome.RETRY, status, reason)
        if status == 403:
            # The certificate or key refused: no retry helps until an operator fixes it.
            return Result(push_token, Outcome.CONFIG, status, reason)
        if status == 429 or status >= 500:
            return Result(push_token, Outcome.RETRY, status, reason)
        return Result(push_token, Outcome.BAD, status, reason)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


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


def certificate_tls_context(*, ca_file: str = "") -> ssl.SSLContext:
    """The TLS context of certificate auth: ``tls_context`` presenting the pass certificate
    and its key, followed by the WWDR intermediate (APNs knows only Apple's root), all read
    from the files as they are now."""
    context = tls_context(ca_file=ca_file)
    cert, key, wwdr = signing.material_paths()
    chain = x509.load_pem_x509_certificates(Path(cert).read_bytes())
    intermediate = x509.load_pem_x509_certificate(Path(wwdr).read_bytes())
    if intermediate not in chain:
        chain.append(intermediate)
    # load_cert_chain reads only files: the chain (certificates, nothing secret) goes to a
    # temporary one; the key is read from its own file.
    with tempfile.NamedTemporaryFile(suffix=".pem") as chain_file:
        for certificate in chain:
            chain_file.write(certificate.public_bytes(serialization.Encoding.PEM))
        chain_file.flush()
        context.load_cert_chain(chain_file.name, key)
    return context


def _from_settings() -> ApnsClient:
    provider_token = None
    tls: Callable[[], ssl.SSLContext]
    if settings.APNS_KEY_FILE:
        provider_token = ProviderToken(
            key_file=settings.APNS_KEY_FILE,
            key_id=settings.APNS_KEY_ID,
            team_id=settings.APPLE_TEAM_ID,
            refresh_seconds=settings.APNS_TOKEN_REFRESH_SECONDS,
        )
        tls = functools.partial(tls_context, ca_file=settings.APNS_CA_FILE)
    else:
        tls = functools.partial(certificate_tls_context, ca_file=settings.APNS_CA_FILE)
    return ApnsClient(
        base_url=settings.APNS_URL,
        topic=settings.APPLE_PASS_TYPE_ID,
        provider_token=provider_token,
        tls=tls,
        timeout=settings.APNS_TIMEOUT_SECONDS,
        concurrency=settings.APNS_CONCURRENCY,
        connections=settings.APNS_CONNECTIONS,
    )
