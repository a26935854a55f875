"""The demo's recipients file: a few thousand fictional numbers, some invalid, some duplicated.

Duplicates are written in another format on purpose (``(303) 555-0142`` next to
``+13035550142``) so the demo shows that de-duplication happens after E.164 normalisation.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import attrs

from ..phone import is_valid, normalize

# Real area codes, fictional 555 exchange: valid to libphonenumber, owned by nobody.
_AREA_CODES = ("303", "720", "212", "415", "512", "617", "312", "206", "305", "404")
_NAMES = (
    "Ann", "Ben", "Chloe", "Dev", "Eva", "Farid", "Gia", "Hugo", "Ines", "Jon",
    "Kai", "Lena", "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara",
)
_CITIES = ("Denver", "Austin", "Boston", "Chicago", "Seattle", "Miami", "Atlanta", "New York")
# Invalid entries as they come: typos ("+1555" + i, "not a number 3", ...) and blank cells,
# which repeat (each blank row still gets its own outcome).
_INVALID = ("+1555{i}", "not a number {i}", "+1 (000) 000-{i:04d}", "{i}", "+44 20 {i}", "")
COLUMNS = ("phone", "name", "city")


@attrs.frozen(slots=True)
class RecipientsFile:
    """What was written, so the demo (and its tests) can check every outcome against it."""

    path: Path
    rows: int
    unique_valid: frozenset[str] = attrs.field(repr=False)  # E.164
    invalid: int
    duplicates: int


def write_recipients_csv(
    path: Path,
    rows: int,
    *,
    invalid_ratio: float = 0.02,
    duplicate_ratio: float = 0.03,
    seed: int = 7,
) -> RecipientsFile:
    """Write ``rows`` data rows to ``path`` (header ``phone,name,city``) and describe them."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = random.Random(seed)
    n_invalid = round(rows * invalid_ratio)
    n_duplicates = round(rows * duplicate_ratio)
    n_unique = max(1, rows - n_invalid - n_duplicates)
    unique = _unique_numbers(rng, n_unique)
    entries: list[str] = list(unique)
    entries += [_reformat(rng.choice(unique)) for _ in range(rows - n_unique - n_invalid)]
    entries += [rng.choice(_INVALID).format(i=i) for i in range(n_invalid)]
    rng.shuffle(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for number in entries:
            writer.writerow((number, rng.choice(_NAMES), rng.choice(_CITIES)))
    return RecipientsFile(
        path=path,
        rows=len(entries),
        unique_valid=frozenset(unique),
        invalid=sum(1 for e in entries if not is_valid(e)),
        duplicates=len(entries) - len(unique) - n_invalid,
    )


def _unique_numbers(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    capacity = len(_AREA_CODES) * 10_000
    if count > capacity:
        raise ValueError(f"the demo can generate at most {capacity} unique numbers")
    while len(out) < count:
        number = f"+1{rng.choice(_AREA_CODES)}555{rng.randrange(10_000):04d}"
        if number not in seen:
            seen.add(number)
            out.append(normalize(number))
    return out


def _reformat(e164: str) -> str:
    """``+13035550142`` -> ``(303) 555-0142``: the same person, written another way."""
    digits = e164[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
