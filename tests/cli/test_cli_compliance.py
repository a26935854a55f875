"""``smsbridge bulk`` compliance and cost options, end to end in a subprocess."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from smsbridge.journal.store import Journal
from smsbridge.sandbox import Sandbox

from .conftest import SUBPROCESS_TIMEOUT, VALID, run_cli, start_cli, write_csv

DENVER = ZoneInfo("America/Denver")  # VALID numbers are 303: Denver


def _window(start_in: timedelta, length: timedelta) -> str:
    start = datetime.now(DENVER) + start_in
    return f"{start:%H:%M}-{start + length:%H:%M}"


async def test_dry_run_shows_segments_ucs2_characters_and_the_estimated_cost(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    rows = [[VALID[0], "Ann"], [VALID[1], "Zoë"], [VALID[2], "x" * 160]]
    csv_path = write_csv(tmp_path / "people.csv", rows)
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi {name}", "--dry-run",
        "--price-per-segment", "0.0079", "--url", sandbox.textus_connection_url)
    assert result.code == 0, result.output
    assert ("Segments: 4 for 3 recipients (at most 2 per message); UCS-2 (70 characters per "
            "segment) for 1 because of ë (U+00EB) x1; estimated cost 0.0316 at 0.0079 per "
            "segment.") in result.out
    assert sandbox.accepted_numbers("textus") == []


async def test_smart_encoding_sends_gsm7_and_the_summary_lists_the_replacements(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"]])
    result = await run_cli(
        "bulk", str(csv_path), "--body", "It\u2019s on, {name} \u2014 see you",
        "--smart-encoding",
        "--url", sandbox.textus_connection_url, "--rate", "500")
    assert result.code == 0, result.output
    assert "Smart encoding replaced: \u2019 (U+2019) -> ' x1, \u2014 (U+2014) -> - x1." in \
        result.out
    (record,) = sandbox.records
    assert "It's on, Ann - see you" in record.body.values()


async def test_max_segments_fails_long_rendered_bodies_and_refuses_a_long_static_body(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"], [VALID[1], "y" * 200]])
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi {name}", "--max-segments", "1",
        "--url", sandbox.textus_connection_url, "--rate", "500")
    assert result.code == 1, result.output  # one recipient FAILED
    assert "too_many_segments" in result.out
    assert sandbox.accepted_numbers("textus") == [VALID[0]]

    static = await run_cli(
        "bulk", str(csv_path), "--body", "z" * 161, "--max-segments", "1",
        "--url", sandbox.textus_connection_url)
    assert static.code == 2, static.output
    assert "2 segments" in static.err
    assert sandbox.accepted_numbers("textus") == [VALID[0]]  # nothing more was sent

    bad = await run_cli("bulk", str(csv_path), "--body", "Hi", "--max-segments", "zero",
                        "--url", sandbox.textus_connection_url)
    assert bad.code == 2 and "--max-segments" in bad.err


async def test_quiet_hours_without_waiting_skip_recipients_outside_their_window(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[p, "x"] for p in VALID[:3]])
    journal = tmp_path / "job.sqlite"
    closed = _window(timedelta(hours=3), timedelta(hours=2))  # opens in 3 hours in Denver
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi", "--quiet-hours", closed, "--no-wait",
        "--journal", str(journal), "--url", sandbox.textus_connection_url, "--rate", "500")
    assert result.code == 0, result.output
    assert "Quiet hours: 3 skipped outside their window (--no-wait)" in result.out
    assert sandbox.accepted_numbers("textus") == []
    with Journal(journal) as opened:
        assert opened.report().pending == 3  # not lost: a later resume sends them

    open_now = _window(-timedelta(hours=1), timedelta(hours=3))
    sent = await run_cli(
        "bulk", str(csv_path), "--body", "Hello", "--quiet-hours", open_now, "--no-wait",
        "--url", sandbox.textus_connection_url, "--rate", "500")
    assert sent.code == 0, sent.output
    assert sorted(sandbox.accepted_numbers("textus")) == VALID[:3]


async def test_bad_quiet_hours_and_at_values_are_usage_errors_before_any_send(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"]])
    journal = str(tmp_path / "job.sqlite")
    url = sandbox.textus_connection_url
    cases = [
        (["--quiet-hours", "lunchtime"], "--quiet-hours", "unknown quiet-hours preset"),
        (["--quiet-hours", "08:00-08:00"], "--quiet-hours", "empty"),
        (["--quiet-hours", "federal", "--quiet-hours-fallback", "Mars/Olympus"],
         "--quiet-hours", "IANA"),
        (["--no-wait"], "--no-wait", "--quiet-hours"),
        (["--at", "2026-12-01 09:00", "--journal", journal], "--at", "UTC offset"),
        (["--at", "tomorrow", "--journal", journal], "--at", "UTC offset"),
        (["--at", "2026-12-01 09:00 -0500"], "--at", "--journal"),
        (["--price-per-segment", "1e-3x"], "--price-per-segment", "price"),
    ]
    for args, option, words in cases:
        result = await run_cli("bulk", str(csv_path), "--body", "Hi", *args, "--url", url)
        assert result.code == 2, (args, result.output)
        assert option in result.err and words in result.err, (args, result.err)
    assert sandbox.accepted_numbers("textus") == []


async def test_a_job_scheduled_in_the_past_is_sent_at_once_and_says_when_it_was_due(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"]])
    journal = tmp_path / "job.sqlite"
    due = datetime.now(UTC) - timedelta(minutes=5)
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi", "--at", f"{due:%Y-%m-%d %H:%M} +0000",
        "--journal", str(journal), "--url", sandbox.textus_connection_url, "--rate", "500")
    assert result.code == 0, result.output
    assert f"Scheduled for {due:%Y-%m-%d %H:%M} UTC." in result.out
    assert sandbox.accepted_numbers("textus") == [VALID[0]]
    with Journal(journal) as opened:
        assert opened.report().job.settings["send_at"].startswith(f"{due:%Y-%m-%dT%H:%M}")


async def test_a_scheduled_bulk_job_killed_while_waiting_still_waits_when_resumed(
    sandbox: Sandbox, tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"], [VALID[1], "Ben"]])
    journal = tmp_path / "job.sqlite"
    due = datetime.now(UTC) + timedelta(hours=2)
    first = await start_cli(
        "bulk", str(csv_path), "--body", "Hi {name}", "--at", f"{due:%Y-%m-%d %H:%M} +0000",
        "--journal", str(journal), "--url", sandbox.textus_connection_url)
    assert first.stderr is not None
    line = b""
    while b"waiting until" not in line:
        line = await asyncio.wait_for(first.stderr.readline(), SUBPROCESS_TIMEOUT)
        assert line, "bulk ended without waiting"
    await asyncio.sleep(1.0)
    first.send_signal(signal.SIGKILL)
    await first.wait()

    second = await start_cli("resume", str(journal), "--url", sandbox.textus_connection_url)
    await asyncio.sleep(3.0)  # generous: an unscheduled resume sends within a fraction of this
    assert second.returncode is None, "the resume did not wait for the scheduled time"
    second.send_signal(signal.SIGKILL)
    await second.wait()
    assert sandbox.accepted_numbers("textus") == []
    with Journal(journal) as opened:
        assert opened.job().settings["send_at"] == f"{due:%Y-%m-%dT%H:%M}:00+00:00"
