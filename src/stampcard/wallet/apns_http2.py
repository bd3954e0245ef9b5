"""One HTTP/2 connection that carries many requests at once, for APNs (``wallet.apns``).

A thin driver around the h2 protocol library on asyncio: each request is one stream, sent
at once and answered whenever the server answers; one task reads the connection and hands
each answer to its batch. Why not httpx, which the project uses for HTTP
elsewhere: measured on this kind of machine, httpx's HTTP/2 spends about 2 ms of CPU per
request once a hundred streams are in flight (and its synchronous client loses track of
streams when threads share one connection), while a push needs a few tens of µs. APNs
asks for exactly this: one long-lived connection, many streams, tiny bodies.

Over TLS it insists on what APNs requires: TLS 1.2 or later (the context's minimum) and HTTP/2
agreed through ALPN; anything else is refused with a ``Misconfigured`` error that says what.
A refusal of our client certificate is told apart from a lost connection
(``CertificateRefused``): in TLS 1.2 it fails the handshake, in TLS 1.3 the client has
finished its handshake before the server judges the certificate, so the server's alert comes
with the first read instead. Neither is cured by connecting again with the same certificate.
"""

import asyncio
import collections
import contextlib
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
from hpack import NeverIndexedHeaderTuple

READ_SIZE = 65536
# Our own headers are well-formed by construction, and answers are only read for their
# status: h2's checks of every header, both ways, would cost most of a push's CPU.
_CONFIG = {
    "client_side": True,
    "header_encoding": "utf-8",
    "validate_outbound_headers": False,
    "normalize_outbound_headers": False,
    "validate_inbound_headers": False,
    "normalize_inbound_headers": False,
}

Answer = tuple[int, bytes]


