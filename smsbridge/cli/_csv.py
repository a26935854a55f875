"""Recipients from a CSV file, streamed row by row (never loaded whole).

The file needs a header row. One column holds the phone number (``--phone-column``; by default
the first of ``phone``, ``phone_number``, ``to``, ``number``, ``mobile``, ``cell``, matched
case-insensitively); the other columns are template variables (``{name}`` in the body), and
``variables=`` keeps only the ones a body uses.
The delimiter (comma, semicolon, tab or pipe) is detected from the first lines, and a UTF-8 byte
order mark (Excel) is ignored; ``encoding`` names another encoding (``--encoding cp1252`` for a
file Excel saved as "CSV" on Windows). Rows whose number is invalid go to ``rejects`` with their
line number (they still reach the dispatcher, which reports them SKIPPED ``invalid_number``).
Bad structure is reported as a :class:`ValidationError` naming the
file and line before anything is sent: :meth:`CsvRecipients.count` reads the file once up front.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO

from ..errors import InvalidPhoneNumber, ValidationError
from ..models import Recipient
from ..phone import normalize
from ._rejects import Rejects

PHONE_COLUMN_CANDIDATES = ("phone", "phone_number", "to", "number", "mobile", "cell")
_SNIFF_BYTES = 16 * 1024
_DELIMITERS = ",;\t|"
STDIN = "-"


class CsvRecipients:
    """An iterable of :class:`Recipient` read lazily from ``path`` (``"-"`` for stdin)."""

    def __init__(
        self,
        path: str | Path,
        *,
        phone_column: str | None = None,
        encoding: str = "utf-8-sig",
        variables: Collection[str] | None = None,
        region: str | None = None,
    ) -> None:
        self.path = str(path)
        self.encoding = _known_encoding(encoding)
        self.region = region
        self.rejects: Rejects | None = None
        self._stdin: _Buffered | None = None
        with self._open() as handle:
            try:
                sample = handle.read(_SNIFF_BYTES)
            except UnicodeDecodeError as exc:
                line = _first_undecodable_line(self.path, self.encoding)
                where = f"{self.name} line {line}" if line else f"{self.name} (near the start)"
                raise ValidationError(f"{where}: {_short(exc)}; {_ENCODING_HINT}") from None
        self.dialect = _sniff(sample)
        header = next(csv.reader(sample.splitlines(), self.dialect), None)
        if not header or not any(name.strip() for name in header):
            raise ValidationError(
                f"{self.name} is empty or has no header row; the first line must name the "
                "columns, e.g. phone,name"
            )
        self.columns = [name.strip() for name in header]
        self.phone_index = _phone_index(self.columns, phone_column, self.name)
        self.phone_column = self.columns[self.phone_index]
        self.use_variables(variables)

    def use_variables(self, variables: Collection[str] | None) -> None:
        """Keep only these columns as template variables (None: every column but the phone)."""
        # Only the columns the body uses travel with each recipient (and into the journal).
        self.variable_columns = [
            (i, name) for i, name in enumerate(self.columns)
            if i != self.phone_index and name and (variables is None or name in variables)
        ]

    @property
    def name(self) -> str:
        return "standard input" if self.path == STDIN else self.path

    def _open(self) -> IO[str] | _Buffered:
        if self.path == STDIN:
            # stdin is read once: the sniffed sample is replayed before the rest of the stream
            if self._stdin is None:
                self._stdin = _Buffered(sys.stdin)
            return self._stdin
        try:
            return open(self.path, encoding=self.encoding, newline="")
        except FileNotFoundError:
            raise ValidationError(f"recipients file not found: {self.path}") from None
        except IsADirectoryError:
            raise ValidationError(f"{self.path} is a directory, not a CSV file") from None

    def count(self) -> int | None:
        """Data rows in the file (validating its encoding and structure), or None for stdin."""
        if self.path == STDIN:
            return None
        rows = 0
        for _ in self._rows():
            rows += 1
        return rows

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number of the row's end, cells) for each non-blank data row."""
        with self._open() as handle:
            reader = csv.reader(handle, self.dialect)
            try:
                next(reader, None)  # header
                for row in reader:
                    if row and any(cell.strip() for cell in row):
                        yield reader.line_num, row
            except UnicodeDecodeError as exc:
                # text is decoded in chunks: find the exact line in a binary re-read
                line = _first_undecodable_line(self.path, self.encoding) or reader.line_num
                raise ValidationError(
                    f"{self.name} line {line}: {_short(exc)}; {_ENCODING_HINT}"
                ) from None
            except csv.Error as exc:
                raise ValidationError(
                    f"{self.name} line {reader.line_num}: {exc}; check the quoting"
                ) from None

    def __iter__(self) -> Iterator[Recipient]:
        phone_index = self.phone_index
        variables = self.variable_columns
        rejects = self.rejects
        for line, row in self._rows():
            width = len(row)
            phone = row[phone_index].strip() if phone_index < width else ""
            if rejects is not None:
                try:
                    normalize(phone, self.region)
                except InvalidPhoneNumber as exc:
                    rejects.add(line, row, "invalid phone number", str(exc))
            yield Recipient(
                phone, {name: (row[i] if i < width else "") for i, name in variables}
            )


class _Buffered:
    """Replays the sniffed sample of stdin, then the rest of it, as one text stream."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._buffer = ""
        self._sampled = False

    def read(self, size: int = -1) -> str:
        if self._sampled:
            raise ValidationError("standard input can only be read once")
        self._sampled = True
        self._buffer = self._stream.read(size)
        return self._buffer

    def __iter__(self) -> Iterator[str]:
        # the sample may end mid-line: join its tail with the stream's next line
        lines = self._buffer.splitlines(keepends=True)
        self._buffer = ""
        tail = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        yield from lines
        first = True
        for line in self._stream:
            if first:
                first, line = False, tail + line
            yield line
        if first and tail:
            yield tail

    def __enter__(self) -> _Buffered:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_ENCODING_HINT = ("save the file as UTF-8 CSV, or name its encoding with --encoding (a file "
                  "Excel saved as CSV on Windows: --encoding cp1252)")


def _known_encoding(encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValidationError(
            f"unknown encoding {encoding!r}; use a Python codec name such as utf-8, cp1252 or "
            "latin-1") from None
    return encoding


def _sniff(sample: str) -> type[csv.Dialect]:
    first_lines = "\n".join(sample.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(first_lines, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel


def _phone_index(columns: list[str], wanted: str | None, name: str) -> int:
    lowered = [column.lower() for column in columns]
    candidates = (wanted,) if wanted else PHONE_COLUMN_CANDIDATES
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered.index(candidate.lower())
    listed = ", ".join(repr(c) for c in columns if c) or "none"
    looked_for = f"column {wanted!r}" if wanted else "phone column (" + ", ".join(
        PHONE_COLUMN_CANDIDATES) + ")"
    raise ValidationError(
        f"{name} has no {looked_for}; its columns are {listed}; name the phone column "
        "with --phone-column"
    )


def _first_undecodable_line(path: str, encoding: str) -> int | None:
    if path == STDIN:
        return None
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None


def _short(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid {exc.encoding} text"
    return str(exc)
