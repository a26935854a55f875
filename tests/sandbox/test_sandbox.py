"""The Sandbox object itself: lifecycle, addresses, credentials, records, configuration."""

from __future__ import annotations

from typing import Any

import pytest

from smsbridge.errors import ConfigurationError
from smsbridge.registry import ConnectionURL
from smsbridge.sandbox import Sandbox, SandboxRecord


async def test_addresses_and_credentials_follow_the_contract() -> None:
    sandbox = Sandbox()
    with pytest.raises(ConfigurationError):
        _ = sandbox.port
    await sandbox.start()
    try:
        port = sandbox.port
        assert port > 0 and sandbox.running
        assert sandbox.textus_url == f"http://127.0.0.1:{port}/textus"
        assert sandbox.trackdrive_url == f"http://127.0.0.1:{port}/trackdrive/api/v1"
        assert (sandbox.textus_token, sandbox.textus_account) == ("sandbox-textus-token",
                                                                  "sandbox")
        assert (sandbox.trackdrive_public_key, sandbox.trackdrive_private_key,
                sandbox.trackdrive_subdomain) == ("tdpub_sandbox", "tdprv_sandbox", "sandbox")
        textus = ConnectionURL.parse(sandbox.textus_connection_url)
        assert (textus.scheme, textus.username, textus.host) == ("textus",
                                                                 "sandbox-textus-token",
                                                                 "sandbox")
        assert textus.params == {"base_url": sandbox.textus_url}
        td = ConnectionURL.parse(sandbox.trackdrive_connection_url)
        assert (td.scheme, td.username, td.password, td.host) == (
            "trackdrive", "tdpub_sandbox", "tdprv_sandbox", "sandbox")
        assert td.params == {"base_url": sandbox.trackdrive_url}
        assert await sandbox.start() is sandbox  # starting twice is harmless
        assert "token" not in repr(sandbox) and "tdprv" not in repr(sandbox)
    finally:
        await sandbox.stop()
        await sandbox.stop()
    assert not sandbox.running


async def test_index_names_both_apis(sb: Sandbox, session: Any) -> None:
    async with session.get(sb.base_url + "/") as resp:
        assert resp.status == 200
        assert await resp.json() == {"sandbox": "smsbridge", "textus": sb.textus_url,
                                     "trackdrive": sb.trackdrive_url}


async def test_same_seed_same_ids(clients: Any) -> None:
    async def first_id(seed: int) -> str:
        async with Sandbox(seed=seed) as sandbox:
            textus, _ = clients(sandbox)
            reply = await textus("POST", "/sandbox/messages",
                                 json_body={"to": "+13035551234", "body": "x"})
            return str(reply.data["id"])

    assert await first_id(9) == await first_id(9)
    assert await first_id(9) != await first_id(10)


async def test_records_are_small_slotted_and_mask_numbers_in_repr(
    sb: Sandbox, textus: Any
) -> None:
    await textus("POST", "/sandbox/messages", json_body={"to": "+13035551234", "body": "Hi"})
    [record] = sb.records
    assert isinstance(record, SandboxRecord) and not hasattr(record, "__dict__")
    assert "+13035551234" not in repr(record) and "+1303*****34" in repr(record)
    assert "Hi" not in repr(record)
    assert record.accepted_at > 1.6e9
    with pytest.raises(ConfigurationError):
        sb.accepted_numbers("twilio")


def test_seed_data_is_exposed() -> None:
    sandbox = Sandbox()
    seed = sandbox.trackdrive.seed
    assert sandbox.trackdrive.schedules[seed.paused_schedule_id]["paused"] is True
    assert sandbox.trackdrive.find_lead(seed.lead_uuid)["id"] == seed.lead_id
    assert seed.dnc_number in sandbox.dnc_numbers


@pytest.mark.parametrize("kwargs", [
    {"delivery_failure_ratio": 1.5}, {"delivery_delay": -1}, {"trackdrive_cps_limit": 0},
    {"port": 70000}, {"page_size": 0},
])
def test_bad_configuration_is_a_clear_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Sandbox(**kwargs)
