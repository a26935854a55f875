"""One job across many hosts: ``bulk --store``, ``worker`` and ``report --store`` (Redis).

``smsbridge bulk FILE --store redis://... --job-id J`` enqueues the file (normalised and
de-duplicated over the whole job) and then works the job like any worker;
``smsbridge worker --store redis://... --job J`` joins it from any host;
``smsbridge report --store redis://... --job J`` shows the whole job. Every worker's progress
bar shows the whole job (read from the store), not only its own sends. Ctrl-C on a worker
hands the recipients it claimed but did not send back to the job; the others take over its
unfinished chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from ..dispatch.dispatcher import Dispatcher
from ..dispatch.report import Progress
from ..dispatch.spec import JobSpec
from ..errors import ConfigurationError
from ..protocol import MessagingProvider
from ._errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_STOPPED, redactor
from ._render import JobSummary, make_consoles, print_summary

RELAXED_NOTE = ("relaxed durability: Redis does not fsync every write (appendfsync always is "
                "off), so a Redis crash may lose up to a second of claims and resend them")


def store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--relaxed-durability`` and ``--heartbeat-timeout``, for commands that take --store."""
    func = click.option(
        "--heartbeat-timeout", type=click.FloatRange(min=0.5), default=10.0, show_default=True,
        metavar="SECONDS", help="A worker silent this long (and half again) loses its "
        "unfinished chunks to the others; its in-flight recipients become UNKNOWN.")(func)
    return click.option(
        "--relaxed-durability", is_flag=True,
        help="Run although Redis does not fsync every write (appendfsync always): a Redis "
        "crash may then lose up to a second of claims and text those recipients again.")(func)


def open_store(url: str, *, relaxed: bool, heartbeat_timeout: float) -> Any:
    try:
        from ..redis import RedisJobStore
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(
            "--store needs the Redis extra: pip install 'smsbridge[redis]'") from exc
    redactor.add_url(url)
    return RedisJobStore(url, relaxed_durability=relaxed, heartbeat_timeout=heartbeat_timeout)


async def enqueue(store: Any, source: Any, message: dict[str, Any], *, job_id: str,
                  provider: str, region: str | None) -> Any:
    spec = JobSpec(message["body"], message["sender"], message["attachments"],
                   message["options"])
    return await store.enqueue(source, spec=spec, job_id=job_id, provider=provider,
                               region=region)


async def _watch(store: Any, job_id: str, on_progress: Callable[[Progress], None],
                 started: float, stop: asyncio.Event) -> None:
    """The whole job's progress, from the store, about twice a second, until ``stop``. A flag
    rather than a cancellation ends it: a cancellation that lands inside a Redis call can come
    back as a connection error, and a loop that carries on after it would never end."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        with contextlib.suppress(Exception):  # a missed refresh only delays the bar
            report = await store.report(job_id)
            on_progress(Progress(report.total or None, report.done, report.sent, report.failed,
                                 report.unknown, report.skipped, loop.time() - started))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


class WorkerRun:
    """One worker's run of a Redis job, with the whole job's progress on its bar."""

    def __init__(self, store: Any, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self.local: Progress | None = None
        self.stopped: Any = None
        self.report: Any = None

    async def work(self, provider: MessagingProvider, dispatcher: Dispatcher,
                   on_progress: Callable[[Progress], None],
                   before: Callable[[], Any] | None = None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        watcher: asyncio.Task[None] | None = None
        stop = asyncio.Event()
        failure: BaseException | None = None
        try:
            async with provider:
                if before is not None:
                    await before()
                watcher = loop.create_task(
                    _watch(self.store, self.job_id, on_progress, started, stop))

                def mine(progress: Progress) -> None:
                    self.local = progress

                dispatcher.on_progress = mine
                report = await dispatcher.resume(self.job_id)
                self.stopped = report.stopped
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if watcher is not None:
                stop.set()
                await asyncio.wait([watcher], timeout=5)
            # Read here, on this run's loop and connection: the summary shows the whole job.
            try:
                self.report = await self.store.report(self.job_id)
            except Exception:
                if failure is None or isinstance(failure, asyncio.CancelledError):
                    raise  # otherwise the run's own error is the one to show
            finally:
                await self.store.aclose()


def finish_worker(out: Console, err: Console, title: str, run: WorkerRun, *,
                  interrupted: bool) -> int:
    """Print this worker's part and the whole job's state; the exit code is the job's."""
    local = run.local or Progress(None, 0, 0, 0, 0, 0, 0.0)
    out.print(f"This worker: sent {local.sent:,}, failed {local.failed:,}, unknown "
              f"{local.unknown:,}, skipped {local.skipped:,}", markup=False)
    report = run.report
    print_summary(out, store_summary(report, run.store.location, title))
    if report.relaxed_durability:
        err.print(f"note: {RELAXED_NOTE}", markup=False)
    if interrupted:
        out.print("This worker stopped; the recipients it had claimed but not sent are "
                  "pending again and the other workers take over its chunks.", markup=False)
        return EXIT_INTERRUPTED
    if run.stopped is not None:
        out.print(f"Stopped early: {run.stopped}.", markup=False)
        return EXIT_STOPPED
    return EXIT_FAILED if report.failed or report.unknown else EXIT_OK


