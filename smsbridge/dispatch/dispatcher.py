"""Bulk fan-out: bounded concurrency, rate limits, one outcome per recipient, resumable jobs.

    dispatcher = Dispatcher(provider, concurrency=32, journal="job.sqlite")
    report = await dispatcher.send(Message(to=[...], body="Hi {name}"))     # -> BulkReport
    async for outcome in dispatcher.stream(numbers, body="Hi"):             # completion order
        ...
    report = await dispatcher.resume()                  # finish a journaled job from the file

Every recipient ends SENT, FAILED, UNKNOWN or SKIPPED (see ``models.OutcomeStatus``); a send
that may have reached the provider is UNKNOWN and never resent. Dispatcher-level retries (the
``retry`` policy) apply only to errors that surely did not send: a 429 that outlived the
provider's own retries, a refused connection. A 429 pauses every worker.

One retry budget per recipient: ``retry.max_retries + 1`` requests in all, the provider's own
HTTP retries included (see ``transport.budget``). An account-level error (401, 403, a
suspended account) stops the job at once, and so do ``stop_after_failures`` service-level
failures in a row of one kind; recipients not yet attempted are SKIPPED with reason
``job_stopped`` (pending in the journal, so ``resume`` sends them) and ``BulkReport.stopped``
says why.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Container,
    Iterable,
    Mapping,
    Sequence,
    Sized,
)
from datetime import datetime
from decimal import Decimal
from os import PathLike
from typing import Any, Literal

from .. import _constants as C
from .._closing import AsyncClosing
from .._logging import logger
from ..compliance import QuietHours, parse_max_segments, parse_price, prepare_body
from ..errors import AttachmentError, ConfigurationError, IncompleteSourceError, JournalError
from ..journal.protocol import JobStore, Prior, RunSession, SuppressionList
from ..journal.store import Journal
from ..limits.shared import redis_suppression_list
from ..limits.throttle import RateLimitSetting, resolve_throttle
from ..models import Attachment, Message
from ..protocol import BatchSendingProvider, Capabilities, MessagingProvider
from ..telemetry import Telemetry, detect_telemetry
from ..transport.retry import RetryPolicy
from .compliance import Clock, ComplianceTally, JobRules, utc_now
from .failover import FailoverProvider
from .preparer import Preparer
from .report import BulkReport, Progress, ProgressCallback, Tally
from .run import JobRun
from .spec import JobSpec
from .stream import ListSink, OutcomeStream, StreamFeed
from .template import Template

__all__ = ["BulkReport", "Dispatcher", "FailoverProvider", "OutcomeStream", "Progress"]

Recipients = Iterable[Any] | AsyncIterable[Any]


class Dispatcher(AsyncClosing):
    """Sends one message to many recipients through any :class:`MessagingProvider`.

    ``rate_limit``: messages per second, a ``RateLimit`` or any ``Limiter`` (e.g. a
    ``RateLimiter``). By default a
    provider that manages its own rate (a ``rate_limiter`` attribute, as built-in providers
    have, even when set to None) is left to it, and any other provider is held to its
    ``capabilities.rate_limit``. A 429 pauses every worker (see ``limits.throttle``).
    ``retry``: dispatcher-level retries of definitely-not-sent failures (default
    ``RetryPolicy()``; ``RetryPolicy(max_retries=0)`` turns them off). ``journal``: a path, a
    :class:`Journal` or another :class:`~smsbridge.journal.protocol.JobStore`; with one, the job
    is resumable and its suppression list is honoured.
    ``dry_run``: validate, render and de-duplicate without calling the provider; every
    recipient that would be sent is SKIPPED with reason ``"dry_run"`` and ``Outcome.message``.
    ``batch_size``: group recipients with an identical rendered body into native multi-recipient
    sends of plain numbers (providers with ``capabilities.native_multi_recipient`` only; no
    per-recipient ids); a recipient whose text nobody shares gets a plain send.
    ``suppression``: numbers (E.164) never to text (SKIPPED, reason ``"opted_out"``): a
    collection (checked as each recipient is prepared) or a
    :class:`~smsbridge.journal.protocol.SuppressionList` such as a shared Redis list (checked
    right before each recipient is claimed, so an opt-out received mid-job is honoured before
    the next send), or a ``redis://`` URL (a ``RedisSuppressionList`` the dispatcher opens and
    closes). A list that cannot be asked fails the recipient as not sent, never "not
    suppressed".
    ``resend_unknown``: on resume, resend recipients whose earlier send is UNKNOWN.
    ``job_id``: names the job in the journal (default: derived from the message content, so
    re-running the same message resumes it). ``cancel_grace``: seconds in-flight sends get to
    finish after cancellation before they are reported UNKNOWN.
    ``stop_after_failures``: stop the job after this many recipients in a row failed the same
    service-level way (unreachable, 5xx, endless 429s); default ``max(10, 2 * concurrency)``,
    0 never stops. An account-level error (401, 403, suspended) always stops it at once.

    Compliance and cost (see :mod:`smsbridge.compliance`):
    ``quiet_hours``: a :class:`~smsbridge.compliance.QuietHours`, a preset (``"federal"``:
    08:00-21:00, ``"strict"``: 08:00-20:00) or ``"HH:MM-HH:MM"``; off by default. A recipient
    outside the window at its own location is never sent and never lost: it is held until its
    window opens (unclaimed: a job killed meanwhile keeps it pending, and a resume checks it
    again), or with ``wait=False`` SKIPPED with reason ``"quiet_hours"`` and its next allowed
    time (pending too, so a later resume sends it). ``clock`` (aware datetimes) is what quiet
    hours and ``send_at`` are judged by. ``max_segments``: a rendered body needing more
    segments is FAILED ``"too_many_segments"`` before any request (a body without variables
    fails the whole job at once with ``TooManySegments``). ``smart_encoding``: replace
    look-alike characters (curly quotes, dashes, non-breaking spaces) with GSM-7 ones first.
    Both are part of the job's identity (a changed setting is another job).
    ``price_per_segment`` (``Decimal`` or decimal text, never a float): the report's
    ``compliance.estimated_cost``. Segments are counted in a dry run and whenever
    ``max_segments``, ``smart_encoding`` or ``price_per_segment`` is set
    (``BulkReport.compliance.segments``).
    """

    def __init__(
        self,
        provider: MessagingProvider,
        *,
        concurrency: int = C.DISPATCHER_CONCURRENCY,
        rate_limit: RateLimitSetting = None,
        retry: RetryPolicy | None = None,
        journal: JobStore | str | PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        dry_run: bool = False,
        batch_size: int | None = None,
        default_region: str | None = None,
        suppression: Container[str] | SuppressionList | str | None = None,
        resend_unknown: bool = False,
        job_id: str | None = None,
        cancel_grace: float = C.DISPATCHER_CANCEL_GRACE,
        progress_interval: float = C.DISPATCHER_PROGRESS_INTERVAL,
        stop_after_failures: int | None = None,
        quiet_hours: QuietHours | str | None = None,
        wait: bool = True,
        clock: Clock | None = None,
        max_segments: int | None = None,
        smart_encoding: bool = False,
        price_per_segment: Decimal | str | int | None = None,
        telemetry: Telemetry | Literal["auto"] | None = "auto",
    ) -> None:
        if not isinstance(provider, MessagingProvider):
            raise ConfigurationError(
                "provider must implement MessagingProvider (name, capabilities, send, aclose); "
                f"got {type(provider).__name__}")
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ConfigurationError(f"concurrency must be an integer >= 1 (got {concurrency!r})")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a RetryPolicy or None")
        if job_id is not None and (not isinstance(job_id, str) or not job_id.strip()):
            raise ConfigurationError("job_id must be a non-empty string")
        if cancel_grace < 0 or progress_interval < 0:
            raise ConfigurationError("cancel_grace and progress_interval must be >= 0 seconds")
        if stop_after_failures is not None and (
                not isinstance(stop_after_failures, int) or isinstance(stop_after_failures, bool)
                or stop_after_failures < 0):
            raise ConfigurationError(
                "stop_after_failures must be an integer >= 0 (0: never stop) or None "
                f"(got {stop_after_failures!r})")
        if on_progress is not None and not callable(on_progress):
            raise ConfigurationError("on_progress must be a callable taking a Progress")
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be a callable returning an aware datetime")
        if isinstance(quiet_hours, str):
            quiet_hours = QuietHours.parse(quiet_hours, region=default_region)
        elif quiet_hours is not None and not isinstance(quiet_hours, QuietHours):
            raise ConfigurationError(
                "quiet_hours must be a QuietHours, a preset ('federal', 'strict'), a window "
                "like '08:00-21:00', or None")
        self.quiet_hours: QuietHours | None = quiet_hours
        self.wait = bool(wait)
        self.clock: Clock = clock or utc_now
        self.max_segments = None if max_segments is None else parse_max_segments(max_segments)
        self.smart_encoding = bool(smart_encoding)
        self.price_per_segment = (
            None if price_per_segment is None else parse_price(price_per_segment))
        self.provider = provider
        self.concurrency = concurrency
        self.batch_size = _check_batch_size(provider, batch_size)
        self.throttle = resolve_throttle(provider, rate_limit)
        self.retry = retry or RetryPolicy()
        self.on_progress = on_progress
        self.dry_run = dry_run
        self.default_region = default_region
        self._owned_suppression: Any = None
        if isinstance(suppression, str):  # a str is a Container too: only a URL is accepted
            suppression = self._owned_suppression = redis_suppression_list(suppression)
        self.suppression: Container[str] | SuppressionList | None = suppression
        self.resend_unknown = resend_unknown
        self.job_id = job_id
        self.cancel_grace = cancel_grace
        self.progress_interval = progress_interval
        self.stop_after_failures = (
            max(10, 2 * concurrency) if stop_after_failures is None else stop_after_failures)
        # "auto": job/attempt spans and outcome metrics when OpenTelemetry is configured.
        self.telemetry = detect_telemetry() if telemetry == "auto" else telemetry
        self._journal_setting = journal
        self._journal: JobStore | None = journal if isinstance(journal, JobStore) else None
        if journal is not None and not isinstance(journal, JobStore | str | PathLike):
            raise ConfigurationError(
                "journal must be a path, a Journal (or another JobStore) or None")

    def __repr__(self) -> str:
        return (f"Dispatcher(provider={self.provider.name!r}, concurrency={self.concurrency}, "
                f"dry_run={self.dry_run})")

    @property
    def journal(self) -> JobStore | None:
        """The journal (opened on first use when given as a path)."""
        if self._journal is None and self._journal_setting is not None:
            self._journal = Journal(self._journal_setting)  # type: ignore[arg-type]
        return self._journal

    async def aclose(self) -> None:
        """Close a journal (and a Redis suppression list) the dispatcher opened (never the
        provider)."""
        if self._journal is not None and not isinstance(self._journal_setting, JobStore):
            self._journal.close()
            self._journal = None
        owned, self._owned_suppression = self._owned_suppression, None
        if owned is not None:
            await owned.aclose()

    # --- the three ways to run a job ------------------------------------------------------

    async def send(
        self, message: Message, *, retry_failed: bool = False, send_at: datetime | None = None,
    ) -> BulkReport:
        """Send ``message`` to each of its recipients; outcomes in the order of ``message.to``.

        ``retry_failed``: with a journal, re-running a job sends again to its FAILED recipients
        (safe: FAILED means surely not sent), e.g. after fixing a wrong token.
        ``send_at``: an aware datetime; the job is stored (with a journal) and waits until then
        before the first send. A job killed while waiting still waits when resumed; a time
        already past sends at once. A provider's own ``scheduled_at`` option (TextUs) is sent
        as is: the dispatcher submits at ``send_at`` and TextUs then holds each message until
        its ``scheduled_at``, so the later of the two wins (a ``scheduled_at`` already past at
        submission is TextUs's to refuse). With ``quiet_hours`` on, ``scheduled_at`` is refused
        (ConfigurationError): the window could not be checked at the delivery time.
        """
        if not isinstance(message, Message):
            raise ConfigurationError("send() takes a Message; use stream() for other sources")
        return await self._report(self._spec(JobSpec.from_message(message)), message.to,
                                  total=len(message.to), stored=message.to,
                                  retry_failed=retry_failed, send_at=_check_send_at(send_at))

    def stream(
        self,
        recipients: Recipients,
        *,
        body: str = "",
        sender: str | None = None,
        attachments: Sequence[Attachment] = (),
        options: dict[str, Any] | None = None,
        retry_failed: bool = False,
        send_at: datetime | None = None,
    ) -> OutcomeStream:
        """Outcomes as they complete, for any (async) iterable of numbers or ``Recipient``s.

        The source is read as workers free up: a million-recipient generator is never held in
        memory. Use ``async for``; ``async with`` (or ``aclose()``) stops the job early, and so
        does a ``break`` once nothing else refers to the stream. ``retry_failed`` and
        ``send_at``: as for ``send()``.
        """
        _check_recipients(recipients)
        send_at = _check_send_at(send_at)
        spec = self._spec(JobSpec(body, sender, tuple(attachments), dict(options or {})))
        total = len(recipients) if isinstance(recipients, Sized) else None

        # Refers to the feed it is given, never to the stream: see StreamFeed.
        async def start(sink: StreamFeed) -> None:
            await self._execute(spec, recipients, total=total, sink=sink, stored=None,
                                lazy_store=True, job_id=self.job_id, region=self.default_region,
                                retry_failed=retry_failed, send_at=send_at)

        return OutcomeStream(self.concurrency, start)

    async def resume(
        self, job_id: str | None = None, *, recipients: Recipients | None = None,
        retry_failed: bool = False,
    ) -> BulkReport:
        """Finish a journaled job (default: the most recent) with its stored message.

        Recipients already SENT / FAILED / SKIPPED are reported SKIPPED (``already_<state>``),
        those a crash left in flight UNKNOWN (unless ``resend_unknown``); the rest are sent.
        Outcomes are in source order. ``retry_failed``: send again to FAILED recipients too
        (safe: FAILED means surely not sent), e.g. after a job stopped on a wrong token.

        Without ``recipients`` the job is finished from the journal alone, which holds every
        recipient of a ``send()`` job and of a ``stream()`` whose source was read to its end.
        A stream stopped (cancelled, crashed) before its source ended is different: the
        journal holds only the entries read so far and knows nothing of the rest, so it cannot
        finish the job, and ``resume()`` raises :class:`IncompleteSourceError` before sending
        anything. Pass the job's source again, from its start, as ``recipients`` (any iterable
        or async iterable, as for ``stream()``): entries already handled are reported, not
        resent, the rest are sent, and the job is complete once the source has been read to its
        end. (Re-running ``stream()`` with this ``job_id`` does the same, without keeping every
        outcome in memory.)
        """
        journal = self.journal
        if journal is None:
            raise ConfigurationError(
                "resume() needs a journal: Dispatcher(provider, journal='job.sqlite')")
        job = await journal.find_job(job_id or self.job_id)
        if recipients is not None:
            _check_recipients(recipients)
        elif not job.source_complete:
            stored = await journal.stored_count(job.job_id)
            raise IncompleteSourceError(
                f"job {job.job_id} stopped before its source was read to the end: the journal "
                f"holds only the {stored:,} entries read, so it cannot finish the job alone; "
                "pass the source again from its start, resume(recipients=...) (entries "
                "already handled are not resent)", job_id=job.job_id, stored=stored)
        if job.provider and job.provider != self.provider.name:
            logger.warning("job %s was started with provider %r; resuming with %r",
                           job.job_id, job.provider, self.provider.name)
        region = self.default_region or job.settings.get("default_region")
        # A scheduled job still waits; quiet hours stay on (unless given anew).
        send_at = _stored_time(job.settings.get("send_at"))
        quiet = _stored_quiet_hours(job.settings.get("quiet_hours"), region)
        if recipients is not None:
            total = len(recipients) if isinstance(recipients, Sized) else None
            return await self._report(job.spec, recipients, total=total, stored=None,
                                      job_id=job.job_id, region=region, lazy_store=True,
                                      retry_failed=retry_failed, send_at=send_at,
                                      stored_quiet=quiet)
        return await self._report(job.spec, journal.job_source(job.job_id), total=job.total,
                                  stored=None, job_id=job.job_id, region=region,
                                  retry_failed=retry_failed, send_at=send_at,
                                  stored_quiet=quiet)

    # --- shared machinery -----------------------------------------------------------------

    async def _report(
        self, spec: JobSpec, source: Recipients, *, total: int | None,
        stored: Sequence[Any] | None, job_id: str | None = None, region: str | None = None,
        lazy_store: bool = False, retry_failed: bool = False, send_at: datetime | None = None,
        stored_quiet: tuple[QuietHours, bool] | None = None,
    ) -> BulkReport:
        # Input order by position: slots when the recipients are known exactly (send), else
        # sorted by position at the end (a resume's source is as long as it turns out to be).
        sink = ListSink(len(stored) if stored is not None else None)
        run, job_id, elapsed = await self._execute(
            spec, source, total=total, sink=sink, stored=stored, lazy_store=lazy_store,
            job_id=job_id or self.job_id, region=region or self.default_region,
            retry_failed=retry_failed, send_at=send_at, stored_quiet=stored_quiet)
        journal = self.journal
        return BulkReport(
            outcomes=sink.outcomes(), elapsed=elapsed, job_id=job_id,
            journal_path=journal.location if journal is not None else None,
            batches=dict(run.batches), dry_run=self.dry_run, stopped=run.stopped,
            compliance=run.compliance)

    async def _execute(
        self, spec: JobSpec, source: Recipients, *, total: int | None, sink: Any,
        stored: Sequence[Any] | None, lazy_store: bool, job_id: str | None,
        region: str | None, retry_failed: bool = False, send_at: datetime | None = None,
        stored_quiet: tuple[QuietHours, bool] | None = None,
    ) -> tuple[JobRun, str, float]:
        capabilities = self.provider.capabilities
        template = Template(spec.body)  # a malformed template fails the job before any send
        _check_attachments(spec.attachments, capabilities)
        if template.static is not None and spec.max_segments is not None:
            # The same body for everyone: over the limit is a usage error, not N failures.
            prepare_body(template.static, max_segments=spec.max_segments,
                         smart_encoding=spec.smart_encoding)
        journal = self.journal
        if journal is not None and not self.dry_run and (
                send_at is None or (self.quiet_hours is None and stored_quiet is None)):
            # A job re-run or resumed without them keeps the schedule and quiet hours it was
            # started with: a scheduled job killed while waiting still waits.
            previous = await _previous_settings(journal, spec, job_id)
            send_at = send_at or _stored_time(previous.get("send_at"))
            if stored_quiet is None:
                stored_quiet = _stored_quiet_hours(previous.get("quiet_hours"), region)
        quiet, wait = (self.quiet_hours, self.wait) if self.quiet_hours is not None or \
            stored_quiet is None else stored_quiet
        if quiet is not None and "scheduled_at" in spec.options:
            raise ConfigurationError(
                "quiet_hours judge when smsbridge submits each message, but the scheduled_at "
                "option makes the provider deliver it later, at a time quiet hours cannot "
                "check; schedule the job with send_at= (--at) instead")
        settings: dict[str, Any] = {
            "default_region": region, "batch_size": self.batch_size,
            "concurrency": self.concurrency}
        if send_at is not None:
            settings["send_at"] = send_at.isoformat()
        if quiet is not None:
            settings["quiet_hours"] = {"window": quiet.window, "fallback": quiet.fallback,
                                       "wait": wait}
        session: RunSession | None = None
        lookup: Callable[[list[str]], Awaitable[dict[str, Prior]]] | None = None
        if journal is None:
            job_id = job_id or f"job-{uuid.uuid4().hex[:12]}"
        elif self.dry_run:  # read the journal, never write it
            job_id, recorded = await journal.resolve_job(spec, job_id)
            if recorded:
                lookup = functools.partial(journal.lookup, job_id)
        else:
            run_id = uuid.uuid4().hex
            job_id, resumed = await journal.begin_job(
                spec, job_id=job_id, provider=self.provider.name, total=total,
                settings=settings, replace_source=stored is not None or lazy_store, run_id=run_id)
            session = journal.open_session(job_id, run_id, resend_unknown=self.resend_unknown,
                                       retry_failed=retry_failed)
            lookup = session.lookup if resumed else None
        if isinstance(sink, StreamFeed):
            sink.job_id = job_id
        tally = Tally(total, self.on_progress, self.progress_interval)
        sink.tally = tally
        compliance = ComplianceTally(self.price_per_segment, send_at)
        counting = (self.dry_run or spec.max_segments is not None or spec.smart_encoding
                    or self.price_per_segment is not None)
        run = JobRun(
            provider=self.provider, spec=spec, throttle=self.throttle, retry=self.retry,
            preparer=Preparer(
                template, region=region,
                suppression=None if isinstance(self.suppression, SuppressionList)
                else self.suppression,
                is_suppressed=journal.opted_out if journal is not None else None,
                max_body_length=capabilities.max_body_length,
                max_segments=spec.max_segments, smart_encoding=spec.smart_encoding,
                compliance=compliance if counting else None),
            concurrency=self.concurrency, batch_size=self.batch_size, dry_run=self.dry_run,
            session=session, lookup=lookup, resend_unknown=self.resend_unknown, tally=tally,
            sink=sink, job_id=job_id, grace=self.cancel_grace, store_source=lazy_store,
            stop_after=self.stop_after_failures, retry_failed=retry_failed,
            suppression=self.suppression if isinstance(self.suppression, SuppressionList)
            else None, rules=JobRules(quiet, wait, self.clock), compliance=compliance,
            telemetry=self.telemetry)
        failure: BaseException | None = None
        try:
            if session is not None and stored is not None:
                _store_source(session, stored)
            if send_at is not None and not self.dry_run:
                await _wait_until(send_at, self.clock)
            if self.telemetry is None:
                await run.run(source)
            else:
                with self.telemetry.job(job_id=job_id, provider=self.provider.name,
                                        total=None) as job_span:
                    try:
                        await run.run(source)
                    finally:
                        done = tally.snapshot()
                        job_span.finish({"sent": done.sent, "failed": done.failed,
                                         "unknown": done.unknown, "skipped": done.skipped})
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if isinstance(sink, StreamFeed):
                sink.stopped = run.stopped
                sink.compliance = run.compliance
            if session is not None:
                # Only a run that read the job's own source (a stream) can complete it. Closed
                # even when cancelled again meanwhile: a half-closed journal is the one state
                # a later resume cannot trust.
                await _uninterrupted(
                    _close_session(session, run, failure, source_read=lazy_store))
        return run, job_id, tally.snapshot().elapsed


    def _spec(self, spec: JobSpec) -> JobSpec:
        if self.max_segments is None and not self.smart_encoding:
            return spec
        return JobSpec(spec.body, spec.sender, spec.attachments, spec.options,
                       max_segments=self.max_segments, smart_encoding=self.smart_encoding)


def _check_send_at(send_at: object) -> datetime | None:
    if send_at is None:
        return None
    if not isinstance(send_at, datetime) or send_at.utcoffset() is None:
        raise ConfigurationError(
            "send_at must be a timezone-aware datetime (e.g. datetime(2026, 12, 1, 9, "
            "tzinfo=ZoneInfo('America/New_York'))); a naive time is ambiguous: whose 9 am?")
    return send_at


async def _previous_settings(journal: JobStore, spec: JobSpec, job_id: str | None
                             ) -> Mapping[str, Any]:
    resolved, _ = await journal.resolve_job(spec, job_id)
    try:
        job = await journal.find_job(resolved)
    except (JournalError, ConfigurationError):  # a new job (the store says so either way)
        return {}
    return job.settings


def _stored_time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _stored_quiet_hours(value: object, region: str | None) -> tuple[QuietHours, bool] | None:
    if not isinstance(value, dict):
        return None
    quiet = QuietHours.parse(value["window"], fallback=value["fallback"], region=region)
    return quiet, bool(value.get("wait", True))


async def _wait_until(when: datetime, clock: Clock) -> None:
    """Sleep until ``when`` by ``clock``, in slices (a clock that jumps is noticed)."""
    while True:
        delay = (when - clock()).total_seconds()
        if delay <= 0:
            return
        await asyncio.sleep(min(delay, C.QUIET_HOURS_MAX_SLEEP) + 0.001)


async def _uninterrupted(work: Awaitable[None]) -> None:
    """Await ``work`` to its end even when cancelled meanwhile; re-raise the cancellation."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError


