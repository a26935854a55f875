"""The inbound keyword table: every word the carriers and the FCC expect, each tested."""

from __future__ import annotations

import pytest

from smsbridge.compliance.keywords import (
    KEYWORDS,
    InboundKind,
    KeywordMatch,
    classify_inbound,
    match_keyword,
)

# Written out here, not read from KEYWORDS, so a word dropped from the table fails a test.
OPT_OUT_WORDS = [
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
    "OPT OUT", "STOP ALL",
]
OPT_IN_WORDS = ["START", "UNSTOP", "YES"]
HELP_WORDS = ["HELP", "INFO"]


def variants(word: str) -> list[str]:
    """What people type: any case, padding, punctuation around the word."""
    return [
        word,
        word.lower(),
        word.title(),
        f"  {word.lower()}  ",
        f"{word}!",
        f"{word.lower()}.",
        f'"{word.title()}"',
        f"({word})",
        f"\t{word}?!\n",
        f"...{word.lower()}...",
    ]


@pytest.mark.parametrize("word", OPT_OUT_WORDS)
def test_each_opt_out_word_is_recognised_in_every_usual_spelling(word: str) -> None:
    for text in variants(word):
        assert classify_inbound(text) is InboundKind.OPT_OUT, text
        assert match_keyword(text) == KeywordMatch(InboundKind.OPT_OUT, word)


@pytest.mark.parametrize("word", OPT_IN_WORDS)
def test_each_opt_in_word_is_recognised_in_every_usual_spelling(word: str) -> None:
    for text in variants(word):
        assert classify_inbound(text) is InboundKind.OPT_IN, text
        assert match_keyword(text) == KeywordMatch(InboundKind.OPT_IN, word)


@pytest.mark.parametrize("word", HELP_WORDS)
def test_help_and_info_are_their_own_kind(word: str) -> None:
    for text in variants(word):
        assert classify_inbound(text) is InboundKind.HELP, text


def test_the_table_holds_exactly_the_documented_words() -> None:
    assert set(KEYWORDS) == {*OPT_OUT_WORDS, *OPT_IN_WORDS, *HELP_WORDS}


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("opt   out", "OPT OUT"),
        ("Opt-Out", "OPT OUT"),
        ("opt_out", "OPT OUT"),
        ("Opt\u2013out", "OPT OUT"),
        ("stop  all", "STOP ALL"),
        ("Stop-All!", "STOP ALL"),
        ("\uff33\uff34\uff2f\uff30", "STOP"),  # full-width letters from some keyboards
        ("STOP \U0001f6d1", "STOP"),
        ("\u00a0Revoke\u00a0", "REVOKE"),
    ],
)
def test_spacing_hyphens_and_width_variants_match_the_canonical_phrase(
    text: str, keyword: str
) -> None:
    match = match_keyword(text)
    assert match is not None and match.keyword == keyword


@pytest.mark.parametrize(
    "text",
    [
        "please stop texting me",
        "Don't stop",
        "STOP STOP",
        "stopping",
        "unstoppable",
        "end of story",
        "yes please",
        "opt out of what?",
        "OPT",
        "stop.all",
        "",
        "   ",
        "!!!",
        "x" * 500,
        None,
    ],
)
def test_messages_that_only_contain_a_keyword_are_other(text: str | None) -> None:
    assert classify_inbound(text) is InboundKind.OTHER
    assert match_keyword(text) is None
