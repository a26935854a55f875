"""``smsbridge demo``: prints the tour that :func:`smsbridge.demo.run_demo` runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from ..dispatch.report import Progress
from ..models import OutcomeStatus
from ._common import command_hint, quiet_server_logs, run
from ._errors import EXIT_FAILED, EXIT_OK
from ._render import JobProgress, JobSummary, make_consoles, print_summary

if TYPE_CHECKING:
    from ..demo import JobResult
    from ..demo._results import ProgressUpdate


class ConsoleObserver:
    """Sections, notes, live progress bars and the proofs, on one console."""

    passthrough = True  # the resumed CLI job prints its own progress and summary here

    def __init__(self, console: Console) -> None:
        self.console = console

    def section(self, title: str, text: str) -> None:
        self.console.print()
        self.console.rule(f"[bold]{title}", align="left")
        self.console.print(text, markup=False)

    def note(self, text: str) -> None:
        self.console.print(f"  • {text}", markup=False)

    def command(self, argv: list[str]) -> None:
        from ..demo._scenario import shell_line

        self.console.print(f"  $ {shell_line(argv)}", markup=False, style="cyan")

    @contextmanager
    def job(self, label: str, total: int | None) -> Iterator[ProgressUpdate]:
        with JobProgress(self.console, label, total) as bar:
            yield bar.update

    def job_done(self, result: JobResult) -> None:
        counts = result.counts
        progress = Progress(
            result.total, result.total, counts[OutcomeStatus.SENT], counts[OutcomeStatus.FAILED],
            counts[OutcomeStatus.UNKNOWN], counts[OutcomeStatus.SKIPPED], result.elapsed,
        )
        print_summary(self.console, JobSummary(
            title=result.label, counts=progress, elapsed=result.elapsed or None,
            reasons=result.reasons, delivery=result.delivery, journal=str(result.journal),
        ))
        checks = result.checks
        unknown = counts[OutcomeStatus.UNKNOWN]
        self._check(checks.one_outcome_each,
                    f"every one of the {result.total:,} rows has exactly one outcome")
        self._check(not checks.accepted_twice, "the sandbox accepted no number twice"
                    + (f" ({checks.accepted_twice} were!)" if checks.accepted_twice else ""))
        self._check(not checks.sent_not_accepted, "every SENT number is in the sandbox's records")
        self._check(
            not checks.accepted_not_reported,
            "every number the sandbox accepted is reported SENT or UNKNOWN"
            + (f" — {checks.unknown_stored} of the {unknown} UNKNOWN had in fact been stored: "
               "smsbridge says 'unknown' instead of guessing" if unknown else ""),
        )

    def _check(self, ok: bool, text: str) -> None:
        mark = "[green]✓[/]" if ok else "[red]✗[/]"
        self.console.print(f"  {mark} ", end="")
        self.console.print(text, markup=False)


@click.command()
@click.option(
    "--output-dir", type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"), show_default=True, help="Where the CSV, journals and logs go.",
)
@click.option(
    "--recipients", type=click.IntRange(50, 100_000), default=3000, show_default=True,
    help="Rows in the generated recipients file.",
)
@click.option("--no-faults", is_flag=True, help="Run without injected faults.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed for numbers and faults.")
def demo(output_dir: Path, recipients: int, no_faults: bool, seed: int) -> int:
    """The guided tour against a local sandbox (about 30 seconds, no account needed).

    Sends a generated CSV through TextUs and TrackDrive with faults injected, kills a job with
    SIGKILL and resumes it from its journal, places a call, and proves from the sandbox's
    records that every recipient got exactly one outcome and nobody was texted twice.
    """
    from ..demo import DemoConfig, run_demo

    quiet_server_logs()
    out, _ = make_consoles()
    out.print("[bold]smsbridge demo[/] — TextUs and TrackDrive behind one SDK, against a local "
              "sandbox. Nothing leaves this machine.")
    config = DemoConfig(output_dir=output_dir, recipients=recipients, faults=not no_faults,
                        seed=seed)
    result = run(run_demo(config, ConsoleObserver(out)))
    out.print()
    out.rule("[bold]Where things are", align="left")
    folder = result.output_dir
    out.print(f"  recipients    {result.recipients.path}", markup=False)
    for job in (*result.jobs, result.crash.job):
        out.print(f"  journal       {job.journal}   ({job.label})", markup=False)
    out.print(f"  crash-job log {result.crash.log}", markup=False)
    command = command_hint()
    out.print(f"  Inspect one:  {command} report {folder / 'textus-job.sqlite'}", markup=False)
    out.print(f"  Unknown ones: {command} report {folder / 'trackdrive-job.sqlite'} "
              "--list unknown", markup=False)
    verdict = "[green]all checks passed[/]" if result.ok else "[red]a check failed[/]"
    out.print(f"\nDone in {result.elapsed:.1f}s — {verdict}.")
    return EXIT_OK if result.ok else EXIT_FAILED
