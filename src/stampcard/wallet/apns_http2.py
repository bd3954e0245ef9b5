"""One HTTP/2 connection that carries many requests at once, for APNs (``wallet.apns``).

A thin driver around the h2 protocol library on asyncio: each request is one stream, sent
at once and answered whenever the server answers; one task reads the connection and hands
each answer to its waiting request. Why not httpx, which the project uses for HTTP
elsewhere: measured on this kind of machine, httpx's HTTP/2 spends about 2 ms of CPU per
request once a hundred streams are in flight (and its synchronous client loses track of
streams when threads share one connection), while a push needs a few tens of µs. APNs
asks for exactly this: one long-lived connection, many streams, tiny bodies.
"""

import asyncio
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

READ_SIZE = 65536


class ConnectionLost(ConnectionError):
    """The connection closed or was reset before the answer came."""


@dataclass
class _Stream:
    answer: "asyncio.Future[tuple[int, bytes]]"
    status: int = 0
    body: bytearray = field(default_factory=bytearray)


class Http2Connection:
    """An open HTTP/2 connection to one origin (``http://`` is HTTP/2 with prior knowledge)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str):
        parts = urlsplit(url)
        self._scheme = parts.scheme
        self._authority = parts.netloc
        self._reader = reader
        self._writer = writer
        self._h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self._h2.initiate_connection()
        self._writer.write(self._h2.data_to_send())
        self._streams: dict[int, _Stream] = {}
        # Woken when a stream ends or the server opens its windows: room for another stream.
        self._room = asyncio.Condition()
        self.closed = False
        self._finished = False
        self._reading = asyncio.ensure_future(self._read())

    @classmethod
    async def open(
        cls, url: str, *, ssl_context: ssl.SSLContext | None, timeout: float
    ) -> "Http2Connection":
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        context = None
        if secure:
            context = ssl_context or ssl.create_default_context()
            context.set_alpn_protocols(["h2"])
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                parts.hostname,
                parts.port or (443 if secure else 80),
                ssl=context,
                server_hostname=parts.hostname if secure else None,
            ),
            timeout,
        )
        return cls(reader, writer, url)

    async def post(
        self, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        """(status, body) of one POST; raises ``ConnectionLost`` if the connection fails."""
        async with self._room:
            await self._room.wait_for(self._has_room)
        if self.closed:
            raise ConnectionLost("the connection is closed")
        stream_id = self._h2.get_next_available_stream_id()
        answer: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._streams[stream_id] = _Stream(answer)
        self._h2.send_headers(
            stream_id,
            [
                (":method", "POST"),
                (":scheme", self._scheme),
                (":authority", self._authority),
                (":path", path),
                *headers,
                ("content-length", str(len(body))),
            ],
        )
        self._h2.send_data(stream_id, body, end_stream=True)
        self._writer.write(self._h2.data_to_send())
        try:
            return await answer
        finally:
            if self._streams.pop(stream_id, None) is not None and not self.closed:
                # Given up on (a timeout): the stream is cancelled, so it stops counting
                # against the server's limit of concurrent streams.
                try:
                    self._h2.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
                    self._writer.write(self._h2.data_to_send())
                except h2.exceptions.H2Error:
                    pass

    def _has_room(self) -> bool:
        if self.closed:
            return True  # to fail at once
        limit = self._h2.remote_settings.max_concurrent_streams
        return (
            self._h2.open_outbound_streams < limit and self._h2.outbound_flow_control_window >= 64
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
                if not self._apply(events):
                    break
                pending = self._h2.data_to_send()
                if pending:
                    self._writer.write(pending)
                async with self._room:
                    self._room.notify_all()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            await self._finish()

    def _apply(self, events: list[h2.events.Event]) -> bool:
        """Hand the events to their streams; False once the server ends the connection."""
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    for name, value in event.headers or []:
                        if name in (":status", b":status"):
                            stream.status = int(value)
            elif isinstance(event, h2.events.DataReceived):
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.body += event.data
            elif isinstance(event, h2.events.StreamEnded):
                stream = self._streams.pop(event.stream_id, None)
                if stream is not None and not stream.answer.done():
                    stream.answer.set_result((stream.status, bytes(stream.body)))
            elif isinstance(event, h2.events.StreamReset):
                stream = self._streams.pop(event.stream_id, None)
                if stream is not None and not stream.answer.done():
                    stream.answer.set_exception(ConnectionLost(f"stream reset: {event.error_code}"))
            elif isinstance(event, h2.events.ConnectionTerminated):
                return False
        return True

    async def _finish(self) -> None:
        if self._finished:
            return
        self._finished = self.closed = True
        for stream in self._streams.values():
            if not stream.answer.done():
                stream.answer.set_exception(ConnectionLost("the connection closed"))
        self._streams.clear()
        self._writer.close()
        async with self._room:
            self._room.notify_all()
