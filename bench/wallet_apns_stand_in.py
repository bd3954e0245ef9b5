"""An APNs stand-in: an HTTP/2 server on loopback (h2c, prior knowledge) speaking Apple's
push protocol, for the tests and for ``bench.wallet_bench``.

It answers ``POST /3/device/<token>`` by token, after ``delay`` seconds, many streams at
once, each with ``:status`` and an ``apns-id``: "200" (the default, no body), "410"
(``{"reason": "Unregistered", "timestamp": <ms>}``), "429" (``TooManyRequests``), "500", a
status and Apple's reason ("403 BadCertificate"), or "drop" (the connection is cut).

Given a server ``ssl.SSLContext`` (``tls``) it serves TLS as api.push.apple.com does, client
certificate required when the context asks for one. It terminates TLS itself over memory
BIOs rather than through asyncio: a refused client certificate must reach the client as
the TLS alert it is (asyncio's server drops it and cuts the connection), and in TLS 1.3 that
alert comes after the client has finished its handshake. Each handshake is recorded
(``tls_sessions``: version, ALPN, the certificates the client sent), each refusal too
(``tls_refusals``).
"""

import asyncio
import contextlib
import json
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hpack import NeverIndexedHeaderTuple

WAIT = 5  # seconds: the longest a start, stop or silent connection may take
_CONFIG = {
    "client_side": False,
    "header_encoding": "utf-8",
    "validate_outbound_headers": False,
    "normalize_outbound_headers": False,
    "validate_inbound_headers": False,
    "normalize_inbound_headers": False,
}
_REASONS = {"410": "Unregistered", "429": "TooManyRequests", "500": "InternalServerError"}


