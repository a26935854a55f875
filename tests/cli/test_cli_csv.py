"""Reading recipients from CSV: streamed, header-driven, tolerant of what spreadsheets write."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from smsbridge.cli._csv import CsvRecipients
from smsbridge.cli._sources import cli_job_id, recall, remember
from smsbridge.errors import ValidationError
from smsbridge.models import Recipient

from .conftest import write_csv


def test_phone_column_is_found_by_name_and_other_columns_become_variables(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["Ann", "+13035551000", "Denver"]],
                     header=("name", "Mobile", "city"))
    source = CsvRecipients(path)
    assert source.phone_column == "Mobile"
    assert list(source) == [Recipient("+13035551000", {"name": "Ann", "city": "Denver"})]


def test_only_the_columns_the_body_uses_travel_with_each_recipient(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["+13035551000", "Ann", "1985-02-03", "Rome"]],
                     header=("phone", "name", "birthday", "city"))
    assert list(CsvRecipients(path, variables={"name"})) == [
        Recipient("+13035551000", {"name": "Ann"})]
    assert list(CsvRecipients(path, variables=())) == [Recipient("+13035551000")]


def test_explicit_phone_column_wins_and_is_case_insensitive(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["+13035551000", "+13035551001"]],
                     header=("phone", "Cell Number"))
    assert [r.phone for r in CsvRecipients(path, phone_column="cell number")] == ["+13035551001"]


def test_semicolon_files_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffphone;name\r\n+13035551000;Zoë\r\n".encode())
    assert list(CsvRecipients(path)) == [Recipient("+13035551000", {"name": "Zoë"})]


def test_short_rows_get_empty_variables_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("phone,name,city\n+13035551000\n\n,,\n+13035551001,Bo,Rome\n")
    assert list(CsvRecipients(path)) == [
        Recipient("+13035551000", {"name": "", "city": ""}),
        Recipient("+13035551001", {"name": "Bo", "city": "Rome"}),
    ]
    assert CsvRecipients(path).count() == 2


def test_a_row_with_an_empty_phone_is_kept_so_it_gets_an_outcome(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["", "Nobody"]])
    assert list(CsvRecipients(path)) == [Recipient("", {"name": "Nobody"})]


def test_bad_encoding_is_reported_with_file_and_line_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    good = b"".join(b"+1303555%04d,Ann\n" % n for n in range(1000, 2000))  # > the 16 KiB sample
    path.write_bytes(b"phone,name\n" + good + b"+13035552000,\xff\xfe\n")
    with pytest.raises(ValidationError, match=r"p\.csv line 1002: not valid utf-8"):
        CsvRecipients(path).count()
    path.write_bytes(b"phone,name\n+13035551000,\xff\n")
    with pytest.raises(ValidationError, match=r"p\.csv line 2: not valid utf-8 text.*--encoding"):
        CsvRecipients(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "empty or has no header"),
        ("name,city\nAnn,Rome\n", "no phone column"),
    ],
)
def test_files_without_a_usable_header_are_refused(
    tmp_path: Path, content: str, match: str
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(content)
    with pytest.raises(ValidationError, match=match):
        CsvRecipients(path)


def test_rows_are_streamed_not_loaded(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [[f"+1303555{n:04d}", "x"] for n in range(1000, 1100)])
    rows = iter(CsvRecipients(path))
    assert next(rows).phone == "+13035551000"
    path.write_text("phone\n")  # the open handle keeps reading the original file's data
    assert sum(1 for _ in rows) == 99


def test_stdin_is_read_once_with_the_sniffed_sample_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = "".join(f"+1303555{n:04d},Name {n}\n" for n in range(1000, 3000))
    monkeypatch.setattr("sys.stdin", io.StringIO("phone,name\n" + lines))
    source = CsvRecipients("-")
    assert source.count() is None  # unknown length: no pre-pass over stdin
    phones = [r.phone for r in source]
    assert phones == [f"+1303555{n:04d}" for n in range(1000, 3000)]  # nothing lost at 16 KiB


def test_cli_job_ids_are_stable_per_message_and_file(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", [["+13035551000", "x"]])
    b = write_csv(tmp_path / "b.csv", [["+13035551000", "x"]])
    message = {"body": "Hi {name}", "sender": None, "attachments": (), "options": {}}
    same = cli_job_id(message, CsvRecipients(a))
    assert same == cli_job_id(dict(message), CsvRecipients(str(a)))
    assert same != cli_job_id(message, CsvRecipients(b))
    assert same != cli_job_id({**message, "body": "Hello {name}"}, CsvRecipients(a))


def test_the_csv_of_a_job_is_remembered_in_the_journal_file(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "a.csv", [["+13035551000", "x"]], header=("to", "name"))
    journal = str(tmp_path / "job.sqlite")
    remember(journal, "job-1", CsvRecipients(csv_path), "GB")
    found = recall(journal, "job-1")
    assert found is not None
    assert (found.path, found.phone_column, found.region) == (str(csv_path.resolve()), "to", "GB")
    assert not found.changed()
    csv_path.write_text("to,name\n+13035551000,x\n+13035551001,y\n")
    assert found.changed()
    assert recall(journal, "job-2") is None
