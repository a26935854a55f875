"""Bulk jobs from the command line: ``bulk`` and ``resume`` (``report`` is in ``_report_cmd``).

Exit codes: 0 when every recipient was sent or skipped (skipped = duplicates, invalid numbers,
opt-outs, already done: listed in the summary, not failures); 1 when any recipient failed or is
unknown — with a journal this is judged on the whole job, so re-running or resuming a job that
had failures still exits 1; 3 when the job stopped early on an account-level error (a wrong
token, a suspended account) or on the same failure over and over — the recipients not yet
attempted stay pending, so ``resume`` (with ``--retry-failed`` for the few that failed) sends
them once the cause is fixed; 130 when interrupted by Ctrl-C / SIGTERM (workers stop taking
recipients, in-flight sends finish or become UNKNOWN, the journal stays consistent, and the
summary of what was done is printed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import click
from rich.console import Console

from ..dispatch.compliance import ComplianceReport
from ..dispatch.dispatcher import Dispatcher
from ..dispatch.report import Progress, StopCause
from ..dispatch.template import Template
from ..errors import ValidationError
from ..journal.store import Journal
from ..limits.local import RateLimiter
from ..models import Attachment, Outcome
from ..protocol import MessagingProvider
from ._common import (
    command_hint,
    open_provider,
    parse_key_values,
    redis_option,
    region_callback,
    run,
    share_rate_limit,
    url_option,
)
from ._compliance import (
    compliance_options,
    describe_compliance,
    parse_at,
    parse_quiet_hours,
    parse_segment_options,
)
from ._csv import CsvRecipients
from ._errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_STOPPED
from ._interrupt import run_interruptible
from ._rejects import Rejects
from ._render import DRY_RUN_REASON, JobProgress, JobSummary, make_consoles, print_summary
from ._report_cmd import job_line, open_journal
from ._sources import cli_job_id, recall, remember
from ._store import RELAXED_NOTE, WorkerRun, enqueue, finish_worker, open_store, store_options


class CliRun:
    """What one job run showed and gathered: live progress, reasons, interruption."""

    def __init__(self, console: Console, label: str, total: int | None, *,
                 dry_run: bool = False) -> None:
        self.console = console
        self.reasons: Counter[str] = Counter()
        self.bar = JobProgress(console, label, total, would_send=(
            (lambda: self.reasons[DRY_RUN_REASON]) if dry_run else None))
        self.progress: Progress | None = None
        self.job_id: str | None = None
        self.interrupted = False
        self.stopped: StopCause | None = None
        self.compliance: ComplianceReport | None = None
        self.store_error: str | None = None  # why a shared store (Redis) kept sends back

    def on_progress(self, progress: Progress) -> None:
        self.progress = progress
        self.bar.update(progress)

    def count(self, outcome: Outcome) -> None:
        if outcome.reason:
            self.reasons[outcome.reason] += 1
            if outcome.reason == "store_unavailable" and self.store_error is None:
                self.store_error = outcome.error

    def execute(self, work: Coroutine[Any, Any, Any]) -> None:
        with self.bar:
            _, self.interrupted = run(run_interruptible(work, self._stopping))

    def _stopping(self) -> None:
        self.console.print(
            "[yellow]stopping[/]: no new sends; waiting for the ones in flight "
            "(press Ctrl-C again to stop those too: they become UNKNOWN; the journal stays "
            "resumable)"
        )


def job_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``bulk`` and ``resume``."""
    options = (
        click.option(
            "--concurrency", type=click.IntRange(1, 1000), default=32, show_default=True,
            help="Sends in flight at once.",
        ),
        click.option(
            "--rate", type=click.FloatRange(min=0, min_open=True), metavar="PER_SECOND",
            help="Messages per second; replaces the provider's default limit (TextUs: 1000 "
            "per 5 minutes). Use what your account allows.",
        ),
        url_option,
        redis_option,
    )
    for option in reversed(options):
        func = option(func)
    return func


