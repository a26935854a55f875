"""CLI test kit: a sandbox in the test process, the CLI in a real subprocess pointed at it."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import attrs
import pytest

from smsbridge.sandbox import Sandbox

# Distinct fictional numbers (555 exchange): valid to libphonenumber, owned by nobody.
VALID = [f"+1303555{n:04d}" for n in range(1000, 1040)]
SUBPROCESS_TIMEOUT = 30.0


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: no inherited SMSBRIDGE_URL, wide plain output."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMSBRIDGE_URL", "SMSBRIDGE_DEBUG")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    env.update(extra)
    return env


async def start_cli(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbridge.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env if env is not None else cli_env(),
    )


async def finish(proc: asyncio.subprocess.Process) -> Result:
    out, err = await asyncio.wait_for(proc.communicate(), SUBPROCESS_TIMEOUT)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``smsbridge ARGS`` in a subprocess while this loop keeps serving the sandbox."""
    return await finish(await start_cli(*args, env=env))


def write_csv(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = ("phone", "name"),
              delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def recipients_csv(tmp_path: Path) -> Path:
    """40 valid numbers, one duplicate written another way, one invalid."""
    rows = [[phone, f"Person {i}"] for i, phone in enumerate(VALID)]
    rows.append(["(303) 555-1000", "Again"])  # duplicate of VALID[0]
    rows.append(["not a number", "Nobody"])
    return write_csv(tmp_path / "people.csv", rows)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1, delivery_delay=0.05) as sb:
        yield sb
