"""TrackDriveProvider: configuration, connection URLs, capabilities, and keeping secrets secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import smsbridge
from smsbridge import Message
from smsbridge.errors import AuthenticationError, ConfigurationError, DeliveryUnknownError
from smsbridge.protocol import MessagingProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.registry import ConnectionURL

TO = "+16053334444"


@pytest.mark.parametrize(
    "subdomain",
    ["Acme", "acme.evil.com", "evil.com/x", "acme\n", "", "-acme", "acme-", "a@b", "acme:443",
     "ac me", "acme#", "x" * 64],
)
def test_a_bad_subdomain_is_a_configuration_error(kit: Any, subdomain: str) -> None:
    with pytest.raises(ConfigurationError, match="subdomain"):
        TrackDriveProvider(kit.PUBLIC_KEY, kit.PRIVATE_KEY, subdomain)


async def test_a_bad_subdomain_makes_no_request(kit: Any, mocked: Any) -> None:
    with pytest.raises(ConfigurationError):
        TrackDriveProvider(kit.PUBLIC_KEY, kit.PRIVATE_KEY, "evil.com?")
    assert not mocked.requests


def test_the_base_url_is_built_from_the_subdomain(kit: Any) -> None:
    td = TrackDriveProvider(kit.PUBLIC_KEY, kit.PRIVATE_KEY, "my-biz-2")
    assert td.http.base_url == "https://my-biz-2.trackdrive.com/api/v1"
    assert td.name == "trackdrive"


def test_base_url_is_used_verbatim_and_subdomain_is_then_optional(kit: Any) -> None:
    td = TrackDriveProvider(
        kit.PUBLIC_KEY, kit.PRIVATE_KEY, base_url="http://127.0.0.1:8080/trackdrive/api/v1"
    )
    assert td.http.url_for("/text_messages") == (
        "http://127.0.0.1:8080/trackdrive/api/v1/text_messages"
    )


@pytest.mark.parametrize(
    ("public", "private", "subdomain", "base_url"),
    [
        ("pub", "priv", None, None),  # neither subdomain nor base_url
        ("", "priv", "acme", None),
        ("pub", "", "acme", None),
        ("pub:x", "priv", "acme", None),
        ("pub", "priv\r\nX-Evil: 1", "acme", None),
        ("pub", "priv", None, "ftp://example.com"),
    ],
)
def test_bad_credentials_or_urls_are_configuration_errors(
    public: str, private: str, subdomain: str | None, base_url: str | None
) -> None:
    with pytest.raises(ConfigurationError):
        TrackDriveProvider(public, private, subdomain, base_url=base_url)


def test_capabilities_say_what_trackdrive_can_do(kit: Any) -> None:
    td = TrackDriveProvider(kit.PUBLIC_KEY, kit.PRIVATE_KEY, "acme")
    caps = td.capabilities
    assert not caps.native_multi_recipient and not caps.attachments
    assert caps.rate_limit is None and td.rate_limiter is None
    assert caps.delivery_webhooks and caps.calls and not caps.idempotent_send
    assert isinstance(td, MessagingProvider)


def test_from_url_reads_keys_subdomain_and_parameters(kit: Any) -> None:
    url = ConnectionURL.parse(
        f"trackdrive://{kit.PUBLIC_KEY}:{kit.PRIVATE_KEY}@sandbox"
        "?base_url=http://127.0.0.1:9/trackdrive/api/v1&default_region=gb"
    )
    td = TrackDriveProvider.from_url(url)
    assert td.http.base_url == "http://127.0.0.1:9/trackdrive/api/v1"
    assert td.subdomain == "sandbox" and td.default_region == "GB"


def test_connect_builds_a_trackdrive_provider_from_a_connection_url(kit: Any) -> None:
    td = smsbridge.connect(f"trackdrive://{kit.PUBLIC_KEY}:{kit.PRIVATE_KEY}@acme")
    assert isinstance(td, TrackDriveProvider)
    assert td.http.base_url == kit.BASE


@pytest.mark.parametrize(
    "url", ["trackdrive://onlyone@acme", "trackdrive://a:b@acme?baseurl=http://x",
            "trackdrive://a:b@evil.com"]
)
def test_a_bad_connection_url_is_a_configuration_error_without_secrets(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        smsbridge.connect(url)
    assert "onlyone" not in str(info.value)


async def test_default_region_lets_national_numbers_through(kit: Any, mocked: Any) -> None:
    async with TrackDriveProvider(
        kit.PUBLIC_KEY, kit.PRIVATE_KEY, "acme", default_region="GB"
    ) as td:
        mocked.post(kit.any_query(f"{kit.BASE}/text_messages"),
                    payload=kit.envelope("text_message", {"id": 1}))
        await td.text_messages.create("Hi", to="07911 123456")
    sent = kit.query_sent(mocked, "POST", f"{kit.BASE}/text_messages")
    assert sent["to"] == "+447911123456"


async def test_no_secret_or_full_number_reaches_logs_reprs_or_errors(
    kit: Any, mocked: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="smsbridge")
    url = kit.any_query(f"{kit.BASE}/text_messages")
    secrets = [kit.PUBLIC_KEY, kit.PRIVATE_KEY, kit.BASIC.split()[1]]
    mocked.post(url, payload=kit.envelope("text_message", {"id": 1, "to": TO, "status": "queued"}))
    mocked.post(url, status=401,
                payload={"status": 401, "errors": {"base": ["Invalid API credentials"]}})
    mocked.post(url, status=500)
    errors: list[BaseException] = []
    async with TrackDriveProvider(
        kit.PUBLIC_KEY, kit.PRIVATE_KEY, "acme", retry=kit.FAST_RETRY
    ) as td:
        receipt = await td.send(Message(to=TO, body="Hi"))
        for expected in (AuthenticationError, DeliveryUnknownError):
            with pytest.raises(expected) as info:
                await td.send(Message(to=TO, body="Hi"))
            errors.append(info.value)
        shown = [repr(td), repr(td.http), repr(td.schedules), repr(td.text_messages),
                 repr(receipt), caplog.text]
    shown += [text for error in errors for text in (str(error), repr(error))]
    assert caplog.records, "the pipeline should have logged the requests at DEBUG"
    for text in shown:
        for secret in secrets:
            assert secret not in text
    assert TO not in caplog.text