def open_job_provider(url: str | None, rate: float | None, console: Console,
                      redis: str | None = None) -> MessagingProvider:
    overrides = {"rate_limiter": RateLimiter(rate, 1.0)} if rate and not redis else {}
    provider = open_provider(url, **overrides)
    if redis:
        console.print(share_rate_limit(provider, redis, rate), markup=False)
        return provider
    limiter = getattr(provider, "rate_limiter", None)
    if rate is None and isinstance(limiter, RateLimiter):
        console.print(f"{provider.name}: {describe_limit(limiter)}; --rate changes it",
                      markup=False)
    return provider


def describe_limit(limiter: RateLimiter) -> str:
    """The provider's limit as it behaves: a burst, then the sustained rate."""
    sustained = f"{limiter.rate:,.1f} messages/s"
    if limiter.burst <= 1:
        return f"at most {sustained} (the provider's limit)"
    return (f"the provider allows {limiter.max_rate:,.0f} requests per {limiter.period:,.0f} s: "
            f"up to {limiter.burst:,.0f} at once, then {sustained} sustained, slower when the "
            "server says its budget is low")


@click.command()
@click.argument("recipients", metavar="RECIPIENTS_CSV", type=click.Path(allow_dash=True))
@click.option("--body", required=True, help='Template; {column} is filled per row: "Hi {name}".')
@click.option("--from", "sender", metavar="PHONE", help="Sender number (provider-specific).")
@click.option("--media-url", metavar="URL", help="Attachment URL (MMS), same for everyone.")
@click.option("--media-type", metavar="TYPE", help="Attachment type, e.g. image/png.")
@click.option(
    "--option", "options", multiple=True, metavar="KEY=VALUE", help="Provider option, repeatable."
)
@click.option("--journal", type=click.Path(dir_okay=False), help="SQLite journal: resumable job.")
@click.option("--dry-run", is_flag=True, help="Validate, render and de-duplicate; send nothing.")
@click.option(
    "--batch-size", type=click.IntRange(min=1), metavar="N",
    help="Native multi-recipient sends of N (TextUs; no per-recipient message ids).",
)
@click.option("--phone-column", metavar="NAME", help="CSV column with the numbers (auto: phone).")
@click.option(
    "--encoding", default="utf-8-sig", show_default="UTF-8, with or without a BOM",
    help="The CSV's text encoding, e.g. cp1252 for a file Excel saved as CSV on Windows.",
)
@click.option(
    "--rejects", "rejects_path", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
    help="Write the rows that cannot be sent (invalid numbers) to FILE: their columns, line "
    "number and reason.",
)
@click.option("--region", metavar="CC", callback=region_callback,
              help="Region for numbers without a country code (US).")
@click.option(
    "--job-id", metavar="ID", help="Job name in the journal (default: from message and file)."
)
@compliance_options
@click.option("--store", metavar="REDIS_URL", help="Keep the job in Redis so workers on other "
              "hosts can join it (smsbridge worker --store URL --job ID); enqueue, then work.")
