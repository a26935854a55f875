"""pytest fixtures for projects that send through smsbridge, loaded by the ``pytest11`` entry point.

Installing smsbridge is enough for pytest to find them::

    async def test_welcome_text(smsbridge_sandbox):
        await smsbridge_sandbox.textus.send(Message(to="+13035551234", body="Welcome"))
        assert smsbridge_sandbox.accepted_numbers("textus") == ["+13035551234"]

    def test_signup_texts_once(fake_provider):
        ...
        assert fake_provider.accepted_count("+13035551234") == 1

``smsbridge_sandbox`` is a running :class:`~smsbridge.sandbox.Sandbox` on a free loopback port with
``textus`` and ``trackdrive`` providers pointed at it; it needs ``pytest-asyncio`` (its fixture
is async). ``fake_provider`` is a :class:`~smsbridge.testing.FakeProvider` and needs nothing.
Configure either per test with a marker whose keyword arguments go to the constructor::

    @pytest.mark.smsbridge_sandbox(faults=["textus.send:error_5xx_before"], seed=3)
    @pytest.mark.fake_provider(script=["reject", None])
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest

from .providers.textus import TextUsProvider
from .providers.trackdrive import TrackDriveProvider
from .sandbox import Faults, Sandbox, SandboxRecord
from .testing import FakeProvider

__all__ = ["SandboxKit"]

SANDBOX_MARKER = "smsbridge_sandbox"
FAKE_MARKER = "fake_provider"


@attrs.frozen
class SandboxKit:
    """A running sandbox and the two providers already pointed at it."""

    sandbox: Sandbox
    textus: TextUsProvider
    trackdrive: TrackDriveProvider

    @property
    def faults(self) -> Faults:
        """The sandbox's fault switches: ``kit.faults.add(route, kind, ratio)``, ``.clear()``."""
        return self.sandbox.faults

    @property
    def records(self) -> list[SandboxRecord]:
        """Every request the sandbox received, in order."""
        return self.sandbox.records

    def accepted_numbers(self, provider: str | None = None) -> list[str]:
        """The numbers the sandbox accepted a message for (``"textus"``, ``"trackdrive"``)."""
        return self.sandbox.accepted_numbers(provider)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{SANDBOX_MARKER}(**kwargs): keyword arguments for the smsbridge Sandbox")
    config.addinivalue_line(
        "markers", f"{FAKE_MARKER}(**kwargs): keyword arguments for smsbridge's FakeProvider")


def _marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            f"@pytest.mark.{name} takes keyword arguments only (got {marker.args!r})")
    return dict(marker.kwargs)


@pytest.fixture
def fake_provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A :class:`FakeProvider` recording every accepted send; ``@pytest.mark.fake_provider(...)``
    passes its constructor arguments (``faults``, ``script``, ``latency``, ``seed``...)."""
    yield FakeProvider(**_marker_kwargs(request, FAKE_MARKER))


async def _running_kit(request: pytest.FixtureRequest) -> AsyncIterator[SandboxKit]:
    options = {"seed": 1, "delivery_delay": 0.05, **_marker_kwargs(request, SANDBOX_MARKER)}
    async with Sandbox(**options) as sandbox:
        textus = TextUsProvider(sandbox.textus_token, sandbox.textus_account,
                                base_url=sandbox.textus_url)
        trackdrive = TrackDriveProvider(
            sandbox.trackdrive_public_key, sandbox.trackdrive_private_key,
            base_url=sandbox.trackdrive_url)
        try:
            yield SandboxKit(sandbox=sandbox, textus=textus, trackdrive=trackdrive)
        finally:
            await textus.aclose()
            await trackdrive.aclose()


def _sandbox_fixture() -> Any:
    """The async fixture when pytest-asyncio is installed, else one that says how to get it."""
    try:
        import pytest_asyncio
    except ImportError:

        @pytest.fixture(name="smsbridge_sandbox")
        def needs_pytest_asyncio() -> SandboxKit:
            raise pytest.UsageError(
                "the smsbridge_sandbox fixture needs pytest-asyncio: pip install pytest-asyncio")

        return needs_pytest_asyncio

    @pytest_asyncio.fixture(name="smsbridge_sandbox")
    async def running_sandbox(request: pytest.FixtureRequest) -> AsyncIterator[SandboxKit]:
        """A running sandbox with ``textus`` and ``trackdrive`` providers pointed at it;
        ``@pytest.mark.smsbridge_sandbox(...)`` passes :class:`Sandbox` arguments."""
        async for kit in _running_kit(request):
            yield kit

    return running_sandbox


smsbridge_sandbox = _sandbox_fixture()
