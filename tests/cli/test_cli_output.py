"""What the bulk command tells the user agrees with itself and with the provider's limits."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from smsbridge.limits.local import RateLimiter
from smsbridge.sandbox import Sandbox

from .conftest import run_cli


async def test_dry_run_progress_line_and_summary_give_the_same_counts(
        sandbox: Sandbox, recipients_csv: Path) -> None:
    result = await run_cli("bulk", str(recipients_csv), "--body", "Hi {name}", "--dry-run",
                           "--url", sandbox.textus_connection_url)
    assert result.code == 0, result.output
    final = result.err.strip().splitlines()[-1]
    assert "would send 40" in final and "skipped 2" in final, final
    assert re.search(r"Would send\s*│\s*40", result.out)
    assert re.search(r"Skipped\s*│\s*2\b", result.out)
    assert sandbox.records == []


async def test_rate_line_states_the_burst_and_the_sustained_rate(
        sandbox: Sandbox, recipients_csv: Path) -> None:
    result = await run_cli("bulk", str(recipients_csv), "--body", "Hi", "--dry-run",
                           "--url", sandbox.textus_connection_url)
    assert "1,000 requests per 300 s: up to 1,000 at once, then 3.3 messages/s" in result.err


def test_a_limiter_without_a_burst_is_described_by_its_rate_alone() -> None:
    from smsbridge.cli._jobs import describe_limit

    assert describe_limit(RateLimiter(5, 1.0)) == "at most 5.0 messages/s (the provider's limit)"



def test_hints_name_a_command_that_runs_from_the_users_shell(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from smsbridge.cli._common import command_hint

    script = Path(sys.executable).parent / "smsbridge"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv not activated, as after make demo
    hint = command_hint()
    assert hint != "smsbridge"
    assert (tmp_path / hint).resolve() == script.resolve()
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")  # activated
    assert command_hint() == "smsbridge"


async def test_call_errors_use_flag_names_say_the_wait_in_seconds_and_repeat_nothing(
        sandbox: Sandbox) -> None:
    env_url = ("--url", sandbox.trackdrive_connection_url)
    missing = await run_cli("call", *env_url)
    assert missing.code == 2
    assert "--lead-id" in missing.err and "--lead-token" in missing.err and "--to" in missing.err
    assert "lead_id" not in missing.err and "make_call" not in missing.err
    both = await run_cli("call", "--lead-id", "1", "--to", "+13035551234", *env_url)
    assert both.code == 2 and "do not also pass --to" in both.err

    lead = str(sandbox.trackdrive.seed.lead_id)
    assert (await run_cli("call", "--lead-id", lead, *env_url)).code == 0
    again = await run_cli("call", "--lead-id", lead, *env_url)
    assert again.code == 1
    (line,) = again.err.strip().splitlines()
    assert "wait 30 s before dialing it again" in line
    assert line.count("dialed within") == 1  # the server's words once; ours add what to do


def test_flag_names_replace_make_call_parameters_only() -> None:
    from smsbridge.cli._commands import in_flag_names

    assert in_flag_names("make_call needs who to call: lead_id=, or lead_token= with to=") == (
        "call needs who to call: --lead-id, or --lead-token with --to")
    assert in_flag_names("a call to it may already be under way") == (
        "a call to it may already be under way")
