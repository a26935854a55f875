"""``smsbridge report JOURNAL``: what happened to a journaled job, without sending anything."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..dispatch.report import Progress
from ..errors import ValidationError
from ..journal.store import Journal, JournalReport
from ..phone import mask
from ._errors import EXIT_OK
from ._render import JobSummary, make_consoles, print_summary

ENTRY_STATES = ("sent", "failed", "unknown", "skipped", "in_flight", "pending")


def open_journal(path: str, *, accept_lost_wal: bool = False) -> Journal:
    """An existing journal (never silently create an empty one for a mistyped path)."""
    if not Path(path).is_file():
        raise ValidationError(f"journal not found: {path} (give the file passed to --journal)")
    return Journal(path, accept_lost_wal=accept_lost_wal)


def job_counts(report: JournalReport) -> Progress:
    """The job's outcomes as a Progress (invalid entries and duplicates are skipped)."""
    done = report.sent + report.failed + report.unknown + report.skipped
    return Progress(None, done, report.sent, report.failed, report.unknown, report.skipped, 0.0)


def job_line(report: JournalReport) -> str:
    """One line: the whole job's state (all runs), e.g. after a resume."""
    c = job_counts(report)
    state = "complete" if report.complete else (
        f"{report.pending + report.in_flight:,} not finished yet"
    )
    reconciled = f" ({report.reconciled:,} reconciled)" if report.reconciled else ""
    return (
        f"Job {report.job.job_id} ({report.job.status}), all runs: sent {c.sent:,}{reconciled}, "
        f"failed {c.failed:,}, unknown {c.unknown:,}, skipped {c.skipped:,}; {state}"
    )


def job_summary(report: JournalReport, journal: str) -> JobSummary:
    extra = {}
    if report.in_flight:
        extra["In flight (a crashed run; unknown on resume)"] = report.in_flight
    if report.pending:
        extra["Not processed yet"] = report.pending
    return JobSummary(
        title=f"Job {report.job.job_id} ({report.job.status}) via {report.job.provider or '?'}",
        counts=job_counts(report),
        reasons=report.reasons,
        extra=extra,
        delivery={
            "delivered": report.delivered,
            "failed": report.delivery_failed,
            "awaiting a delivery status": report.awaiting,
            "unknown sends reconciled (proven sent)": report.reconciled,
        },
        journal=journal,
    )


@click.command()
@click.argument("journal", metavar="JOURNAL", type=click.Path(dir_okay=False), required=False)
@click.option("--job-id", "--job", "job_id", metavar="ID",
              help="Which job (default: the most recent).")
@click.option("--store", metavar="REDIS_URL", help="Report a job kept in Redis (with --job).")
@click.option(
    "--list", "list_state", type=click.Choice(ENTRY_STATES), help="List recipients in this state."
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many recipients --list shows.")
def report(journal: str | None, job_id: str | None, store: str | None,
           list_state: str | None, limit: int) -> int:
    """Summarise a journaled job: outcomes, reasons and delivery counts. Sends nothing.

    Delivery counts come from delivery webhooks recorded in the journal (a WebhookReceiver
    wired to it); a send that was UNKNOWN until the provider's delivery report proved it
    accepted counts as sent and "reconciled". Exit code 0 whenever the journal could be read.
    """
    if store is not None:
        from ._store import report_store

        return report_store(store, job_id)
    if journal is None:
        raise click.UsageError("give the JOURNAL file, or --store URL --job ID")
    out, _ = make_consoles()
    with open_journal(journal) as opened:
        result = opened.report(job_id)
        job = result.job
        out.print(f"{job.job_id} — body {job.body!r}", markup=False)
        out.print(
            f"created {job.created_at:%Y-%m-%d %H:%M:%S} UTC, updated "
            f"{job.updated_at:%Y-%m-%d %H:%M:%S} UTC, recipients read {job.total or 0:,}"
            + ("" if job.source_complete else " (source not fully read)"),
            markup=False,
        )
        print_summary(out, job_summary(result, journal))
        if list_state:
            _list_entries(out, result, list_state, limit)
        others = [j.job_id for j in opened.jobs() if j.job_id != job.job_id]
    if others:
        out.print(f"Other jobs in this journal (--job-id): {', '.join(others)}", markup=False)
    return EXIT_OK


def _list_entries(out: Console, result: JournalReport, state: str, limit: int) -> None:
    table = Table(title=f"Recipients: {state} (first {limit})", title_justify="left",
                  header_style="bold")
    for column in ("phone", "reason", "error", "message id", "attempts", "delivery"):
        table.add_column(column)
    for n, entry in enumerate(result.entries(state)):
        if n >= limit:
            break
        table.add_row(
            mask(entry.phone), entry.reason or "", entry.error or "", entry.message_id or "",
            str(entry.attempts), entry.delivery_status.value if entry.delivery_status else "",
        )
    out.print(table)
