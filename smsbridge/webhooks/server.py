"""The ``aiohttp.web`` webhook receiver: HTTP in, verified events out to an :class:`EventRouter`.

Status codes are chosen so providers retry what they should: 2xx once applied (or a replay),
400 for a malformed body, 401 for a bad or missing signature, 404 for an unknown path token,
413 for an oversize body (all four are final), and 500 when a handler raised (retry later).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from os import PathLike
from typing import Any

from aiohttp import web

from .. import _constants as C
from .._logging import logger
from ..errors import ConfigurationError, WebhookError, WebhookTooLargeError
from ..journal.protocol import EventLedger, SuppressionList
from ..journal.store import Journal
from ..limits.shared import redis_event_ledger, redis_suppression_list
from ..phone import mask_text
from ..registry import WebhookRoute, webhook_routes
from .core import Event, EventRouter, Handler, check_token, new_token, validate_token
from .replies import OptOutReply
from .tracking import DeliveryTracker, JournalLike

__all__ = ["WebhookReceiver"]

_OK_BODY = b'{"ok":true}'


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status, text=json.dumps({"error": message}), content_type="application/json"
    )


async def read_capped(request: web.Request, limit: int) -> bytes:
    """The request body, or :class:`WebhookTooLargeError` as soon as it exceeds ``limit``."""
    too_large = WebhookTooLargeError(f"the webhook body is larger than {limit} bytes")
    length = request.content_length
    if length is not None and length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookReceiver:
    """Receives TextUs and TrackDrive webhooks; run ``.app`` alone or mount it under a prefix.

    ``POST {prefix}/textus`` takes TextUs webhooks (signature checked against
    ``textus_secrets``); ``POST {prefix}/trackdrive/<token>`` takes TrackDrive delivery webhooks
    (``trackdrive_token`` generated when not given; use :meth:`trackdrive_webhook_url` as each
    message's ``delivery_webhook_url``). With a ``journal`` (a ``Journal`` or the path of one,
    then opened here and closed on shutdown), deliveries update the journaled
    recipients, opt-outs and STOP-style replies update its suppression list, and event ids are
    de-duplicated there; ``tracker.wait(receipt)`` awaits a message's final status.
    ``suppression`` / ``ledger`` (objects, or ``redis://`` URLs): where opt-outs and seen event
    ids go instead, shared by every receiver and dispatcher using them; a store that cannot be
    reached answers 500, so the provider redelivers (an opt-out is never dropped).
    """

    def __init__(
        self,
        *,
        on_delivery: Handler | None = None,
        on_inbound: Handler | None = None,
        on_opt_out: Handler | None = None,
        on_event: Handler | None = None,
        textus_secrets: Sequence[str] = (),
        trackdrive_token: str | None = None,
        journal: JournalLike | str | PathLike[str] | None = None,
        tracker: DeliveryTracker | None = None,
        max_body_bytes: int = C.WEBHOOK_MAX_BODY_BYTES,
        suppression: SuppressionList | str | None = None,
        ledger: EventLedger | str | None = None,
        on_help: Handler | None = None,
        opt_out_reply: OptOutReply | None = None,
    ) -> None:
        if isinstance(textus_secrets, str):
            raise ConfigurationError("textus_secrets must be a list of secrets, not one string")
        if max_body_bytes < 1:
            raise ConfigurationError("max_body_bytes must be a positive number of bytes")
        self._textus_secrets: list[str] = []
        for secret in textus_secrets:
            self.add_textus_secret(secret)
        # The secret path token of every provider that signs nothing (TrackDrive).
        self._token = validate_token(trackdrive_token) if trackdrive_token is not None \
            else new_token()
        self._secrets: dict[str, list[str]] = {"textus": self._textus_secrets}
        self.max_body_bytes = max_body_bytes
        self._owned_journal: Journal | None = None
        # redis:// URLs: every receiver and dispatcher sharing them sees one opt-out list and
        # one set of applied events. Opened here, closed on shutdown.
        self._owned_stores: list[Any] = []
        if isinstance(suppression, str):
            suppression = redis_suppression_list(suppression)
            self._owned_stores.append(suppression)
        if isinstance(ledger, str):
            ledger = redis_event_ledger(ledger)
            self._owned_stores.append(ledger)
        if isinstance(journal, str | PathLike):
            journal = self._owned_journal = Journal(journal)
        self.router = EventRouter(
            on_delivery=on_delivery,
            on_inbound=on_inbound,
            on_opt_out=on_opt_out,
            on_event=on_event,
            journal=journal,
            tracker=tracker,
            suppression=suppression,
            ledger=ledger,
            on_help=on_help,
            opt_out_reply=opt_out_reply,
        )
        self.app = web.Application(client_max_size=max_body_bytes)
        # Each provider registers its own route (path and parser): none is known here.
        self._routes = {route.provider: route for route in webhook_routes()}
        for route in self._routes.values():
            self.app.router.add_post(route.path, self._endpoint(route))
        self.app.on_cleanup.append(self._cleanup)

    def __repr__(self) -> str:  # the secrets and the path token stay out of reprs and logs
        return (
            f"WebhookReceiver(textus_secrets={len(self._textus_secrets)}, "
            f"max_body_bytes={self.max_body_bytes})"
        )

    @property
    def tracker(self) -> DeliveryTracker:
        return self.router.tracker

    @property
    def textus_path(self) -> str:
        return self._routes["textus"].path

    @property
    def trackdrive_token(self) -> str:
        return self._token

    @property
    def trackdrive_path(self) -> str:
        """Contains the secret token: do not log it (aiohttp's access log would)."""
        return self._routes["trackdrive"].path.format(token=self._token)

    def add_textus_secret(self, secret: str) -> None:
        """Accept another TextUs ``webhookSecret`` (rotation: add the new, then drop the old)."""
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("a TextUs webhook secret must be a non-empty string")
        if secret not in self._textus_secrets:
            self._textus_secrets.append(secret)

    def remove_textus_secret(self, secret: str) -> None:
        if secret in self._textus_secrets:
            self._textus_secrets.remove(secret)

    def textus_webhook_url(self, public_base_url: str) -> str:
        """The URL to register with ``textus.integrations.create_webhook``."""
        return self._routes["textus"].url(public_base_url)

    def trackdrive_webhook_url(self, public_base_url: str) -> str:
        """The ``delivery_webhook_url`` to send with TrackDrive messages."""
        return self._routes["trackdrive"].url(public_base_url, self._token)

    async def _cleanup(self, _app: web.Application) -> None:
        await self.router.aclose()
        if self._owned_journal is not None:
            self._owned_journal.close()
        for store in self._owned_stores:
            await store.aclose()

    def _endpoint(self, route: WebhookRoute) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            if route.tokenized and not check_token(request.match_info["token"], self._token):
                return _error(404, "not found")
            secrets = tuple(self._secrets.get(route.provider, ()))
            return await self._handle(
                request, route.provider,
                lambda body: route.parse(body, request.headers, secrets=secrets))

        return endpoint

    async def _handle(
        self, request: web.Request, provider: str, parse: Callable[[bytes], list[Event]]
    ) -> web.Response:
        try:
            events = parse(await read_capped(request, self.max_body_bytes))
        except WebhookError as exc:  # messages name the problem, never a secret
            logger.info("rejected a %s webhook (HTTP %d): %s", provider, exc.http_status, exc)
            return _error(exc.http_status, str(exc))
        try:
            await self.router.dispatch(events)
        except Exception:
            # The traceback is for the handler's author; numbers in it are masked like any log.
            logger.error(
                "a %s webhook handler failed; answering 500 to get a retry\n%s",
                provider,
                mask_text(traceback.format_exc()),
            )
            return _error(500, "internal error")
        return web.Response(status=200, body=_OK_BODY, content_type="application/json")

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve the receiver alone; yields its base URL (``port=0`` picks a free port).

        The access log is off: it would write the TrackDrive path token to the log.
        """
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound: Any = runner.addresses[0]
            shown = f"[{host}]" if ":" in host else host
            yield f"http://{shown}:{bound[1]}"
        finally:
            await runner.cleanup()
