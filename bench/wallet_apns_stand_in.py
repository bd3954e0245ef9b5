"""An APNs stand-in: an HTTP/2 server on loopback (h2c, prior knowledge) speaking Apple's
push protocol, for the tests and for ``bench.wallet_pushes``.

It answers ``POST /3/device/<token>`` by token: "200" (the default), "410", "429", "500" or
"drop" (the connection is cut), after ``delay`` seconds, many streams at once.
"""

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions

WAIT = 5  # seconds: the longest a start, stop or silent connection may take


class StandIn:
    """An HTTP/2 server answering by push token: "200", "410", "429", "500" or "drop"."""

    def __init__(self, answers=None, delay=0.0):
        self.answers = answers or {}
        self.delay = delay
        self.requests = []
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.replies = set()  # held so a pending reply is not collected
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self):
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop
        ).result(WAIT)
        self.server = server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    def stop(self):
        async def close():
            self.server.close()
            for reply in self.replies:  # answers still waiting out their delay
                reply.cancel()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)

    async def handle(self, reader, writer):
        self.connections += 1
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        conn = h2.connection.H2Connection(config=config)
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        streams = {}
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65535), WAIT)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = {"headers": dict(event.headers), "body": b""}
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        request = streams.pop(event.stream_id)
                        self.requests.append(request)
                        token = request["headers"][":path"].rsplit("/", 1)[-1]
                        answer = self.answers.get(token, "200")
                        if answer == "drop":
                            writer.transport.abort()
                            return
                        reply = self.respond(conn, writer, event.stream_id, answer)
                        self.replies.add(asyncio.ensure_future(reply))
                writer.write(conn.data_to_send())
                await writer.drain()
        except (TimeoutError, ConnectionError, h2.exceptions.ProtocolError):
            pass
        finally:
            writer.close()

    async def respond(self, conn, writer, stream_id, answer):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        body = b""
        if answer == "410":
            body = json.dumps({"reason": "Unregistered", "timestamp": 1700000000000}).encode()
        elif answer != "200":
            body = json.dumps({"reason": "TooManyRequests" if answer == "429" else "Oops"}).encode()
        headers = [(":status", answer), ("apns-id", f"id-{stream_id}")]
        conn.send_headers(stream_id, headers, end_stream=not body)
        if body:
            conn.send_data(stream_id, body, end_stream=True)
        writer.write(conn.data_to_send())


class StandInProcess:
    """The stand-in in a process of its own, so its CPU is not the sender's: for benchmarks.

    Runs ``python -m bench.wallet_apns_stand_in DELAY``, which prints its URL, serves until its
    stdin closes and then prints how many requests it answered.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        self._process = subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
            [sys.executable, "-m", "bench.wallet_apns_stand_in", str(self.delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self._process.stdout is not None
        return self._process.stdout.readline().strip()

    def stop(self) -> int:
        """Stop it; how many requests it answered."""
        assert self._process is not None
        answered, _ = self._process.communicate(timeout=60)
        return int(answered.strip() or 0)


def main() -> None:
    server = StandIn(delay=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0).start()
    print(server.url, flush=True)
    sys.stdin.read()  # until the parent closes it
    server.stop()
    print(len(server.requests), flush=True)


if __name__ == "__main__":
    main()