@store_options
@job_options
def bulk(
    recipients: str,
    body: str,
    sender: str | None,
    media_url: str | None,
    media_type: str | None,
    options: tuple[str, ...],
    journal: str | None,
    dry_run: bool,
    batch_size: int | None,
    phone_column: str | None,
    encoding: str,
    rejects_path: str | None,
    region: str | None,
    job_id: str | None,
    quiet_hours: str | None,
    quiet_hours_fallback: str,
    no_wait: bool,
    send_at: str | None,
    max_segments: str | None,
    smart_encoding: bool,
    price_per_segment: str | None,
    store: str | None,
    relaxed_durability: bool,
    heartbeat_timeout: float,
    concurrency: int,
    rate: float | None,
    url: str | None,
    redis: str | None,
) -> int:
    """Send one templated message to every row of a CSV file (streamed, never loaded whole).

    The CSV needs a header; the phone column is found automatically (phone, phone_number, to,
    number, mobile, cell) or named with --phone-column; every other column is a {variable}.
    Invalid and duplicate numbers are skipped and reported. With --journal the job can be
    resumed after a crash or Ctrl-C (smsbridge resume JOURNAL, or the same command again) and
    nobody is texted twice.

    Compliance and cost: --quiet-hours holds each recipient until it is inside the window at
    its own location; --at schedules the job; --dry-run --price-per-segment shows the segments
    and the cost before anything is sent; --max-segments and --smart-encoding keep it down.

    Exit codes: 0 all sent (skips are not failures), 1 a recipient failed or is unknown (for
    the whole job when journaled), 2 bad input or configuration, 3 the job stopped early
    (wrong token, suspended account, provider down: resume it), 130 interrupted.
    """
    if bool(media_url) != bool(media_type):
        raise click.UsageError("--media-url and --media-type go together")
    if not body.strip():
        raise click.BadParameter("the message body is empty", param_hint="--body")
    quiet = parse_quiet_hours(quiet_hours, quiet_hours_fallback, region)
    if no_wait and quiet is None:
        raise click.UsageError("--no-wait goes with --quiet-hours")
    start_at = parse_at(send_at)
    if start_at is not None and journal is None and not dry_run:
        raise click.UsageError(
            "--at needs --journal: a scheduled job is stored there and waits (a job killed "
            "while waiting resumes and still waits)")
    segment_limit, price = parse_segment_options(max_segments, price_per_segment)
    # one reader: standard input ("-") can be read only once
    source = CsvRecipients(recipients, phone_column=phone_column, encoding=encoding,
                           region=region)
    source.use_variables(_template_fields(body, source))
    total = source.count()  # reads the file once: bad CSV exits 2 before the first send
    source.rejects = Rejects(rejects_path, source.columns)
    attachments = (
        (Attachment(url=media_url, content_type=media_type),) if media_url and media_type else ()
    )
    message: dict[str, Any] = {
        "body": body,
        "sender": sender,
        "attachments": attachments,
        "options": parse_key_values(options, "--option"),
    }
    out, err = make_consoles()
    provider = open_job_provider(url, rate, err, redis)
    identity = {**message, "max_segments": segment_limit, "smart_encoding": smart_encoding}
    job_id = job_id or cli_job_id(identity, source)
    if store is not None:
        if journal is not None or dry_run or batch_size is not None:
            raise click.UsageError("--store goes without --journal, --dry-run and --batch-size")
        if quiet_hours or send_at or segment_limit or smart_encoding:
            raise click.UsageError(
                "--store does not take --quiet-hours, --at, --max-segments or --smart-encoding "
                "yet; use --journal for those")
        return bulk_into_store(
            store, source, message, job_id=job_id, provider=provider, region=region,
            concurrency=concurrency, relaxed=relaxed_durability,
            heartbeat_timeout=heartbeat_timeout, out=out, err=err)
    dispatcher = Dispatcher(
        provider, concurrency=concurrency, journal=journal, dry_run=dry_run,
        batch_size=batch_size, default_region=region, job_id=job_id, suppression=redis,
        quiet_hours=quiet, wait=not no_wait, max_segments=segment_limit,
        smart_encoding=smart_encoding, price_per_segment=price,
    )
    if journal is not None and not dry_run:
        remember(journal, job_id, source, region)  # before the first send: resume can re-read
    job = CliRun(err, f"{'dry run' if dry_run else 'sending'} via {provider.name}", total,
                 dry_run=dry_run)
    job.job_id = job_id
    dispatcher.on_progress = job.on_progress
    if start_at is not None and not dry_run:
        err.print(f"waiting until {start_at.isoformat(' ')} (--at) before the first send; "
                  "Ctrl-C keeps the job in the journal, and resuming it still waits",
                  markup=False)
    try:
        job.execute(stream_job(provider, dispatcher, source, message, job, send_at=start_at))
    finally:
        source.rejects.close()
    title = f"{'Dry run' if dry_run else 'Bulk send'} via {provider.name}: {source.name}"
    return finish(out, title, job, journal if not dry_run else None, dry_run=dry_run,
                  rejects=source.rejects)


