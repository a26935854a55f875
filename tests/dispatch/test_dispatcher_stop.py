"""Stopping a job early: account-level errors, one retry budget, the same failure over and over.

Against the sandbox over real sockets; requests are counted on the wire (an aiohttp trace on the
provider's session) and at the sandbox, never inferred from the report.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from smsbridge import (
    AccountSuspendedError,
    Dispatcher,
    Message,
    OutcomeStatus,
    RetryPolicy,
)
from smsbridge.journal.store import Journal
from smsbridge.providers.textus import TextUsProvider
from smsbridge.sandbox import Sandbox
from smsbridge.testing import FakeProvider, Fault

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


class Wire:
    """Counts the requests a session made (answered or not)."""

    def __init__(self) -> None:
        self.requests = 0
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._started)
        self.session = aiohttp.ClientSession(trace_configs=[trace])

    async def _started(self, _s: Any, _c: SimpleNamespace, _p: Any) -> None:
        self.requests += 1


def textus(sb: Sandbox, wire: Wire, *, token: str | None = None,
           base_url: str | None = None) -> TextUsProvider:
    return TextUsProvider(token or sb.textus_token, sb.textus_account,
                          base_url=base_url or sb.textus_url, session=wire.session,
                          rate_limiter=None, retry=FAST)


async def test_a_wrong_token_stops_the_job_at_once_and_leaves_the_rest_pending_for_resume(
    tmp_path: Path, numbers: Callable[..., list[str]],
) -> None:
    to, concurrency = numbers(2000), 8
    message = Message(to=to, body="Hi")
    journal = tmp_path / "job.sqlite"
    async with Sandbox(seed=12, delivery_delay=0.05) as sb:
        wire = Wire()
        async with wire.session:
            async with Dispatcher(textus(sb, wire, token="wrong-token"), concurrency=concurrency,
                                  journal=journal, retry=FAST) as dispatcher:
                stopped = await dispatcher.send(message)
            wrong_token_requests = wire.requests
            with Journal(journal) as opened:
                after_stop = opened.report()

            good = textus(sb, wire)
            async with Dispatcher(good, concurrency=16, journal=journal) as dispatcher:
                resumed = await dispatcher.resume(retry_failed=True)
        accepted = sb.accepted_numbers("textus")

    # At most one request per worker (they start together); a 401 is never retried and
    # stops the job at once. Before: one request per row, 2,000 FAILED.
    assert wrong_token_requests <= concurrency
    assert stopped.stopped is not None and stopped.stopped.scope == "account"
    assert stopped.stopped.reason == "auth"
    assert stopped.failed == wrong_token_requests  # only those actually attempted
    assert stopped.reasons()["job_stopped"] == 2000 - stopped.failed
    assert not stopped.ok and "stopped early" in stopped.summary()
    skipped = stopped.by_status(OutcomeStatus.SKIPPED)[0]
    assert "pending in the journal" in (skipped.error or "")
    assert after_stop.pending == 2000 - stopped.failed and after_stop.job.status == "stopped"
    # A resume with the right token sends everyone, the FAILED ones too (retry_failed).
    assert resumed.sent == 2000 and resumed.stopped is None
    assert sorted(accepted) == sorted(to)


async def test_without_a_journal_recipients_not_attempted_are_skipped_job_stopped() -> None:
    fake = FakeProvider(rule=lambda _message, _n: Fault("reject", status=401))
    report = await Dispatcher(fake, concurrency=2).send(
        Message(to=[f"+1303555{n:04d}" for n in range(1000, 1050)], body="Hi"))

    assert report.stopped is not None and report.stopped.scope == "account"
    assert report.failed == fake.injected["reject"] <= 2
    stopped = [o for o in report if o.reason == "job_stopped"]
    assert len(stopped) == 50 - report.failed
    assert all(o.status is OutcomeStatus.SKIPPED for o in stopped)
    assert "auth" in (stopped[0].error or "") and "send to it again" in (stopped[0].error or "")


async def test_a_suspended_account_stops_the_job_at_once() -> None:
    class Suspended(FakeProvider):
        async def send(self, message: Message) -> Any:
            raise AccountSuspendedError("fake: the account is suspended", provider="fake",
                                        status=403)

    report = await Dispatcher(Suspended(), concurrency=1).send(
        Message(to=[f"+1303555{n:04d}" for n in range(1000, 1020)], body="Hi"))

    assert report.failed == 1 and report.reasons()["job_stopped"] == 19
    assert report.stopped is not None and isinstance(report.stopped.exception,
                                                     AccountSuspendedError)


async def test_an_always_429_provider_gets_at_most_the_budget_per_recipient_and_the_job_stops(
    tmp_path: Path, numbers: Callable[..., list[str]],
) -> None:
    concurrency = 4
    async with Sandbox(seed=11, faults=["textus.send:rate_limit_429:1.0:0.01"]) as sb:
        wire = Wire()
        async with wire.session, Dispatcher(textus(sb, wire), concurrency=concurrency,
                                            retry=FAST, journal=tmp_path / "j.sqlite") as d:
            report = await d.send(Message(to=numbers(1000), body="Hi"))
        answered_429 = sb.faults.injected[("textus.send", "rate_limit_429")]

    budget = FAST.max_retries + 1
    failed = report.by_status(OutcomeStatus.FAILED)
    assert report.stopped is not None and report.stopped.scope == "service"
    assert report.stopped.reason == "rate_limited"
    # One budget covers the provider's own retries and the dispatcher's: 3 requests, not 9.
    assert all(o.attempts <= budget for o in failed)
    assert answered_429 == wire.requests <= budget * len(failed)
    # Stopped after max(10, 2 x concurrency) recipients in a row, plus those already in flight.
    assert len(failed) <= max(10, 2 * concurrency) + concurrency
    assert report.reasons()["job_stopped"] == 1000 - len(failed)


async def test_an_unreachable_provider_gets_at_most_the_budget_per_recipient_and_the_job_stops(
    numbers: Callable[..., list[str]],
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Sandbox(seed=11) as sb:
        wire = Wire()
        provider = textus(sb, wire, base_url=f"http://127.0.0.1:{port}")
        async with wire.session, Dispatcher(provider, concurrency=4, retry=FAST,
                                            stop_after_failures=6) as dispatcher:
            report = await dispatcher.send(Message(to=numbers(500), body="Hi"))

    failed = report.by_status(OutcomeStatus.FAILED)
    assert report.stopped is not None and report.stopped.reason == "connect_error"
    assert Counter(o.attempts for o in failed) == {3: len(failed)}
    assert wire.requests == 3 * len(failed)
    assert 6 <= len(failed) <= 6 + 4
    assert report.reasons()["job_stopped"] == 500 - len(failed)


async def test_request_level_failures_do_not_stop_the_job(
    numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(faults={"reject": 1.0})
    report = await Dispatcher(fake, concurrency=4).send(Message(to=numbers(60), body="Hi"))

    assert report.stopped is None and report.failed == 60


async def test_stop_after_failures_zero_never_stops(numbers: Callable[..., list[str]]) -> None:
    fake = FakeProvider(faults={"connect_error": 1.0})
    report = await Dispatcher(fake, concurrency=4, retry=FAST, stop_after_failures=0).send(
        Message(to=numbers(40), body="Hi"))

    assert report.stopped is None and report.failed == 40


async def test_a_dns_failure_costs_each_recipient_one_budget_not_nine(
    numbers: Callable[..., list[str]],
) -> None:
    async with Sandbox(seed=11) as sb:
        wire = Wire()
        provider = textus(sb, wire, base_url="http://no-such-host.invalid")  # RFC 6761
        async with wire.session, Dispatcher(provider, concurrency=4, retry=FAST,
                                            stop_after_failures=0) as dispatcher:
            report = await dispatcher.send(Message(to=numbers(20), body="Hi"))

    assert report.failed == 20 and report.reasons()["connect_error"] == 20
    assert wire.requests == 20 * (FAST.max_retries + 1)  # was 20 * 9
    assert all(o.attempts == FAST.max_retries + 1 for o in report)


async def test_an_always_429_server_gets_one_budget_per_recipient_even_when_never_stopped(
    numbers: Callable[..., list[str]],
) -> None:
    async with Sandbox(seed=11, faults=["textus.send:rate_limit_429:1.0:0.01"]) as sb:
        wire = Wire()
        async with wire.session, Dispatcher(textus(sb, wire), concurrency=4, retry=FAST,
                                            stop_after_failures=0) as dispatcher:
            report = await dispatcher.send(Message(to=numbers(20), body="Hi"))
        answered_429 = sb.faults.injected[("textus.send", "rate_limit_429")]

    assert report.failed == 20 and report.reasons()["rate_limited"] == 20
    assert answered_429 == wire.requests == 20 * (FAST.max_retries + 1)  # was 20 * 9


async def test_a_wrong_token_in_batch_mode_stops_the_job_and_skips_the_unsent_batches(
    journal_path: Path,
) -> None:
    fake = FakeProvider(rule=lambda _message, _n: Fault("reject", status=401))
    to = [f"+1303555{n:04d}" for n in range(1000, 1100)]
    async with Dispatcher(fake, concurrency=1, batch_size=10, journal=journal_path) as d:
        report = await d.send(Message(to=to, body="Same for all"))
    with Journal(journal_path) as opened:
        pending = opened.report().pending

    assert report.stopped is not None and report.stopped.scope == "account"
    assert report.failed == 10 and fake.injected["reject"] == 1  # one batch request
    assert report.reasons()["job_stopped"] == 90 and pending == 90
