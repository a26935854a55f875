"""The demo scenario: sandbox, recipients, two bulk jobs, a crash and a resume, a call.

Library code: it returns a :class:`DemoResult` and shows itself only through a
:class:`DemoObserver`; ``smsbridge demo`` supplies one that prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
from collections import Counter
from pathlib import Path

import attrs

from ..cli._csv import CsvRecipients
from ..dispatch.dispatcher import Dispatcher
from ..errors import SmsBridgeError
from ..journal.store import Journal, JournalReport
from ..limits.local import RateLimiter
from ..models import OutcomeStatus
from ..phone import mask
from ..protocol import MessagingProvider
from ..providers.textus import TextUsProvider
from ..providers.trackdrive import TrackDriveProvider
from ..sandbox import Sandbox, TrackDriveSeed
from ..webhooks.server import WebhookReceiver
from ._data import RecipientsFile, write_recipients_csv
from ._results import (
    CallResult,
    CrashResult,
    DemoConfig,
    DemoObserver,
    DemoResult,
    DryRunResult,
    JobResult,
    SilentObserver,
    check,
    counts_of,
)

BODIES = {
    "textus": "Hi {name}, your {city} appointment is confirmed. Reply STOP to opt out.",
    "trackdrive": "Hi {name}, a {city} advisor will call you shortly.",
    "crash": "Hi {name}, reminder: your {city} appointment is tomorrow.",
}
JOURNALS = {"textus": "textus-job.sqlite", "trackdrive": "trackdrive-job.sqlite",
            "crash": "crash-job.sqlite"}
SEND_ROUTES = ("textus.send", "trackdrive.text_messages")
# (kind, ratio, delay, count): a few percent of every kind a real provider throws at you.
FAULTS = (
    ("latency", 0.10, 0.05, None),
    ("error_5xx_after", 0.01, 0.0, None),
    ("error_5xx_before", 0.01, 0.0, None),
    ("rate_limit_429", 0.01, 0.5, 2),
    ("reset_before_read", 0.005, 0.0, None),
    ("reset_after_store", 0.005, 0.0, None),
)
# The demo's price per segment (about a US long-code SMS), for the dry run's estimate.
PRICE_PER_SEGMENT = "0.0079"
# The TextUs body as pasted from a word processor: one curly apostrophe makes it UCS-2.
PASTED = BODIES["textus"].replace("Hi {name}, your", "Hi {name}, we\u2019ve booked your")
KILL_DEADLINE = 60.0  # seconds to wait for the crash job to get far enough
SETTLE_TIMEOUT = 10.0
UNMATCHED_WAIT = 0.5


class DemoError(SmsBridgeError):
    """The demo could not run a step (not a finding about the SDK: those are in the checks)."""


async def run_demo(
    config: DemoConfig | None = None, observer: DemoObserver | None = None
) -> DemoResult:
    """Run the whole tour against an in-process sandbox; everything lands in ``output_dir``."""
    config = config or DemoConfig()
    obs = observer or SilentObserver()
    started = time.monotonic()
    out = config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    for name in JOURNALS.values():  # a fresh run each time, not a resume of the last demo
        _remove_journal(out / name)
    obs.section(
        "1. A local sandbox",
        "TextUs and TrackDrive emulated on 127.0.0.1: real HTTP over real sockets. Faults are "
        "injected like a bad day in production: slow answers, 5xx before and after the message "
        "was stored, 429s, dropped connections.",
    )
    async with Sandbox(
        seed=config.seed, delivery_delay=0.2,
        delivery_failure_ratio=config.delivery_failure_ratio,
    ) as sb:
        if config.faults:
            for route in SEND_ROUTES:
                for kind, ratio, delay, count in FAULTS:
                    sb.faults.add(route, kind, ratio, delay=delay, count=count)
        obs.note(f"TextUs at {sb.textus_url}, TrackDrive at {sb.trackdrive_url}")
        if config.faults:
            obs.note("faults: " + ", ".join(f"{k} {r:.1%}" for k, r, _, _ in FAULTS))
        obs.section(
            "2. A recipients file",
            "Fictional numbers, some invalid, some duplicated in another format: "
            "(303) 555-0142 and +13035550142 are the same person and get one message.",
        )
        data = write_recipients_csv(
            out / "recipients.csv", config.recipients, invalid_ratio=config.invalid_ratio,
            duplicate_ratio=config.duplicate_ratio, seed=config.seed,
        )
        obs.note(
            f"{data.path}: {data.rows:,} rows — {len(data.unique_valid):,} distinct valid "
            f"numbers, {data.duplicates:,} duplicates, {data.invalid:,} invalid"
        )
        dry_run = await _dry_run(sb, data, obs)
        textus = await _textus_job(sb, data, config, obs)
        trackdrive = await _trackdrive_job(sb, data, config, obs)
        crash = await _crash_and_resume(sb, data, config, obs)
        call = await _call_now(sb, obs)
    return DemoResult(
        output_dir=out, recipients=data, jobs=(textus, trackdrive), crash=crash, call=call,
        elapsed=time.monotonic() - started, dry_run=dry_run,
    )


async def _dry_run(sb: Sandbox, data: RecipientsFile, obs: DemoObserver) -> DryRunResult:
    obs.section(
        "2b. A dry run: segments and cost before sending",
        "dry_run=True renders every recipient's text and sends nothing; the report counts the "
        "segments each text needs and estimates the cost (CLI: --dry-run --price-per-segment). "
        "One character outside GSM-7, like a curly apostrophe pasted from a word processor, "
        "turns a text into UCS-2: 70 characters per segment instead of 160.",
    )
    before = len(sb.records)
    provider = TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url)
    reports = []
    async with provider:
        for body, smarten in ((BODIES["textus"], False), (PASTED, False), (PASTED, True)):
            dispatcher = Dispatcher(provider, dry_run=True, smart_encoding=smarten,
                                    price_per_segment=PRICE_PER_SEGMENT)
            async with dispatcher.stream(CsvRecipients(data.path), body=body) as outcomes:
                would_send = sum([1 async for o in outcomes if o.reason == "dry_run"])
            if outcomes.compliance is None:
                raise DemoError("the dry run reported no segments")
            reports.append((would_send, outcomes.compliance))
    (would_send, plain), (_, pasted), (_, smart) = reports
    cost = plain.segments.estimated_cost(PRICE_PER_SEGMENT)
    pasted_cost = pasted.segments.estimated_cost(PRICE_PER_SEGMENT)
    result = DryRunResult(
        would_send=would_send, segments=plain.segments.total_segments, estimated_cost=cost,
        pasted_segments=pasted.segments.total_segments,
        pasted_ucs2_recipients=pasted.segments.ucs2_recipients,
        smart_segments=smart.segments.total_segments, replaced=dict(smart.replacements),
        sandbox_untouched=len(sb.records) == before,
    )
    obs.command(["smsbridge", "bulk", str(data.path), "--body", BODIES["textus"], "--dry-run",
                 "--price-per-segment", PRICE_PER_SEGMENT])
    untouched = ("nothing was sent (the sandbox has no new record)" if result.sandbox_untouched
                 else "the sandbox saw a request!")
    obs.note(f"{would_send:,} texts would be sent: {result.segments:,} segments (at most "
             f"{plain.segments.max_segments} per text), estimated cost {cost:.2f} at "
             f"{PRICE_PER_SEGMENT} per segment; {untouched}")
    obs.note(f"pasted with a curly apostrophe (U+2019): UCS-2 for "
             f"{result.pasted_ucs2_recipients:,} recipients, {result.pasted_segments:,} "
             f"segments, {pasted_cost:.2f}")
    obs.note(f"with smart_encoding (--smart-encoding): {sum(result.replaced.values()):,} "
             f"apostrophes replaced, back to {result.smart_segments:,} segments")
    return result


async def _textus_job(
    sb: Sandbox, data: RecipientsFile, config: DemoConfig, obs: DemoObserver
) -> JobResult:
    obs.section(
        "3. Bulk send through TextUs",
        "One Dispatcher, 32 sends in flight, a journal recording every recipient. A send that "
        "may have reached the provider (5xx, dropped connection) is UNKNOWN and never retried: "
        "a retry could text the person twice.",
    )
    provider = TextUsProvider(
        sb.textus_token, sb.textus_account, base_url=sb.textus_url,
        rate_limiter=RateLimiter(config.rate),
    )
    with Journal(config.output_dir / JOURNALS["textus"]) as journal:
        result = await _bulk(sb, provider, "TextUs", BODIES["textus"], data, journal, config, obs)
    obs.job_done(result)
    return result


async def _trackdrive_job(
    sb: Sandbox, data: RecipientsFile, config: DemoConfig, obs: DemoObserver
) -> JobResult:
    obs.section(
        "4. The same file through TrackDrive, with delivery webhooks",
        "Same code, another provider. Each message carries a delivery_webhook_url; the sandbox "
        "calls it when the message is delivered or fails, and the journal records it.",
    )
    with Journal(config.output_dir / JOURNALS["trackdrive"]) as journal:
        receiver = WebhookReceiver(journal=journal)
        async with receiver.serve() as base_url:
            provider = TrackDriveProvider(
                sb.trackdrive_public_key, sb.trackdrive_private_key, base_url=sb.trackdrive_url,
                rate_limiter=RateLimiter(config.rate),
                delivery_webhook_url=receiver.trackdrive_webhook_url(base_url),
            )
            result = await _bulk(
                sb, provider, "TrackDrive", BODIES["trackdrive"], data, journal, config, obs
            )
            await sb.settle(SETTLE_TIMEOUT)  # the last delivery webhooks were answered
            # A webhook that beat its journal row is retried after 0.25 s; one for a message
            # the journal never saw and cannot reconcile stops matching: do not wait for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receiver.router.settle(), UNMATCHED_WAIT)
            report = journal.report(result.job_id)
    result = _with_delivery(result, report)
    obs.job_done(result)
    unknown = result.counts[OutcomeStatus.UNKNOWN]
    if unknown:
        obs.note(
            f"{report.reconciled:,} of the {unknown:,} UNKNOWN sends were reconciled: TrackDrive's "
            "own delivery webhook proved it had accepted them, so the journal now says SENT and "
            f"no resume will resend them; {report.unknown:,} stay UNKNOWN (no delivery report "
            "came for them)"
        )
    return result


async def _bulk(
    sb: Sandbox,
    provider: MessagingProvider,
    label: str,
    body: str,
    data: RecipientsFile,
    journal: Journal,
    config: DemoConfig,
    obs: DemoObserver,
) -> JobResult:
    before = len(sb.accepted_numbers(provider.name))
    seen: list[tuple[str, OutcomeStatus | None, str | None]] = []
    reasons: Counter[str] = Counter()
    started = time.monotonic()
    with obs.job(f"{label}", data.rows) as update:
        async with provider, Dispatcher(
            provider, concurrency=config.concurrency, journal=journal,
            on_progress=update, job_id=f"demo-{provider.name}",
        ) as dispatcher, dispatcher.stream(CsvRecipients(data.path), body=body) as outcomes:
            async for outcome in outcomes:
                seen.append((outcome.phone, outcome.status, outcome.reason))
                if outcome.reason:
                    reasons[outcome.reason] += 1
            job_id = outcomes.job_id or ""
    return JobResult(
        label=label, provider=provider.name, journal=Path(journal.path), job_id=job_id,
        counts=counts_of(status for _, status, _ in seen if status is not None),
        reasons=dict(reasons), elapsed=time.monotonic() - started,
        checks=check(data.rows, seen, sb.accepted_numbers(provider.name)[before:]),
    )


def _with_delivery(result: JobResult, report: JournalReport) -> JobResult:
    delivery = {"delivered": report.delivered, "failed": report.delivery_failed,
                "awaiting": report.awaiting, "reconciled": report.reconciled}
    return attrs.evolve(result, delivery=delivery)


async def _crash_and_resume(
    sb: Sandbox, data: RecipientsFile, config: DemoConfig, obs: DemoObserver
) -> CrashResult:
    obs.section(
        "5. Kill a job mid-way, then resume it",
        "The command line runs a third job in another process. It is killed with SIGKILL (no "
        "chance to clean up) part-way through, then `smsbridge resume` finishes it from the "
        "journal. The sandbox's own records prove nobody was texted twice.",
    )
    out = config.output_dir
    path = out / JOURNALS["crash"]
    log = out / "crash-job.log"
    before = len(sb.accepted_numbers("textus"))
    env = {**os.environ, "SMSBRIDGE_URL": sb.textus_connection_url}
    common = ["--rate", f"{config.rate:g}", "--concurrency", str(config.concurrency)]
    bulk = ["bulk", str(data.path), "--body", BODIES["crash"], "--journal", str(path), *common]
    obs.command(["SMSBRIDGE_URL=<sandbox textus URL>", "smsbridge", *bulk])
    target = max(1, int(len(data.unique_valid) * config.kill_fraction))
    with log.open("wb") as handle:
        proc = await asyncio.create_subprocess_exec(
            config.python, "-m", "smsbridge.cli", *bulk, stdout=handle, stderr=handle, env=env
        )
        try:
            await _wait_for_accepted(sb, before, target, proc)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
    accepted_before_kill = len(sb.accepted_numbers("textus")) - before
    with Journal(path) as journal:
        after_kill = journal.report()
    obs.note(
        f"SIGKILL after the sandbox had accepted {accepted_before_kill:,} messages. The journal "
        f"says: {after_kill.sent:,} sent, {after_kill.in_flight:,} in flight when it died, the "
        "rest not sent yet."
    )
    resume = ["resume", str(path), *common]
    obs.command(["smsbridge", *resume])
    with log.open("ab") as handle:
        target_out = None if obs.passthrough else handle
        proc = await asyncio.create_subprocess_exec(
            config.python, "-m", "smsbridge.cli", *resume, stdout=target_out, stderr=target_out,
            env=env,
        )
        code = await proc.wait()
    accepted = sb.accepted_numbers("textus")[before:]
    job = _job_from_journal(path, after_kill.job.job_id, data, accepted)
    obs.job_done(job)
    return CrashResult(job=job, accepted_before_kill=accepted_before_kill,
                       in_flight_at_kill=after_kill.in_flight, resume_exit_code=code, log=log)


async def _wait_for_accepted(
    sb: Sandbox, before: int, target: int, proc: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + KILL_DEADLINE
    while len(sb.accepted_numbers("textus")) - before < target:
        if proc.returncode is not None:
            raise DemoError(
                f"the job to be killed exited (code {proc.returncode}) before it was half-way; "
                "see crash-job.log in the demo directory"
            )
        if time.monotonic() > deadline:
            raise DemoError(f"the job to be killed did not get going in {KILL_DEADLINE:.0f}s")
        await asyncio.sleep(0.01)


def _job_from_journal(
    path: Path, job_id: str, data: RecipientsFile, accepted: list[str]
) -> JobResult:
    """The whole job (both runs) from the journal, cross-checked with the sandbox."""
    with Journal(path) as journal:
        report = journal.report(job_id)
        rows = [(e.phone, e.outcome, e.reason) for e in journal.recipients(job_id)]
    # Every CSV row has its own journal row: invalid entries and duplicates too.
    counts = counts_of(status for _, status, _ in rows if status is not None)
    return JobResult(
        label="TextUs, killed and resumed", provider="textus", journal=path, job_id=job_id,
        counts=counts, reasons=dict(report.reasons), elapsed=0.0,
        checks=check(data.rows, rows, accepted),
    )


async def _call_now(sb: Sandbox, obs: DemoObserver) -> CallResult:
    obs.section(
        "6. Call now through TrackDrive",
        "schedules/make_call dials a lead at once. It is never retried automatically: "
        "TrackDrive refuses a redial within 30 seconds, and a late retry could ring twice.",
    )
    seed = TrackDriveSeed()
    async with TrackDriveProvider(
        sb.trackdrive_public_key, sb.trackdrive_private_key, base_url=sb.trackdrive_url
    ) as trackdrive:
        call = await trackdrive.schedules.make_call(lead_id=seed.lead_id)
    result = CallResult(
        call_id=call.id, status=call.status, number_called=mask(call.number_called),
        schedule_id=call.schedule_id, lead_id=call.lead_id,
    )
    obs.note(
        f"call {result.call_id} {result.status}: dialing {result.number_called} for lead "
        f"{result.lead_id} on schedule {result.schedule_id}"
    )
    return result


def _remove_journal(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def shell_line(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) if not a.startswith("SMSBRIDGE_URL=") else a for a in argv)
