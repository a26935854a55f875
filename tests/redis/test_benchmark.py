"""Smoke test of benchmarks/redis_limiter.py at a tiny size against a real redis-server.

Speeds are never asserted (shared machines); the round-trip count is, because it is counted on
the Redis server and does not depend on speed.
"""

from __future__ import annotations

from redis_server import RedisServer

from benchmarks.redis_limiter import measure, render


async def test_the_redis_limiter_benchmark_reports_one_round_trip_per_acquire(
        redis_server: RedisServer) -> None:
    results = await measure(redis_server.url, seconds=0.5, rate=50.0, concurrency=4)
    for label in ("unlimited", "limited"):
        figures = results[label]
        assert figures["redis_per_s"] > 0 and figures["in_process_per_s"] > 0
        assert figures["round_trips_per_acquire"] == 1.0
        assert figures["script_calls_per_acquire"] == 1.0
    assert results["limited"]["redis_per_s"] <= 50.0 * 1.2
    text = render(results)
    assert "round trips/acquire" in text and "1.00" in text


async def test_the_dispatcher_benchmark_compares_the_redis_and_in_process_limiters(
        redis_server: RedisServer) -> None:
    from benchmarks.redis_limiter import measure_dispatcher, render_dispatcher
    from benchmarks.server import ServerProcess

    with ServerProcess() as server:
        result = await measure_dispatcher(redis_server.url, server.url, messages=200,
                                          concurrency=8, rounds=1, warm_up=20)
    assert result["in_process_per_s"] > 0 and result["redis_per_s"] > 0
    assert result["ratio"] == result["redis_per_s"] / result["in_process_per_s"]
    assert result["round_trips_per_send"] == 1.0  # one acquire per send, nothing else
    assert "redis round trips/send" in render_dispatcher(result)
