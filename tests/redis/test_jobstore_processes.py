"""One job, many worker processes: real redis-server, the sandbox (in this process), and
``smsbridge worker`` subprocesses — killed, paused, interrupted.

Scaled for CI (a few thousand recipients, a few kills); the issue's full sizes run with
``SMSBRIDGE_JOB_RECIPIENTS=20000 SMSBRIDGE_KILL_TRIALS=20`` (numbers in notes/i12-store.md).
Every trial asserts: the sandbox accepted no number twice, every recipient has an outcome,
and the UNKNOWNs a kill leaves are at most the killed worker's concurrency.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis_server import RedisServer

from smsbridge.dispatch.spec import JobSpec
from smsbridge.models import Recipient
from smsbridge.redis import RedisJobStore
from smsbridge.redis.jobstore import JobKeys
from smsbridge.sandbox import Sandbox

RECIPIENTS = int(os.environ.get("SMSBRIDGE_JOB_RECIPIENTS", "2000"))
KILL_TRIALS = int(os.environ.get("SMSBRIDGE_KILL_TRIALS", "2"))
SPEC = JobSpec(body="Hi {name}")
PROGRESS_LINE = re.compile(r"job J \(all workers\) via textus: ([\d,]+)/([\d,]+)")
WORKER_LINE = re.compile(
    r"This worker: sent ([\d,]+), failed ([\d,]+), unknown ([\d,]+), skipped ([\d,]+)")


def log_trial(**fields: Any) -> None:
    """With $SMSBRIDGE_TRIALS_LOG set, one JSON line per trial (the numbers in the notes)."""
    path = os.environ.get("SMSBRIDGE_TRIALS_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(fields) + "\n")


def numbers(count: int, seed: int = 0) -> list[str]:
    """Distinct fictional numbers (555 exchange) over a few area codes."""
    areas = ["303", "720", "415", "212", "617"]
    return [f"+1{areas[(n // 10000 + seed) % len(areas)]}555{n % 10000:04d}"
            for n in range(count)]


def env(sb: Sandbox) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("SMSBRIDGE_URL", "SMSBRIDGE_DEBUG")}
    out.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb",
                "SMSBRIDGE_URL": sb.textus_connection_url, "PYTHONFAULTHANDLER": "1"})
    return out


async def start_worker(sb: Sandbox, redis: RedisServer, job: str, *, concurrency: int,
                       heartbeat: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbridge.cli", "worker", "--store", redis.url, "--job", job,
        "--concurrency", str(concurrency), "--rate", "100000",
        "--heartbeat-timeout", str(heartbeat),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env(sb))


async def finish(proc: asyncio.subprocess.Process, limit: float) -> tuple[int, str, str]:
    talk = asyncio.ensure_future(proc.communicate())
    try:
        out, err = await asyncio.wait_for(asyncio.shield(talk), limit)
    except TimeoutError:
        proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: the stacks go to stderr
        out, err = await talk
        pytest.fail(f"a worker did not finish in {limit:g}s:\n{err.decode()[-6000:]}")
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def worker_counts(out: str) -> Counter[str]:
    match = WORKER_LINE.search(out)
    assert match, out
    values = [int(v.replace(",", "")) for v in match.groups()]
    return Counter(dict(zip(("sent", "failed", "unknown", "skipped"), values, strict=True)))


async def enqueue(redis: RedisServer, job: str, phones: list[str], chunk: int = 50) -> None:
    async with RedisJobStore(redis.url, chunk_size=chunk) as store:
        await store.enqueue([Recipient(p, {"name": f"n{i}"}) for i, p in enumerate(phones)],
                            spec=SPEC, job_id=job, provider="textus")


async def job_state(redis: RedisServer, job: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    async with RedisJobStore(redis.url) as store:
        return await store.report(job), await store.records(job)


def assert_no_duplicate(sb: Sandbox) -> None:
    repeated = [n for n, c in Counter(sb.accepted_numbers("textus")).items() if c > 1]
    assert repeated == []


async def wait_accepted(sb: Sandbox, count: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while len(sb.accepted_numbers("textus")) < count:
        assert time.monotonic() < deadline, "the job did not get going"
        await asyncio.sleep(0.005)


async def test_three_workers_with_faults_give_every_recipient_one_outcome_and_the_store_sums_them(
        redis_server: RedisServer) -> None:
    phones = numbers(RECIPIENTS)
    await enqueue(redis_server, "J", phones, chunk=100)
    faults = ["textus.send:error_5xx_before:0.03", "textus.send:error_5xx_after:0.01",
              "textus.send:reset_before_read:0.01", "textus.send:rate_limit_429:0.01:0.2"]
    async with Sandbox(seed=12, faults=faults) as sb:
        procs = [await start_worker(sb, redis_server, "J", concurrency=8, heartbeat=5)
                 for _ in range(3)]
        results = [await finish(p, 120 + RECIPIENTS / 50) for p in procs]
        assert_no_duplicate(sb)
        accepted = set(sb.accepted_numbers("textus"))
    report, records = await job_state(redis_server, "J")
    assert all(code in (0, 1) for code, _, _ in results), results
    assert report.open == 0 and report.complete
    assert report.done == RECIPIENTS
    union = sum((worker_counts(out) for _, out, _ in results), Counter())
    log_trial(test="three_workers", recipients=RECIPIENTS, store=dict(report.states),
              workers=[dict(worker_counts(out)) for _, out, _ in results])
    assert union["sent"] == report.sent and union["failed"] == report.failed
    assert union["unknown"] == report.unknown and union["skipped"] == report.skipped
    sent = {k for k, r in records.items() if r["s"] == "sent"}
    assert sent <= accepted
    assert {k for k, r in records.items() if r["s"] == "failed"}.isdisjoint(accepted)
    assert all(worker_counts(out)["sent"] > 0 for _, out, _ in results)  # all took part
    assert "job J (complete" in results[0][1], results[0]
    # Every worker's bar counts the whole job: out of all its recipients, not its own share.
    for _, _, err in results:
        totals = {int(m.group(2).replace(",", "")) for m in PROGRESS_LINE.finditer(err)}
        assert totals == {RECIPIENTS}, err


@pytest.mark.parametrize("trial", range(KILL_TRIALS))
async def test_a_worker_killed_at_a_random_moment_leaves_no_duplicate_no_gap_and_few_unknowns(
        redis_server: RedisServer, trial: int) -> None:
    rng = random.Random(f"kill-{trial}")
    total = max(RECIPIENTS // 3, 300)
    concurrency, heartbeat = 6, 1.5
    await enqueue(redis_server, "K", numbers(total, seed=trial), chunk=40)
    # A little latency widens the window between request and finish, where kills land.
    async with Sandbox(seed=trial, faults=["textus.send:latency:1.0:0.01"]) as sb:
        procs = [await start_worker(sb, redis_server, "K", concurrency=concurrency,
                                    heartbeat=heartbeat) for _ in range(3)]
        kill_after = rng.randrange(total // 10, total // 2)
        await wait_accepted(sb, kill_after)
        victim = rng.randrange(3)
        procs[victim].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        survivors = [await finish(p, 60 + total / 50)
                     for n, p in enumerate(procs) if n != victim]
        finished_in = time.monotonic() - killed_at
        await procs[victim].wait()
        assert_no_duplicate(sb)
        accepted = set(sb.accepted_numbers("textus"))
    report, records = await job_state(redis_server, "K")
    assert all(code in (0, 1) for code, _, _ in survivors), survivors
    assert report.open == 0 and report.done == total
    interrupted = [k for k, r in records.items() if r.get("r") == "interrupted"]
    # A worker killed between chunks held nothing to take over; one killed mid-chunk is taken
    # over (its in-flight recipients are the UNKNOWNs). Either way the job completed above.
    assert report.takeovers >= 1 or not interrupted
    log_trial(test="kill", trial=trial, recipients=total, killed_after=kill_after,
              unknown=len(interrupted), takeovers=report.takeovers, sent=report.sent,
              duplicates=len(sb.accepted_numbers("textus")) - len(accepted),
              finished_in=round(finished_in, 2))
    assert len(interrupted) <= concurrency
    assert report.unknown == len(interrupted)
    # Killed before claim: sent once by somebody else; every other recipient is SENT.
    assert report.sent == total - len(interrupted)
    assert {k for k, r in records.items() if r["s"] == "sent"} <= accepted
    # The job finishes within the heartbeat timeout (+ its confirmation) and a few seconds
    # of sending what was left.
    assert finished_in < heartbeat * 1.5 + 15 + total / 100


async def test_a_coordinator_killed_mid_enqueue_and_run_again_adds_no_duplicate(
        redis_server: RedisServer, redis_client: aioredis.Redis, tmp_path: Path) -> None:
    count = 20000
    phones = numbers(count)
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "name"])
        writer.writerows([p, f"n{i}"] for i, p in enumerate(phones))
    keys = JobKeys("C")
    async with Sandbox(seed=1) as sb:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "smsbridge.cli", "bulk", str(path), "--body", "Hi {name}",
            "--store", redis_server.url, "--job-id", "C", "--rate", "100000",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env(sb))
        deadline = time.monotonic() + 60
        while int(await redis_client.hget(keys.meta, "last_entry") or 0) < 3:
            assert time.monotonic() < deadline and proc.returncode is None
            await asyncio.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert await redis_client.hget(keys.meta, "enqueued") is None, "killed too late"
        assert sb.accepted_numbers("textus") == []  # the coordinator enqueues before it sends
    # Run again (the coordinator's code, same file): it finishes the enqueue.
    async with RedisJobStore(redis_server.url) as store:
        rerun = await store.enqueue(
            [Recipient(p, {"name": f"n{i}"}) for i, p in enumerate(phones)], spec=SPEC,
            job_id="C", provider="textus")
        report = await store.report("C")
    assert 0 < rerun.chunks_added < rerun.chunks
    stream = await redis_client.xrange(keys.stream)
    streamed = [item[0] for _, fields in stream for item in json.loads(fields[b"items"])]
    assert len(streamed) == len(set(streamed)) == count
    assert report.count("pending") == count and report.enqueued


async def test_redis_killed_and_restarted_mid_job_loses_nothing_and_texts_nobody_twice(
        redis_server: RedisServer) -> None:
    total = max(RECIPIENTS // 2, 600)
    await enqueue(redis_server, "R", numbers(total, seed=2), chunk=50)
    async with Sandbox(seed=2) as sb:
        procs = [await start_worker(sb, redis_server, "R", concurrency=6, heartbeat=5)
                 for _ in range(2)]
        await wait_accepted(sb, total // 4)
        redis_server.restart()  # SIGKILL, then the same port and data (AOF, fsync always)
        results = [await finish(p, 120 + total / 50) for p in procs]
        assert_no_duplicate(sb)
        accepted = set(sb.accepted_numbers("textus"))
    report, records = await job_state(redis_server, "R")
    assert all(code in (0, 1) for code, _, _ in results), results
    assert report.open == 0 and report.done == total
    # Nothing acknowledged was lost: what the sandbox accepted is recorded sent (or, for a
    # reply the kill cut off, UNKNOWN), and nothing recorded sent was not accepted.
    final = {k: r["s"] for k, r in records.items()}
    assert all(final[p] in ("sent", "unknown") for p in accepted)
    assert {k for k, s in final.items() if s == "sent"} <= accepted


async def test_redis_paused_for_five_seconds_holds_every_send_and_the_job_then_finishes(
        redis_server: RedisServer) -> None:
    total = max(RECIPIENTS // 2, 600)
    await enqueue(redis_server, "P", numbers(total, seed=3), chunk=50)
    async with Sandbox(seed=3, faults=["textus.send:latency:1.0:0.005"]) as sb:
        # a heartbeat timeout well past the pause (x1.5 = 12 s vs at most 5 s + one beat): the
        # workers are alive throughout and must not be taken over
        procs = [await start_worker(sb, redis_server, "P", concurrency=6, heartbeat=8)
                 for _ in range(2)]
        await wait_accepted(sb, total // 5)
        redis_server.freeze()
        frozen_at = time.monotonic()
        try:
            # requests claimed before the pause finish: wait until the count has been still
            # for 1 s (a loaded machine may take longer than usual), then watch the rest
            before, still_since = len(sb.accepted_numbers("textus")), time.monotonic()
            while time.monotonic() - still_since < 1.0 and time.monotonic() - frozen_at < 3.5:
                await asyncio.sleep(0.05)
                now = len(sb.accepted_numbers("textus"))
                if now != before:
                    before, still_since = now, time.monotonic()
            await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - frozen_at)))
            during = len(sb.accepted_numbers("textus"))
        finally:
            redis_server.thaw()
        results = [await finish(p, 120 + total / 50) for p in procs]
        assert_no_duplicate(sb)
    report, records = await job_state(redis_server, "P")
    assert during == before  # no request sent while Redis was paused
    assert all(code in (0, 1) for code, _, _ in results), results
    assert report.open == 0 and report.sent == total
    # Live workers whose heartbeats outlast the pause are not taken over.
    assert report.takeovers == 0
    assert not [k for k, r in records.items() if r.get("r") == "interrupted"]


async def test_a_slow_live_worker_keeps_its_chunk_however_long_it_idles(
        redis_server: RedisServer, redis_client: aioredis.Redis) -> None:
    await enqueue(redis_server, "S", numbers(20, seed=4), chunk=10)
    async with Sandbox(seed=4, faults=["textus.send:latency:1.0:0.6"]) as sb:
        slow = await start_worker(sb, redis_server, "S", concurrency=2, heartbeat=1)
        await wait_accepted(sb, 1)
        other = await start_worker(sb, redis_server, "S", concurrency=2, heartbeat=1)
        idle = 0
        while slow.returncode is None and other.returncode is None and idle < 2000:
            pending = await redis_client.xpending_range(JobKeys("S").stream, "workers",
                                                        min="-", max="+", count=10)
            idle = max([int(p["time_since_delivered"]) for p in pending] or [0])
            await asyncio.sleep(0.05)
        results = [await finish(p, 60) for p in (slow, other)]
        assert_no_duplicate(sb)
    report, _ = await job_state(redis_server, "S")
    assert idle >= 2000  # a chunk sat idle for twice the heartbeat timeout ...
    assert report.takeovers == 0  # ... and was kept
    assert report.sent == 20 and all(code == 0 for code, _, _ in results), results


async def test_ctrl_c_on_a_worker_hands_its_claims_back_and_another_worker_finishes_them(
        redis_server: RedisServer) -> None:
    total = 300
    await enqueue(redis_server, "I", numbers(total, seed=5), chunk=30)
    async with Sandbox(seed=5, faults=["textus.send:latency:1.0:0.02"]) as sb:
        first = await start_worker(sb, redis_server, "I", concurrency=4, heartbeat=1.5)
        await wait_accepted(sb, 20)
        first.send_signal(signal.SIGINT)
        code, out, _ = await finish(first, 60)
        second = await start_worker(sb, redis_server, "I", concurrency=4, heartbeat=1.5)
        code2, out2, _ = await finish(second, 60)
        assert_no_duplicate(sb)
    report, records = await job_state(redis_server, "I")
    assert code == 130 and "pending again" in out
    assert code2 == 0, out2
    assert report.sent == total and report.open == 0
    assert not [k for k, r in records.items() if r.get("r") == "interrupted"]


async def test_a_stalled_worker_woken_after_a_takeover_sends_nothing_twice(
        redis_server: RedisServer) -> None:
    total, concurrency, heartbeat = 400, 4, 1.0
    await enqueue(redis_server, "Z", numbers(total, seed=6), chunk=20)
    async with Sandbox(seed=6, faults=["textus.send:latency:1.0:0.02"]) as sb:
        stalled = await start_worker(sb, redis_server, "Z", concurrency=concurrency,
                                     heartbeat=heartbeat)
        other = await start_worker(sb, redis_server, "Z", concurrency=concurrency,
                                   heartbeat=heartbeat)
        await wait_accepted(sb, total // 5)
        stalled.send_signal(signal.SIGSTOP)  # a paused VM, a long GC: it stops beating
        try:
            # Past its heartbeat timeout and the confirmation: the other takes its chunks.
            await asyncio.sleep(heartbeat * 1.5 + 2.5)
        finally:
            stalled.send_signal(signal.SIGCONT)
        results = [await finish(p, 60) for p in (stalled, other)]
        assert_no_duplicate(sb)
        accepted = set(sb.accepted_numbers("textus"))
    report, records = await job_state(redis_server, "Z")
    assert all(code in (0, 1) for code, _, _ in results), results
    assert report.open == 0 and report.done == total
    assert report.takeovers >= 1  # the takeover did happen
    taken_over = [k for k, r in records.items() if r.get("r") == "interrupted"]
    assert report.unknown == len(taken_over) <= concurrency
    assert report.sent + report.unknown == total
    assert {k for k, r in records.items() if r["s"] == "sent"} <= accepted
