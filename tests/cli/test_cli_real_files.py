"""The bulk command with real-world files: standard input, other encodings, invalid rows, and
the exit codes for bad input. The CLI runs as a subprocess against the sandbox."""

from __future__ import annotations

import asyncio
import csv
import sys
from pathlib import Path

from smsbridge.sandbox import Sandbox

from .conftest import SUBPROCESS_TIMEOUT, VALID, Result, cli_env, run_cli, write_csv


async def run_cli_with_stdin(data: bytes, *args: str) -> Result:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbridge.cli", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cli_env())
    out, err = await asyncio.wait_for(proc.communicate(data), SUBPROCESS_TIMEOUT)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def test_bulk_reads_the_csv_from_standard_input(sandbox: Sandbox) -> None:
    rows = "".join(f"{number},Person {i}\n" for i, number in enumerate(VALID[:12]))
    result = await run_cli_with_stdin(
        ("phone,name\n" + rows).encode(), "bulk", "-", "--body", "Hi {name}",
        "--url", sandbox.textus_connection_url)
    assert result.code == 0, result.output
    assert sorted(sandbox.accepted_numbers("textus")) == sorted(VALID[:12])


async def test_a_latin1_file_is_refused_naming_the_encoding_option_then_sent_with_it(
        sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"phone,name\n" + f"{VALID[0]},José\n".encode("latin-1"))
    refused = await run_cli("bulk", str(path), "--body", "Hola {name}",
                            "--url", sandbox.textus_connection_url)
    assert refused.code == 2
    assert "--encoding" in refused.err and "line 2" in refused.err
    assert sandbox.accepted_numbers() == []
    sent = await run_cli("bulk", str(path), "--body", "Hola {name}", "--encoding", "latin-1",
                         "--url", sandbox.textus_connection_url)
    assert sent.code == 0, sent.output
    (record,) = [r for r in sandbox.records if r.route == "textus.send"]
    assert "José" in str(record.body)


async def test_invalid_rows_are_named_by_line_and_written_to_the_rejects_file(
        sandbox: Sandbox, tmp_path: Path) -> None:
    rows = [[VALID[0], "Ann"], ["12", "Bob"], [VALID[1], "Cy"], ["", "Dee"], ["not a number", "Ed"]]
    path = write_csv(tmp_path / "people.csv", rows)
    rejects = tmp_path / "rejects.csv"
    result = await run_cli("bulk", str(path), "--body", "Hi {name}", "--rejects", str(rejects),
                           "--url", sandbox.textus_connection_url)
    assert result.code == 0, result.output
    assert "3 invalid row(s)" in result.out and "at line 3, 5, 6" in result.out
    with rejects.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [(r["name"], r["line"]) for r in written] == [("Bob", "3"), ("Dee", "5"), ("Ed", "6")]
    assert all(r["reason"].startswith("invalid phone number") for r in written)
    assert written[0]["phone"] == "12"  # the user's own file: the row as it was
    assert sorted(sandbox.accepted_numbers("textus")) == sorted(VALID[:2])


async def test_summary_without_rejects_option_says_how_to_get_the_rows(
        sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"], ["555", "Bob"]])
    result = await run_cli("bulk", str(path), "--body", "Hi", "--dry-run",
                           "--url", sandbox.textus_connection_url)
    assert result.code == 0, result.output
    assert "1 invalid row(s)" in result.out and "--rejects FILE" in result.out


async def test_bad_input_exits_2_before_any_request(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", [[VALID[0], "Ann"]])
    not_a_journal = tmp_path / "garbage.sqlite"
    not_a_journal.write_bytes(b"this is not a database" * 100)
    cases = [
        (["--body", ""], "body"),
        (["--body", "Hi", "--region", "ZZ"], "unknown region"),
        (["--body", "Hi", "--encoding", "klingon"], "unknown encoding"),
        (["--body", "Hi", "--journal", str(not_a_journal)], "journal"),
    ]
    for extra, expected in cases:
        result = await run_cli("bulk", str(path), *extra, "--url", sandbox.textus_connection_url)
        assert result.code == 2, (extra, result.output)
        assert expected in result.err.lower(), (extra, result.err)
        assert "Traceback" not in result.output
    assert sandbox.records == []


async def test_send_with_an_empty_body_is_a_usage_error(sandbox: Sandbox) -> None:
    result = await run_cli("send", "--to", VALID[0], "--body", " ",
                           "--url", sandbox.textus_connection_url)
    assert result.code == 2 and "body" in result.err
    assert sandbox.records == []


def test_the_journal_remembers_the_csv_encoding_and_reads_tables_written_without_it(
        tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    from smsbridge.cli._csv import CsvRecipients
    from smsbridge.cli._sources import recall, remember

    path = tmp_path / "excel.csv"
    path.write_bytes(b"phone,name\n" + f"{VALID[0]},José\n".encode("cp1252"))
    journal = str(tmp_path / "job.sqlite")
    with closing(sqlite3.connect(journal)) as conn, conn:  # a table as 0.1.0 wrote it
        conn.execute("CREATE TABLE smsbridge_cli_sources (job_id TEXT PRIMARY KEY, path TEXT "
                     "NOT NULL, phone_column TEXT NOT NULL, region TEXT, size INTEGER, "
                     "mtime REAL)")
        conn.execute("INSERT INTO smsbridge_cli_sources VALUES ('old', 'x.csv', 'phone', NULL, "
                     "1, 1.0)")
    old = recall(journal, "old")
    assert old is not None and old.encoding is None
    remember(journal, "new", CsvRecipients(path, encoding="cp1252"), "US")
    source = recall(journal, "new")
    assert source is not None and source.encoding == "cp1252"
    (recipient,) = list(source.open({"name"}))
    assert recipient.variables["name"] == "José"
