"""The Redis limiter beside the in-process one: round trips per acquire, and acquires/s.

``python -m benchmarks.redis_limiter`` starts its own ``redis-server`` (AOF, fsync always, as
the tests do; pass ``--redis URL`` to use another) and measures, in this one run:

* ``round trips / acquire``: script calls (EVALSHA + EVAL) Redis executed per granted acquire,
  counted on the server (``INFO commandstats``), plus any other command a client sent
  (connection set-up: HELLO, CLIENT, AUTH, SELECT, SUBSCRIBE...); the target is at most 1.
  The commands a script runs inside Redis (TIME, GET, SET, HMGET...) are not round trips and
  are left out: commandstats counts them too, under their own names;
* ``acquires/s``: with a limit far above what either can reach (the limiter's own cost) and
  with a real limit (``--rate`` per second, ``use`` = achieved / allowed);
* ``ratio``: Redis limiter over in-process limiter in the same run;
* dispatcher throughput (``measure_dispatcher``): the TextUs provider behind a Dispatcher
  against the benchmark server, its limiter in-process or in Redis (a limit that never binds,
  so the limiter's cost is what differs), interleaved rounds; msg/s, the ratio, and Redis
  round trips per send counted on the server.

``make bench`` runs both (``python -m benchmarks --only redis``); this module alone prints its
own table.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from .report import table

UNLIMITED = 1_000_000.0  # per second: the limiter's own cost, not the limit, is measured


async def _rate(acquire: Callable[[], Awaitable[Any]], seconds: float,
                concurrency: int) -> tuple[int, int]:
    """Acquires granted within ``seconds`` by ``concurrency`` tasks acquiring back to back,
    and all granted (those in flight at the deadline included)."""
    deadline = time.monotonic() + seconds
    granted = total = 0

    async def worker() -> None:
        nonlocal granted, total
        while time.monotonic() < deadline:
            await acquire()
            total += 1
            if time.monotonic() <= deadline:
                granted += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return granted, total


# What the Lua scripts call inside Redis (no round trip); the limiter sends none of these itself.
_IN_SCRIPT = {"time", "get", "set", "hmget", "hset", "pexpire", "publish"}
_OURS = {"info"}  # this benchmark's own look at the counters


async def _commands(client: Any) -> int:
    """Commands clients sent so far (script-internal ones excluded; see the module doc)."""
    stats = await client.info("commandstats")
    return sum(int(entry["calls"]) for name, entry in stats.items()
               if name.removeprefix("cmdstat_").split("|")[0] not in _IN_SCRIPT | _OURS)


async def measure(url: str, *, seconds: float, rate: float, concurrency: int) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from smsbridge.limits.local import RateLimiter
    from smsbridge.redis import RedisLimiter

    client = aioredis.Redis.from_url(url)
    results: dict[str, Any] = {}
    try:
        for label, limit in (("unlimited", UNLIMITED), ("limited", rate)):
            local = RateLimiter(limit, 1.0)
            shared = RedisLimiter(url, limiter_id=f"bench-{label}-{time.time_ns()}",
                                  max_rate=limit, lookahead=0.25)
            try:
                # A first use waits out the look-ahead; the pool opens its connections.
                await asyncio.gather(*(shared.acquire() for _ in range(concurrency)))
                await local.acquire()
                local_n, _ = await _rate(local.acquire, seconds, concurrency)
                before = await _commands(client)
                trips_before = shared.round_trips
                shared_n, shared_total = await _rate(shared.acquire, seconds, concurrency)
                executed = await _commands(client) - before
                script_calls = shared.round_trips - trips_before
            finally:
                await shared.aclose()
            results[label] = {
                "limit_per_s": limit, "in_process_per_s": local_n / seconds,
                "redis_per_s": shared_n / seconds,
                "ratio": shared_n / local_n if local_n else None,
                "round_trips_per_acquire": executed / max(shared_total, 1),
                "script_calls_per_acquire": script_calls / max(shared_total, 1),
            }
    finally:
        await client.aclose()
    return results


async def measure_dispatcher(url: str, server_url: str, *, messages: int, concurrency: int,
                             rounds: int, warm_up: int = 256) -> dict[str, Any]:
    """Dispatcher msg/s with the provider's limiter in-process vs in Redis, same run."""
    import statistics

    import redis.asyncio as aioredis

    from smsbridge import Dispatcher, OutcomeStatus
    from smsbridge.limits.local import RateLimiter
    from smsbridge.redis import RedisLimiter

    from .throughput import UNBINDING_RATE, WARM_UP_START, make_provider
    from .workload import BODY, TEXTUS, numbers

    client = aioredis.Redis.from_url(url)
    rates: dict[str, list[float]] = {"in-process": [], "redis": []}
    trips: list[float] = []
    recipients = numbers(messages)
    try:
        for round_no in range(rounds):
            for label in rates:
                provider = make_provider(server_url, TEXTUS)
                shared = None
                if label == "redis":
                    shared = RedisLimiter(url, limiter_id=f"bench-dispatch-{round_no}",
                                          max_rate=UNBINDING_RATE, lookahead=0.25)
                    provider.rate_limiter = shared
                else:
                    provider.rate_limiter = RateLimiter(UNBINDING_RATE, 1.0)
                try:
                    dispatcher = Dispatcher(provider, concurrency=concurrency)
                    # Untimed: connections, and the Redis schedule's first-use look-ahead.
                    async for _ in dispatcher.stream(numbers(warm_up, WARM_UP_START),
                                                     body=BODY):
                        pass
                    before = await _commands(client)
                    started = time.perf_counter()
                    sent = 0
                    async for outcome in dispatcher.stream(recipients, body=BODY):
                        sent += outcome.status is OutcomeStatus.SENT
                    elapsed = time.perf_counter() - started
                    if shared is not None:
                        trips.append((await _commands(client) - before) / max(sent, 1))
                finally:
                    await provider.aclose()
                    if shared is not None:
                        await shared.aclose()
                rates[label].append(sent / elapsed)
    finally:
        await client.aclose()
    local, redis = statistics.median(rates["in-process"]), statistics.median(rates["redis"])
    return {"messages": messages, "concurrency": concurrency, "rounds": rounds,
            "in_process_per_s": local, "redis_per_s": redis,
            "ratio": statistics.median(r / i for r, i in zip(rates["redis"],
                                                            rates["in-process"], strict=True)),
            "round_trips_per_send": max(trips) if trips else None}