def store_summary(report: Any, location: str, title: str) -> JobSummary:
    extra = {}
    if report.count("in_flight"):
        extra["In flight"] = report.count("in_flight")
    if report.count("pending"):
        extra["Not processed yet"] = report.count("pending")
    if report.takeovers:
        extra["Chunks taken over from stopped workers"] = report.takeovers
    counts = Progress(report.total or None, report.done, report.sent, report.failed,
                      report.unknown, report.skipped, 0.0)
    state = "complete" if report.complete else (
        "enqueued, not finished" if report.enqueued else "still being enqueued")
    return JobSummary(title=f"{title} — job {report.job_id} ({state}, {report.workers} "
                            "workers live)", counts=counts, extra=extra, journal=location)


def job_line(report: Any) -> str:
    state = "complete" if report.complete else f"{report.open:,} not finished yet"
    relaxed = " [relaxed durability]" if report.relaxed_durability else ""
    return (f"Job {report.job_id}, all workers: sent {report.sent:,}, failed {report.failed:,}, "
            f"unknown {report.unknown:,}, skipped {report.skipped:,}; {state}{relaxed}")


@click.command()
@click.option("--store", required=True, metavar="REDIS_URL",
              help="The job store: redis://[:password@]host:port/db.")
@click.option("--job", "job_id", required=True, metavar="ID", help="The job to join.")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=32, show_default=True,
              help="Sends in flight at once in this worker.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="PER_SECOND",
              help="Messages per second for this worker (default: the provider's limit).")
@store_options
@click.option("--url", envvar="SMSBRIDGE_URL", show_envvar=True, metavar="URL",
              help="Provider connection URL (prefer $SMSBRIDGE_URL: argv is public).")
def worker(store: str, job_id: str, concurrency: int, rate: float | None,
           relaxed_durability: bool, heartbeat_timeout: float, url: str | None) -> int:
    """Join a job kept in Redis and send to its recipients alongside the other workers.

    Any number of workers on any hosts may join; each recipient is sent by at most one of them.
    The bar shows the whole job. Ctrl-C hands this worker's unsent claims back. Exit codes as
    for bulk, judged on the whole job.
    """
    from ._jobs import CliRun, open_job_provider

    out, err = make_consoles()
    opened = open_store(store, relaxed=relaxed_durability, heartbeat_timeout=heartbeat_timeout)
    provider = open_job_provider(url, rate, err)
    dispatcher = Dispatcher(provider, concurrency=concurrency, journal=opened, job_id=job_id)
    job = CliRun(err, f"job {job_id} (all workers) via {provider.name}", None)
    run = WorkerRun(opened, job_id)
    if relaxed_durability:
        err.print(f"note: {RELAXED_NOTE}", markup=False)
    job.execute(run.work(provider, dispatcher, job.on_progress))
    return finish_worker(out, err, f"Worker via {provider.name}", run,
                         interrupted=job.interrupted)


def report_store(store: str, job_id: str | None) -> int:
    """``smsbridge report --store URL --job J``."""
    if not job_id:
        raise click.UsageError("--store needs --job ID")
    out, _ = make_consoles()
    opened = open_store(store, relaxed=True, heartbeat_timeout=10.0)

    async def read() -> Any:
        try:
            return await opened.report(job_id)
        finally:
            await opened.aclose()

    report = asyncio.run(read())
    print_summary(out, store_summary(report, opened.location, "Redis job"))
    out.print(job_line(report), markup=False)
    if report.relaxed_durability:
        out.print(f"note: {RELAXED_NOTE}", markup=False)
    return EXIT_OK
