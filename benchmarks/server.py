"""A fast loopback HTTP/1.1 server in its own process, answering TextUs/TrackDrive-shaped sends.

It is deliberately not the sandbox: the throughput benchmark measures the *client*, so the server
must cost as little as possible. A raw ``asyncio.Protocol`` keep-alive server does no routing
framework work, no logging and no JSON parsing; it still checks that each request carries an
``Authorization`` header and echoes the recipient, so a client that sends the wrong thing is seen.

Run it as ``python -m benchmarks.server [--port 0]``: it prints ``LISTENING <port>`` once ready.
``GET /stats`` returns the request count and the process CPU time, so the harness can tell how
busy the server was during a client run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

TEXTUS_MEDIA_TYPE = b"application/vnd.textus+jsonld"
_RATE_LIMIT = 1_000_000  # advertised headroom large enough never to slow a client down

_TEXTUS_TEMPLATE = (
    '{"@type":"Message","id":"/messages/b%s","@context":"/contexts/Message.jsonld",'
    '"direction":"out","body":"Hello from the benchmark","formattedBody":'
    '"<div>Hello from the benchmark</div>","displayTimestamp":"2024-05-01T12:00:00.000Z",'
    '"timelinePosition":"2024-05-01T12:00:00.000Z","deliveryState":"queued",'
    '"conversation":"/conversations/kY1QwY","sender":"/users/hikvlD","attachments":'
    '{"@context":"/contexts/hydra:Collection.jsonld","@type":"hydra:Collection",'
    '"id":"/messages/b%s/attachments","members":[],"totalItems":0},'
    '"friendlyStateDescription":"Message Queued","retryAllowed":false,"retry":null,'
    '"latestEventAt":"2024-05-01T12:00:00.000Z","flags":[],"source":"textus"}'
)
_TRACKDRIVE_TEMPLATE = (
    '{"status":200,"errors":{},"text_message":{"id":%d,"from":"+18554550000","to":"%s",'
    '"message":"Hello from the benchmark","number_id":147690000,"lead_id":11000635,'
    '"provider_configuration_id":12093,"message_uuid":"SM%032x","ring_pool_id":null,'
    '"schedule_id":192840,"status":"queued","error_code":null,'
    '"created_at":"2024-05-01T08:00:00.000-04:00"},'
    '"checksum":"8e0fcaa8b1cc805d2323759e39a1a1ba","metadata":{"root":"text_message"}}'
)
_UNAUTHORIZED = b'{"@type":"hydra:Error","hydra:title":"Unauthorized"}'
_NOT_FOUND = b'{"error":"not found"}'


class _Counters:
    """Shared by every connection of the server process."""

    def __init__(self) -> None:
        self.requests = 0
        self.rejected = 0
        self._reset_epoch = 0
        self._reset_header = b""

    def textus_rate_headers(self) -> bytes:
        # X-RateLimit-Reset is an epoch second; rebuild the header line at most once a second.
        now = int(time.time())
        if now != self._reset_epoch:
            self._reset_epoch = now
            self._reset_header = (
                b"X-RateLimit-Limit: %d\r\nX-RateLimit-Remaining: %d\r\nX-RateLimit-Reset: %d\r\n"
                % (_RATE_LIMIT, _RATE_LIMIT - 1, now + 300)
            )
        return self._reset_header


def _response(status: bytes, content_type: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
        % (status, content_type, len(body), extra)
    ) + body


def _header_value(lower_head: bytes, name: bytes) -> bytes | None:
    start = lower_head.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    end = lower_head.find(b"\r\n", start)
    return lower_head[start : end if end >= 0 else len(lower_head)].strip()


def _query_value(query: bytes, key: str) -> str:
    """One parameter of a query string (TrackDrive's send carries its parameters there)."""
    return parse_qs(query.decode("ascii", "replace")).get(key, [""])[0]


class _HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; Content-Length bodies only."""

    def __init__(self, counters: _Counters) -> None:
        self._counters = counters
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        transport = self._transport
        assert transport is not None
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(buffer[:head_end])
            lower = head.lower()
            length_value = _header_value(lower, b"content-length")
            if _header_value(lower, b"transfer-encoding") is not None:
                transport.write(_response(b"501 Not Implemented", b"text/plain", b"chunked"))
                transport.close()
                return
            length = int(length_value) if length_value else 0
            total = head_end + 4 + length
            if len(buffer) < total:
                return
            body = bytes(buffer[head_end + 4 : total])
            del buffer[:total]
            transport.write(self._respond(head, lower, body))
            if _header_value(lower, b"connection") == b"close":
                transport.close()
                return

    def _respond(self, head: bytes, lower: bytes, body: bytes) -> bytes:
        counters = self._counters
        line_end = head.find(b"\r\n")
        method, _, rest = head[:line_end].partition(b" ")
        path, _, query = rest.rpartition(b" ")[0].partition(b"?")
        if path == b"/stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            stats = {
                "requests": counters.requests,
                "rejected": counters.rejected,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "pid": os.getpid(),
            }
            return _response(b"200 OK", b"application/json", json.dumps(stats).encode())
        if method != b"POST":
            return _response(b"404 Not Found", b"application/json", _NOT_FOUND)
        if b"\r\nauthorization:" not in lower:
            counters.rejected += 1
            return _response(b"401 Unauthorized", TEXTUS_MEDIA_TYPE, _UNAUTHORIZED)
        counters.requests += 1
        n = counters.requests
        if path.startswith(b"/textus/") and path.endswith(b"/messages"):
            slug = f"{n:x}"
            payload = (_TEXTUS_TEMPLATE % (slug, slug)).encode()
            return _response(
                b"201 Created", TEXTUS_MEDIA_TYPE, payload,
                counters.textus_rate_headers() + b"X-Request-Id: bench-%d\r\n" % n,
            )
        if path.endswith(b"/text_messages"):
            payload = (_TRACKDRIVE_TEMPLATE % (n, _query_value(query, "to"), n)).encode()
            return _response(b"200 OK", b"application/json; charset=utf-8", payload)
        counters.requests -= 1
        return _response(b"404 Not Found", b"application/json", _NOT_FOUND)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    counters = _Counters()
    server = await loop.create_server(
        lambda: _HttpProtocol(counters), host, port, backlog=1024, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"LISTENING {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


class ServerProcess:
    """Start the server in a child process; ``url`` is its base, ``stats()`` its counters."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> ServerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", "--host", self.host, "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=10) as response:
            data: dict[str, Any] = json.loads(response.read())
        return data

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