async def _close_session(
    session: RunSession, run: JobRun, failure: BaseException | None, *, source_read: bool
) -> None:
    if failure is None:
        status = "finished" if run.stopped is None else "stopped"
    elif isinstance(failure, asyncio.CancelledError):
        status = "cancelled"
    else:
        status = "interrupted"
    try:
        complete = True if source_read and run.source_complete else None
        session.set_status(status, source_complete=complete)
        await session.close()
    except JournalError:
        if failure is None:
            raise
        logger.error("the journal could not record the end of job %s", run.job_id)


def _store_source(session: RunSession, recipients: Sequence[Any]) -> None:
    """Store a known recipient list up front, so a resume from the journal alone finishes it."""
    size = C.JOURNAL_SOURCE_CHUNK
    for chunk, start in enumerate(range(0, len(recipients), size)):
        part = recipients[start:start + size]
        session.store_source(
            chunk, [[r.phone, dict(r.variables) or None] for r in part], start + len(part))
    session.set_status("running", source_complete=True)


def _check_recipients(recipients: object) -> None:
    if isinstance(recipients, str | bytes) or not isinstance(
            recipients, Iterable | AsyncIterable):
        raise ConfigurationError(
            "recipients must be an iterable or async iterable of numbers or Recipients "
            "(a single number is not a list)")


