"""APNs pushes that tell devices a pass changed (wallet.md B2).

One HTTP/2 client per process, reused: Apple counts rapid connect/disconnect as abuse, and
HTTP/2 carries many pushes at once as streams of one connection. Auth is either a token
(``APNS_KEY_FILE``, an ES256 JWT reused for ``APNS_TOKEN_REFRESH_SECONDS``) or TLS client
auth with the pass certificate and key (``wallet.signing``).

The request is Wallet's: ``POST /3/device/<token>``, ``apns-topic`` = the pass type id, body
``{}``. No ``apns-push-type`` header: Apple documents none for passes and the header's
``background`` type asks for ``content-available``, which a pass push does not carry.
"""

import json
import logging
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import httpx
import jwt
from django.conf import settings

from stampcard.wallet import signing

log = logging.getLogger(__name__)


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
        # HTTP/2 only: APNs speaks nothing else, and over http:// this means prior knowledge.
        self._http = httpx.Client(
            base_url=base_url,
            http1=False,
            http2=True,
            verify=verify,
            timeout=timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def close(self) -> None:
        self._http.close()

    def send(self, push_token: str, topic: str | None = None) -> Result:
        headers = {"apns-topic": topic or self.topic}
        bearer = self.provider_token.get() if self.provider_token else ""
        if bearer:
            headers["authorization"] = f"bearer {bearer}"
        try:
            response = self._http.post(f"/3/device/{push_token}", content=b"{}", headers=headers)
        except httpx.TransportError as exc:
            return Result(push_token, Outcome.RETRY, reason=f"{type(exc).__name__}: {exc}")
        return self._result(push_token, response, bearer)

    def send_many(self, push_tokens: Sequence[str], topic: str | None = None) -> list[Result]:
        """Push to every token at once, as concurrent streams of the one connection."""
        tokens = list(dict.fromkeys(push_tokens))
        if not tokens:
            return []
        # Until one request succeeds, Apple allows one stream on a token-auth connection.
        first = self.send(tokens[0], topic)
        if len(tokens) == 1:
            return [first]
        workers = min(self.concurrency, len(tokens) - 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apns") as pool:
            rest = list(pool.map(lambda token: self.send(token, topic), tokens[1:]))
        return [first, *rest]

    def _result(self, push_token: str, response: httpx.Response, bearer: str) -> Result:
        status = response.status_code
        if status == 200:
            return Result(push_token, Outcome.OK, status)
        reason, timestamp = _reason(response)
        if status == 410:
            return Result(push_token, Outcome.UNREGISTERED, status, reason, timestamp)
        if status == 403 and reason == "ExpiredProviderToken" and self.provider_token:
            self.provider_token.expire(bearer)
            return Result(push_token, Outcome.RETRY, status, reason)
        # 403 otherwise is a key or certificate problem: retried, so an operator sees it fail.
        if status in (403, 429) or status >= 500:
            return Result(push_token, Outcome.RETRY, status, reason)
        return Result(push_token, Outcome.BAD, status, reason)


def _reason(response: httpx.Response) -> tuple[str, datetime | None]:
    try:
        body = json.loads(response.content or b"{}")
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
