"""Credentials are checked when a provider is built: a typed error, before any request."""

from __future__ import annotations

from typing import Any

import pytest

import smsbridge
from smsbridge import ConfigurationError, TextUsProvider, TrackDriveProvider

GOOD = "tu_live_Abc123def456"
BAD_TOKENS = [
    pytest.param("tu_live\x00Abc123", "control", id="NUL"),
    pytest.param("tu_live\x0bAbc123", "whitespace", id="VT"),
    pytest.param("tu_live\x7fAbc123", "control", id="DEL"),
    pytest.param("tu_live\u200bAbc123", "control", id="zero-width-space"),
    pytest.param("tu_live Abc123", "whitespace", id="inner-space"),
    pytest.param("tu_live_Abc123\n", "whitespace", id="trailing-newline"),
    pytest.param("\ttu_live_Abc123", "whitespace", id="leading-tab"),
    pytest.param("", "empty", id="empty"),
]


def assert_secret_free(error: BaseException, secret: str) -> None:
    for piece in ("tu_live", "Abc123", *([secret] if secret else [])):
        assert piece not in str(error) and piece not in repr(error)


@pytest.mark.parametrize(("token", "problem"), BAD_TOKENS)
def test_a_textus_token_with_control_characters_or_whitespace_is_refused_at_construction(
    token: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        TextUsProvider(token, "acct", base_url="http://127.0.0.1:9")
    assert "TextUs API token" in str(caught.value)
    assert_secret_free(caught.value, token)


@pytest.mark.parametrize("which", ["public_key", "private_key"])
@pytest.mark.parametrize(("key", "problem"), BAD_TOKENS)
def test_a_trackdrive_key_with_control_characters_or_whitespace_is_refused_at_construction(
    which: str, key: str, problem: str
) -> None:
    keys = {"public_key": GOOD, "private_key": GOOD, which: key}
    with pytest.raises(ConfigurationError, match=problem) as caught:
        TrackDriveProvider(keys["public_key"], keys["private_key"], "acme")
    assert which in str(caught.value)
    assert_secret_free(caught.value, key)


@pytest.mark.parametrize("value", [123, b"tu_live_Abc123", ["tu_live_Abc123"]])  # None: from env
def test_a_credential_that_is_not_a_string_is_a_configuration_error(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        TextUsProvider(value, "acct")
    with pytest.raises(ConfigurationError, match="must be a string"):
        TrackDriveProvider(GOOD, value, "acme")


@pytest.mark.parametrize(
    "url",
    ["textus://tu_live%00Abc123@acct", "textus://tu_live%0BAbc123@acct",
     "trackdrive://tu_live_pub:tu_live%7FAbc123@acme"],
)
def test_a_control_character_percent_encoded_in_a_connection_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"control|whitespace") as caught:
        smsbridge.connect(url)
    assert_secret_free(caught.value, "tu_live")


async def test_a_clean_token_still_builds_a_provider() -> None:
    async with TextUsProvider(GOOD, "acct", base_url="http://127.0.0.1:9") as provider:
        assert GOOD not in repr(provider)


async def test_providers_read_their_credentials_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from smsbridge import Message
    from smsbridge.providers.textus import TextUsProvider
    from smsbridge.providers.trackdrive import TrackDriveProvider
    from smsbridge.sandbox import Sandbox

    async with Sandbox(seed=1) as sb:
        monkeypatch.setenv("TEXTUS_TOKEN", sb.textus_token)
        monkeypatch.setenv("TEXTUS_ACCOUNT", sb.textus_account)
        monkeypatch.setenv("TRACKDRIVE_PUBLIC_KEY", sb.trackdrive_public_key)
        monkeypatch.setenv("TRACKDRIVE_PRIVATE_KEY", sb.trackdrive_private_key)
        async with TextUsProvider(base_url=sb.textus_url) as textus, \
                TrackDriveProvider(base_url=sb.trackdrive_url) as td:
            assert textus.account == sb.textus_account
            await textus.send(Message(to="+13035551234", body="Hi"))
            await td.send(Message(to="+13035551235", body="Hi"))
        assert sb.accepted_numbers("textus") == ["+13035551234"]
        assert sb.accepted_numbers("trackdrive") == ["+13035551235"]


def test_an_argument_wins_over_the_environment_and_the_subdomain_is_read_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from smsbridge.providers.textus import TextUsProvider
    from smsbridge.providers.trackdrive import TrackDriveProvider

    monkeypatch.setenv("TEXTUS_ACCOUNT", "from_env")
    assert TextUsProvider("tok", "given").account == "given"
    monkeypatch.setenv("TRACKDRIVE_SUBDOMAIN", "acme")
    td = TrackDriveProvider("pub", "priv")
    assert "acme.trackdrive.com" in repr(td)


@pytest.mark.parametrize(("build", "variable"), [
    ("textus", "TEXTUS_TOKEN"),
    ("trackdrive_public", "TRACKDRIVE_PUBLIC_KEY"),
    ("trackdrive_private", "TRACKDRIVE_PRIVATE_KEY"),
])
def test_a_credential_missing_everywhere_names_its_environment_variable(
        monkeypatch: pytest.MonkeyPatch, build: str, variable: str) -> None:
    from smsbridge.errors import ConfigurationError
    from smsbridge.providers.textus import TextUsProvider
    from smsbridge.providers.trackdrive import TrackDriveProvider

    for name in ("TEXTUS_TOKEN", "TRACKDRIVE_PUBLIC_KEY", "TRACKDRIVE_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match=variable):
        if build == "textus":
            TextUsProvider()
        elif build == "trackdrive_public":
            TrackDriveProvider(private_key="priv", subdomain="acme")
        else:
            TrackDriveProvider(public_key="pub", subdomain="acme")
