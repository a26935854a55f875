"""Connection URLs, the provider registry, entry-point discovery and redaction."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from smsbridge import ConfigurationError, registry
from smsbridge.registry import ConnectionURL


class FakeProvider:
    def __init__(self, url: ConnectionURL, **overrides: Any) -> None:
        self.url = url
        self.overrides = overrides

    @classmethod
    def from_url(cls, url: ConnectionURL, **overrides: Any) -> FakeProvider:
        return cls(url, **overrides)


class FakeEntryPoint:
    def __init__(self, name: str, target: Any = None, error: Exception | None = None) -> None:
        self.name = name
        self._target = target
        self._error = error
        self.loaded = False

    def load(self) -> Any:
        self.loaded = True
        if self._error is not None:
            raise self._error
        return self._target


@pytest.fixture
def clean_registry(monkeypatch):
    """An empty registry whose entry points are the ones a test provides."""
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    found: list[FakeEntryPoint] = []
    monkeypatch.setattr(registry, "entry_points", lambda group: list(found)
                        if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.delenv(registry.ENV_VAR, raising=False)
    return found


def test_parse_splits_secrets_host_and_params():
    url = ConnectionURL.parse("TrackDrive://pub%2Fkey:priv:with:colons@acme?base_url=http://h/x&a=1")
    assert url.scheme == "trackdrive"
    assert url.username == "pub/key"
    assert url.password == "priv:with:colons"
    assert url.host == "acme"
    assert url.params == {"base_url": "http://h/x", "a": "1"}


def test_parse_without_credentials_or_with_a_token_only():
    assert ConnectionURL.parse("textus://acct").username is None
    token_only = ConnectionURL.parse("textus://tok@acct")
    assert (token_only.username, token_only.password, token_only.host) == ("tok", None, "acct")


def test_parse_rejects_a_string_that_is_not_a_url():
    with pytest.raises(ConfigurationError, match="textus://TOKEN@ACCOUNT"):
        ConnectionURL.parse("just-a-token")


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("textus://SECRET@acct", "textus://***@acct"),
        ("trackdrive://PUB:PRIV@acme?base_url=http://h", "trackdrive://***:***@acme?base_url=http://h"),
        ("textus://acct", "textus://acct"),
    ],
)
def test_redaction_hides_every_secret(url, redacted):
    parsed = ConnectionURL.parse(url)
    assert parsed.redacted() == redacted == str(parsed)
    for secret in ("SECRET", "PUB", "PRIV"):
        assert secret not in repr(parsed)


def test_connect_uses_the_registered_factory_with_overrides(clean_registry):
    registry.register_provider("Fake", FakeProvider.from_url)
    provider = registry.connect("fake://tok@acct?x=1", timeout=3)
    assert isinstance(provider, FakeProvider)
    assert provider.url.host == "acct" and provider.url.params == {"x": "1"}
    assert provider.overrides == {"timeout": 3}


def test_connect_falls_back_to_the_environment(clean_registry, monkeypatch):
    registry.register_provider("fake", FakeProvider)
    monkeypatch.setenv(registry.ENV_VAR, "fake://tok@from-env")
    assert registry.connect().url.host == "from-env"


def test_connect_without_a_url_or_environment_explains_both(clean_registry):
    with pytest.raises(ConfigurationError, match="SMSBRIDGE_URL"):
        registry.connect()


def test_unknown_scheme_lists_the_known_ones_without_the_secret(clean_registry):
    registry.register_provider("fake", FakeProvider)
    with pytest.raises(ConfigurationError, match=r"'nope'.*fake") as caught:
        registry.connect("nope://SECRET@x")
    assert "SECRET" not in str(caught.value)


def test_entry_points_are_discovered_once_and_a_broken_plugin_is_skipped(
    clean_registry, caplog
):
    good = FakeEntryPoint("good", FakeProvider)
    broken = FakeEntryPoint("broken", error=ImportError("missing dep"))
    clean_registry.extend([good, broken])
    caplog.set_level(logging.WARNING, logger="smsbridge")

    assert registry.registered_schemes() == ["good"]
    provider = registry.connect("good://tok@acct")

    assert isinstance(provider, FakeProvider)  # the class's from_url was used
    assert "could not load smsbridge provider 'broken'" in caplog.text
    good.loaded = False
    registry.connect("good://tok@acct")
    assert good.loaded is False  # discovery ran once


def test_an_explicit_registration_wins_over_an_entry_point(clean_registry):
    shadowed = FakeEntryPoint("fake", FakeProvider)
    clean_registry.append(shadowed)
    registry.register_provider("fake", lambda url, **kw: ("explicit", url.host))
    assert registry.connect("fake://t@h") == ("explicit", "h")
    assert shadowed.loaded is False
