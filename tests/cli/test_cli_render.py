"""The progress display without a TTY, and the summary table."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from smsbridge.cli import _render
from smsbridge.cli._common import parse_key_values
from smsbridge.cli._render import JobProgress, JobSummary, print_summary
from smsbridge.dispatch.report import Progress


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=140, no_color=True), buffer


def snapshot(done: int, total: int | None = 100, elapsed: float = 1.0) -> Progress:
    return Progress(total, done, done - 2 if done > 2 else 0, 1 if done > 2 else 0,
                    1 if done > 2 else 0, 0, elapsed)


def test_without_a_tty_progress_is_plain_lines_with_counts_rate_and_eta(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_render, "PLAIN_INTERVAL", 0.0)
    out, buffer = console()
    with JobProgress(out, "sending via textus", 100) as bar:
        assert not bar.live
        bar.update(snapshot(50, elapsed=1.0))
        bar.update(snapshot(100, elapsed=2.0))
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "sending via textus: starting 100 recipients"
    assert lines[1] == ("sending via textus: 50/100 (50%) — sent 48  failed 1  unknown 1  "
                        "skipped 0 — 50/s, ETA 1s")
    assert lines[2].startswith("sending via textus: 100/100 (100%)")
    assert len(lines) == 3  # the final state is not printed twice


def test_plain_progress_is_throttled() -> None:
    out, buffer = console()
    with JobProgress(out, "job", None) as bar:
        for done in range(1, 200):
            bar.update(snapshot(done, total=None))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 3  # start, the first update, the final state
    assert lines[-1].startswith("job: 199 — ")


def test_summary_shows_every_outcome_reasons_delivery_and_journal() -> None:
    out, buffer = console()
    print_summary(out, JobSummary(
        title="Bulk send via textus: people.csv",
        counts=Progress(10, 10, 6, 1, 1, 2, 2.0),
        elapsed=2.0,
        reasons={"duplicate": 1, "invalid_number": 1, "delivery_unknown": 1},
        delivery={"delivered": 5, "failed": 1, "awaiting": 0},
        journal="job.sqlite",
    ))
    text = buffer.getvalue()
    for expected in ("Sent", "Failed", "Unknown", "Skipped", "Total", "reason: duplicate",
                     "Delivery: delivered", "3 messages/s", "journal job.sqlite",
                     "were not resent"):
        assert expected in text
    assert "60.0%" in text  # 6 of 10 sent


def test_dry_run_summary_separates_would_send_from_real_skips() -> None:
    out, buffer = console()
    print_summary(out, JobSummary(
        title="Dry run", counts=Progress(10, 10, 0, 0, 0, 10, 0.1),
        reasons={"dry_run": 8, "duplicate": 2}, dry_run=True,
    ))
    text = buffer.getvalue()
    assert "nothing was sent" in text
    assert "Would send" in text and "8" in text
    assert "reason: dry_run" not in text


def test_interrupted_summary_counts_what_was_not_processed() -> None:
    out, buffer = console()
    print_summary(out, JobSummary(
        title="Bulk", counts=Progress(100, 40, 40, 0, 0, 0, 1.0), interrupted=True,
    ))
    text = buffer.getvalue()
    assert "interrupted" in text and "Not processed" in text and "60" in text


def test_key_value_options_decode_json_values() -> None:
    assert parse_key_values(["lead_id=11000635", "manual=true", "note=hi there", "x=[1,2]"],
                            "--option") == {
        "lead_id": 11000635, "manual": True, "note": "hi there", "x": [1, 2]}
