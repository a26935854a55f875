"""The rows of a recipients CSV that cannot be sent, by line number, for the user to fix.

``--rejects FILE`` writes each one with its original columns plus ``line`` and ``reason``: the
user's own data on the user's own disk, so numbers are written in full there (logs and the
summary stay masked). The summary names the first lines either way.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import IO, Any

from ..errors import ValidationError

SUMMARY_LINES = 10


class Rejects:
    """Collects rejected rows; writes them to ``path`` when one is given."""

    def __init__(self, path: str | None, columns: list[str]) -> None:
        self.path = path
        self.count = 0
        self.lines: list[int] = []
        self.reasons: Counter[str] = Counter()
        self._width = len(columns)
        self._handle: IO[str] | None = None
        self._writer: Any = None
        if path is not None:
            try:
                # open for the whole job, closed by close(): not a with-block's lifetime
                self._handle = Path(path).open("w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as exc:
                raise ValidationError(
                    f"cannot write the rejects file {path}: {exc.strerror}") from None
            self._writer = csv.writer(self._handle)
            self._writer.writerow([*columns, "line", "reason"])

    def add(self, line: int, row: list[str], reason: str, detail: str) -> None:
        """``reason`` is short and counted in the summary; ``detail`` goes to the file only."""
        self.count += 1
        self.reasons[reason] += 1
        if len(self.lines) < SUMMARY_LINES:
            self.lines.append(line)
        if self._writer is not None:
            cells = (row + [""] * self._width)[:self._width]
            self._writer.writerow([*cells, line, f"{reason}: {detail}"])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def describe(self) -> str | None:
        """One line for the summary, or None when every row was usable."""
        if not self.count:
            return None
        lines = ", ".join(map(str, self.lines))
        if self.count > len(self.lines):
            lines += f" and {self.count - len(self.lines):,} more"
        why = ", ".join(f"{reason} {n:,}" for reason, n in self.reasons.most_common())
        where = (f"written to {self.path}" if self.path is not None
                 else "--rejects FILE writes them with the reason")
        return f"{self.count:,} invalid row(s) ({why}) at line {lines}; {where}"
