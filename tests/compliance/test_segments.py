"""Segment counting against the carriers' published limits, and the job tally."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsbridge.compliance.errors import InvalidPrice, InvalidSegmentLimit, TooManySegments
from smsbridge.compliance.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    SegmentCount,
    SegmentTally,
    check_max_segments,
    count_segments,
    parse_max_segments,
    parse_price,
)
from smsbridge.errors import InvalidMessage, ValidationError


@pytest.mark.parametrize(
    ("body", "encoding", "segments", "units"),
    [
        ("a" * 160, Encoding.GSM_7, 1, 160),
        ("a" * 161, Encoding.GSM_7, 2, 161),
        ("a" * 306, Encoding.GSM_7, 2, 306),
        ("a" * 307, Encoding.GSM_7, 3, 307),
        ("ê" * 70, Encoding.UCS_2, 1, 70),
        ("ê" * 71, Encoding.UCS_2, 2, 71),
        ("ê" * 134, Encoding.UCS_2, 2, 134),
        ("ê" * 135, Encoding.UCS_2, 3, 135),
        ("Hello", Encoding.GSM_7, 1, 5),
    ],
)
def test_published_single_and_multipart_limits(
    body: str, encoding: Encoding, segments: int, units: int
) -> None:
    count = count_segments(body)
    assert (count.encoding, count.segments, count.units) == (encoding, segments, units)
    assert "".join(count.parts) == body


def test_euro_sign_is_gsm7_but_counts_two_septets() -> None:
    count = count_segments("€" * 80)
    assert count.encoding is Encoding.GSM_7
    assert (count.units, count.characters, count.segments) == (160, 80, 1)
    assert count_segments("€" * 80 + "a").segments == 2


def test_caret_counts_two_septets_at_the_160_boundary() -> None:
    assert count_segments("a" * 158 + "^").segments == 1
    over = count_segments("a" * 159 + "^")
    assert (over.encoding, over.units, over.segments) == (Encoding.GSM_7, 161, 2)


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_every_extension_character_counts_two_septets(char: str) -> None:
    count = count_segments(char)
    assert (count.encoding, count.units) == (Encoding.GSM_7, 2)


def test_every_basic_character_counts_one_septet_and_stays_gsm7() -> None:
    body = "".join(sorted(GSM7_BASIC))
    count = count_segments(body)
    assert count.encoding is Encoding.GSM_7 and count.units == len(GSM7_BASIC)


def test_a_part_never_splits_an_escape_pair() -> None:
    # 152 septets then "€" (2): the pair would straddle septet 153, so it opens part two.
    body = "a" * 152 + "€" + "a" * 10
    count = count_segments(body)
    assert count.units == 164 and count.segments == 2
    assert count.parts == ("a" * 152, "€" + "a" * 10)
    assert count.remaining == 153 - 12


def test_an_emoji_forces_ucs2_and_counts_two_code_units() -> None:
    count = count_segments("Hi 😀")
    assert count.encoding is Encoding.UCS_2
    assert count.ucs2_characters == ("😀",)
    assert (count.units, count.characters, count.segments) == (5, 4, 1)


def test_emoji_at_the_70_boundary() -> None:
    assert count_segments("x" * 68 + "😀").segments == 1
    assert count_segments("x" * 69 + "😀").segments == 2


def test_a_part_never_splits_a_surrogate_pair() -> None:
    body = "x" * 66 + "😀" + "y" * 10
    count = count_segments(body)
    assert count.units == 78 and count.segments == 2
    assert count.parts == ("x" * 66, "😀" + "y" * 10)


def test_one_non_gsm_character_turns_the_whole_body_to_ucs2_and_names_it() -> None:
    count = count_segments("a" * 100 + "\u2019 and \u2019 and \u201c")
    assert count.encoding is Encoding.UCS_2
    assert count.ucs2_characters == ("\u2019", "\u201c")
    assert count.segments == 2


def test_empty_body_counts_no_segments() -> None:
    count = count_segments("")
    assert (count.segments, count.units, count.parts) == (0, 0, ())


def test_count_segments_rejects_a_non_string() -> None:
    with pytest.raises(TypeError, match="body must be a str"):
        count_segments(b"hi")  # type: ignore[arg-type]


def test_check_max_segments_passes_a_body_within_the_limit() -> None:
    assert check_max_segments("a" * 306, 2).segments == 2
    assert check_max_segments("a" * 10_000, None).segments == 66


def test_check_max_segments_rejects_a_body_over_the_limit_with_a_typed_reason() -> None:
    with pytest.raises(TooManySegments) as info:
        check_max_segments("a" * 307, 2)
    error = info.value
    assert isinstance(error, InvalidMessage)
    assert (error.segments, error.limit, error.reason) == (3, 2, "too_many_segments")
    assert "3 segments" in str(error) and "max_segments=2" in str(error)


def test_too_many_segments_message_names_the_character_that_forced_ucs2() -> None:
    with pytest.raises(TooManySegments, match="U\\+2019"):
        check_max_segments("a" * 80 + "\u2019", 1)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("3", 3), (" 2 ", 2)])
def test_parse_max_segments_accepts_whole_numbers(value: object, expected: int) -> None:
    assert parse_max_segments(value) == expected


@pytest.mark.parametrize("value", [0, -1, "0", "two", 1.5, True, None])
def test_parse_max_segments_rejects_anything_else(value: object) -> None:
    with pytest.raises(InvalidSegmentLimit, match="max_segments"):
        parse_max_segments(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.0079", Decimal("0.0079")), (Decimal("0.01"), Decimal("0.01")), (0, Decimal(0)),
     (" 0.5 ", Decimal("0.5"))],
)
def test_parse_price_accepts_exact_decimals(value: object, expected: Decimal) -> None:
    assert parse_price(value) == expected


@pytest.mark.parametrize("value", ["abc", "", "-0.01", "NaN", "Infinity", 0.01, None, True])
def test_parse_price_rejects_non_prices_with_a_typed_error(value: object) -> None:
    with pytest.raises(InvalidPrice, match="price per segment") as info:
        parse_price(value)
    assert isinstance(info.value, ValidationError)


def test_tally_totals_segments_and_names_what_forced_ucs2_per_recipient() -> None:
    tally = SegmentTally()
    tally.add("Hi Ann, your code is 1234")  # 1 GSM-7
    tally.add("Hi Zoë, your code is 1234")  # ë is not GSM-7 -> UCS-2, 1 segment
    tally.add("Hi José 😀 " + "x" * 70)  # UCS-2, 2 segments (é is GSM-7, the emoji is not)
    tally.add(count_segments("a" * 161))  # a precomputed count, 2 segments
    assert tally.recipients == 4
    assert tally.total_segments == 6
    assert tally.max_segments == 2
    assert tally.ucs2_recipients == 2
    assert tally.ucs2_characters == {"ë": 1, "😀": 1}


def test_tally_counts_a_character_once_per_recipient_and_orders_by_frequency() -> None:
    tally = SegmentTally()
    for body in ("\u201ca\u201d \u201cb\u201d", "\u201cc\u201d", "ü ok ☺"):
        tally.add(body)
    assert list(tally.ucs2_characters.items()) == [("\u201c", 2), ("\u201d", 2), ("☺", 1)]


def test_estimated_cost_is_exact_decimal_arithmetic() -> None:
    tally = SegmentTally()
    for _ in range(3):
        tally.add("a" * 161)
    assert tally.estimated_cost("0.0079") == Decimal("0.0474")
    assert tally.estimated_cost(Decimal("0.1")) == Decimal("0.6")


def test_estimated_cost_rejects_a_bad_price() -> None:
    with pytest.raises(InvalidPrice):
        SegmentTally().estimated_cost("free")


def test_segment_count_repr_omits_the_body_parts() -> None:
    count = count_segments("secret code 998877")
    assert isinstance(count, SegmentCount)
    assert "998877" not in repr(count)


def test_random_bodies_split_into_parts_within_the_limits_and_no_more_parts_than_needed() -> None:
    import random

    rng = random.Random(14)
    alphabet = "abc €^{}xyz" + "\u00eb\U0001f600\u4e2d"
    for _ in range(500):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400)))
        count = count_segments(body)
        assert "".join(count.parts) == body
        unicode = count.encoding is Encoding.UCS_2

        def units(text: str, unicode: bool = unicode) -> int:
            if unicode:
                return len(text.encode("utf-16-le")) // 2
            return sum(2 if c in GSM7_EXTENSION else 1 for c in text)

        single, part = (70, 67) if unicode else (160, 153)
        assert count.units == units(body)
        if count.segments == 1:
            assert count.units <= single
        else:
            assert count.units > single
            assert all(units(p) <= part for p in count.parts)
            # Greedy: each part is full unless the next character would not fit.
            for current, following in zip(count.parts, count.parts[1:], strict=False):
                assert units(current) + units(following[0]) > part
