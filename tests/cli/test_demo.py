"""The demo scenario, in-process and shrunk: its claims hold and its numbers add up."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from smsbridge.cli._demo import ConsoleObserver
from smsbridge.demo import DemoConfig, run_demo, write_recipients_csv
from smsbridge.journal.store import Journal
from smsbridge.models import OutcomeStatus
from smsbridge.phone import is_valid, normalize


async def test_demo_proves_one_outcome_each_and_nobody_texted_twice_after_a_kill(
    tmp_path: Path,
) -> None:
    buffer = io.StringIO()
    observer = ConsoleObserver(Console(file=buffer, width=160, no_color=True))
    observer.passthrough = False  # the resumed CLI job writes to the demo's log instead
    config = DemoConfig(output_dir=tmp_path, recipients=400, rate=400, seed=11)
    result = await run_demo(config, observer)

    assert result.ok, buffer.getvalue()
    rows = result.recipients.rows
    assert rows == 400
    for job in (*result.jobs, result.crash.job):
        assert job.total == rows  # every row exactly one outcome
        assert job.checks.accepted_twice == 0
        assert job.counts[OutcomeStatus.SKIPPED] == result.recipients.invalid + (
            result.recipients.duplicates)
        with Journal(job.journal) as journal:
            assert journal.report(job.job_id).complete
    textus, trackdrive = result.jobs
    assert textus.reasons["duplicate"] == result.recipients.duplicates
    assert trackdrive.delivery is not None
    # The stream said SENT or UNKNOWN; the webhooks then reconciled the UNKNOWN sends that the
    # sandbox had stored, and every message it stored got a final delivery status.
    assert trackdrive.delivery["delivered"] + trackdrive.delivery["failed"] == (
        trackdrive.counts[OutcomeStatus.SENT] + trackdrive.delivery["reconciled"])
    assert trackdrive.delivery["reconciled"] == trackdrive.checks.unknown_stored
    with Journal(trackdrive.journal) as journal:
        assert journal.report(trackdrive.job_id).unknown == (
            trackdrive.counts[OutcomeStatus.UNKNOWN] - trackdrive.delivery["reconciled"])
    assert "reconciled" in buffer.getvalue()
    crash = result.crash
    assert 0 < crash.accepted_before_kill < len(result.recipients.unique_valid)
    assert crash.resume_exit_code == (1 if crash.job.counts[OutcomeStatus.UNKNOWN] else 0)
    assert result.call.status == "initiated" and result.call.lead_id is not None
    dry = result.dry_run
    assert dry is not None and dry.sandbox_untouched
    unique = len(result.recipients.unique_valid)
    assert dry.would_send == unique
    assert dry.segments == unique  # the TextUs body fits one GSM-7 segment for every name
    assert dry.estimated_cost == dry.segments * Decimal("0.0079")
    assert dry.pasted_ucs2_recipients == unique and dry.pasted_segments == 2 * unique
    assert dry.smart_segments == dry.segments and dry.replaced == {"\u2019": unique}

    shown = buffer.getvalue()
    for heading in ("1. A local sandbox", "2b. A dry run: segments and cost",
                    "3. Bulk send through TextUs", "5. Kill a job mid-way",
                    "6. Call now through TrackDrive", "smsbridge resume"):
        assert heading in shown
    assert "✗" not in shown and shown.count("✓") == 12


def test_recipients_file_has_the_promised_mix_of_valid_duplicate_and_invalid(
    tmp_path: Path,
) -> None:
    data = write_recipients_csv(tmp_path / "r.csv", 1000, seed=3)
    phones = [line.split(",")[0] for line in data.path.read_text().splitlines()[1:]]
    assert len(phones) == data.rows == 1000
    valid = [normalize(p) for p in phones if is_valid(p)]
    assert set(valid) == data.unique_valid
    assert len(valid) - len(set(valid)) == data.duplicates == 30
    assert len(phones) - len(valid) == data.invalid == 20
    assert Counter(p for p in phones if not is_valid(p))[""] > 1  # blank cells repeat
    assert any(p.startswith("(") for p in phones)  # duplicates written another way