async def stream_job(
    provider: MessagingProvider,
    dispatcher: Dispatcher,
    source: CsvRecipients,
    message: dict[str, Any],
    job: CliRun,
    *,
    retry_failed: bool = False,
    send_at: datetime | None = None,
) -> None:
    async with provider, dispatcher, dispatcher.stream(
            source, retry_failed=retry_failed, send_at=send_at, **message) as stream:
        try:
            async for outcome in stream:
                job.count(outcome)
        finally:
            job.compliance = stream.compliance
        job.stopped = stream.stopped


@click.command()
@click.argument("journal", metavar="JOURNAL", type=click.Path(dir_okay=False))
@click.option("--job-id", metavar="ID", help="Which job (default: the most recent).")
@click.option(
    "--resend-unknown", is_flag=True,
    help="Also resend recipients whose earlier send is UNKNOWN (may text them twice).",
)
@click.option(
    "--retry-failed", is_flag=True,
    help="Also send again to recipients that FAILED (safe: FAILED means surely not sent), "
         "e.g. after a job stopped on a wrong token.",
)
@click.option("--dry-run", is_flag=True, help="Show what a resume would send; send nothing.")
@click.option(
    "--accept-lost-wal", is_flag=True,
    help="Resume although the journal's -wal file is lost (recipients in flight then may be "
    "texted twice). A journal is JOURNAL, JOURNAL-wal and JOURNAL-shm: keep them together.",
)
@job_options
def resume(
    journal: str,
    job_id: str | None,
    resend_unknown: bool,
    retry_failed: bool,
    dry_run: bool,
    accept_lost_wal: bool,
    concurrency: int,
    rate: float | None,
    url: str | None,
    redis: str | None,
) -> int:
    """Finish a journaled job after a crash or Ctrl-C, from the journal alone.

    Recipients already sent, failed or skipped are not touched; those a crash left in flight
    become UNKNOWN and are not resent (unless --resend-unknown); those that failed are resent
    only with --retry-failed; the rest are sent. Needs only
    the provider credentials (--url): the message and recipients are in the journal.
    """
    with open_journal(journal, accept_lost_wal=accept_lost_wal) as existing:
        info = existing.job(job_id)
    csv = recall(journal, info.job_id)
    if not info.source_complete and csv is None:
        raise ValidationError(
            f"job {info.job_id} stopped before all its recipients were read and the journal "
            "does not know their file; run the original bulk command again with this journal "
            "to finish it (nobody is texted twice)"
        )
    out, err = make_consoles()
    provider = open_job_provider(url, rate, err, redis)
    if info.provider and info.provider != provider.name:
        err.print(
            f"note: job {info.job_id} was started via {info.provider}; resuming via "
            f"{provider.name}",
            markup=False,
        )
    dispatcher = Dispatcher(
        provider, concurrency=concurrency, journal=journal, dry_run=dry_run,
        resend_unknown=resend_unknown, job_id=info.job_id,
        default_region=csv.region if csv is not None else None, suppression=redis,
    )
    label = f"resuming {info.job_id} via {provider.name}"
    if info.source_complete:
        job = CliRun(err, label, info.total, dry_run=dry_run)
        work = _resume_from_journal(provider, dispatcher, job, retry_failed=retry_failed)
    else:
        assert csv is not None
        # the journal has part of the file: stream it again; done recipients are skipped
        if csv.changed():
            err.print(f"note: {csv.path} changed since the job started; resuming with its "
                      "current rows", markup=False)
        source = csv.open(Template(info.spec.body).fields)
        job = CliRun(err, label, source.count(), dry_run=dry_run)
        spec = info.spec
        message = {"body": spec.body, "sender": spec.sender, "attachments": spec.attachments,
                   "options": dict(spec.options)}
        work = stream_job(provider, dispatcher, source, message, job, retry_failed=retry_failed)
    job.job_id = info.job_id
    dispatcher.on_progress = job.on_progress
    job.execute(work)
    title = f"{'Dry run of resume' if dry_run else 'Resume'} of {info.job_id} via {provider.name}"
    return finish(out, title, job, journal if not dry_run else None, dry_run=dry_run)


