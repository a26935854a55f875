"""Several processes, one account: real worker processes, a real redis-server and the sandbox.

The sandbox runs in this process and enforces TextUs's per-token limit across every
connection (fixed windows of ``WINDOW`` seconds, ``LIMIT`` requests each); each worker process
(``bulk_worker.py``) sends its own share of the recipients with ``smsbridge.connect`` and the
account's limiter shared through Redis. The numbers asserted come from the sandbox's records
(what it accepted, and when).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis_server import RedisServer
from textus_webhooks import SECRET, stop_webhook

from smsbridge import OptOutEvent, WebhookReceiver
from smsbridge.sandbox import Sandbox

WORKER = str(Path(__file__).with_name("bulk_worker.py"))
LIMIT, WINDOW = 80, 4.0  # the sandbox's limit: 20 requests/s in fixed 4 s windows
# The workers' shared limit, 2.5 % under the server's: a request's trip to the server varies,
# and a window of the server's counts what arrives, not what was granted. With two requests of
# slack per window, requests may arrive up to 2 * WINDOW / 78 = 100 ms late without an 81st.
CLIENT_LIMIT = [78, WINDOW]
# Any 1 s holds at most the shared rate's 19.5 plus this slack: what a burst would break.
BURST_SLACK = 2
IN_FLIGHT = 0.25  # seconds: what may already be on the wire when something changes


def numbers(worker: int, count: int) -> list[str]:
    return [f"+1303555{worker}{i:03d}" for i in range(count)]


def busiest_window(times: Sequence[float], period: float) -> int:
    """The most requests in any half-open window of ``period`` seconds."""
    ordered, best, first = sorted(times), 0, 0
    for last, stamp in enumerate(ordered):
        while ordered[first] <= stamp - period:
            first += 1
        best = max(best, last - first + 1)
    return best


class Workers:
    """Worker processes started together (each says ``ready``; one ``go`` line starts all)."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, configs: list[dict[str, Any]]) -> None:
        for config in configs:
            process = await asyncio.create_subprocess_exec(
                sys.executable, WORKER, json.dumps(config),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self.processes.append(process)
        for process in self.processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line.strip() == b"ready", line
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()

    async def outcomes(self) -> list[list[Any]]:
        """Every worker's outcomes: [phone, status, reason, attempts, error]."""
        found: list[list[Any]] = []
        for process in self.processes:
            out, _ = await asyncio.wait_for(process.communicate(), 60)
            assert process.returncode == 0
            found.extend(json.loads(out.decode().strip().splitlines()[-1])["outcomes"])
        return found

    def kill(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    started = Workers()
    yield started
    started.kill()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=11, textus_rate_limit=(LIMIT, WINDOW)) as sb:
        yield sb


def config(sb: Sandbox, redis: RedisServer, phones: list[str], **extra: Any) -> dict[str, Any]:
    return {"textus_url": sb.textus_url, "token": sb.textus_token, "account": sb.textus_account,
            "redis": redis.url, "numbers": phones, "limit": CLIENT_LIMIT, "concurrency": 4,
            "timeout": 3.0, "retries": 0, "suppression": False, **extra}


def send_times(sb: Sandbox) -> list[float]:
    return [r.accepted_at for r in sb.records if r.route == "textus.send"]


async def until(condition: Callable[[], bool]) -> float:
    """Poll ``condition`` every 5 ms (at most 30 s); the time it first held."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - the sandbox's records have no event to wait on
            await asyncio.sleep(0.005)
    return time.time()


async def test_four_processes_on_one_token_use_the_whole_limit_and_never_exceed_it(
    sandbox: Sandbox, redis_server: RedisServer, workers: Workers
) -> None:
    await workers.start([config(sandbox, redis_server, numbers(w, 20)) for w in range(4)])
    outcomes = await workers.outcomes()

    # retries=0: a single 429 would have left a FAILED rate_limited outcome behind.
    assert [o[1] for o in outcomes] == ["sent"] * 80
    assert {o[3] for o in outcomes} == {1}
    times = sorted(send_times(sandbox))
    assert len(times) == 80
    assert busiest_window(times, WINDOW) <= LIMIT
    assert busiest_window(times, 1.0) <= LIMIT / WINDOW + BURST_SLACK
    achieved = (len(times) - 1) / (times[-1] - times[0])
    allowed = LIMIT / WINDOW
    assert 0.95 <= achieved / allowed <= 1.0, (achieved, allowed)


async def test_after_a_429_no_process_sends_until_its_retry_after_has_passed(
    sandbox: Sandbox, redis_server: RedisServer, workers: Workers
) -> None:
    retry_after = 2.0
    await workers.start([config(sandbox, redis_server, numbers(w, 15), retries=2)
                         for w in range(4)])
    await until(lambda: len(send_times(sandbox)) >= 15)
    sandbox.faults.add("textus.send", "rate_limit_429", delay=retry_after, count=1)
    answered = await until(lambda: sum(sandbox.faults.injected.values()) == 1)
    outcomes = await workers.outcomes()

    times = send_times(sandbox)
    during = [t for t in times if answered + IN_FLIGHT < t < answered + retry_after - 0.05]
    assert during == []
    assert any(t >= answered + retry_after for t in times)  # and then they went on
    assert [o[1] for o in outcomes] == ["sent"] * 60  # the refused one was sent after it
    assert busiest_window(times, WINDOW) <= LIMIT


@pytest.mark.parametrize("comes_back", ["with its data", "empty"])
async def test_a_redis_killed_mid_run_and_restarted_lets_no_burst_out(
    sandbox: Sandbox, redis_server: RedisServer, workers: Workers, comes_back: str
) -> None:
    await workers.start([config(sandbox, redis_server, numbers(w, 20)) for w in range(4)])
    await until(lambda: len(send_times(sandbox)) >= 16)

    def kill_and_restart() -> None:
        redis_server.kill()  # SIGKILL
        if comes_back == "empty":
            redis_server.wipe()
        redis_server.start()

    await asyncio.to_thread(kill_and_restart)
    outcomes = await workers.outcomes()

    times = send_times(sandbox)
    assert busiest_window(times, WINDOW) <= LIMIT
    # Slots reserved before the restart plus a schedule restarting "now" would double the
    # rate for up to a look-ahead (1 s): the 1 s windows show it.
    assert busiest_window(times, 1.0) <= LIMIT / WINDOW + BURST_SLACK
    statuses = {o[1] for o in outcomes}
    assert statuses <= {"sent", "failed"}  # never UNKNOWN: a send without permission is none
    failed = [o for o in outcomes if o[1] == "failed"]
    assert all(o[2] == "store_unavailable" for o in failed)  # never a 429
    accepted = sandbox.accepted_numbers()
    assert sorted(accepted) == sorted(o[0] for o in outcomes if o[1] == "sent")
    assert len(accepted) >= 76  # a restart within the 3 s bound costs nothing, or very little


async def test_a_stop_received_by_one_receiver_stops_a_dispatcher_in_another_process(
    sandbox: Sandbox, redis_server: RedisServer, workers: Workers
) -> None:
    phones = numbers(0, 50)
    target = phones[35]
    opted_out: list[OptOutEvent] = []

    async def count(event: OptOutEvent) -> None:
        opted_out.append(event)

    receivers = [WebhookReceiver(textus_secrets=[SECRET], suppression=redis_server.url,
                                 ledger=redis_server.url, on_opt_out=count) for _ in range(2)]
    await workers.start([config(sandbox, redis_server, phones, suppression=True)])
    await until(lambda: len(send_times(sandbox)) >= 10)
    body, headers = stop_webhook(target, "/integrations/i1/deliveries/stop-1")
    async with receivers[0].serve() as url_a, receivers[1].serve() as url_b, \
            aiohttp.ClientSession() as http:
        async with http.post(url_a + receivers[0].textus_path, data=body,
                             headers=headers) as answer:
            assert answer.status == 200
        answered = time.time()
        # The provider redelivers the same event to the other replica: applied once.
        async with http.post(url_b + receivers[1].textus_path, data=body,
                             headers=headers) as answer:
            assert answer.status == 200
        outcomes = await workers.outcomes()

    assert len(opted_out) == 1
    late = [r.accepted_at for r in sandbox.records
            if r.to == target and r.accepted_at > answered + IN_FLIGHT]
    assert late == []
    by_phone = {o[0]: o for o in outcomes}
    assert by_phone[target][1:3] == ["skipped", "opted_out"]
    assert sorted(sandbox.accepted_numbers()) == sorted(p for p in phones if p != target)
