"""The sandbox server: one ``aiohttp.web`` app on loopback serving TextUs under ``/textus`` and
TrackDrive under ``/trackdrive/api/v1``, its lifecycle, its records and its faults.

Every route handler is wrapped once, at start-up, with what every request of that API goes
through (auth, the TextUs rate limit, fault injection, rate-limit headers), so the hot path is a
couple of attribute lookups when no fault is configured.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from aiohttp import web

from ..errors import ConfigurationError
from ._web import Ids, Rejected, json_response
from .delivery import Lifecycle, WebhookSender
from .faults import Fault, FaultResponder, Faults, Handler
from .ratelimit import FixedWindowLimiter
from .records import Recorder, SandboxRecord
from .textus import ROUTES as TEXTUS_ROUTES
from .textus import TextUsAPI
from .textus_state import TextUsState
from .trackdrive import ROUTES as TRACKDRIVE_ROUTES
from .trackdrive import TrackDriveAPI
from .trackdrive_dialer import TrackDriveState

TEXTUS_PREFIX = "/textus"
TRACKDRIVE_PREFIX = "/trackdrive/api/v1"
FaultSpec = Fault | str | tuple[Any, ...]


def _fault(spec: FaultSpec) -> Fault:
    if isinstance(spec, Fault):
        return spec
    if isinstance(spec, str):
        return Fault.parse(spec)
    return Fault(*spec)


class Sandbox:
    """A local TextUs + TrackDrive emulator. ``async with Sandbox() as sb: ...``.

    ``textus_rate_limit=(requests, window_seconds)`` turns on TextUs's per-token limit (the real
    one is ``(1000, 300.0)``); the default ``None`` leaves it off and sends no X-RateLimit headers.
    ``delivery_delay`` seconds after a message is accepted it becomes delivered, or failed for
    ``delivery_failure_ratio`` of messages (drawn from the ``seed``-ed RNG). ``faults`` takes
    :class:`Fault` objects, ``"route:kind[:ratio[:delay]]"`` strings or ``(route, kind, ratio)``
    tuples. ``clock`` drives TrackDrive's redial and CPS rules (default ``time.monotonic``).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        seed: int | str | None = None,
        textus_rate_limit: tuple[int, float] | None = None,
        delivery_delay: float = 0.2,
        delivery_failure_ratio: float = 0.0,
        faults: Iterable[FaultSpec] | None = None,
        trackdrive_cps_limit: int = 10,
        clock: Callable[[], float] | None = None,
        page_size: int = 25,
        webhook_timeout: float = 5.0,
        webhook_attempts: int = 3,
    ) -> None:
        if not 0.0 <= delivery_failure_ratio <= 1.0:
            raise ConfigurationError("delivery_failure_ratio must be within 0..1")
        if delivery_delay < 0 or not math.isfinite(delivery_delay):
            raise ConfigurationError("delivery_delay must be >= 0 seconds")
        if trackdrive_cps_limit < 1 or page_size < 1 or webhook_attempts < 1:
            raise ConfigurationError(
                "trackdrive_cps_limit, page_size and webhook_attempts must be >= 1"
            )
        if not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be 0..65535 (got {port!r})")
        self.host = host
        self._requested_port = port
        self.seed = seed

        def rng(purpose: str) -> random.Random:
            return random.Random(f"{seed}:{purpose}" if seed is not None else None)

        ids = Ids(rng("ids"))
        self.lifecycle = Lifecycle()
        self.webhooks = WebhookSender(timeout=webhook_timeout, max_attempts=webhook_attempts)
        self.recorder = Recorder()
        common = {"delivery_delay": delivery_delay, "failure_ratio": delivery_failure_ratio}
        self.textus = TextUsState(ids, rng("textus"), self.lifecycle, self.webhooks,
                                  page_size=page_size, **common)
        self.trackdrive = TrackDriveState(ids, rng("trackdrive"), self.lifecycle, self.webhooks,
                                          cps_limit=trackdrive_cps_limit, clock=clock, **common)
        limiter = None
        if textus_rate_limit is not None:
            limiter = FixedWindowLimiter(*textus_rate_limit)
        self._textus_api = TextUsAPI(self.textus, self.recorder, limiter)
        self._trackdrive_api = TrackDriveAPI(self.trackdrive, self.recorder)
        self.faults = Faults(TEXTUS_ROUTES + TRACKDRIVE_ROUTES, rng("faults"))
        for spec in faults or ():
            self.faults.add_rule(_fault(spec))
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- addresses and credentials
    @property
    def port(self) -> int:
        if self._port is None:
            raise ConfigurationError("the sandbox is not running: use `async with Sandbox()` "
                                     "or `await sb.start()` first")
        return self._port

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def textus_url(self) -> str:
        return self.base_url + TEXTUS_PREFIX

    @property
    def trackdrive_url(self) -> str:
        return self.base_url + TRACKDRIVE_PREFIX

    @property
    def textus_token(self) -> str:
        return self.textus.token

    @property
    def textus_account(self) -> str:
        return self.textus.account_slug

    @property
    def trackdrive_public_key(self) -> str:
        return self.trackdrive.public_key

    @property
    def trackdrive_private_key(self) -> str:
        return self.trackdrive.private_key

    @property
    def trackdrive_subdomain(self) -> str:
        return self.trackdrive.subdomain

    @property
    def textus_connection_url(self) -> str:
        return (f"textus://{self.textus_token}@{self.textus_account}"
                f"?base_url={quote(self.textus_url, safe='')}")

    @property
    def trackdrive_connection_url(self) -> str:
        return (f"trackdrive://{self.trackdrive_public_key}:{self.trackdrive_private_key}"
                f"@{self.trackdrive_subdomain}?base_url={quote(self.trackdrive_url, safe='')}")

    @property
    def dnc_numbers(self) -> set[str]:
        return self.trackdrive.dnc_numbers

    # --- what it accepted
    @property
    def records(self) -> list[SandboxRecord]:
        return self.recorder.records

    def accepted_numbers(self, provider: str | None = None, *,
                         route: str | None = None) -> list[str]:
        return self.recorder.accepted_numbers(provider, route=route)

    # --- the app
    def _build_app(self) -> web.Application:
        app = web.Application()
        router = app.router
        router.add_get("/", self._index)
        for method, path, route, handler in self._textus_api.routes():
            router.add_route(method, TEXTUS_PREFIX + path,
                             self._wrap(self._textus_api, self._textus_api.admit, route, handler))
        td = self._trackdrive_api
        for method, path, route, handler, private in td.routes():
            admit = td.admit if private else td.admit_public
            router.add_route(method, TRACKDRIVE_PREFIX + path,
                             self._wrap(td, admit, route, handler))
        return app

    def _wrap(self, front: FaultResponder, admit: Callable[[web.Request], Any], route: str,
              handler: Handler) -> Handler:
        faults = self.faults

        async def answer(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Rejected as exc:  # validation, 404s and guards, in the API's error shape
                return front.rejected(exc)

        async def handle(request: web.Request) -> web.StreamResponse:
            denied, headers = admit(request)
            if denied is not None:
                response: web.StreamResponse = denied
            else:
                injection = faults.pick(route)
                if injection is None:
                    response = await answer(request)
                else:
                    response = await faults.run(injection, request, answer, front)
            if headers is not None:
                response.headers.update(headers)
            return response

        return handle

    async def _index(self, request: web.Request) -> web.Response:
        return json_response({"sandbox": "smsbridge", "textus": self.textus_url,
                              "trackdrive": self.trackdrive_url}, 200, "application/json")

    # --- lifecycle
    async def start(self) -> Self:
        if self._runner is not None:
            return self
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port, backlog=1024)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.faults.bind()
        self.lifecycle.start()
        await self.webhooks.start()
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.faults.release()  # held requests (hang, latency) give up now
        self.lifecycle.stop()
        await self.webhooks.stop()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def settle(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109 - a polling wait
        """Wait until every delivery transition due within ``timeout`` has run and every
        webhook has been answered or given up on. False if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline:
            due = self.lifecycle.next_due
            horizon = loop.time() + (deadline - time.monotonic())
            if (due is None or due > horizon) and self.webhooks.idle:
                return True
            await asyncio.sleep(0.01)
        return False

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"Sandbox({where}, records={len(self.records)})"