async def _resume_from_journal(
    provider: MessagingProvider, dispatcher: Dispatcher, job: CliRun, *, retry_failed: bool
) -> None:
    async with provider, dispatcher:
        report = await dispatcher.resume(job.job_id, retry_failed=retry_failed)
    job.reasons.update(report.reasons())
    job.store_error = next(
        (o.error for o in report.outcomes if o.reason == "store_unavailable"), None)
    job.stopped = report.stopped
    job.compliance = report.compliance


def bulk_into_store(
    store: str, source: CsvRecipients, message: dict[str, Any], *, job_id: str,
    provider: MessagingProvider, region: str | None, concurrency: int, relaxed: bool,
    heartbeat_timeout: float, out: Console, err: Console,
) -> int:
    """``bulk --store``: enqueue the file into the Redis job, then work it as one worker."""
    opened = open_store(store, relaxed=relaxed, heartbeat_timeout=heartbeat_timeout)
    dispatcher = Dispatcher(provider, concurrency=concurrency, journal=opened, job_id=job_id,
                            default_region=region)
    job = CliRun(err, f"job {job_id} (all workers) via {provider.name}", None)
    run = WorkerRun(opened, job_id)
    if relaxed:
        err.print(f"note: {RELAXED_NOTE}", markup=False)

    async def before() -> None:
        added = await enqueue(opened, source, message, job_id=job_id, provider=provider.name,
                              region=region)
        err.print(f"job {job_id}: {added.recipients:,} recipients in {added.chunks:,} chunks "
                  f"({added.chunks_added:,} new) in {opened.location}; join with: smsbridge "
                  f"worker --store URL --job {job_id}", markup=False)

    try:
        job.execute(run.work(provider, dispatcher, job.on_progress, before=before))
    finally:
        if source.rejects is not None:
            source.rejects.close()
    return finish_worker(out, err, f"Bulk send via {provider.name}: {source.name}", run,
                         interrupted=job.interrupted)


def _template_fields(body: str, source: CsvRecipients) -> frozenset[str]:
    """The columns ``body`` uses. One no column fills would fail every recipient: refuse."""
    columns = {name for _, name in source.variable_columns}
    fields = Template(body).fields
    missing = sorted(fields - columns)
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        listed = ", ".join(sorted(columns)) or "none besides the phone column"
        raise click.UsageError(
            f"--body uses {names} but {source.name} has no such column (its columns: {listed})"
        )
    return fields


def finish(
    out: Console, title: str, job: CliRun, journal: str | None, *, dry_run: bool = False,
    rejects: Rejects | None = None,
) -> int:
    """Print the summary (and the whole job's state from the journal); return the exit code."""
    progress = job.progress or Progress(None, 0, 0, 0, 0, 0, 0.0)
    print_summary(out, JobSummary(
        title=title, counts=progress, elapsed=progress.elapsed, reasons=dict(job.reasons),
        journal=journal, dry_run=dry_run, interrupted=job.interrupted,
    ))
    for line in describe_compliance(job.compliance, dry_run=dry_run,
                                    interrupted=job.interrupted):
        out.print(line, markup=False)
    if job.store_error:
        out.print(f"store_unavailable: {job.store_error}", markup=False)
    rejected = rejects.describe() if rejects is not None else None
    if rejected:
        out.print(rejected, markup=False)
    bad = progress.failed + progress.unknown
    if journal is not None and job.job_id is not None:
        with Journal(journal) as opened:
            report = opened.report(job.job_id)
        out.print(job_line(report), markup=False)
        bad = report.failed + report.unknown
        if not report.complete:
            out.print(f"Resume with: {command_hint()} resume {journal}", markup=False)
    elif job.interrupted and not dry_run:
        out.print("Without --journal this job cannot be resumed.", markup=False)
    if job.stopped is not None:
        out.print(f"Stopped early: {job.stopped}. Recipients not yet attempted were not sent"
                  + (f"; fix the cause, then: smsbridge resume {journal} --retry-failed"
                     if journal is not None else "."), markup=False)
    if job.interrupted:
        return EXIT_INTERRUPTED
    if job.stopped is not None:
        return EXIT_STOPPED
    return EXIT_FAILED if bad else EXIT_OK
