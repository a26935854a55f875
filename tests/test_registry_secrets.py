"""Connection URLs whose secrets hold URL delimiters: accepted whole, or refused without a trace."""

from __future__ import annotations

import re

import pytest

import smsbridge
from smsbridge import ConfigurationError
from smsbridge.registry import ConnectionURL

# Pieces a URL parser may cut a secret into; none of them may surface in a message.
_DELIMITERS = re.compile(r"[/?#@:\[\]%]+")


def fragments(secret: str) -> list[str]:
    return [piece for piece in _DELIMITERS.split(secret) if len(piece) >= 3] + [secret]


def assert_no_fragment(text: str, *secrets: str) -> None:
    for secret in secrets:
        for piece in fragments(secret):
            assert piece not in text, f"{piece!r} of a secret leaked into: {text}"


TOKENS_WITH_DELIMITERS = [
    "Abc123/SECRET",
    "Abc123?SECRET",
    "Abc123#SECRET",
    "Abc@123@SECRET",
    "Abc[123]SECRET",
    "Abc/12?3#SE@CR[ET]x",
    "Tökén€/秘密トークン",
]


@pytest.mark.parametrize("token", TOKENS_WITH_DELIMITERS)
def test_a_textus_token_with_url_delimiters_is_taken_whole(token: str) -> None:
    url = ConnectionURL.parse(f"textus://{token}@acct?region=US")
    assert (url.username, url.password, url.host) == (token, None, "acct")
    assert url.params == {"region": "US"}
    assert_no_fragment(repr(url) + str(url), token)


@pytest.mark.parametrize(
    ("public", "private"),
    [("PUB/key", "PRIV?key"), ("PUB#key", "PRIV@key"), ("PUB[key", "PRIV]/#?@key")],
)
def test_both_trackdrive_keys_with_url_delimiters_are_taken_whole(
    public: str, private: str
) -> None:
    url = ConnectionURL.parse(f"trackdrive://{public}:{private}@acme")
    assert (url.username, url.password, url.host) == (public, private, "acme")
    assert_no_fragment(repr(url) + str(url), public, private)


def test_documented_percent_encoding_is_decoded_in_the_secret() -> None:
    url = ConnectionURL.parse("trackdrive://PUB%3Akey%2F%25:PRIV%40%23%3F%5B%E2%82%AC@acme")
    assert (url.username, url.password) == ("PUB:key/%", "PRIV@#?[€")


def test_connect_builds_a_textus_provider_from_a_token_holding_a_slash() -> None:
    provider = smsbridge.connect("textus://Abc123/SECRET@acct")
    assert isinstance(provider, smsbridge.TextUsProvider)
    assert provider.account == "acct"
    assert_no_fragment(repr(provider), "Abc123/SECRET")


@pytest.mark.parametrize(
    ("url", "secrets", "expected"),
    [
        ("textus://Abc123/SECRET", ["Abc123/SECRET"], "could not be read"),
        ("textus://Abc123[SECRET", ["Abc123[SECRET"], "could not be read"),
        ("textus://Abc123/SECRET@ac/ct", ["Abc123/SECRET"], "could not be read"),
        ("trackdrive://PUBkey/x:PRIVkey?y@acme/path", ["PUBkey/x", "PRIVkey?y"],
         "could not be read"),
        ("textus://Abc%zzSECRET@acct", ["Abc%zzSECRET"], "%25"),
        ("textus://Abc%FFSECRET@acct", ["Abc%FFSECRET"], "UTF-8"),
        ("textus://ABCSECRETTOKEN", ["ABCSECRETTOKEN"], "no token"),
        ("trackdrive://PUBLICKEY@acme", ["PUBLICKEY"], "both keys"),
        ("trackdrive://PUBLICKEYONLY", ["PUBLICKEYONLY"], "both keys"),
    ],
)
def test_an_unusable_url_is_refused_with_a_message_showing_no_part_of_the_secret(
    url: str, secrets: list[str], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        smsbridge.connect(url)
    message = str(caught.value)
    assert expected in message
    assert_no_fragment(message + repr(caught.value), *secrets)


def test_redacted_url_hides_userinfo_inside_a_base_url_parameter() -> None:
    # An '@' in the query is written %40: a raw one would end the secret there.
    url = ConnectionURL.parse("textus://TOKEN@acct?base_url=http://user:PASSWORD%40127.0.0.1:9")
    assert url.params["base_url"] == "http://user:PASSWORD@127.0.0.1:9"
    assert "PASSWORD" not in url.redacted()
    assert "127.0.0.1:9" in url.redacted()
