"""``bulk --store``, ``worker`` and ``report --store`` as users run them (real subprocesses)."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis
from redis_server import RedisServer

from smsbridge.sandbox import Sandbox

PASSWORD = "s3cret-redis-pw"
NUMBERS = [f"+1303555{n:04d}" for n in range(3000, 3040)]


def env(sb: Sandbox | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("SMSBRIDGE_URL", "SMSBRIDGE_DEBUG")}
    out.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    if sb is not None:
        out["SMSBRIDGE_URL"] = sb.textus_connection_url
    return out


async def cli(*args: str, sb: Sandbox | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbridge.cli", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env(sb))
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "name"])
        writer.writerows([n, f"p{i}"] for i, n in enumerate(NUMBERS))
        writer.writerow([NUMBERS[0], "again"])
        writer.writerow(["not a number", "x"])
    return path


async def test_bulk_with_a_store_enqueues_works_the_job_and_report_shows_the_whole_job(
        redis_server: RedisServer, tmp_path: Path) -> None:
    async with Sandbox(seed=1) as sb:
        code, out = await cli("bulk", str(people(tmp_path)), "--body", "Hi {name}", "--store",
                              redis_server.url, "--job-id", "B", "--rate", "1000", sb=sb)
        joined, joined_out = await cli("worker", "--store", redis_server.url, "--job", "B",
                                       sb=sb)
        accepted = sb.accepted_numbers("textus")
    assert code == 0, out
    assert "40 recipients in 1 chunks" in out and "smsbridge worker --store URL --job B" in out
    assert "This worker: sent 40" in out
    assert sorted(accepted) == sorted(NUMBERS)  # the duplicate and the invalid row: not sent
    # A worker joining a finished job sends nothing and exits on the whole job's state.
    assert joined == 0 and "This worker: sent 0" in joined_out, joined_out
    code, report = await cli("report", "--store", redis_server.url, "--job", "B")
    assert code == 0, report
    assert "Job B, all workers: sent 40, failed 0, unknown 0, skipped 2; complete" in report
    assert "relaxed" not in report


async def test_a_worker_on_a_redis_without_fsync_always_exits_2_saying_what_to_set(
        redis_factory: Callable[..., RedisServer], tmp_path: Path) -> None:
    server = redis_factory(password=PASSWORD)
    client = aioredis.Redis.from_url(server.url)
    try:
        await client.config_set("appendfsync", "everysec")
    finally:
        await client.aclose()
    async with Sandbox(seed=2) as sb:
        code, out = await cli("bulk", str(people(tmp_path)), "--body", "Hi {name}", "--store",
                              server.url, "--job-id", "D", sb=sb)
        refused_sends = list(sb.accepted_numbers("textus"))
        relaxed, relaxed_out = await cli(
            "bulk", str(people(tmp_path)), "--body", "Hi {name}", "--store", server.url,
            "--job-id", "D", "--relaxed-durability", "--rate", "1000", sb=sb)
    assert code == 2, out
    assert "appendfsync always" in out and "--relaxed-durability" in out
    assert PASSWORD not in out and "redis://:***@127.0.0.1" in out
    assert refused_sends == []
    assert relaxed == 0, relaxed_out
    assert "relaxed durability" in relaxed_out and PASSWORD not in relaxed_out
    _, report = await cli("report", "--store", server.url, "--job", "D")
    assert "[relaxed durability]" in report and PASSWORD not in report


async def test_a_worker_for_a_job_that_does_not_exist_exits_with_a_clear_error(
        redis_server: RedisServer) -> None:
    async with Sandbox(seed=3) as sb:
        code, out = await cli("worker", "--store", redis_server.url, "--job", "nope", sb=sb)
    assert code != 0
    assert "no job 'nope'" in out and "smsbridge bulk FILE --store URL --job-id nope" in out
    assert Counter(sb.accepted_numbers("textus")) == Counter()
