"""The server's own capacity, measured with a trivial client so the server is the bottleneck.

The trivial client is a raw ``asyncio.Protocol`` that writes one pre-encoded request per
keep-alive connection and the next one as soon as the response is complete: the same pattern as
the benchmarked clients (one request in flight per connection, ``connections`` at once), at a
fraction of their per-request cost. What it measures is a lower bound of the server's capacity
(the trivial client shares the machine), which is the safe direction for the bottleneck check.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from .workload import RunResult


@attrs.frozen
class Capacity:
    endpoint: str
    requests: int
    seconds: float
    server_busy: float | None = None  # the server's CPU share meanwhile; ~1.0 = it was the limit

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def encode_request(
    url: str, headers: Mapping[str, str], payload: object, *, in_query: bool = False
) -> bytes:
    """One raw POST: ``payload`` as a compact JSON body, or (``in_query``) as the query string
    with an empty body."""
    parts = urlsplit(url)
    target = parts.path
    if in_query:
        assert isinstance(payload, Mapping)
        target += "?" + urlencode(payload)
        body = b""
    else:
        body = json.dumps(payload, separators=(",", ":")).encode()
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection(asyncio.Protocol):
    def __init__(self, request: bytes, deadline: float, done: asyncio.Future[int]) -> None:
        self._request = request
        self._deadline = deadline
        self._done = done
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self.completed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buffer[:head_end]).lower()
        start = head.find(b"\r\ncontent-length:") + len(b"\r\ncontent-length:")
        end = head.find(b"\r\n", start)
        length = int(head[start : end if end >= 0 else len(head)])
        total = head_end + 4 + length
        if len(buffer) < total:
            return
        if not head.startswith((b"http/1.1 2", b"http/1.0 2")):
            self._finish(RuntimeError(f"server answered {bytes(head[:40])!r}"))
            return
        del buffer[:total]
        self.completed += 1
        if time.perf_counter() >= self._deadline:
            self._finish(None)
        else:
            assert self._transport is not None
            self._transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_exception(exc or ConnectionError("server closed the connection"))

    def _finish(self, error: Exception | None) -> None:
        if not self._done.done():
            if error is None:
                self._done.set_result(self.completed)
            else:
                self._done.set_exception(error)
        assert self._transport is not None
        self._transport.close()


async def measure_capacity(
    endpoint: str,
    url: str,
    headers: Mapping[str, str],
    payload: object,
    *,
    connections: int = 64,
    seconds: float = 2.0,
    in_query: bool = False,
) -> Capacity:
    """Requests per second the server answers on ``url`` over ``connections`` connections."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    request = encode_request(url, headers, payload, in_query=in_query)
    start = time.perf_counter()
    deadline = start + seconds
    futures: list[asyncio.Future[int]] = []
    for _ in range(connections):
        done: asyncio.Future[int] = loop.create_future()
        futures.append(done)
        await loop.create_connection(
            lambda d=done: _Connection(request, deadline, d),  # type: ignore[misc]
            parts.hostname or "127.0.0.1", parts.port or 80,
        )
    completed = sum(await asyncio.gather(*futures))
    return Capacity(endpoint, completed, time.perf_counter() - start)


def check_headroom(
    samples: Mapping[str, Sequence[Capacity]],
    runs: Sequence[RunResult],
    headroom: float,
) -> tuple[dict[str, Any], list[str]]:
    """Per endpoint: the server's capacity against the fastest client run.

    The capacity is the best of the samples (taken before and after the client runs): other
    processes on a shared machine can only lower a measured maximum, never raise it. The
    server's own CPU share during the client runs is reported next to it as direct evidence
    (0.25 busy = 4x headroom at that moment). Returns the figures and, for every endpoint where
    the capacity is under ``headroom`` times the fastest client, why it must not be reported.
    """
    endpoints: dict[str, Any] = {}
    refused: list[str] = []
    for name, measured in samples.items():
        best = max(measured, key=lambda c: c.per_second)
        own_runs = [r for r in runs if r.endpoint == name]
        fastest = max((r.rate for r in own_runs), default=0.0)
        busiest = max((r.server_busy or 0.0 for r in own_runs), default=0.0)
        ratio = best.per_second / fastest if fastest else float("inf")
        ok = ratio >= headroom
        endpoints[name] = {
            "capacity": best.per_second, "server_busy": best.server_busy,
            "samples": [round(c.per_second) for c in measured],
            "max_client_rate": fastest, "headroom": ratio, "ok": ok,
            "max_server_busy_in_runs": busiest,
        }
        if not ok:
            refused.append(f"{name}: server capacity {best.per_second:,.0f}/s is under "
                           f"{headroom:g}x the fastest client ({fastest:,.0f}/s)")
    return endpoints, refused
