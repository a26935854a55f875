"""Secrets and phone numbers never leak (logs, reprs, errors); connection URLs are redacted."""

from __future__ import annotations

import logging

import pytest

import smsbridge
from smsbridge import (
    Attachment,
    ConfigurationError,
    ConnectionURL,
    DeliveryUnknownError,
    Message,
    UnprocessableError,
)
from smsbridge.providers.textus import TextUsProvider

FULL = "+13035551234"
DIGITS = "3035551234"


async def test_debug_logs_of_a_failing_send_show_neither_token_nor_full_number(
    api, textus, caplog
):
    caplog.set_level(logging.DEBUG, logger="smsbridge")
    api.add("POST", "/acct/messages", status=422, payload={
        "@type": "hydra:Error", "hydra:title": "Unprocessable Entity",
        "hydra:description": f"{FULL} is not a mobile number", "errors": {"to": [FULL]},
    })
    api.add("POST", "/acct/messages", status=500, body=f"<html><title>boom {FULL}</title>")
    api.add("GET", "/acct/conversations/%2B13035551234", status=503, repeat=True)

    errors: list[Exception] = []
    for attempt in (textus.send(Message(to=FULL, body="hi")),
                    textus.send(Message(to=FULL, body="hi",
                                        attachments=[Attachment("https://x.example/a.png",
                                                                "image/png")])),
                    textus.conversations.get(FULL)):
        with pytest.raises(smsbridge.SmsBridgeError) as caught:
            await attempt
        errors.append(caught.value)

    assert isinstance(errors[0], UnprocessableError)
    assert isinstance(errors[1], DeliveryUnknownError)
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "POST /acct/messages -> 422" in logged  # the logs are useful...
    assert "retrying" in logged
    for secret in (api.TOKEN, DIGITS, "Bearer"):  # ...and hold no secret, no full number
        assert secret not in logged
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
            cause = getattr(error, "cause", None)
            assert cause is None or secret not in str(cause)


def test_provider_and_pipeline_reprs_hold_no_token(textus):
    for text in (repr(textus), str(textus), repr(textus.http), repr(textus.messages.__dict__)):
        assert "tu_live" not in text
    assert repr(textus) == "TextUsProvider(account='acct', base_url='https://api.test/textus')"


async def test_connect_builds_a_textus_provider_from_a_url():
    provider = smsbridge.connect("textus://tu_live_SECRET@acct?base_url=http://127.0.0.1:9/textus")
    async with provider:
        assert isinstance(provider, TextUsProvider)
        assert provider.account == "acct"
        assert provider.http.base_url == "http://127.0.0.1:9/textus"
        assert "SECRET" not in repr(provider)


async def test_connect_reads_region_and_verification_options_and_overrides(monkeypatch):
    monkeypatch.setenv("SMSBRIDGE_URL",
                       "textus://tok@acct?region=ca&verify_attachment_size=true")
    provider = smsbridge.connect(rate_limiter=None)
    async with provider:
        assert isinstance(provider, TextUsProvider)
        assert provider.messages.verify_attachment_size is True
        assert provider.rate_limiter is None
        assert provider.http.base_url == "https://next.textus.com"


def test_connection_url_redacts_the_token():
    url = ConnectionURL.parse("textus://tu_live_SECRET@acct?base_url=http://h/textus")
    assert "SECRET" not in str(url) and "SECRET" not in repr(url)
    assert str(url) == "textus://***@acct?base_url=http://h/textus"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("textus://acct", "no token"),
        ("textus://tok@acct?baseurl=http://x", "baseurl"),
        ("textus://tok@bad%20slug", "account slug"),
    ],
)
def test_bad_connection_urls_are_configuration_errors_without_secrets(url, match):
    with pytest.raises(ConfigurationError, match=match) as caught:
        smsbridge.connect(url)
    assert "tok@" not in str(caught.value)
