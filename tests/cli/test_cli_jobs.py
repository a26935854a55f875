"""Bulk jobs from the command line, end to end: every CSV row accounted for in the journal."""

from __future__ import annotations

import asyncio
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

from smsbridge import DeliveryStatus, Dispatcher, Message
from smsbridge.journal.store import Journal
from smsbridge.sandbox import Sandbox
from smsbridge.testing import FakeProvider

from .conftest import VALID, cli_env, run_cli, start_cli, write_csv
from .test_cli_e2e import wait_for_accepted


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


async def test_sigkill_while_workers_wait_for_the_rate_leaves_no_unsent_recipient_unknown(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    # 16 workers, 10 messages/s: most workers are waiting for the provider's rate at any
    # moment. They must wait *before* their recipient is journaled in flight, or a crash
    # turns recipients that were never sent into UNKNOWN ones.
    journal = tmp_path / "job.sqlite"
    env = cli_env(SMSBRIDGE_URL=sandbox.textus_connection_url)
    proc = await start_cli("bulk", str(recipients_csv), "--body", "Hi {name}", "--journal",
                           str(journal), "--rate", "10", "--concurrency", "16", env=env)
    await wait_for_accepted(sandbox, "textus", 6, proc)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    accepted_at_kill = set(sandbox.accepted_numbers("textus"))
    with Journal(journal) as opened:
        in_flight = {e.phone for e in opened.recipients(state="in_flight")}
    assert len(in_flight - accepted_at_kill) <= 1  # at most the request on the wire

    result = await run_cli("resume", str(journal), "--rate", "500", env=env)
    with Journal(journal) as opened:
        unknown = {e.phone for e in opened.recipients(state="unknown")}
        assert opened.report().complete
    assert unknown == in_flight and len(unknown - accepted_at_kill) <= 1
    assert result.code == (1 if unknown else 0), result.output
    assert sorted(set(sandbox.accepted_numbers("textus"))) == sorted(
        set(VALID) - (unknown - accepted_at_kill))


async def test_batch_mode_with_a_templated_body_batches_recipients_sharing_a_rendered_text(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    names = ["Ann", "Bob"] * 10 + ["Cy"]
    csv_path = write_csv(tmp_path / "teams.csv",
                         [[phone, name] for phone, name in zip(VALID, names, strict=False)])
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi {name}", "--batch-size", "25",
        "--url", sandbox.textus_connection_url, "--rate", "50",
    )
    assert result.code == 0, result.output
    assert "invalid_message" not in result.output
    sent = {r.to: r.body["body"] for r in sandbox.records}
    assert sent == {phone: f"Hi {name}" for phone, name in zip(VALID, names, strict=False)}
    batches = {tuple(r.body["to"]) for r in sandbox.records if isinstance(r.body["to"], list)}
    assert sorted(len(b) for b in batches) == [10, 10]  # Ann's, Bob's; Cy on their own


async def test_report_shows_unknown_sends_reconciled_by_a_delivery_report(tmp_path: Path) -> None:
    journal_path = tmp_path / "job.sqlite"
    fake = FakeProvider(per_number={VALID[0]: ["accepted_then_timeout"]})
    with Journal(journal_path) as journal:
        report = await Dispatcher(fake, journal=journal).send(
            Message(to=VALID[:3], body="Hi"))
        assert report.unknown == 1
        stored_id = next(a.message_id for a in fake.accepted if a.to == VALID[0])
        assert stored_id is not None
        assert journal.record_delivery("fake", stored_id, DeliveryStatus.DELIVERED,
                                       occurred_at=datetime.now(UTC), to=VALID[0])

    result = await run_cli("report", str(journal_path))
    assert result.code == 0, result.output
    assert "Delivery: unknown sends reconciled (proven sent)" in result.out
    assert "reason: reconciled" in result.out
    line = next(ln for ln in result.out.splitlines() if "reconciled (proven sent)" in ln)
    assert line.split("│")[2].strip() == "1"


async def test_a_wrong_token_stops_bulk_with_exit_3_and_resume_retry_failed_sends_everyone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    people = write_csv(tmp_path / "people.csv", [[p, f"P{i}"] for i, p in enumerate(VALID)])
    journal = tmp_path / "job.sqlite"
    good_url = sandbox.textus_connection_url
    wrong_url = good_url.replace(sandbox.textus_token, "not-the-token")
    assert wrong_url != good_url

    stopped = await run_cli("bulk", str(people), "--body", "Hi {name}", "--journal", str(journal),
                            "--concurrency", "2", env=cli_env(SMSBRIDGE_URL=wrong_url))
    assert stopped.code == 3, stopped.output
    assert "Traceback" not in stopped.output and "not-the-token" not in stopped.output
    assert "Stopped early" in stopped.out and "--retry-failed" in stopped.out
    assert sandbox.accepted_numbers("textus") == []
    with Journal(journal) as opened:
        report = opened.report()
    assert report.failed <= 2 and report.pending == len(VALID) - report.failed

    resumed = await run_cli("resume", str(journal), "--retry-failed", "--rate", "500",
                            env=cli_env(SMSBRIDGE_URL=good_url))
    assert resumed.code == 0, resumed.output
    assert sorted(sandbox.accepted_numbers("textus")) == sorted(VALID)


def _lose_wal(journal: Path) -> None:
    """The journal copied or restored without its log (its -shm goes with it)."""
    Path(f"{journal}-wal").unlink()
    Path(f"{journal}-shm").unlink(missing_ok=True)


async def test_resume_of_a_journal_that_lost_its_wal_is_refused_until_accepted(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    env = cli_env(SMSBRIDGE_URL=sandbox.textus_connection_url)
    proc = await start_cli("bulk", str(recipients_csv), "--body", "Hi {name}", "--journal",
                           str(journal), "--rate", "10", "--concurrency", "16", env=env)
    await wait_for_accepted(sandbox, "textus", 6, proc)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    _lose_wal(journal)
    accepted = len(sandbox.accepted_numbers("textus"))

    refused = await run_cli("resume", str(journal), "--rate", "500", env=env)
    assert refused.code == 2, refused.output
    assert "Traceback" not in refused.err
    [line] = [x for x in refused.err.splitlines() if x.startswith("smsbridge: error:")]
    assert "job.sqlite-wal" in line and "job.sqlite-shm" in line and "--accept-lost-wal" in line
    assert len(sandbox.accepted_numbers("textus")) == accepted  # nothing sent

    result = await run_cli("resume", str(journal), "--accept-lost-wal", "--rate", "500", env=env)
    assert result.code in (0, 1), result.output
    assert "-wal" not in result.err
    with Journal(journal) as opened:
        assert opened.report().complete


async def test_a_second_bulk_run_of_a_running_job_is_refused_naming_the_first(
    sandbox: Sandbox, recipients_csv: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    env = cli_env(SMSBRIDGE_URL=sandbox.textus_connection_url)
    args = ("bulk", str(recipients_csv), "--body", "Hi {name}", "--journal", str(journal))
    first = await start_cli(*args, "--rate", "5", env=env)  # 40 recipients: about 8 s
    await wait_for_accepted(sandbox, "textus", 2, first)

    second = await run_cli(*args, "--rate", "500", env=env)
    assert first.returncode is None, "the first run ended before the second started"
    assert second.code == 1, second.output
    assert "Traceback" not in second.err
    [line] = [x for x in second.err.splitlines() if x.startswith("smsbridge: error:")]
    assert f"is already running (pid {first.pid} on host {socket.gethostname()}, started" in line
    first.send_signal(signal.SIGINT)  # the first run stops cleanly and frees the job
    await asyncio.wait_for(first.communicate(), 30)

    again = await run_cli("resume", str(journal), "--rate", "500", env=env)
    assert again.code == 0, again.output
    accepted = sandbox.accepted_numbers("textus")
    assert sorted(accepted) == sorted(set(accepted)) == sorted(VALID)  # each texted once
