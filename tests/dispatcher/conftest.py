"""Fixtures for the dispatcher, journal, failover and test-kit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_AREAS = ("303", "720", "212", "415", "617", "312", "206", "512", "702", "404")


def number(i: int) -> str:
    """The i-th of 8,000,000 distinct valid US numbers in E.164."""
    area, rest = divmod(i, 800 * 10_000)
    exchange, line = divmod(rest, 10_000)
    return f"+1{_AREAS[area % len(_AREAS)]}{200 + exchange}{line:04d}"


@pytest.fixture
def numbers() -> Callable[..., list[str]]:
    def make(count: int, start: int = 0) -> list[str]:
        return [number(i) for i in range(start, start + count)]

    return make


@pytest.fixture
def number_stream() -> Callable[[int], Iterator[str]]:
    def make(count: int) -> Iterator[str]:
        return (number(i) for i in range(count))

    return make


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "job.sqlite"
