"""_convert: datetime and boolean parsing, and tolerant from_json structuring."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from smsbridge._convert import (
    from_json,
    from_json_list,
    parse_bool,
    parse_datetime,
    structure_hook,
)

MINUS_FIVE = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-07-24T20:59:32.156Z", datetime(2018, 7, 24, 20, 59, 32, 156000, tzinfo=UTC)),
        ("2058-10-25T18:09:13Z", datetime(2058, 10, 25, 18, 9, 13, tzinfo=UTC)),
        ("2023-11-17T13:59:04.568354-05:00",
         datetime(2023, 11, 17, 13, 59, 4, 568354, tzinfo=MINUS_FIVE)),
        ("2024-01-02 03:04:05 -0500", datetime(2024, 1, 2, 3, 4, 5, tzinfo=MINUS_FIVE)),
        ("2024-01-02 03:04 +0000", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        ("2024-01-02 03:04:05 UTC", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (" 2024-01-02 03:04:05 GMT ", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2)),
    ],
)
def test_parse_datetime_reads_the_provider_formats(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected
    assert (parsed.tzinfo is None) == (expected.tzinfo is None)


@pytest.mark.parametrize("value", ["", "   ", "yesterday", "2024-13-45T00:00:00Z",
                                   "2024-01-02 03:04:05 EST", None, 1700000000, ["x"]])
def test_parse_datetime_returns_none_for_anything_else(value):
    assert parse_datetime(value) is None


def test_parse_datetime_passes_datetimes_through():
    now = datetime.now(UTC)
    assert parse_datetime(now) is now


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("true", True), (" Off ", False),
     ("Y", True), ("f", False), (0.0, False)],
)
def test_parse_bool_reads_json_and_rails_words(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["maybe", None, [True]])
def test_parse_bool_rejects_other_values(value):
    with pytest.raises(ValueError, match="not a boolean"):
        parse_bool(value)


@attrs.frozen
class Child:
    name: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


structure_hook(Child)


@attrs.frozen
class Parent:
    id: str | None = None
    count: int | None = None
    active: bool | None = None
    created_at: datetime | None = attrs.field(default=None, metadata={"json": "createdAt"})
    child: Child | None = None
    tags: tuple[str, ...] = ()
    extra: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def test_from_json_renames_converts_and_keeps_raw():
    data = {"id": "/p/1", "count": "3", "active": "false", "createdAt": "2024-01-02T00:00:00Z",
            "child": {"name": "kid", "unknown": 1}, "tags": ["a", "b"], "surprise": {"x": 1}}
    parent = from_json(Parent, data)
    assert parent.id == "/p/1"
    assert parent.count == 3
    assert parent.active is False
    assert parent.created_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert parent.child.name == "kid"
    assert parent.child.raw == {"name": "kid", "unknown": 1}
    assert parent.tags == ("a", "b")
    assert parent.raw is data


def test_from_json_keeps_values_of_an_unexpected_shape_as_sent():
    parent = from_json(Parent, {"id": {"nested": True}, "count": "many", "active": "perhaps",
                                "child": "/children/1", "tags": "solo"})
    assert parent.id == {"nested": True}  # not its repr
    assert parent.count == "many"
    assert parent.active == "perhaps"
    assert parent.child == "/children/1"  # an IRI where an object may be: not an empty Child
    assert parent.tags == "solo"  # a string where a list is expected: not its characters


def test_from_json_numbers_in_string_fields_become_strings_and_nulls_stay_none():
    parent = from_json(Parent, {"id": 42, "count": None, "child": None})
    assert parent.id == "42"
    assert parent.count is None and parent.child is None


def test_from_json_extra_overrides_and_non_mappings_give_defaults():
    assert from_json(Parent, {"id": "a"}, extra="given").extra == "given"
    empty = from_json(Parent, None)
    assert empty == Parent() and empty.raw == {}
    assert from_json(Parent, ["not", "an", "object"]) == Parent()


def test_from_json_list_skips_non_objects():
    items = from_json_list(Child, [{"name": "a"}, "junk", None, {"name": "b"}])
    assert [c.name for c in items] == ["a", "b"]
    assert from_json_list(Child, {"name": "a"}) == []
