"""A local emulator of the TextUs and TrackDrive APIs: a real ``aiohttp.web`` server on loopback.

    async with Sandbox(seed=1) as sb:
        provider = smsbridge.connect(sb.textus_connection_url)
        ...
        assert sb.accepted_numbers("textus") == ["+13035551234"]

Run it alone with ``python -m smsbridge.sandbox --port 8900``.
"""

from __future__ import annotations

from .faults import FAULT_KINDS, Fault, FaultKind, Faults
from .records import MESSAGE_ROUTES, SandboxRecord
from .server import TEXTUS_PREFIX, TRACKDRIVE_PREFIX, Sandbox
from .trackdrive_state import TrackDriveSeed

__all__ = [
    "FAULT_KINDS",
    "MESSAGE_ROUTES",
    "TEXTUS_PREFIX",
    "TRACKDRIVE_PREFIX",
    "Fault",
    "FaultKind",
    "Faults",
    "Sandbox",
    "SandboxRecord",
    "TrackDriveSeed",
]
