"""``python -m benchmarks.redis_jobs``: one job in a RedisJobStore, worked by 1 and then 2
worker processes against the local benchmark server (``benchmarks.server``).

Prints the Redis round trips per recipient (counted on the server: commands clients sent,
not the commands scripts ran inside Redis) and the job's throughput with 1 and 2 workers (the
ratio is from this one run). The machine's core count is printed: on 2 cores the benchmark
server, Redis and the workers share them, which caps the 2-worker gain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .report import table
from .server import ServerProcess
from .workload import TEXTUS, TEXTUS_ACCOUNT, TEXTUS_TOKEN, numbers

# Commands scripts run inside Redis (not round trips); everything else a client sent.
_SCRIPT_ONLY = {"hget", "hset", "hincrby", "hsetnx", "xadd", "xack"}


async def _client_calls(url: str) -> int:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    total = 0
    for name, value in stats.items():
        command = name.removeprefix("cmdstat_").lower()
        if command.split("|")[0] in _SCRIPT_ONLY or command.startswith(("info", "config")):
            continue
        total += int(value["calls"])
    return total


async def _enqueue(url: str, job: str, count: int, start: int) -> None:
    from smsbridge.dispatch.spec import JobSpec
    from smsbridge.redis import RedisJobStore

    async with RedisJobStore(url) as store:
        await store.enqueue(numbers(count, start), spec=JobSpec(body="Hello"), job_id=job,
                            provider="textus")


async def _work(url: str, job: str, server_url: str, concurrency: int) -> None:
    """One worker (run in a child process): prints its start, end and sent count as JSON."""
    from smsbridge import Dispatcher
    from smsbridge.limits.local import RateLimiter
    from smsbridge.providers.textus import TextUsProvider
    from smsbridge.redis import RedisJobStore

    async with RedisJobStore(url) as store, TextUsProvider(
            TEXTUS_TOKEN, TEXTUS_ACCOUNT, base_url=TEXTUS.base_url(server_url),
            rate_limiter=RateLimiter(1_000_000, 1.0)) as textus:
        start = time.time()
        report = await Dispatcher(textus, concurrency=concurrency, journal=store).resume(job)
        print(json.dumps({"start": start, "end": time.time(), "sent": report.sent}))


def _run_workers(url: str, job: str, server_url: str, workers: int, concurrency: int
                 ) -> list[dict[str, Any]]:
    procs = [subprocess.Popen(
        [sys.executable, "-m", "benchmarks.redis_jobs", "--worker", url, job, server_url,
         str(concurrency)], stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    out = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=600)
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def measure(url: str, *, count: int, concurrency: int) -> dict[str, Any]:
    with ServerProcess() as server:
        rows = {}
        for workers in (1, 2):
            job = f"bench-{workers}"
            asyncio.run(_enqueue(url, job, count, start=workers * count))
            before = asyncio.run(_client_calls(url))
            results = _run_workers(url, job, server.url, workers, concurrency)
            calls = asyncio.run(_client_calls(url)) - before
            elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
            sent = sum(r["sent"] for r in results)
            rows[workers] = {"sent": sent, "elapsed": elapsed, "rate": sent / elapsed,
                             "round_trips": calls / count}
    return {"cores": os.cpu_count(), "recipients": count, "concurrency": concurrency,
            "rows": rows, "ratio": rows[2]["rate"] / rows[1]["rate"]}


def render(results: dict[str, Any]) -> str:
    rows = [[str(w), f"{r['sent']:,}", f"{r['elapsed']:.2f}", f"{r['rate']:,.0f}",
             f"{r['round_trips']:.2f}"] for w, r in results["rows"].items()]
    head = (f"Redis job store: {results['recipients']:,} recipients, concurrency "
            f"{results['concurrency']} per worker, {results['cores']} cores shared by the "
            f"benchmark server, Redis and the workers; 2 workers / 1 worker = "
            f"{results['ratio']:.2f}x")
    return head + "\n" + table(
        ["workers", "sent", "seconds", "msg/s", "Redis round trips / recipient"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--worker"]:
        url, job, server_url, concurrency = args[1:5]
        asyncio.run(_work(url, job, server_url, int(concurrency)))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_jobs", description=__doc__)
    parser.add_argument("--redis", help="an existing Redis (default: start one)")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parsed = parser.parse_args(args)
    if parsed.redis:
        results = measure(parsed.redis, count=parsed.recipients,
                          concurrency=parsed.concurrency)
    else:
        sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "support"))
        from redis_server import RedisServer

        with tempfile.TemporaryDirectory(prefix="smsbridge-bench-jobs-") as directory:
            server = RedisServer(Path(directory))
            server.start()
            try:
                results = measure(server.url, count=parsed.recipients,
                                  concurrency=parsed.concurrency)
            finally:
                server.stop()
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
