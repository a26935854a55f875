"""Benchmarks 1 and 2: messages per second of raw aiohttp vs ``provider.send`` vs the Dispatcher.

Every client sends the same recipients to the same local server at the same concurrency. Each
round runs every client once per endpoint, interleaved, so slow phases of a shared machine hit
all clients alike; ratios are taken within a round and the median over rounds is reported.
Before each timed run a client sends a small untimed warm-up (connections opened, code paths
imported) to numbers outside the timed set, and the phone-number cache is cleared so validation
is paid in full in every run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp

from .server import ServerProcess
from .workload import (
    BODY,
    TEXTUS,
    TEXTUS_ACCOUNT,
    TEXTUS_TOKEN,
    TRACKDRIVE_PRIVATE,
    TRACKDRIVE_PUBLIC,
    Endpoint,
    RunResult,
    Stopwatch,
    numbers,
    run_bounded,
    run_workers,
)

RAW_CLIENTS = ("raw aiohttp (semaphore)", "raw aiohttp (workers)")
WARM_UP_START = 900_000  # warm-up numbers never overlap the timed ones
UNBINDING_RATE = 1_000_000.0  # requests per second: far above anything a client here reaches


class Client(Protocol):
    name: str

    async def open(self, server_url: str, endpoint: Endpoint) -> None: ...

    async def run(self, recipients: Sequence[str], concurrency: int) -> int: ...

    async def close(self) -> None: ...


class RawAiohttp:
    """What a careful user writes without the SDK: one session, the same request (JSON body or
    query string) and headers, parsed."""

    def __init__(self, *, workers: bool = False) -> None:
        self.name = RAW_CLIENTS[1] if workers else RAW_CLIENTS[0]
        self._workers = workers
        self._session: aiohttp.ClientSession | None = None
        self._url = ""
        self._endpoint: Endpoint | None = None

    async def open(self, server_url: str, endpoint: Endpoint) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        self._url = endpoint.url(server_url)
        self._endpoint = endpoint

    async def run(self, recipients: Sequence[str], concurrency: int) -> int:
        session, endpoint, url = self._session, self._endpoint, self._url
        assert session is not None and endpoint is not None
        headers = endpoint.headers

        async def send(to: str) -> Any:
            if endpoint.in_query:
                request = session.post(url, params=endpoint.payload(to), headers=headers)
            else:
                data = json.dumps(endpoint.payload(to), separators=(",", ":"))
                request = session.post(url, data=data, headers=headers)
            async with request as response:
                content = await response.read()
                if response.status >= 400:
                    raise RuntimeError(f"HTTP {response.status}")
                return json.loads(content)

        loop = run_workers if self._workers else run_bounded
        return await loop(recipients, concurrency, send)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_provider(server_url: str, endpoint: Endpoint) -> Any:
    """The SDK provider for ``endpoint``, pointed at the server.

    The raw baseline has no rate limit, and the server's is never reached. TrackDrive declares
    none (its default, ``"auto"``, builds no limiter). TextUs always has one (its default is the
    account's 1000 per 5 minutes), so it gets a limiter that never binds: what a user with a high
    limit runs, and its per-request bookkeeping is part of what is measured.
    """
    if endpoint is TEXTUS:
        from smsbridge.limits.local import RateLimiter
        from smsbridge.providers.textus import TextUsProvider

        return TextUsProvider(
            TEXTUS_TOKEN, TEXTUS_ACCOUNT, base_url=endpoint.base_url(server_url),
            rate_limiter=RateLimiter(UNBINDING_RATE, 1.0),
        )
    from smsbridge.providers.trackdrive import TrackDriveProvider

    return TrackDriveProvider(
        TRACKDRIVE_PUBLIC, TRACKDRIVE_PRIVATE, base_url=endpoint.base_url(server_url),
    )


class ProviderSend:
    """``provider.send`` in a loop: one task per message, bounded by a semaphore."""

    name = "provider.send"

    def __init__(self) -> None:
        self._provider: Any = None

    async def open(self, server_url: str, endpoint: Endpoint) -> None:
        self._provider = make_provider(server_url, endpoint)

    async def run(self, recipients: Sequence[str], concurrency: int) -> int:
        from smsbridge import Message

        provider = self._provider

        async def send(to: str) -> Any:
            return await provider.send(Message(to=to, body=BODY))

        return await run_bounded(recipients, concurrency, send)

    async def close(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()


class DispatcherClient:
    """``Dispatcher.stream`` over the recipients; optionally with a fresh SQLite journal."""

    def __init__(self, *, journal: bool) -> None:
        self.name = "dispatcher + journal" if journal else "dispatcher"
        self._journal = journal
        self._provider: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._runs = 0

    async def open(self, server_url: str, endpoint: Endpoint) -> None:
        self._provider = make_provider(server_url, endpoint)
        self._tmp = tempfile.TemporaryDirectory(prefix="smsbridge-bench-")

    async def run(self, recipients: Sequence[str], concurrency: int) -> int:
        from smsbridge import Dispatcher, OutcomeStatus

        journal = None
        if self._journal:
            assert self._tmp is not None
            self._runs += 1
            journal = os.path.join(self._tmp.name, f"job-{self._runs}.sqlite")
        dispatcher = Dispatcher(
            self._provider, concurrency=concurrency, rate_limit=None, journal=journal
        )
        sent = 0
        async for outcome in dispatcher.stream(recipients, body=BODY):
            if outcome.status is OutcomeStatus.SENT:
                sent += 1
        return sent

    async def close(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()
        if self._tmp is not None:
            self._tmp.cleanup()


def _clear_phone_cache() -> None:
    from smsbridge import phone

    phone._normalize.cache_clear()


async def timed_run(
    client: Client,
    server: ServerProcess,
    endpoint: Endpoint,
    recipients: Sequence[str],
    *,
    concurrency: int,
    warm_up: int,
) -> RunResult:
    await client.open(server.url, endpoint)
    try:
        await client.run(numbers(warm_up, WARM_UP_START), concurrency)
        _clear_phone_cache()
        before = server.stats()["cpu_seconds"]
        with Stopwatch() as watch:
            ok = await client.run(recipients, concurrency)
        server_cpu = server.stats()["cpu_seconds"] - before
    finally:
        await client.close()
    return RunResult(
        endpoint=endpoint.name, client=client.name, messages=len(recipients), ok=ok,
        seconds=watch.wall, cpu_seconds=watch.cpu, server_cpu_seconds=server_cpu,
    )


def default_clients(include_sdk: bool = True) -> list[Client]:
    clients: list[Client] = [RawAiohttp(), RawAiohttp(workers=True)]
    if include_sdk:
        clients += [ProviderSend(), DispatcherClient(journal=False),
                    DispatcherClient(journal=True)]
    return clients


async def measure_throughput(
    server: ServerProcess,
    endpoints: Sequence[Endpoint],
    *,
    messages: int,
    concurrency: int,
    rounds: int,
    warm_up: int,
    include_sdk: bool = True,
    progress: Any = None,
) -> list[RunResult]:
    recipients = numbers(messages)
    results: list[RunResult] = []
    for round_no in range(rounds):
        for endpoint in endpoints:
            for client in default_clients(include_sdk):
                result = await timed_run(
                    client, server, endpoint, recipients,
                    concurrency=concurrency, warm_up=warm_up,
                )
                results.append(result)
                if progress is not None:
                    progress(f"round {round_no + 1}/{rounds} {endpoint.name:<10} "
                             f"{client.name:<24} {result.rate:9.0f} msg/s "
                             f"(ok {result.ok}/{result.messages})")
            await asyncio.sleep(0)
    return results


def summarize(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Median rate per (endpoint, client) and the median of per-round ratios to raw aiohttp."""
    rows: list[dict[str, Any]] = []
    endpoints = list(dict.fromkeys(r.endpoint for r in results))
    clients = list(dict.fromkeys(r.client for r in results))
    for endpoint in endpoints:
        runs = [r for r in results if r.endpoint == endpoint]
        per_client = {c: [r for r in runs if r.client == c] for c in clients}
        rounds = min(len(v) for v in per_client.values() if v)
        raw_per_round = [
            max(per_client[c][i].rate for c in RAW_CLIENTS if len(per_client.get(c, [])) > i)
            for i in range(rounds)
        ]
        for client, client_runs in per_client.items():
            if not client_runs:
                continue
            ratios = [client_runs[i].rate / raw_per_round[i] for i in range(rounds)
                      if raw_per_round[i] > 0]
            rows.append({
                "endpoint": endpoint,
                "client": client,
                "rate": statistics.median(r.rate for r in client_runs),
                "ratio_to_raw": statistics.median(ratios) if ratios else None,
                "ok": min(r.ok for r in client_runs),
                "messages": client_runs[0].messages,
                "server_busy": max((r.server_busy or 0.0) for r in client_runs),
                "client_cpu_share": statistics.median(r.client_cpu_share for r in client_runs),
                # the least CPU any round needed: other processes only ever add to it
                "cpu_us_per_message": min(r.cpu_seconds / r.ok * 1e6 for r in client_runs
                                          if r.ok) if any(r.ok for r in client_runs) else None,
                "rounds": len(client_runs),
            })
    for endpoint in endpoints:
        own = [r for r in rows if r["endpoint"] == endpoint]
        raw_cpu = min((r["cpu_us_per_message"] for r in own
                       if r["client"] in RAW_CLIENTS and r["cpu_us_per_message"]), default=None)
        for row in own:
            cpu = row["cpu_us_per_message"]
            # The clients are CPU-bound (client cpu ~1.0), so CPU per message is the inverse of
            # the rate they could reach on a quiet core: a cross-check that load cannot inflate.
            row["cpu_ratio_to_raw"] = raw_cpu / cpu if raw_cpu and cpu else None
    return rows