def _check_batch_size(provider: MessagingProvider, batch_size: int | None) -> int | None:
    if batch_size is None:
        return None
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigurationError(f"batch_size must be an integer >= 1 (got {batch_size!r})")
    capabilities = provider.capabilities
    if not (isinstance(provider, BatchSendingProvider) and capabilities.native_multi_recipient):
        raise ConfigurationError(
            f"batch_size needs a provider with native multi-recipient sends; {provider.name!r} "
            "has none — leave batch_size unset to send one message per recipient")
    limit = capabilities.max_recipients_per_request
    if limit is not None and batch_size > limit:
        raise ConfigurationError(
            f"batch_size {batch_size} is above {provider.name}'s limit of {limit} recipients "
            "per request")
    return batch_size


def _check_attachments(attachments: Sequence[Attachment], capabilities: Capabilities) -> None:
    """Job-level checks, so a bad attachment fails the job once instead of every recipient."""
    if not attachments:
        return
    if not capabilities.attachments:
        raise AttachmentError("this provider does not accept attachments; remove them")
    most = capabilities.max_attachments_per_request
    if most and len(attachments) > most:
        raise AttachmentError(
            f"{len(attachments)} attachments given; the provider accepts {most} per message")
    allowed = capabilities.attachment_types
    for attachment in attachments:
        if allowed and attachment.content_type.lower() not in allowed:
            raise AttachmentError(
                f"attachment type {attachment.content_type!r} is not accepted; use one of "
                + ", ".join(sorted(allowed)))
