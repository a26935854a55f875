"""Presentation: the live progress bar (or plain lines without a TTY) and the summary table.

Progress goes to stderr so stdout carries only results (summary, receipts); a live bar is shown
only on a real terminal, otherwise a plain progress line is printed every few seconds (CI logs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType

import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table

from ..dispatch.report import Progress
from ..models import OutcomeStatus

DRY_RUN_REASON = "dry_run"
PLAIN_INTERVAL = 2.0  # seconds between plain progress lines
_STATUS_STYLES = {
    OutcomeStatus.SENT: "green",
    OutcomeStatus.FAILED: "red",
    OutcomeStatus.UNKNOWN: "yellow",
    OutcomeStatus.SKIPPED: "dim",
}
_STATUS_LABELS = {
    OutcomeStatus.SENT: "Sent",
    OutcomeStatus.FAILED: "Failed",
    OutcomeStatus.UNKNOWN: "Unknown (may have been sent; not resent)",
    OutcomeStatus.SKIPPED: "Skipped",
}


@attrs.frozen(slots=True)
class JobSummary:
    """Everything the summary table shows, whichever way it was gathered (report or journal)."""

    title: str
    counts: Progress
    elapsed: float | None = None
    reasons: Mapping[str, int] = attrs.field(factory=dict)
    extra: Mapping[str, int] = attrs.field(factory=dict)  # rows after Total (in flight, ...)
    delivery: Mapping[str, int] | None = None
    journal: str | None = None
    dry_run: bool = False
    interrupted: bool = False

    @property
    def rate(self) -> float | None:
        """Messages accepted per second (skips cost nothing, so they do not count)."""
        if not self.elapsed or self.elapsed <= 0:
            return None
        return self.counts.sent / self.elapsed


def make_consoles(*, no_color: bool = False) -> tuple[Console, Console]:
    """(stdout console for results, stderr console for progress and notes)."""
    return (
        Console(highlight=False, no_color=no_color, soft_wrap=True),
        Console(stderr=True, highlight=False, no_color=no_color, soft_wrap=True),
    )


def is_live(console: Console) -> bool:
    return console.is_terminal and not console.is_dumb_terminal


def count_of(progress: Progress, status: OutcomeStatus) -> int:
    return int(getattr(progress, status.value))


def counts_text(counts: Progress, would_send: int = 0) -> str:
    """The counts of a progress line; a dry run's "would send" are not counted as skipped, so
    the line agrees with the summary table."""
    text = (f"sent {counts.sent}  failed {counts.failed}  unknown {counts.unknown}  "
            f"skipped {counts.skipped - would_send}")
    return f"would send {would_send}  " + text if would_send else text


class JobProgress:
    """A live rich bar on a terminal, plain periodic lines otherwise. Use as a context manager."""

    def __init__(self, console: Console, label: str, total: int | None = None, *,
                 would_send: Callable[[], int] | None = None) -> None:
        self.console = console
        self.label = label
        self.total = total
        # a dry run's outcomes are SKIPPED "dry_run": shown apart, as the summary shows them
        self._would_send = would_send or (lambda: 0)
        self.live = is_live(console)
        self._last_plain = 0.0
        self._last: Progress | None = None
        self._printed: Progress | None = None
        self._progress: RichProgress | None = None
        self._task: TaskID | None = None
        if self.live:
            self._progress = RichProgress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("[green]✓ {task.fields[sent]}"),
                TextColumn("[red]✗ {task.fields[failed]}"),
                TextColumn("[yellow]? {task.fields[unknown]}"),
                TextColumn("[cyan]{task.fields[would_send]}"),
                TextColumn("[dim]skip {task.fields[skipped]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
                refresh_per_second=8,
            )

    def __enter__(self) -> JobProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(
                self.label, total=self.total, sent=0, failed=0, unknown=0, skipped=0, rate="",
                would_send=""
            )
        else:
            total = f" {self.total:,} recipients" if self.total is not None else ""
            self.console.print(f"{self.label}: starting{total}", markup=False)
        return self

    def update(self, counts: Progress) -> None:
        self._last = counts
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=counts.done,
                total=counts.total if counts.total is not None else self.total,
                sent=counts.sent,
                failed=counts.failed,
                unknown=counts.unknown,
                skipped=counts.skipped - (would_send := self._would_send()),
                would_send=f"would send {would_send}" if would_send else "",
                rate=f"{counts.rate:,.0f}/s" if counts.elapsed > 0.2 else "",
            )
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_INTERVAL:
            self._last_plain = now
            self._plain_line(counts)

    def _plain_line(self, counts: Progress | None, final: bool = False) -> None:
        if counts is None:
            self.console.print(f"{self.label}: nothing processed", markup=False)
            return
        if final and self._printed is not None and self._printed.done == counts.done:
            return
        self._printed = counts
        total = counts.total if counts.total is not None else self.total
        if total:
            where = f"{counts.done}/{total} ({100 * counts.done / total:.0f}%)"
        else:
            where = f"{counts.done}"
        eta = counts.eta
        eta_text = f", ETA {eta:.0f}s" if eta is not None and not final else ""
        self.console.print(
            f"{self.label}: {where} — {counts_text(counts, self._would_send())} — "
            f"{counts.rate:,.0f}/s{eta_text}",
            markup=False,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        else:
            self._plain_line(self._last, final=True)


def summary_table(summary: JobSummary) -> Table:
    counts = summary.counts
    title = summary.title + (" (dry run: nothing was sent)" if summary.dry_run else "")
    if summary.interrupted:
        title += " — interrupted"
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("Outcome")
    table.add_column("Recipients", justify="right")
    table.add_column("Share", justify="right")
    done = counts.done
    rows = [(status, count_of(counts, status)) for status in OutcomeStatus]
    would_send = summary.reasons.get(DRY_RUN_REASON, 0) if summary.dry_run else 0
    for status, n in rows:
        if status is OutcomeStatus.SKIPPED and would_send:
            table.add_row("[cyan]Would send[/]", f"{would_send:,}", _share(would_send, done))
            n -= would_send
        table.add_row(f"[{_STATUS_STYLES[status]}]{_STATUS_LABELS[status]}[/]", f"{n:,}",
                      _share(n, done))
    table.add_row("[bold]Total[/]", f"[bold]{done:,}[/]", "")
    for label, n in summary.extra.items():
        table.add_row(label, f"{n:,}", "")
    if counts.total is not None and counts.total > done:
        table.add_row("Not processed", f"{counts.total - done:,}", _share(counts.total - done,
                                                                        counts.total))
    reasons = [(r, n) for r, n in summary.reasons.items() if r != DRY_RUN_REASON or not would_send]
    if reasons:
        table.add_section()
        for reason, n in sorted(reasons, key=lambda kv: (-kv[1], kv[0])):
            table.add_row(f"  reason: {reason}", f"{n:,}", "")
    if summary.delivery is not None:
        table.add_section()
        for name, n in summary.delivery.items():
            table.add_row(f"Delivery: {name}", f"{n:,}", "")
    caption = []
    if summary.elapsed is not None:
        caption.append(f"{summary.elapsed:.1f}s")
        if summary.rate:
            caption.append(f"{summary.rate:,.0f} messages/s")
    if summary.journal:
        caption.append(f"journal {summary.journal}")
    if caption:
        table.caption = " · ".join(caption)
        table.caption_justify = "left"
    return table


def _share(n: int, of: int) -> str:
    return f"{100 * n / of:.1f}%" if of else ""


def print_summary(console: Console, summary: JobSummary) -> None:
    console.print(summary_table(summary))
    if summary.counts.unknown:
        console.print(
            "[yellow]Unknown[/] recipients may have received the message: they were not resent. "
            "Check delivery status before resending them.",
        )
