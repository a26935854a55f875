"""prepare_body: smart encoding first, then the count, then the segment limit."""

from __future__ import annotations

import pytest

from smsbridge.compliance.body import prepare_body
from smsbridge.compliance.errors import TooManySegments
from smsbridge.compliance.lookalikes import Replacement
from smsbridge.compliance.segments import Encoding

# 150 characters plus one curly apostrophe: UCS-2 (3 segments) as written, GSM-7 (1) when fixed.
PASTED = "It\u2019s " + "x" * 146


def test_without_options_the_body_is_counted_and_left_alone() -> None:
    prepared = prepare_body(PASTED)
    assert prepared.body == PASTED and prepared.replacements == ()
    assert prepared.count.encoding is Encoding.UCS_2 and prepared.count.segments == 3


def test_smart_encoding_is_applied_before_the_limit_so_a_fixed_body_passes() -> None:
    prepared = prepare_body(PASTED, max_segments=1, smart_encoding=True)
    assert prepared.body == "It's " + "x" * 146
    assert prepared.count.encoding is Encoding.GSM_7 and prepared.count.segments == 1
    assert prepared.replacements == (Replacement("\u2019", "'", 1),)


def test_a_body_over_the_limit_is_refused_with_its_count() -> None:
    with pytest.raises(TooManySegments) as info:
        prepare_body(PASTED, max_segments=2)
    assert (info.value.segments, info.value.limit) == (3, 2)


def test_prepared_body_repr_leaves_the_text_out() -> None:
    assert "xxxx" not in repr(prepare_body(PASTED))