def render_dispatcher(result: dict[str, Any]) -> str:
    return table(["messages", "concurrency", "in-process limiter msg/s", "redis limiter msg/s",
                  "redis / in-process", "redis round trips/send"],
                 [[result["messages"], result["concurrency"], result["in_process_per_s"],
                   result["redis_per_s"], result["ratio"], result["round_trips_per_send"]]])


def render(results: dict[str, Any]) -> str:
    rows = []
    for label, r in results.items():
        limit = None if label == "unlimited" else r["limit_per_s"]
        use_local = r["in_process_per_s"] / limit if limit else None
        use_redis = r["redis_per_s"] / limit if limit else None
        rows.append([label, limit, r["in_process_per_s"], use_local, r["redis_per_s"],
                     use_redis, r["ratio"], r["round_trips_per_acquire"]])
    return table(["limit", "per s", "in-process acq/s", "use", "redis acq/s", "use",
                  "redis/in-process", "round trips/acquire"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_limiter",
                                     description=__doc__)
    parser.add_argument("--redis", help="use this Redis instead of starting one")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=200.0,
                        help="the real limit, acquires per second (default 200)")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    if args.redis:
        results = asyncio.run(measure(args.redis, seconds=args.seconds, rate=args.rate,
                                      concurrency=args.concurrency))
    else:
        sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "support"))
        from redis_server import RedisServer

        with tempfile.TemporaryDirectory(prefix="smsbridge-bench-redis-") as directory:
            server = RedisServer(Path(directory))
            server.start()
            try:
                results = asyncio.run(measure(server.url, seconds=args.seconds,
                                              rate=args.rate, concurrency=args.concurrency))
            finally:
                server.stop()
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
