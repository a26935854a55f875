"""The command line as users run it: a real subprocess talking to a sandbox in this process."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from pathlib import Path

from smsbridge.journal.store import Journal
from smsbridge.sandbox import Sandbox

from .conftest import VALID, Result, cli_env, finish, run_cli, start_cli

ROWS = len(VALID) + 2  # 40 valid, one duplicate, one invalid


async def wait_for_accepted(sb: Sandbox, provider: str, count: int, proc: object) -> None:
    deadline = time.monotonic() + 20
    while len(sb.accepted_numbers(provider)) < count:
        assert getattr(proc, "returncode", None) is None, "the job ended before the signal"
        assert time.monotonic() < deadline, "the job did not get going"
        await asyncio.sleep(0.01)


async def signal_bulk_midway(
    sb: Sandbox, csv_path: Path, journal: Path, *, rate: str, after: int, sig: int
) -> asyncio.subprocess.Process:
    """Start a journaled TextUs bulk job and send it ``sig`` once ``after`` were accepted."""
    proc = await start_cli("bulk", str(csv_path), "--body", "Hi {name}", "--journal",
                           str(journal), "--rate", rate,
                           env=cli_env(SMSBRIDGE_URL=sb.textus_connection_url))
    await wait_for_accepted(sb, "textus", after, proc)
    proc.send_signal(sig)
    return proc


def assert_nobody_texted_twice(sb: Sandbox, provider: str) -> None:
    repeated = [n for n, c in Counter(sb.accepted_numbers(provider)).items() if c > 1]
    assert repeated == []


async def test_bulk_sends_each_valid_number_once_and_exits_0(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    result = await run_cli(
        "bulk", str(recipients_csv), "--body", "Hi {name}", "--journal", str(journal),
        "--url", sandbox.trackdrive_connection_url,
    )
    assert result.code == 0, result.output
    assert sorted(sandbox.accepted_numbers("trackdrive")) == VALID
    assert "Bulk send via trackdrive" in result.out
    assert "reason: duplicate" in result.out and "reason: invalid_number" in result.out
    assert "all runs: sent 40, failed 0, unknown 0, skipped 2; complete" in result.out
    assert "sending via trackdrive: starting 42 recipients" in result.err  # plain progress
    bodies = {r.body.get("message") for r in sandbox.records}
    assert "Hi Person 0" in bodies


async def test_report_reads_a_journal_with_delivery_counts_and_sends_nothing(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    sent = await run_cli(
        "bulk", str(recipients_csv), "--body", "Hi", "--journal", str(journal),
        "--url", sandbox.textus_connection_url, "--rate", "500",
    )
    assert sent.code == 0, sent.output
    accepted = len(sandbox.records)
    result = await run_cli("report", str(journal), "--list", "skipped")
    assert result.code == 0, result.output
    assert len(sandbox.records) == accepted
    for expected in ("(finished) via textus", "Sent", "40", "reason: duplicate",
                     "Delivery: delivered", "awaiting a delivery status", "Recipients: skipped",
                     "invalid_number"):
        assert expected in result.out, expected


async def test_bulk_exits_1_when_recipients_are_unknown_and_does_not_resend_them(
    sandbox: Sandbox, recipients_csv: Path
) -> None:
    sandbox.faults.add("textus.send", "error_5xx_after", 0.3)  # stored, then a 500
    result = await run_cli(
        "bulk", str(recipients_csv), "--body", "Hi", "--url", sandbox.textus_connection_url,
        "--rate", "500",
    )
    assert result.code == 1, result.output
    assert "Unknown (may have been sent; not resent)" in result.out
    assert "reason: delivery_unknown" in result.out
    assert_nobody_texted_twice(sandbox, "textus")
    assert sorted(set(sandbox.accepted_numbers("textus"))) == VALID


async def test_bulk_with_a_wrong_token_stops_exit_3_and_never_prints_the_token(
    sandbox: Sandbox, recipients_csv: Path
) -> None:
    secret = "SECRET-TOKEN-5f2a9c"
    url = sandbox.textus_connection_url.replace(sandbox.textus_token, secret)
    result = await run_cli("bulk", str(recipients_csv), "--body", "Hi", "--rate", "500",
                           env=cli_env(SMSBRIDGE_URL=url))
    assert result.code == 3, result.output  # stopped early: an account-level error
    assert secret not in result.output
    assert "Failed" in result.out and sandbox.accepted_numbers("textus") == []
    assert "reason: job_stopped" in result.out and "Stopped early" in result.out


async def test_batch_mode_sends_native_multi_recipient_requests(
    sandbox: Sandbox, recipients_csv: Path
) -> None:
    result = await run_cli(
        "bulk", str(recipients_csv), "--body", "Same for all", "--batch-size", "25",
        "--url", sandbox.textus_connection_url, "--rate", "50",
    )
    assert result.code == 0, result.output
    assert sorted(sandbox.accepted_numbers("textus")) == VALID
    bodies = [r.body for r in sandbox.records]
    assert all(isinstance(b.get("to"), list) for b in bodies)  # one request per batch


async def test_dry_run_sends_nothing_and_reports_what_would_be_sent(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    result = await run_cli(
        "bulk", str(recipients_csv), "--body", "Hi {name}", "--dry-run", "--journal",
        str(journal), "--url", sandbox.textus_connection_url,
    )
    assert result.code == 0, result.output
    assert sandbox.records == []
    assert "dry run: nothing was sent" in result.out
    assert "Would send" in result.out and "40" in result.out


async def test_resume_after_sigkill_finishes_the_job_and_texts_nobody_twice(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    url = sandbox.textus_connection_url
    proc = await signal_bulk_midway(sandbox, recipients_csv, journal, rate="40", after=12,
                                    sig=signal.SIGKILL)
    await proc.wait()
    killed_at = len(sandbox.accepted_numbers("textus"))
    assert killed_at < len(VALID)

    result = await run_cli("resume", str(journal), "--rate", "500",
                           env=cli_env(SMSBRIDGE_URL=url))
    assert_nobody_texted_twice(sandbox, "textus")
    with Journal(journal) as opened:
        report = opened.report()
        sent = {e.phone for e in opened.recipients(state="sent")}
        unknown = {e.phone for e in opened.recipients(state="unknown")}
    accepted = set(sandbox.accepted_numbers("textus"))
    assert report.complete
    assert len(sent) + len(unknown) == len(VALID)  # the ones in flight at the kill: UNKNOWN
    assert sent <= accepted <= sent | unknown
    assert result.code == (1 if unknown else 0), result.output
    assert "reason: already_sent" in result.out and "; complete" in result.out


async def test_ctrl_c_stops_cleanly_prints_the_summary_and_exits_130(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    url = sandbox.textus_connection_url
    proc = await signal_bulk_midway(sandbox, recipients_csv, journal, rate="20", after=5,
                                    sig=signal.SIGINT)
    result: Result = await finish(proc)
    assert result.code == 130, result.output
    assert "stopping" in result.err and "Traceback" not in result.err
    assert "interrupted" in result.out
    assert re.search(rf"Resume with: \S*smsbridge resume {re.escape(str(journal))}", result.out)
    with Journal(journal) as opened:
        stopped = opened.report()
    assert stopped.in_flight == 0 and stopped.unknown == 0  # in-flight sends were let finish
    assert stopped.sent == len(sandbox.accepted_numbers("textus")) < len(VALID)

    resumed = await run_cli("resume", str(journal), "--rate", "500",
                            env=cli_env(SMSBRIDGE_URL=url))
    assert resumed.code == 0, resumed.output
    assert sorted(sandbox.accepted_numbers("textus")) == VALID


async def test_send_prints_the_receipt_with_the_number_masked(sandbox: Sandbox) -> None:
    result = await run_cli("send", "--to", "+13035551234", "--body", "Hello",
                           "--url", sandbox.textus_connection_url)
    assert result.code == 0, result.output
    assert sandbox.accepted_numbers("textus") == ["+13035551234"]
    assert "sent via textus: to +1303*****34, message id /messages/" in result.out
    assert "+13035551234" not in result.output


async def test_call_now_places_a_call_and_a_redial_is_refused_with_one_line_exit_1(
    sandbox: Sandbox,
) -> None:
    lead = str(sandbox.trackdrive.seed.lead_id)
    env = cli_env(SMSBRIDGE_URL=sandbox.trackdrive_connection_url)
    placed = await run_cli("call", "--lead-id", lead, env=env)
    assert placed.code == 0, placed.output
    assert "call placed via trackdrive" in placed.out and f"lead id {lead}" in placed.out
    again = await run_cli("call", "--lead-id", lead, env=env)
    assert again.code == 1
    lines = again.err.strip().splitlines()
    assert len(lines) == 1 and "within the last 30 seconds" in lines[0]


async def test_schedules_list_shows_every_schedule(sandbox: Sandbox) -> None:
    result = await run_cli("schedules", "list", "--order", "name",
                           "--url", sandbox.trackdrive_connection_url)
    assert result.code == 0, result.output
    seed = sandbox.trackdrive.seed
    for schedule_id in (seed.active_schedule_id, seed.paused_schedule_id):
        assert str(schedule_id) in result.out
    assert "3 schedule(s)" in result.out


async def test_schedules_need_a_trackdrive_url(sandbox: Sandbox) -> None:
    result = await run_cli("schedules", "list", "--url", sandbox.textus_connection_url)
    assert result.code == 2
    assert "TrackDrive feature" in result.err and len(result.err.strip().splitlines()) == 1


async def test_missing_url_in_a_real_process_is_one_line_exit_2(recipients_csv: Path) -> None:
    result = await run_cli("bulk", str(recipients_csv), "--body", "Hi")
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and "SMSBRIDGE_URL" in result.err


async def test_sandbox_command_prints_connection_urls_and_stops_on_ctrl_c() -> None:
    proc = await start_cli("sandbox", "--port", "0", "--seed", "3")
    assert proc.stdout is not None
    banner = ""
    async with asyncio.timeout(15):
        while "smsbridge schedules list" not in banner:
            banner += (await proc.stdout.readline()).decode()
    assert "textus://sandbox-textus-token@sandbox?base_url=" in banner
    assert "trackdrive://tdpub_sandbox:tdprv_sandbox@sandbox?base_url=" in banner
    proc.send_signal(signal.SIGINT)
    result = await finish(proc)
    assert result.code == 0 and "sandbox stopped" in result.err


async def test_a_double_ctrl_c_prints_the_summary_without_a_traceback_and_exits_130(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    # Every send takes 2 s, so the signals come while a wave of sends is in flight.
    sandbox.faults.add("textus.send", "latency", 1.0, delay=2.0)
    proc = await start_cli("bulk", str(recipients_csv), "--body", "Hi {name}", "--journal",
                           str(journal), "--concurrency", "4",
                           env=cli_env(SMSBRIDGE_URL=sandbox.textus_connection_url))
    await wait_for_accepted(sandbox, "textus", 4, proc)
    await asyncio.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # the first: in-flight sends get their grace period
    await asyncio.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # the second: no more grace, but a clean stop
    result: Result = await finish(proc)

    assert result.code == 130, result.output
    assert "Traceback" not in result.output and "closed database" not in result.output
    assert "interrupted" in result.out
    assert re.search(rf"Resume with: \S*smsbridge resume {re.escape(str(journal))}", result.out)
    with Journal(journal) as opened:
        stopped = opened.report()
    assert stopped.in_flight == 0 and stopped.job.status == "cancelled"
    assert stopped.unknown >= 1  # the sends the second Ctrl-C cut short: in doubt, recorded

    sandbox.faults.clear()
    resumed = await run_cli("resume", str(journal),
                            env=cli_env(SMSBRIDGE_URL=sandbox.textus_connection_url))
    assert resumed.code == 1, resumed.output  # 1: the UNKNOWN ones stay in doubt
    with Journal(journal) as opened:
        assert opened.report().complete
    assert_nobody_texted_twice(sandbox, "textus")