class StandIn:
    """An HTTP/2 server answering by push token: "200", "410", "429", "500" or "drop".

    As lean as a correct server can be, since it shares the machine with the sender it
    measures: h2's header checks are off (its clients are ours), the answers to everything
    one read brought are sent together after ``delay`` by one timer, in one write.
    """

    def __init__(self, answers=None, delay=0.0, max_streams=None, tls=None):
        self.answers = answers or {}
        self.delay = delay
        # SETTINGS_MAX_CONCURRENT_STREAMS to announce (h2 then refuses a stream over it).
        self.max_streams = max_streams
        self.tls = tls  # a server SSLContext: https instead of h2c
        # The "timestamp" of a 410 (ms since the epoch: when APNs last knew the token
        # valid); None answers the moment of the answer, as APNs does for a token it just
        # found gone.
        self.unregistered_at_ms = None
        self.tls_sessions = []
        self.tls_refusals = []
        self.requests = []
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.replies = set()  # timers of answers still waiting out their delay
        self.handlers = set()  # the task serving each open connection
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self):
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop
        ).result(WAIT)
        self.server = server
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    def stop(self):
        async def close():
            self.server.close()
            for reply in self.replies:
                reply.cancel()
            for handler in self.handlers:  # connections still open
                handler.cancel()
            await asyncio.gather(*self.handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)

    async def handle(self, reader, writer):
        self.connections += 1
        handler = asyncio.current_task()
        self.handlers.add(handler)
        try:
            if self.tls is not None:
                stream = await self.accept_tls(reader, writer)
                if stream is None:
                    return
                reader = writer = stream
            await self.serve(reader, writer)
        finally:
            self.handlers.discard(handler)

    async def accept_tls(self, reader, writer):
        """The server's side of the handshake; the TLS stream, or None once refused."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.tls.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                writer.write(outgoing.read())
                data = await asyncio.wait_for(reader.read(65536), WAIT)
                if not data:
                    writer.close()
                    return None
                incoming.write(data)
            except ssl.SSLError as exc:
                self.tls_refusals.append(exc.reason or str(exc))
                # The alert goes out and the connection ends in good order, read to its end:
                # closing with the client's data unread would reset it, losing the alert.
                writer.write(outgoing.read())
                with contextlib.suppress(OSError, TimeoutError):
                    writer.write_eof()
                    while await asyncio.wait_for(reader.read(65536), WAIT):
                        pass
                writer.close()
                return None
        writer.write(outgoing.read())
        self.tls_sessions.append(
            {
                "version": tls.version(),
                "alpn": tls.selected_alpn_protocol(),
                "chain": _chain_sent(tls),
            }
        )
        return _TlsStream(reader, writer, tls, incoming, outgoing)

    async def serve(self, reader, writer):
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(**_CONFIG))
        if self.max_streams is not None:
            conn.local_settings = h2.settings.Settings(
                client=False,
                initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams},
            )
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams = {}
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65535), WAIT)
                if not data:
                    break
                due = []
                for event in conn.receive_data(data):
                    kind = type(event)
                    if kind is h2.events.RequestReceived:
                        streams[event.stream_id] = (dict(event.headers), bytearray())
                    elif kind is h2.events.DataReceived:
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif kind is h2.events.StreamEnded:
                        headers, body = streams.pop(event.stream_id)
                        self.requests.append({"headers": headers, "body": bytes(body)})
                        token = headers[":path"].rsplit("/", 1)[-1]
                        answer = self.answers.get(token, "200")
                        if answer == "drop":
                            writer.transport.abort()
                            return
                        due.append((event.stream_id, answer))
                    elif kind is h2.events.StreamReset:
                        streams.pop(event.stream_id, None)
                if due:
                    self.in_flight += len(due)
                    self.most_in_flight = max(self.most_in_flight, self.in_flight)
                    if self.delay:
                        timer = self.loop.call_later(self.delay, self.respond, conn, writer, due)
                        self.replies.add(timer)
                    else:
                        self.respond(conn, writer, due)
                pending = conn.data_to_send()
                if pending:
                    writer.write(pending)
                    await writer.drain()
        except (TimeoutError, ConnectionError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        finally:
            writer.close()

    def respond(self, conn, writer, due):
        self.in_flight -= len(due)
        if writer.is_closing():
            return
        for stream_id, answer in due:
            # A new apns-id each time: never indexed, so it leaves HPACK's table alone.
            apns_id = f"00000000-0000-4000-8000-{stream_id:012d}".encode()
            status, _, reason = answer.partition(" ")
            headers = [(b":status", status.encode()), NeverIndexedHeaderTuple(b"apns-id", apns_id)]
            try:
                if status == "200":
                    conn.send_headers(stream_id, headers, end_stream=True)
                    continue
                body = {"reason": reason or _REASONS.get(status, "InternalServerError")}
                if status == "410":
                    body["timestamp"] = self.unregistered_at_ms or int(time.time() * 1000)
                conn.send_headers(stream_id, [*headers, (b"content-type", b"application/json")])
                conn.send_data(stream_id, json.dumps(body).encode(), end_stream=True)
            except h2.exceptions.H2Error:
                pass  # the client cancelled the stream meanwhile
        writer.write(conn.data_to_send())


def _chain_sent(tls):
    """The certificates the client sent, leaf first, as DER."""
    public = getattr(tls, "get_unverified_chain", None)  # Python 3.13 and later
    if public is not None:
        return list(public() or [])
    sent = tls._sslobj.get_unverified_chain() or []  # private before 3.13
    return [certificate.public_bytes(ssl._ssl.ENCODING_DER) for certificate in sent]


class _TlsStream:
    """Reader and writer of a TLS connection the stand-in terminates itself (``accept_tls``),
    the part of asyncio's streams that ``serve`` and ``respond`` use."""

    def __init__(self, reader, writer, tls, incoming, outgoing):
        self.reader = reader
        self.writer = writer
        self.transport = writer.transport
        self._tls = tls
        self._incoming = incoming
        self._outgoing = outgoing

    async def read(self, size):
        while True:
            try:
                data = self._tls.read(size)
            except ssl.SSLWantReadError:
                self._flush()
                received = await self.reader.read(65536)
                if not received:
                    return b""
                self._incoming.write(received)
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            self._flush()
            return data

    def write(self, data):
        self._tls.write(data)
        self._flush()

    def _flush(self):
        pending = self._outgoing.read()
        if pending and not self.writer.is_closing():
            self.writer.write(pending)

    async def drain(self):
        await self.writer.drain()

    def is_closing(self):
        return self.writer.is_closing()

    def close(self):
        self.writer.close()


class StandInProcess:
    """The stand-in in a process of its own, so its CPU is not the sender's: for benchmarks.

    Runs ``python -m bench.wallet_apns_stand_in DELAY MAX_STREAMS``, which prints its URL,
    then answers
    each line "cpu" on its stdin with the CPU seconds it has used so far, serves until its
    stdin closes and then prints how many requests it answered.
    """

    def __init__(self, delay: float = 0.0, max_streams: int = 100) -> None:
        self.delay = delay
        self.max_streams = max_streams
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        self._process = subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "bench.wallet_apns_stand_in",
                str(self.delay),
                str(self.max_streams),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self._process.stdout is not None
        return self._process.stdout.readline().strip()

    def cpu_seconds(self) -> float:
        """The CPU time (user + system) the stand-in has used so far."""
        assert self._process is not None
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("cpu\n")
        self._process.stdin.flush()
        return float(self._process.stdout.readline())

    def stop(self) -> int:
        """Stop it; how many requests it answered."""
        assert self._process is not None
        answered, _ = self._process.communicate(timeout=60)
        return int(answered.strip() or 0)


def main() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    max_streams = int(sys.argv[2]) if len(sys.argv) > 2 else None
    server = StandIn(delay=delay, max_streams=max_streams).start()
    print(server.url, flush=True)
    for line in sys.stdin:  # until the parent closes it
        if line.strip() == "cpu":
            print(time.process_time(), flush=True)
    server.stop()
    print(len(server.requests), flush=True)


if __name__ == "__main__":
    main()
