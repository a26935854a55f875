"""RedisLimiter against a real redis-server: exact GCRA admission, pause, budget, restarts."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis_server import RedisServer

from smsbridge.limits import Limiter, Permit
from smsbridge.limits.state import RateLimitState
from smsbridge.redis import LimiterUnavailableError, RedisLimiter, StoreUnavailableError

RATE = 20.0  # per second: a 50 ms emission interval, coarse enough for a shared CI machine
INTERVAL = 1 / RATE
CHILD = Path(__file__).with_name("limiter_child.py")


async def run_child(*args: str) -> list[float]:
    """Run limiter_child.py in its own interpreter; the times it printed."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), *args, stdout=asyncio.subprocess.PIPE, env=env)
    out, _ = await asyncio.wait_for(child.communicate(), 60)
    lines = out.decode().splitlines()
    assert child.returncode == 0 and lines[-1] == "done"
    return [float(line) for line in lines[:-1]]


def limiter(url: str, ident: str = "acct", **options: float) -> RedisLimiter:
    options.setdefault("max_rate", RATE)
    options.setdefault("burst", 1)
    options.setdefault("lookahead", 0.3)
    return RedisLimiter(url, limiter_id=ident, **options)


async def hammer(limiters: list[RedisLimiter], until: float, per_limiter: int = 3) -> list[float]:
    """Acquire as fast as allowed from every limiter until ``until``; the grant times."""
    grants: list[float] = []

    async def worker(lim: RedisLimiter) -> None:
        while time.time() < until:
            await lim.acquire()
            grants.append(time.time())

    await asyncio.gather(*(worker(lim) for lim in limiters for _ in range(per_limiter)))
    return sorted(grants)


def max_in_window(stamps: list[float], window: float) -> int:
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_redis_limiter_implements_the_limiter_protocol(redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url)
    try:
        assert isinstance(lim, Limiter)
        permit = await lim.acquire()
        assert isinstance(permit, Permit) and permit.limiter is lim
    finally:
        await lim.aclose()


async def test_two_limiters_on_one_account_together_admit_exactly_the_rate(
        redis_server: RedisServer) -> None:
    a, b = limiter(redis_server.url), limiter(redis_server.url)
    other = limiter(redis_server.url, ident="another-account")
    try:
        # The first use of an account waits out the look-ahead (an empty bucket).
        await asyncio.gather(a.acquire(), other.acquire())
        start = time.time()
        grants, other_grants = await asyncio.gather(
            hammer([a, b], start + 2.0), hammer([other], start + 2.0))
    finally:
        for lim in (a, b, other):
            await lim.aclose()
    # Over 2 s at 20/s the shared schedule has exactly 40 slots (plus the one in flight at
    # the end); sleeping can only delay a grant, never advance it.
    in_window = [g for g in grants if g < start + 2.0]
    assert 38 <= len(in_window) <= 41
    assert max_in_window(grants, 1.0) <= RATE + 2
    # Another account's limit is its own: it is not shared with a and b.
    assert len([g for g in other_grants if g < start + 2.0]) >= 38


async def test_two_processes_share_one_rate(redis_server: RedisServer) -> None:
    ident = "two-processes"
    here = limiter(redis_server.url, ident)
    try:
        await here.acquire()
        start = time.time() + 1.0  # the child's interpreter start-up
        until = start + 3.0
        child = asyncio.create_task(run_child(
            "hammer", redis_server.url, ident, str(RATE), "0.3", str(until)))
        await asyncio.sleep(max(0.0, start - time.time()))
        mine = await hammer([here], until)
        theirs = await child
    finally:
        await here.aclose()
    assert len(theirs) >= 10 and len(mine) >= 10  # both processes really competed
    both = sorted(g for g in mine + theirs if start <= g < until)
    assert 0.95 * 3.0 * RATE <= len(both) <= 3.0 * RATE + 2
    assert max_in_window(both, 1.0) <= RATE + 2