def tls_context(*, ca_file: str = "") -> ssl.SSLContext:
    """A client TLS context as APNs wants it: the server's certificate checked (against
    ``ca_file``, a PEM bundle, or else the system's trust store), TLS 1.2 or later, ALPN h2."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    return context


class ConnectionLost(ConnectionError):
    """The connection closed or was reset before the answer came."""


class TimedOut(TimeoutError):
    """No answer within the time allowed; the stream was cancelled."""


class Misconfigured(ConnectionLost):
    """TLS with the server cannot work as configured (its certificate not trusted, no TLS 1.2
    or later, no HTTP/2): connecting again changes nothing until the configuration does."""


class CertificateRefused(Misconfigured):
    """The server refused our client certificate (a TLS alert, in or right after the
    handshake): expired, revoked, not issued for it, or sent without its intermediate."""


# The TLS alerts a server sends about the client's certificate (OpenSSL's reason names).
_CERTIFICATE_ALERTS = ("CERTIFICATE", "UNKNOWN_CA", "ACCESS_DENIED")
# OpenSSL's reasons when client and server share no TLS version.
_VERSION_REASONS = (
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_SSL_VERSION",
    "VERSION_TOO_LOW",
)
TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")


def tls_failure(exc: ssl.SSLError) -> Misconfigured | None:
    """What a TLS error means for us: a configuration problem (which), or None for trouble
    that may pass (a reset, a broken record)."""
    reason = str(getattr(exc, "reason", "") or "")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Misconfigured(
            f"the server's certificate is not trusted ({exc.verify_message}); "
            "APNS_CA_FILE names the CA bundle that verifies it"
        )
    if "ALERT" in reason and any(word in reason for word in _CERTIFICATE_ALERTS):
        return CertificateRefused(f"the server refused our client certificate ({reason})")
    if reason in _VERSION_REASONS:
        return Misconfigured(f"TLS 1.2 or later is required and the server offers none ({reason})")
    if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE":
        # The server found nothing acceptable in our hello: no version (TLS 1.2 or later is
        # required), cipher or certificate in common. Repeating the hello changes nothing.
        return Misconfigured(
            f"the server refused the TLS handshake ({reason}): TLS 1.2 or later is required, "
            "and a cipher and certificate it accepts"
        )
    return None


class _Stream:
    __slots__ = ("body", "deadline", "index", "status")

    def __init__(self, index: int, deadline: float) -> None:
        self.index = index
        self.deadline = deadline
        self.status = 0
        self.body = b""


class _Batch:
    """The answers of one ``post_many``: by position, None until answered."""

    __slots__ = ("answers", "open", "woken")

    def __init__(self, size: int) -> None:
        self.answers: list[Answer | Exception | None] = [None] * size
        self.open = 0  # streams sent and not yet answered
        self.woken = asyncio.Event()


class Http2Connection:
    """An open HTTP/2 connection to one origin (``http://`` is HTTP/2 with prior knowledge).

    ``post_many`` sends as many streams as the server allows at once
    (``SETTINGS_MAX_CONCURRENT_STREAMS`` and the flow-control window), all written in one
    go, and opens the next ones as answers come back. Per request it costs h2's framing and
    one small object: no task, timer or lock of its own.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str):
        parts = urlsplit(url)
        self._prefix = [
            (b":method", b"POST"),
            (b":scheme", parts.scheme.encode()),
            (b":authority", parts.netloc.encode()),
        ]
        self._reader = reader
        self._writer = writer
        self._h2 = h2.connection.H2Connection(h2.config.H2Configuration(**_CONFIG))  # type: ignore[arg-type]
        self._h2.initiate_connection()
        self._writer.write(self._h2.data_to_send())
        self._streams: dict[int, tuple[_Batch, _Stream]] = {}
        self.closed = False
        # Why the connection ended, when it was a TLS refusal (``Misconfigured``).
        self.refused: Misconfigured | None = None
        self._finished = False
        self._batches: set[_Batch] = set()
        self._reading = asyncio.ensure_future(self._read())

    @classmethod
    async def open(
        cls, url: str, *, ssl_context: ssl.SSLContext | None, timeout: float
    ) -> "Http2Connection":
        """Connect; over TLS (``https``) with ``ssl_context`` (``tls_context()`` if None).

        Raises ``Misconfigured`` (``CertificateRefused``) when TLS cannot work as configured,
        ``OSError`` or ``TimeoutError`` for trouble that may pass.
        """
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        context = None
        if secure:
            context = ssl_context or tls_context()
            context.set_alpn_protocols(["h2"])
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    parts.hostname,
                    parts.port or (443 if secure else 80),
                    ssl=context,
                    server_hostname=parts.hostname if secure else None,
                ),
                timeout,
            )
        except ssl.SSLError as exc:
            raise (tls_failure(exc) or exc) from exc
        tls = writer.get_extra_info("ssl_object") if secure else None
        # No version: the session already ended (in TLS 1.3 the server's refusal of our
        # certificate may come that fast); reading tells why, as for any later refusal.
        version = tls.version() if tls is not None else None
        if tls is not None and version is not None:
            protocol = tls.selected_alpn_protocol()
            refused = None
            if version not in TLS_VERSIONS:
                refused = f"TLS 1.2 or later is required, the server agreed to {version}"
            elif protocol != "h2":
                refused = (
                    f"the server did not agree to HTTP/2 (ALPN h2) over {version}: "
                    f"it chose {protocol or 'nothing'}"
                )
            if refused:
                writer.close()
                raise Misconfigured(refused)
        return cls(reader, writer, url)

    async def post(
        self, path: str, headers: list[tuple[str, str]], body: bytes, timeout: float
    ) -> Answer:
        """(status, body) of one POST; raises ``ConnectionLost`` or ``TimedOut``."""
        (answer,) = await self.post_many([path], headers, body, timeout, most=1)
        if isinstance(answer, Exception):
            raise answer
        assert answer is not None
        return answer

    async def post_many(
        self,
        paths: Sequence[str],
        headers: list[tuple[str, str]],
        body: bytes,
        timeout: float,
        most: int = 1000,
    ) -> list[Answer | Exception | None]:
        """POST ``body`` with ``headers`` to each of ``paths``, many streams at once (at most
        ``most``, and no more than the server allows).

        The answers by position: (status, body), ``ConnectionLost`` or ``TimedOut`` (the
        stream is then cancelled, so it no longer counts against the server's limit), or
        None for a request never sent because the connection closed first.
        """
        loop = asyncio.get_running_loop()
        batch = _Batch(len(paths))
        self._batches.add(batch)
        # The same for every request but the path, and already bytes: HPACK keeps them in
        # its table and sends each as an index. The path differs every time, so it is
        # never indexed: it would push the others (the bearer token) out of the table.
        suffix = [(name.encode(), value.encode()) for name, value in headers]
        waiting: collections.deque[tuple[int, _Stream]] = collections.deque()
        sent = 0
        try:
            while not self.closed:
                self._give_up_on(waiting, batch, loop.time())
                while sent < len(paths) and batch.open < most and self._has_room():
                    stream_id = self._h2.get_next_available_stream_id()
                    stream = _Stream(sent, loop.time() + timeout)
                    self._streams[stream_id] = (batch, stream)
                    path = NeverIndexedHeaderTuple(b":path", paths[sent].encode())
                    self._h2.send_headers(stream_id, [*self._prefix, path, *suffix])
                    self._h2.send_data(stream_id, body, end_stream=True)
                    waiting.append((stream_id, stream))
                    batch.open += 1
                    sent += 1
                self._flush()
                if sent == len(paths) and not batch.open:
                    break
                batch.woken.clear()
                # Until an answer comes or the server makes room, or the oldest is overdue.
                wait = waiting[0][1].deadline - loop.time() if waiting else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(batch.woken.wait(), wait)
        finally:
            self._batches.discard(batch)
            for stream_id, _stream in waiting:
                if self._streams.pop(stream_id, None) is not None:  # cancelled meanwhile
                    self._cancel(stream_id)
            self._flush()
        return batch.answers

    def _give_up_on(
        self, waiting: "collections.deque[tuple[int, _Stream]]", batch: _Batch, now: float
    ) -> None:
        """Drop answered streams from the front of ``waiting``; cancel the overdue ones."""
        while waiting:
            stream_id, stream = waiting[0]
            if batch.answers[stream.index] is None:
                if stream.deadline > now:
                    return
                self._streams.pop(stream_id, None)
                batch.answers[stream.index] = TimedOut("no answer in time")
                batch.open -= 1
                self._cancel(stream_id)
            waiting.popleft()

    def _cancel(self, stream_id: int) -> None:
        if self.closed:
            return
        with contextlib.suppress(h2.exceptions.H2Error):
            self._h2.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)

    def _flush(self) -> None:
        if not self.closed:
            pending = self._h2.data_to_send()
            if pending:
                self._writer.write(pending)

    def _has_room(self) -> bool:
        # Our own count of the streams open: h2's counts them one by one on every call.
        return (
            len(self._streams) < self._h2.remote_settings.max_concurrent_streams
            and self._h2.outbound_flow_control_window >= 64
        )

    async def close(self) -> None:
        if not self.closed:
            self._h2.close_connection()
            self._writer.write(self._h2.data_to_send())
        self._reading.cancel()
        await self._finish()

    async def _read(self) -> None:
        try:
            while True:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    break
                try:
                    events = self._h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    break
                ended = self._apply(events)
                self._flush()
                if ended:
                    break
                # Room for more streams, or answers: every batch may go on.
                for batch in self._batches:
                    batch.woken.set()
        except ssl.SSLError as exc:
            # TLS 1.3: a refused client certificate is the server's first word after the
            # handshake, read here.
            self.refused = tls_failure(exc)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            await self._finish()

    def _apply(self, events: list[h2.events.Event]) -> bool:
        """Hand the events to their streams; True once the server ends the connection."""
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                found = self._streams.get(event.stream_id)
                if found is not None:
                    for name, value in event.headers or []:
                        if name == ":status":
                            found[1].status = int(value)
            elif isinstance(event, h2.events.DataReceived):
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                found = self._streams.get(event.stream_id)
                if found is not None:
                    found[1].body += event.data
            elif isinstance(event, h2.events.StreamEnded):
                found = self._streams.pop(event.stream_id, None)
                if found is not None:
                    batch, stream = found
                    batch.answers[stream.index] = (stream.status, stream.body)
                    batch.open -= 1
            elif isinstance(event, h2.events.StreamReset):
                found = self._streams.pop(event.stream_id, None)
                if found is not None:
                    batch, stream = found
                    batch.answers[stream.index] = ConnectionLost(
                        f"stream reset: {event.error_code}"
                    )
                    batch.open -= 1
            elif isinstance(event, h2.events.ConnectionTerminated):
                return True
        return False

    async def _finish(self) -> None:
        if self._finished:
            return
        self._finished = self.closed = True
        for batch, stream in self._streams.values():
            batch.answers[stream.index] = self.refused or ConnectionLost("the connection closed")
            batch.open -= 1
        self._streams.clear()
        self._writer.close()
        for batch in self._batches:
            batch.woken.set()
