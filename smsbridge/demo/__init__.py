"""The guided tour behind ``smsbridge demo`` / ``make demo``, as library code.

    result = await run_demo(DemoConfig(recipients=3000), observer)
    assert result.ok      # every recipient exactly one outcome; nobody texted twice

It starts the sandbox in-process with faults on, writes a recipients CSV (some invalid, some
duplicate numbers) to ``output_dir``, sends it through TextUs and through TrackDrive (delivery
webhooks into the journal), kills a command-line job with SIGKILL and resumes it from its
journal, and places one call-now. Every claim is checked against the sandbox's own records.
"""

from __future__ import annotations

from ._data import RecipientsFile, write_recipients_csv
from ._results import (
    CallResult,
    Checks,
    CrashResult,
    DemoConfig,
    DemoObserver,
    DemoResult,
    JobResult,
    SilentObserver,
)
from ._scenario import DemoError, run_demo

__all__ = [
    "CallResult",
    "Checks",
    "CrashResult",
    "DemoConfig",
    "DemoError",
    "DemoObserver",
    "DemoResult",
    "JobResult",
    "RecipientsFile",
    "SilentObserver",
    "run_demo",
    "write_recipients_csv",
]
