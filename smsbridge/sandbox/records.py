"""What the sandbox accepted: one small record per accepted request (per message for sends).

Tests and the reliability runs read these to prove there was no loss and no duplicate, so a
record is written at the moment the emulated provider *stores* something — even when a fault
then hides the answer from the client (``error_5xx_after``, ``reset_after_store``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import ConfigurationError
from ..phone import mask

# Routes whose records each stand for one text that reached a person (or will).
MESSAGE_ROUTES = frozenset(
    {"textus.send", "textus.schedule", "textus.retry", "trackdrive.text_messages"}
)
PROVIDERS = ("textus", "trackdrive")


def _mask_repr(value: str | None) -> str:
    return repr(mask(value)) if value else repr(value)


@attrs.frozen(slots=True)
class SandboxRecord:
    """One accepted request. For a multi-recipient TextUs send there is one record per number.

    ``message_id`` is what the sandbox assigned: the TextUs message IRI (``/messages/<slug>``),
    the TrackDrive text message ``id`` or call ``id`` (as a string), or the id of the created or
    updated resource for other routes. ``accepted_at`` is unix epoch seconds.
    """

    provider: str
    route: str
    method: str
    path: str
    body: Mapping[str, Any] = attrs.field(repr=False)
    to: str | None = attrs.field(repr=_mask_repr)
    message_id: str | None
    accepted_at: float


class Recorder:
    """The append-only list behind ``Sandbox.records``."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[SandboxRecord] = []

    def add(
        self,
        provider: str,
        route: str,
        method: str,
        path: str,
        body: Mapping[str, Any],
        to: str | None,
        message_id: str | None,
        accepted_at: float,
    ) -> None:
        self.records.append(
            SandboxRecord(provider, route, method, path, body, to, message_id, accepted_at)
        )

    def accepted_numbers(
        self, provider: str | None = None, *, route: str | None = None
    ) -> list[str]:
        """Every number a text was accepted for, once per accepted message (duplicates stay).

        By default only message routes count (sends, scheduled sends, TextUs retries); pass
        ``route="trackdrive.make_call"`` (or any route name) to list the numbers of that route.
        """
        if provider is not None and provider not in PROVIDERS:
            raise ConfigurationError(
                f"provider must be one of {PROVIDERS} or None (got {provider!r})"
            )
        return [
            record.to
            for record in self.records
            if record.to is not None
            and (provider is None or record.provider == provider)
            and (record.route == route if route is not None else record.route in MESSAGE_ROUTES)
        ]
