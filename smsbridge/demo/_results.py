"""The demo's settings, what it reports back, and the checks that prove its claims.

Every claim the demo prints is computed here from two independent sources: the outcomes the
SDK reported (or the journal) and the sandbox's own record of what it accepted.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import attrs

from ..dispatch.report import Progress
from ..models import OutcomeStatus
from ._data import RecipientsFile

ProgressUpdate = Callable[[Progress], object]


@attrs.frozen(slots=True)
class DemoConfig:
    """Knobs of the demo. The defaults take ~20-30 s on a laptop; tests shrink ``recipients``."""

    output_dir: Path = Path("demo-output")
    recipients: int = 3000
    invalid_ratio: float = 0.02
    duplicate_ratio: float = 0.03
    concurrency: int = 32
    rate: float = 2000.0  # messages/s: the sandbox's pace, far above what real accounts allow
    faults: bool = True
    delivery_failure_ratio: float = 0.02
    kill_fraction: float = 0.4  # SIGKILL the crash job once this share of numbers was accepted
    seed: int = 7
    python: str = sys.executable


@attrs.frozen(slots=True)
class Checks:
    """The demo's proofs for one job. ``ok`` when every one holds."""

    one_outcome_each: bool  # every CSV row has exactly one outcome
    accepted_twice: int  # numbers the sandbox accepted more than once (must be 0)
    sent_not_accepted: int  # reported SENT but absent from the sandbox (must be 0)
    accepted_not_reported: int  # accepted but reported FAILED/SKIPPED/nothing (must be 0)
    unknown_stored: int  # UNKNOWN ones the sandbox had in fact stored (informative)

    @property
    def ok(self) -> bool:
        return (
            self.one_outcome_each
            and not self.accepted_twice
            and not self.sent_not_accepted
            and not self.accepted_not_reported
        )


@attrs.frozen(slots=True)
class JobResult:
    label: str
    provider: str
    journal: Path
    job_id: str
    counts: Mapping[OutcomeStatus, int]
    reasons: Mapping[str, int]
    elapsed: float
    checks: Checks
    # delivered / failed / awaiting / reconciled (UNKNOWN until a webhook proved it), from
    # the journal fed by delivery webhooks
    delivery: Mapping[str, int] | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@attrs.frozen(slots=True)
class DryRunResult:
    """The dry runs before the first send: what the job would cost, and what one pasted curly
    apostrophe does to it (UCS-2) until ``smart_encoding`` puts it back."""

    would_send: int
    segments: int
    estimated_cost: Decimal
    pasted_segments: int
    pasted_ucs2_recipients: int
    smart_segments: int
    replaced: Mapping[str, int]
    sandbox_untouched: bool


@attrs.frozen(slots=True)
class CrashResult:
    """The killed-and-resumed job: ``job`` is the whole job after the resume."""

    job: JobResult
    accepted_before_kill: int
    in_flight_at_kill: int  # journal rows left in flight by the SIGKILL
    resume_exit_code: int
    log: Path


@attrs.frozen(slots=True)
class CallResult:
    call_id: int | None
    status: str | None
    number_called: str | None  # masked
    schedule_id: int | None
    lead_id: str | None


@attrs.frozen(slots=True)
class DemoResult:
    output_dir: Path
    recipients: RecipientsFile
    jobs: tuple[JobResult, ...]
    crash: CrashResult
    call: CallResult
    elapsed: float
    dry_run: DryRunResult | None = None

    @property
    def ok(self) -> bool:
        return all(job.checks.ok for job in self.jobs) and self.crash.job.checks.ok


class DemoObserver(Protocol):
    """How the demo shows itself. The CLI prints; tests use :class:`SilentObserver`."""

    passthrough: bool  # let the CLI subprocesses write to this terminal

    def section(self, title: str, text: str) -> None: ...

    def note(self, text: str) -> None: ...

    def command(self, argv: list[str]) -> None: ...

    def job(self, label: str, total: int | None) -> AbstractContextManager[ProgressUpdate]: ...

    def job_done(self, result: JobResult) -> None: ...


class SilentObserver:
    passthrough = False

    def section(self, title: str, text: str) -> None:
        del title, text

    def note(self, text: str) -> None:
        del text

    def command(self, argv: list[str]) -> None:
        del argv

    def job(self, label: str, total: int | None) -> AbstractContextManager[ProgressUpdate]:
        from contextlib import nullcontext

        del label, total
        return nullcontext(lambda progress: None)

    def job_done(self, result: JobResult) -> None:
        del result


def check(
    rows: int,
    outcomes: Iterable[tuple[str, OutcomeStatus | None, str | None]],
    accepted: Iterable[str],
) -> Checks:
    """Cross-check ``(e164 or raw, status, reason)`` outcomes against the sandbox's records.

    Duplicates and invalid numbers carry no own send, so only the first occurrence of a valid
    number (reason not ``duplicate``/``invalid_number``) is matched against the records. A
    status of None (a journal row still pending or in flight) means "no outcome".
    """
    seen = 0
    status_of: dict[str, OutcomeStatus | None] = {}
    repeated = 0
    for phone, status, reason in outcomes:
        seen += 1
        if status is None:
            repeated += 1  # counted as "not exactly one outcome"
        if reason in ("duplicate", "invalid_number"):
            continue
        if phone in status_of:
            repeated += 1
        status_of[phone] = status
    accepted_counts = Counter(accepted)
    reported = {OutcomeStatus.SENT, OutcomeStatus.UNKNOWN}
    return Checks(
        one_outcome_each=seen == rows and repeated == 0,
        accepted_twice=sum(1 for n in accepted_counts.values() if n > 1),
        sent_not_accepted=sum(
            1 for p, s in status_of.items() if s is OutcomeStatus.SENT and p not in accepted_counts
        ),
        accepted_not_reported=sum(1 for p in accepted_counts if status_of.get(p) not in reported),
        unknown_stored=sum(
            1 for p, s in status_of.items() if s is OutcomeStatus.UNKNOWN and p in accepted_counts
        ),
    )


def counts_of(outcomes: Iterable[OutcomeStatus]) -> dict[OutcomeStatus, int]:
    counts = dict.fromkeys(OutcomeStatus, 0)
    for status in outcomes:
        counts[status] += 1
    return counts
