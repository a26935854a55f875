"""Secrets with URL delimiters through the real CLI: one clean line, no traceback, no fragment."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import SUBPROCESS_TIMEOUT, cli_env

_DELIMITERS = re.compile(r"[/?#@:\[\]%]+")
SEND = ["send", "--to", "+13035551234", "--body", "hi"]


def smsbridge(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = cli_env() if url is None else cli_env(SMSBRIDGE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "smsbridge.cli", *args],
        capture_output=True, text=True, env=env, timeout=SUBPROCESS_TIMEOUT, check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], *secrets: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    assert "Traceback" not in output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smsbridge: error: "), output
    for secret in secrets:
        for piece in [p for p in _DELIMITERS.split(secret) if len(p) >= 3] + [secret]:
            assert piece not in output, f"{piece!r} of a secret leaked: {output}"
    return lines[0]


# Unparseable as given (each needs a clean refusal); the secrets are what a user meant.
BAD_URLS = [
    ("textus://Abc123/SECRETTOKEN", ["Abc123/SECRETTOKEN"]),
    ("textus://Abc123[SECRET]TOKEN", ["Abc123[SECRET]TOKEN"]),
    ("textus://Abc123?SECRETTOKEN", ["Abc123?SECRETTOKEN"]),
    ("textus://Abc123%zzSECRET@acct", ["Abc123%zzSECRET"]),
    ("textus://PLAINSECRETTOKEN", ["PLAINSECRETTOKEN"]),
    ("trackdrive://PUBkey/one:PRIVkey#two@acme/x", ["PUBkey/one", "PRIVkey#two"]),
    ("trackdrive://PUBkey/one?PRIVkey#two", ["PUBkey/one?PRIVkey#two"]),
    ("trackdrive://PÜBkéy/one:PRÏVkey[秘密]@acme", ["PÜBkéy/one", "PRÏVkey[秘密]"]),
]


@pytest.mark.parametrize(("url", "secrets"), BAD_URLS)
def test_a_malformed_url_in_the_environment_fails_in_one_line_without_any_secret_fragment(
    url: str, secrets: list[str]
) -> None:
    assert_clean_failure(smsbridge(*SEND, url=url), *secrets)


@pytest.mark.parametrize(("url", "secrets"), BAD_URLS)
def test_a_malformed_url_option_fails_in_one_line_without_any_secret_fragment(
    url: str, secrets: list[str]
) -> None:
    assert_clean_failure(smsbridge("send", "--url", url, *SEND[1:]), *secrets)
    assert_clean_failure(smsbridge("send", f"--url={url}", *SEND[1:]), *secrets)


@pytest.mark.parametrize(
    "url",
    ["textus://Abc123/SECRET?TOK#EN@127.0.0.1?base_url=http://127.0.0.1:9",
     "trackdrive://PUB/key?one:PRIV#key@two@acme?base_url=http://127.0.0.1:9"],
)
def test_a_url_whose_secret_holds_delimiters_is_accepted_and_never_echoed(url: str) -> None:
    # Accepted: the failure is the unreachable base_url (port 9), after the URL was read.
    secrets = url.partition("://")[2].rpartition("@")[0].split(":")
    line = assert_clean_failure(smsbridge(*SEND, url=url), *secrets)
    assert "could not connect" in line


@pytest.mark.parametrize(
    "args",
    [
        ["send", "--to", "[+1303", "--body", "hi"],
        ["send", "--url", "textus://[", "--to", "+13035551234", "--body", "hi"],
        ["send", "--url", "textus://x@[acct]", "--to", "+13035551234", "--body", "hi"],
        ["bulk", "[people.csv", "--body", "hi {name"],
        ["call", "--lead-id", "[1]"],
        ["[", "--url", "http://[::1"],
    ],
)
def test_a_bracket_in_an_argument_never_produces_a_traceback(args: list[str]) -> None:
    result = smsbridge(*args, url="textus://TOKEN@acct?base_url=http://127.0.0.1:9")
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode in (1, 2)
    assert result.stderr.strip().splitlines()[-1].startswith("smsbridge: error: "), output