async def test_one_acquire_is_one_round_trip(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    lim = limiter(redis_server.url, max_rate=1000.0, lookahead=1.0)
    try:
        await lim.acquire()
        await redis_client.config_resetstat()
        for _ in range(50):
            await lim.acquire()
        stats = await redis_client.info("commandstats")
    finally:
        await lim.aclose()
    calls = {name: entry["calls"] for name, entry in stats.items()}
    assert calls.get("cmdstat_evalsha") == 50
    assert "cmdstat_eval" not in calls and lim.round_trips == 51


async def test_a_script_cache_flushed_by_redis_costs_no_extra_round_trip(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    lim = limiter(redis_server.url, max_rate=1000.0)
    try:
        await lim.acquire()
        await redis_client.script_flush()
        await redis_client.config_resetstat()
        await lim.acquire()  # NOSCRIPT, then EVAL with the source (which caches it again)
        await lim.acquire()
        stats = await redis_client.info("commandstats")
    finally:
        await lim.aclose()
    assert stats["cmdstat_evalsha"]["calls"] == 2 and stats["cmdstat_eval"]["calls"] == 1


async def test_a_pause_in_one_process_holds_every_other_one(redis_server: RedisServer) -> None:
    a, b = limiter(redis_server.url), limiter(redis_server.url)
    try:
        await a.acquire()
        await a.pause(1.0)
        started = time.monotonic()
        await b.acquire()
        waited = time.monotonic() - started
        # Then the rate resumes without a burst: the next slot is one interval later.
        second = time.monotonic()
        await b.acquire()
        gap = time.monotonic() - second
    finally:
        await a.aclose()
        await b.aclose()
    assert 0.9 <= waited <= 1.6
    assert gap >= INTERVAL * 0.8


async def test_a_pause_learned_while_waiting_for_a_slot_is_honoured(
        redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url, max_rate=2.0, lookahead=1.0)  # slots 0.5 s apart
    try:
        await lim.acquire()
        waiter = asyncio.create_task(lim.acquire())  # reserved ~0.5 s ahead, sleeping
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await lim.pause(1.5)
        await waiter
        waited = time.monotonic() - started
    finally:
        await lim.aclose()
    assert waited >= 1.4


async def test_a_pause_set_by_another_process_holds_this_ones_next_request(
        redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url, "paused-elsewhere")
    try:
        await lim.acquire()
        [paused_at] = await run_child("pause", redis_server.url, "paused-elsewhere", "20", "1.5")
        await lim.acquire()
        done = time.time()
    finally:
        await lim.aclose()
    assert done >= paused_at + 1.4


async def test_a_slot_reserved_before_another_process_paused_waits_out_the_pause(
        redis_server: RedisServer) -> None:
    # Slots 2 s apart, reserved up to 2.5 s ahead: the waiter holds a slot ~2 s out when the
    # other process (up in well under 2 s) pauses for 3 s; the pub/sub notice makes it give
    # the slot up. Without it the waiter would go inside the pause.
    lim = limiter(redis_server.url, "reserved", max_rate=0.5, lookahead=2.5)
    try:
        await lim.acquire()  # a first use waits the look-ahead; the listener subscribes
        waiter = asyncio.create_task(lim.acquire())
        await asyncio.sleep(0.05)
        [paused_at] = await run_child("pause", redis_server.url, "reserved", "0.5", "3.0")
        await waiter
        done = time.time()
    finally:
        await lim.aclose()
    assert done >= paused_at + 2.9


async def test_the_servers_budget_seen_by_one_process_binds_every_process(
        redis_server: RedisServer) -> None:
    a, b = limiter(redis_server.url, max_rate=100.0, lookahead=3.0), limiter(
        redis_server.url, max_rate=100.0, lookahead=3.0)
    try:
        await a.acquire()
        reset_at = time.time() + 2.0
        await a.observe(RateLimitState(limit=10, remaining=2, reset_at=reset_at))
        started = time.monotonic()
        await a.acquire()  # carries the observation: 1 left
        await b.acquire()  # the last one
        quick = time.monotonic() - started
        await b.acquire()  # spent: waits for the reset
        done = time.time()
    finally:
        await a.aclose()
        await b.aclose()
    assert quick < 0.5
    assert done >= reset_at - 0.05


async def test_a_lower_remaining_for_the_same_window_wins_and_a_stale_one_is_ignored(
        redis_server: RedisServer) -> None:
    a, b = (limiter(redis_server.url, max_rate=100.0, lookahead=3.0) for _ in range(2))
    try:
        await a.acquire()
        reset_at = float(int(time.time()) + 2)
        await b.observe(RateLimitState(limit=10, remaining=5, reset_at=reset_at))
        await b.acquire()  # 4 left
        await a.observe(RateLimitState(limit=10, remaining=1, reset_at=reset_at))
        await a.observe(RateLimitState(limit=10, remaining=0, reset_at=time.time() - 1))
        started = time.monotonic()
        await a.acquire()  # min(4, 1): the last one
        first = time.monotonic() - started
        await b.acquire()
        done = time.time()
    finally:
        await a.aclose()
        await b.aclose()
    assert first < 0.5
    assert done >= reset_at - 0.05


async def test_a_redis_restarted_with_its_aof_keeps_the_schedule(
        redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url, max_rate=5.0, burst=5, lookahead=0.5)
    try:
        start = time.time()
        await hammer([lim], start + 1.5, per_limiter=2)
        redis_server.restart()  # SIGKILL, then the same data directory
        after = time.time()
        grants = await hammer([lim], after + 1.0, per_limiter=4)
    finally:
        await lim.aclose()
    # The saturated schedule survived: no burst of 5 came out right after the restart.
    assert max_in_window(grants, 0.5) <= 4


async def test_a_redis_that_comes_back_empty_lets_no_burst_out(
        redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url, max_rate=5.0, burst=5, lookahead=0.5)  # 0.2 s slots
    try:
        start = time.time()
        await hammer([lim], start + 1.0, per_limiter=2)
        redis_server.kill()
        redis_server.wipe()
        redis_server.start()
        back = time.time()
        grants = await hammer([lim], back + 1.5, per_limiter=5)
    finally:
        await lim.aclose()
    # A burst of 5 was allowed by the burst setting, but an emptied store is taken as a spent
    # bucket: the first grant waits the look-ahead, then one per 0.2 s.
    assert grants[0] - back >= 0.45
    gaps = [b - a for a, b in itertools.pairwise(grants)]
    assert min(gaps) >= 0.15
    assert len([g for g in grants if g < back + 1.5]) <= 6


async def test_a_hung_redis_fails_the_acquire_in_bounded_time_naming_the_masked_url(
        redis_factory: type[RedisServer]) -> None:
    server = redis_factory(password="s3cret-pass")
    lim = limiter(server.url, timeout=0.5)
    try:
        await lim.acquire()
        server.freeze()
        started = time.monotonic()
        with pytest.raises(LimiterUnavailableError) as caught:
            await lim.acquire()
        waited = time.monotonic() - started
        server.thaw()
        await lim.acquire()  # back: permission again
    finally:
        server.thaw()
        await lim.aclose()
    error = caught.value
    assert isinstance(error, StoreUnavailableError) and not error.may_have_been_sent
    assert 0.4 <= waited <= 2.0
    assert f"redis://:***@127.0.0.1:{server.port}/0" in str(error)
    assert "s3cret-pass" not in str(error) and "s3cret-pass" not in repr(lim)
    assert error.url == f"redis://:***@127.0.0.1:{server.port}/0"


async def test_a_redis_that_is_down_fails_the_acquire_and_never_grants(
        redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url, timeout=0.5)
    try:
        await lim.acquire()
        redis_server.kill()
        started = time.monotonic()
        with pytest.raises(LimiterUnavailableError, match="did not answer"):
            await lim.acquire()
        assert time.monotonic() - started <= 2.0
        redis_server.start()
        await lim.acquire()  # reconnects by itself
    finally:
        await lim.aclose()


async def test_an_observation_that_could_not_be_sent_goes_with_the_next_acquire(
        redis_server: RedisServer) -> None:
    lim = limiter(redis_server.url, max_rate=100.0, lookahead=3.0, timeout=0.3)
    try:
        await lim.acquire()
        reset_at = time.time() + 2.5
        await lim.observe(RateLimitState(limit=10, remaining=1, reset_at=reset_at))
        redis_server.freeze()
        with pytest.raises(LimiterUnavailableError):
            await lim.acquire()
        redis_server.thaw()
        await lim.acquire()  # the last one of the budget
        await lim.acquire()
        done = time.time()
    finally:
        redis_server.thaw()
        await lim.aclose()
    assert done >= reset_at - 0.05


def test_bad_settings_are_rejected_with_a_configuration_error() -> None:
    from smsbridge.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="positive"):
        RedisLimiter("redis://localhost", limiter_id="x", max_rate=0)
    with pytest.raises(ConfigurationError, match="burst"):
        RedisLimiter("redis://localhost", limiter_id="x", max_rate=1, burst=0.5)
    with pytest.raises(ConfigurationError, match="timeout"):
        RedisLimiter("redis://localhost", limiter_id="x", max_rate=1, timeout=0)
    with pytest.raises(ConfigurationError, match="not a Redis URL"):
        RedisLimiter("http://:pw@localhost", limiter_id="x", max_rate=1)


async def test_limiters_for_one_account_and_token_share_a_budget_and_hold_no_secret(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    token = "tok_live_abcdef123456"
    kwargs = {"provider": "textus", "account": "acme", "max_rate": 1.0, "lookahead": 1.0}
    a = RedisLimiter.for_account(redis_server.url, token=token, **kwargs)  # type: ignore[arg-type]
    b = RedisLimiter.for_account(redis_server.url, token=token, **kwargs)  # type: ignore[arg-type]
    try:
        await a.acquire()
        started = time.monotonic()
        await b.acquire()  # the shared schedule: one second after a's
        waited = time.monotonic() - started
        keys = [key async for key in redis_client.scan_iter("*")]
    finally:
        await a.aclose()
        await b.aclose()
    assert waited >= 0.9
    assert a.keys.tat == b.keys.tat and keys
    assert all(token.encode() not in key and b"acme" not in key for key in keys)
    assert token not in repr(a)
