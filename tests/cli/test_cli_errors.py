"""Exit codes and the one-line error contract, run in-process (no network, no sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsbridge.cli import run_cli
from smsbridge.cli._errors import EXIT_USAGE, Redactor

from .conftest import write_csv


@pytest.fixture(autouse=True)
def _no_env_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMSBRIDGE_URL", raising=False)
    monkeypatch.delenv("SMSBRIDGE_DEBUG", raising=False)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("smsbridge: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["frobnicate"], "No such command 'frobnicate'"),
        (["send", "--to", "+13035551234"], "Missing option '--body'"),
        (["bulk", "x.csv", "--body", "hi", "--concurrency", "0"], "--concurrency"),
        (["send", "--to", "+1303", "--body", "x", "--bogus"], "No such option '--bogus'"),
        (["call", "--lead-id"], "--lead-id"),
        (["sandbox", "--port", "70000"], "--port"),
    ],
)
def test_usage_errors_exit_2_with_one_line_naming_the_problem(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(args) == EXIT_USAGE
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert expected in line
    assert "--help" in line  # says where to look
    assert captured.out == ""


def test_missing_connection_url_is_a_configuration_error_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["send", "--to", "+13035551234", "--body", "hi"]) == EXIT_USAGE
    line = one_error_line(capsys.readouterr().err)
    assert "--url" in line and "SMSBRIDGE_URL" in line


def test_bare_command_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([]) == 0
    out = capsys.readouterr().out
    assert "Usage: smsbridge" in out and "bulk" in out and "Exit codes" in out


def test_malformed_and_unknown_urls_never_echo_their_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = [
        "textus:/TOPSECRETTOKEN@acct",  # no "://": not a connection URL
        "fax://TOPSECRETTOKEN@acct",  # unknown scheme
        "trackdrive://PUBKEY99:TOPSECRETKEY@bad_sub!",  # invalid subdomain
        "trackdrive://ONLYPUBLIC@acme",  # the private key is missing
    ]
    for url in urls:
        code = run_cli(["send", "--to", "+13035551234", "--body", "hi", "--url", url])
        assert code == EXIT_USAGE, url
        err = capsys.readouterr().err
        one_error_line(err)
        for secret in ("TOPSECRETTOKEN", "TOPSECRETKEY", "PUBKEY99", "ONLYPUBLIC"):
            assert secret not in err


def test_invalid_phone_number_in_send_exits_2_without_echoing_the_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "textus://tok@acct?base_url=http%3A%2F%2F127.0.0.1%3A9"
    assert run_cli(["send", "--to", "+1303555", "--body", "hi", "--url", url]) == EXIT_USAGE
    line = one_error_line(capsys.readouterr().err)
    assert "not a valid phone number" in line or "not a phone number" in line
    assert "+1303555" not in line


@pytest.mark.parametrize(
    ("csv_rows", "extra", "expected"),
    [
        ([["+13035551000", "Ann"]], ["--body", "Hi {first}"], "{first}"),
        ([["+13035551000", "Ann"]], ["--body", "Hi {0}"], "positional placeholder"),
        ([["+13035551000", "Ann"]], ["--body", "Hi", "--phone-column", "tel"], "column 'tel'"),
        ([["+13035551000", "Ann"]], ["--body", "Hi", "--media-url", "https://x/y.png"],
         "--media-type"),
    ],
)
def test_bulk_input_problems_exit_2_before_any_provider_is_contacted(
    tmp_path: Path, csv_rows: list[list[str]], extra: list[str], expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_csv(tmp_path / "people.csv", csv_rows)
    # an unroutable URL: reaching the network would fail with exit 1, not 2
    url = "textus://tok@acct?base_url=http%3A%2F%2F127.0.0.1%3A9"
    assert run_cli(["bulk", str(path), *extra, "--url", url]) == EXIT_USAGE
    assert expected in one_error_line(capsys.readouterr().err)


def test_bulk_with_a_missing_file_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["bulk", "/nonexistent/people.csv", "--body", "hi"]) == EXIT_USAGE
    assert "recipients file not found: /nonexistent/people.csv" in one_error_line(
        capsys.readouterr().err
    )


def test_report_and_resume_refuse_a_journal_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.sqlite"
    for args in (["report", str(missing)], ["resume", str(missing), "--url", "textus://t@a"]):
        assert run_cli(args) == EXIT_USAGE
        assert "journal not found" in one_error_line(capsys.readouterr().err)
    assert not missing.exists()  # never created by looking at it


def test_bad_sandbox_fault_spec_exits_2_before_listening(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["sandbox", "--port", "0", "--fault", "textus.send:meltdown"]) == EXIT_USAGE
    assert "unknown fault kind 'meltdown'" in one_error_line(capsys.readouterr().err)


def test_redactor_masks_userinfo_of_any_connection_url_even_malformed() -> None:
    redact = Redactor()
    redact.add_from_environment(
        ["send", "--url=trackdrive://PUBLIC1:PRIVATE1@acme", "fax://TOKEN1@x", "plain"]
    )
    text = "PUBLIC1 and PRIVATE1 and TOKEN1 and PUBLIC1:PRIVATE1 stay hidden; plain stays"
    assert redact(text) == "*** and *** and *** and *** stay hidden; plain stays"



_LOG_THROUGH_THE_LAST_RESORT = """
import logging
from smsbridge.cli._redact import Redactor
redact = Redactor()
redact.add_url("textus://Tok/en?SECRET@acct")
redact.guard_logging()
try:
    raise ValueError("boom with Tok/en?SECRET")
except ValueError:
    for name in ("smsbridge", "aiohttp.client"):  # our handler, and the last-resort one
        logging.getLogger(name).warning("failed with Tok/en?SECRET and %s", "SECRET",
                                        exc_info=True)
"""


def test_redactor_masks_secrets_in_log_lines_and_their_tracebacks() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "SMSBRIDGE_LOG": "warning"}
    result = subprocess.run([sys.executable, "-c", _LOG_THROUGH_THE_LAST_RESORT], env=env,
                            capture_output=True, text=True, timeout=30, check=True)
    assert result.stderr.count("failed with *** and ***") == 2
    assert "boom with ***" in result.stderr  # the traceback's message too
    assert "SECRET" not in result.stderr and "Tok/en" not in result.stderr
