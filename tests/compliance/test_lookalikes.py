"""smart_encoding: look-alikes become GSM-7, the report says what changed, the rest is kept."""

from __future__ import annotations

import pytest

from smsbridge.compliance.lookalikes import LOOKALIKES, Replacement, smart_encoding
from smsbridge.compliance.segments import GSM7_BASIC, GSM7_EXTENSION, Encoding, count_segments


def test_every_replacement_is_itself_gsm7() -> None:
    for original, replacement in LOOKALIKES.items():
        assert original not in GSM7_BASIC and original not in GSM7_EXTENSION
        assert all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in replacement), original


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'),
        ("\u2013", "-"), ("\u2014", "-"), ("\u2212", "-"), ("\u00a0", " "), ("\u202f", " "),
        ("\u2026", "..."), ("\u200b", ""), ("\ufeff", ""), ("\u00ab", '"'), ("\u02c6", "^"),
    ],
)
def test_each_common_lookalike_is_replaced(original: str, expected: str) -> None:
    new_body, replacements = smart_encoding(f"a{original}b")
    assert new_body == f"a{expected}b"
    assert replacements == (Replacement(original, expected, 1),)


def test_a_pasted_paragraph_drops_from_ucs2_to_gsm7_and_fewer_segments() -> None:
    body = (
        "It\u2019s time \u2014 your \u201cspring sale\u201d code is SAVE20\u2026 "
        "Reply\u00a0STOP to opt out. " + "x" * 80
    )
    before = count_segments(body)
    result = smart_encoding(body)
    after = count_segments(result.body)
    assert before.encoding is Encoding.UCS_2 and before.segments == 3
    assert after.encoding is Encoding.GSM_7 and after.segments == 1
    assert result.body.startswith('It\'s time - your "spring sale" code is SAVE20... Reply STOP')
    assert [(r.original, r.replacement, r.count) for r in result.replacements] == [
        ("\u2019", "'", 1),
        ("\u2014", "-", 1),
        ("\u201c", '"', 1),
        ("\u201d", '"', 1),
        ("\u2026", "...", 1),
        ("\u00a0", " ", 1),
    ]


def test_replacements_count_every_occurrence() -> None:
    result = smart_encoding("\u2019a\u2019b\u2019")
    assert result.body == "'a'b'"
    assert result.replacements == (Replacement("\u2019", "'", 3),)
    assert result.replacements[0].codepoint == "U+2019"


def test_a_body_with_nothing_to_replace_is_returned_unchanged() -> None:
    result = smart_encoding("Plain text, GSM-7 only: {code} 50\u20ac")
    assert result.body == "Plain text, GSM-7 only: {code} 50\u20ac"
    assert result.replacements == () and not result.changed


def test_characters_without_a_lookalike_are_kept_and_still_force_ucs2() -> None:
    new_body, replacements = smart_encoding("Gr\u00fc\u00dfe \u2014 Zo\u00eb \U0001f600")
    assert new_body == "Gr\u00fc\u00dfe - Zo\u00eb \U0001f600"
    assert [r.original for r in replacements] == ["\u2014"]
    assert count_segments(new_body).ucs2_characters == ("\u00eb", "\U0001f600")


def test_template_placeholders_survive() -> None:
    new_body, _ = smart_encoding("Hi {name}\u2019s order {order_id}")
    assert new_body == "Hi {name}'s order {order_id}"


def test_smart_encoding_rejects_a_non_string() -> None:
    with pytest.raises(TypeError, match="body must be a str"):
        smart_encoding(None)  # type: ignore[arg-type]
