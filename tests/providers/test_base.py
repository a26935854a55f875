"""What every built-in provider shares: a repr without secrets, base_url userinfo included."""

from __future__ import annotations

import pytest

from smsbridge import ConfigurationError, TextUsProvider, TrackDriveProvider
from smsbridge.providers._base import BaseProvider

BASE_WITH_USERINFO = "http://sandbox-user:SANDBOXPASS@127.0.0.1:9/api"


def providers() -> list[BaseProvider]:
    return [
        TextUsProvider("tu_live_TOKEN123", "acct", base_url=BASE_WITH_USERINFO),
        TrackDriveProvider("PUBKEY123", "PRIVKEY456", base_url=BASE_WITH_USERINFO),
    ]


async def test_a_provider_repr_never_shows_userinfo_from_its_base_url() -> None:
    for provider in providers():
        async with provider:
            for text in (repr(provider), str(provider), repr(provider.http)):
                for secret in ("sandbox-user", "SANDBOXPASS", "TOKEN123", "PUBKEY", "PRIVKEY"):
                    assert secret not in text, text
                assert "***@127.0.0.1:9/api" in text, text


def test_a_bad_base_url_is_refused_without_showing_its_userinfo() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://") as caught:
        TextUsProvider("tu_live_TOKEN123", "acct", base_url="ftp://user:FTPPASS@host/x")
    assert "FTPPASS" not in str(caught.value)
