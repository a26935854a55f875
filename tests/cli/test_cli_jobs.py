"""Bulk jobs from the command line, end to end: every CSV row accounted for in the journal."""

from __future__ import annotations

from pathlib import Path

from smsbridge.journal import Journal
from smsbridge.sandbox import Sandbox

from .conftest import VALID, run_cli, write_csv


async def test_blank_phone_cells_and_repeated_typos_leave_a_complete_job_that_adds_up(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    rows = [[VALID[0], "a"], ["", "b"], ["", "c"], ["oops", "d"], ["oops", "e"],
            ["(303) 555-1000", "f"], [VALID[1], "g"]]
    csv_path = write_csv(tmp_path / "blanks.csv", rows)
    journal = tmp_path / "job.sqlite"
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi {name}", "--journal", str(journal),
        "--url", sandbox.textus_connection_url, "--rate", "500",
    )
    assert result.code == 0, result.output
    assert "all runs: sent 2, failed 0, unknown 0, skipped 5; complete" in result.out
    assert "Resume with" not in result.out
    assert sorted(sandbox.accepted_numbers("textus")) == VALID[:2]

    report = await run_cli("report", str(journal))
    assert report.code == 0, report.output
    assert "Not processed yet" not in report.out
    with Journal(journal) as opened:
        summary = opened.report()
    assert summary.complete and summary.total == len(rows)
    assert summary.sent + summary.failed + summary.unknown + summary.skipped == len(rows)
    assert summary.reasons == {"invalid_number": 4, "duplicate": 1}
