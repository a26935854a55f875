"""The one request pipeline every provider call goes through.

One lazily created ``aiohttp.ClientSession`` per client (a user-supplied session is used and never
closed), explicit timeouts, the retry loop with Retry-After, the shared rate limiter, mapping of
every failure onto the error tree, and DEBUG logging that never shows credentials or full numbers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .. import _constants as C
from .._logging import logger
from ..errors import (
    APIError,
    ConfigurationError,
    ConnectError,
    DeliveryUnknownError,
    RedirectError,
    RequestTimeoutError,
    SmsBridgeError,
    TransportError,
    UnexpectedStatusError,
    api_error_from_response,
)
from ..phone import mask_text
from ..telemetry import Telemetry, detect_telemetry
from ..telemetry.otel import RequestSpan
from .deadlines import ReadDeadlines
from .retry import RetryPolicy, decide, parse_retry_after
from .urls import redact_userinfo

if TYPE_CHECKING:
    from ..protocol import SendContext
from ..limits.protocol import Limiter
from ..limits.state import RateLimitState

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NO_AUTO_CONTENT_TYPE = ("Content-Type",)
#: Success codes when neither the operation nor the client names its own: any 2xx.
ANY_2XX: frozenset[int] = frozenset(range(200, 300))
_REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Amzn-RequestId", "X-Runtime-Request-Id")
# Built once: json.dumps(..., separators=...) constructs a new JSONEncoder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"))
# Content-Type header value -> media type as aiohttp parses it (a provider sends one or two).
_MEDIA_TYPES: dict[str, str] = {}
_MEDIA_TYPES_LIMIT = 64


@attrs.frozen(slots=True)
class Timeouts:
    """Seconds. ``connect``: to get a connection; ``read``: to wait for the answer (from the
    start of the attempt when longer than ``connect``, else between received chunks);
    ``total``: for one attempt, start to end."""

    connect: float = C.CONNECT_TIMEOUT
    read: float = C.READ_TIMEOUT
    total: float = C.TOTAL_TIMEOUT

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=self.total, connect=self.connect, sock_connect=self.connect, sock_read=self.read
        )


_UNPARSED: Any = object()


# Treated as immutable, but not an attrs "frozen" class: one is built per request, and a frozen
# class's __init__ costs twice as much.
@attrs.define(slots=True)
class Response:
    method: str
    url: str
    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    content_type: str
    request_id: str | None
    elapsed: float
    attempts: int
    # The parse is cached: an error hook that inspects a 200 body must not make callers parse twice.
    _parsed: Any = attrs.field(default=_UNPARSED, init=False, repr=False, eq=False)

    @property
    def is_empty(self) -> bool:
        return _blank(self.content)

    def json(self) -> Any:
        """The parsed body: JSON when it is JSON, else the text, else None when empty."""
        if self._parsed is _UNPARSED:
            self._parsed = parse_body(self.content)
        return self._parsed


def _blank(content: bytes) -> bool:
    return not content or content.isspace()  # as ``not content.strip()``, without a copy


def parse_body(content: bytes) -> Any:
    if _blank(content):
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


ErrorHook = Callable[[Response], APIError | None]


def default_error_hook(provider: str) -> ErrorHook:
    def hook(response: Response) -> APIError | None:
        if response.status < 400:
            return None
        return api_error_from_response(
            provider=provider,
            status=response.status,
            body=response.json(),
            request_id=response.request_id,
            retry_after=parse_retry_after(response.headers),
        )

    return hook


class HttpClient:
    """HTTP for one provider instance. Not shared between event loops."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        rate_limiter: Limiter | None = None,
        error_hook: ErrorHook | None = None,
        connection_limit: int = C.CONNECTION_LIMIT,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        expect: frozenset[int] = ANY_2XX,
        telemetry: Telemetry | Literal["auto"] | None = "auto",
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                "base_url must start with http:// or https:// "
                f"(got {redact_userinfo(base_url)[:40]!r})"
            )
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": C.USER_AGENT, **headers}
        # What the hot path hands aiohttp: a multidict it copies as is (a dict it converts first).
        self._fixed_headers = CIMultiDictProxy(CIMultiDict(self._headers))
        # A request without a body carries no Content-Type: there is no content to describe.
        self._bodyless_headers = CIMultiDictProxy(CIMultiDict(_without_content_type(self._headers)))
        self.expect = expect
        # "auto": spans and metrics when OpenTelemetry is configured; None costs one test.
        self.telemetry = detect_telemetry() if telemetry == "auto" else telemetry
        # The last X-RateLimit-* header values seen and what they parsed to.
        self._rate_limit_parsed: tuple[tuple[str | None, ...], RateLimitState | None] = (
            (), None)
        self.timeouts = timeouts or Timeouts()
        self._client_timeout = self.timeouts.to_aiohttp()
        self._read_deadlines: ReadDeadlines | None = None
        read, connect = self.timeouts.read, self.timeouts.connect
        if read and connect and read > connect:
            # Far cheaper than aiohttp's per-read timers (see transport.deadlines: when it applies).
            self._read_deadlines = ReadDeadlines(read)
            self._client_timeout = aiohttp.ClientTimeout(
                total=self.timeouts.total, connect=connect, sock_connect=connect)
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self._error_hook = error_hook or default_error_hook(provider)
        self._session = session
        self._owns_session = session is None
        self._connection_limit = connection_limit
        self._trace_configs = list(trace_configs or ())
        self.last_rate_limit: RateLimitState | None = None

    def __repr__(self) -> str:  # the headers hold the credentials: never show them
        base_url = redact_userinfo(self.base_url)
        return f"HttpClient(provider={self.provider!r}, base_url={base_url!r})"

    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit, limit_per_host=C.CONNECTION_LIMIT_PER_HOST
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._client_timeout,
                trace_configs=self._trace_configs or None,
            )
            self._owns_session = True
        return self._session

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_session:
            self._session = None

    def url_for(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        if not path_or_url.startswith("/"):
            path_or_url = "/" + path_or_url
        return self.base_url + path_or_url

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str | None] | None = None,
        idempotent: bool | None = None,
        retry: RetryPolicy | None = None,
        expect: frozenset[int] | None = None,
        context: SendContext | None = None,
        operation: str | None = None,
    ) -> Response:
        """Send one logical request, retrying only where the request surely had no effect.

        ``context``: from a dispatcher, the permit it already acquired on this client's limiter
        (used for the first attempt only) and the recipient's retry budget.

        ``operation``: a low-cardinality name (``"send"``) for telemetry; none by default.

        ``expect``: the operation's documented success codes (default: the client's). Any other
        status is an error, a 3xx included (:class:`RedirectError`; never followed), and an
        undocumented 2xx is an :class:`UnexpectedStatusError`.
        """
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        policy = retry or self.retry
        expected = self.expect if expect is None else expect
        url = self.url_for(path)
        # UTF-8 bytes under the client's Content-Type: the same bytes aiohttp would encode a
        # str to, without its per-request text payload handling.
        data = None if json_body is None else _JSON_ENCODER.encode(json_body).encode()
        request_headers: Mapping[str, str]
        if headers:
            request_headers = _merge_headers(self._headers, headers)
            if data is None:
                request_headers = _without_content_type(request_headers)
        else:
            request_headers = self._fixed_headers if data is not None else self._bodyless_headers
        log_path = url[len(self.base_url):] if url.startswith(self.base_url) else "<absolute url>"
        attempt = 0
        budget = permit = None
        if context is not None:
            budget, permit = context.budget, context.permit
            context.permit = None  # used once: a retry or another provider acquires its own
        limiter = self.rate_limiter
        telemetry = self.telemetry
        span: RequestSpan | None = None
        while True:
            attempt += 1
            if budget is not None:
                budget.spend()
            if limiter is not None:
                if permit is None or permit.limiter is not limiter:
                    waiting = time.monotonic()
                    await limiter.acquire()
                    if telemetry is not None:
                        telemetry.waited(provider=self.provider,
                                         seconds=time.monotonic() - waiting)
                permit = None
            started = time.monotonic()
            if telemetry is not None:
                span = telemetry.start_request(provider=self.provider, operation=operation,
                                               method=method, url=url, attempt=attempt)
            try:
                response = await self._send_once(
                    method, url, params, data, request_headers, attempt, started
                )
            except TransportError as error:
                if span is not None:
                    span.finish(error=error)
                elapsed = time.monotonic() - started
                logger.debug(
                    "%s %s %s failed: %s attempt=%d elapsed=%.3fs",
                    self.provider, method, log_path, type(error).__name__, attempt, elapsed,
                )
                decision = decide(error, attempt, policy, idempotent=idempotent,
                                  exhausted=budget is not None and budget.exhausted)
                if decision.wait is None:
                    raise self._final(error, idempotent) from error
                await self._sleep_before_retry(decision.wait, attempt, method, log_path, error)
                continue
            except BaseException as error:  # cancelled, or a bug: the span still ends
                if span is not None:
                    span.finish(error=error)
                raise
            if span is not None:
                span.finish(status=response.status)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s %s -> %d attempt=%d elapsed=%.3fs",
                    self.provider, method, log_path, response.status, attempt, response.elapsed,
                )
            state = self._rate_limit_state(response)
            if state is not None and limiter is not None:
                await limiter.observe(state)
            api_error = self._status_error(response, expected, idempotent)
            if api_error is None:
                return response
            if api_error.status is not None and api_error.status >= 500 and not idempotent:
                api_error.may_have_been_sent = True
            decision = decide(api_error, attempt, policy, idempotent=idempotent,
                              exhausted=budget is not None and budget.exhausted)
            if decision.pause is not None and limiter is not None:
                # This client owns the limiter: the one place a 429 pauses it. The dispatcher
                # then only waits on it (its next acquire), it does not pause it again.
                await limiter.pause(decision.pause)
            if decision.wait is None:
                raise self._final(api_error, idempotent) from None
            await self._sleep_before_retry(decision.wait, attempt, method, log_path, api_error)

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
        headers: Mapping[str, str],
        attempt: int,
        started: float,
    ) -> Response:
        session = self._get_session()
        deadlines = self._read_deadlines
        task = deadlines.start() if deadlines is not None else None
        try:
            async with session.request(
                method, url, params=params, data=data, headers=headers,
                timeout=self._client_timeout, allow_redirects=False,
                # else aiohttp labels an empty POST/PUT application/octet-stream
                skip_auto_headers=_NO_AUTO_CONTENT_TYPE if data is None else None,
            ) as resp:
                content = await resp.read()
                response_headers: CIMultiDictProxy[str] = resp.headers
                status = resp.status
                raw_type = response_headers.get("Content-Type")
                content_type = _MEDIA_TYPES.get(raw_type) if raw_type is not None else None
                if content_type is None:
                    content_type = resp.content_type
                    if raw_type is not None and len(_MEDIA_TYPES) < _MEDIA_TYPES_LIMIT:
                        _MEDIA_TYPES[raw_type] = content_type
        except asyncio.CancelledError:
            if task is not None and deadlines is not None and deadlines.timed_out(task):
                raise self._read_timeout() from None
            raise
        except aiohttp.ConnectionTimeoutError:
            raise ConnectError(
                f"{self.provider}: timed out connecting; the request was not sent",
                provider=self.provider, retryable=True,
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(
                f"{self.provider}: could not connect ({_reason(exc)}); the request was not sent",
                provider=self.provider, retryable=True,
            ) from None
        except (aiohttp.ServerTimeoutError, TimeoutError):
            raise self._read_timeout() from None
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError,
                aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
            raise TransportError(
                f"{self.provider}: connection lost ({_reason(exc)}); the request may have been "
                "processed",
                provider=self.provider, retryable=True, may_have_been_sent=True,
            ) from None
        except aiohttp.InvalidURL:
            raise ConfigurationError(f"{self.provider}: invalid URL for this request") from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"{self.provider}: HTTP client error ({type(exc).__name__})",
                provider=self.provider, retryable=True, may_have_been_sent=True,
            ) from None
        finally:
            if task is not None and deadlines is not None:
                deadlines.finish(task)
        return Response(
            method=method,
            url=url,
            status=status,
            headers=response_headers,
            content=content,
            content_type=content_type,
            request_id=_request_id(response_headers),
            elapsed=time.monotonic() - started,
            attempts=attempt,
        )

    def _read_timeout(self) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"{self.provider}: no response within the timeout; the request may have been "
            "processed",
            provider=self.provider, retryable=True, may_have_been_sent=True,
        )

    def _rate_limit_state(self, response: Response) -> RateLimitState | None:
        """The ``X-RateLimit-*`` figures of ``response`` (kept as ``last_rate_limit``)."""
        headers = response.headers
        remaining = headers.get("X-RateLimit-Remaining")
        if remaining is None:
            return None
        raw = (remaining, headers.get("X-RateLimit-Reset"), headers.get("X-RateLimit-Limit"))
        # Consecutive responses mostly repeat the same figures: parse them only when they change.
        seen, state = self._rate_limit_parsed
        if raw != seen:
            state = RateLimitState.from_headers(headers)
            self._rate_limit_parsed = (raw, state)
        if state is not None:
            self.last_rate_limit = state
        return state

    def _status_error(
        self, response: Response, expected: frozenset[int], idempotent: bool
    ) -> APIError | None:
        """The error a response stands for; None when its status is a documented success."""
        status = response.status
        if 300 <= status < 400 and status not in expected:
            return self._redirect_error(response, idempotent)
        api_error = self._error_hook(response)
        if api_error is not None or status in expected:
            return api_error
        codes = " or ".join(str(code) for code in sorted(expected)) or "none"
        return UnexpectedStatusError(
            f"{self.provider}: {response.method} {self._log_path(response.url)} answered "
            f"HTTP {status}, which is not a documented answer to this operation (expected "
            f"{codes}); it may have been processed",
            provider=self.provider, status=status, request_id=response.request_id,
            body=response.json(), may_have_been_sent=not idempotent, expected=expected,
        )

    def _redirect_error(self, response: Response, idempotent: bool) -> RedirectError:
        status = response.status
        location = _safe_location(response.url, response.headers.get("Location"))
        where = f"to {location}" if location else "without a Location"
        # 303 See Other is how a server answers a POST it has processed; any other 3xx means
        # it did not process the request here.
        processed = status == 303 and not idempotent
        effect = ("the server says it processed the request (303 See Other)" if processed
                  else "the request was not processed")
        return RedirectError(
            f"{self.provider}: {response.method} {self._log_path(response.url)} was redirected "
            f"(HTTP {status}) {where}; redirects are not followed and {effect} — the endpoint "
            "moved or base_url is wrong (e.g. http:// instead of https://): set base_url to "
            "the provider's current address",
            provider=self.provider, status=status, request_id=response.request_id,
            location=location, may_have_been_sent=processed,
        )

    def _log_path(self, url: str) -> str:
        """The path for an error message: no query string, phone numbers masked."""
        path = url[len(self.base_url):] if url.startswith(self.base_url) else "<absolute url>"
        return mask_text(path.split("?", 1)[0])

    def _final(self, error: SmsBridgeError, idempotent: bool) -> SmsBridgeError:
        if error.may_have_been_sent and not idempotent:
            return DeliveryUnknownError(
                f"{self.provider}: the outcome is unknown — {error} It was not retried, to "
                "avoid sending twice; check the provider (or delivery webhooks) before resending.",
                provider=self.provider,
                cause=error,
            )
        return error

    async def _sleep_before_retry(
        self, delay: float, attempt: int, method: str, log_path: str, error: SmsBridgeError
    ) -> None:
        logger.info(
            "%s %s %s: retrying after %s in %.2fs (attempt %d)",
            self.provider, method, log_path, type(error).__name__, delay, attempt + 1,
        )
        await asyncio.sleep(delay)


def _merge_headers(
    base: Mapping[str, str], extra: Mapping[str, str | None]
) -> dict[str, str]:
    """Per-request headers override the client's; a ``None`` value drops that header."""
    merged = {**base, **extra}
    return {name: value for name, value in merged.items() if value is not None}


def _without_content_type(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() != "content-type"}


def _safe_location(request_url: str, location: str | None) -> str | None:
    """Where a redirect points, as scheme://host[:port]/path: no query, fragment or userinfo,
    and a phone number in the path masked."""
    if not location:
        return None
    try:
        target = URL(request_url).join(URL(location.strip()))
        if not target.is_absolute():
            return None
        return str(target.origin()) + mask_text(target.raw_path)
    except (ValueError, TypeError):
        return None


def _reason(exc: BaseException) -> str:
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    return type(exc).__name__


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
