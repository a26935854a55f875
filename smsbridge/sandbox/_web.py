"""Plumbing shared by both emulated APIs: JSON bodies, timestamps, ids, phone checks, aborts.

Kept free of provider knowledge; every helper here runs on the hot path, so each is O(1) and
allocates as little as it can.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from aiohttp import web

from .._constants import PHONE_CACHE_SIZE
from .._convert import parse_bool as _parse_bool
from ..errors import InvalidPhoneNumber
from ..phone import normalize

JSON = dict[str, Any]

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SLUG_SPACE = 62**7
_SLUG_STEP = 1_000_003  # odd and not a multiple of 31: n -> n*STEP mod 62**7 is a bijection
BOOLEAN_HINT = "must be a boolean value: 1, true, yes, on, 0, false, no, off"


def dumps(data: Any) -> bytes:
    return _encode(data).encode()


def json_response(data: Any, status: int, content_type: str) -> web.Response:
    return web.Response(body=_encode(data).encode(), status=status, content_type=content_type)


def abort_connection(request: web.BaseRequest) -> web.Response:
    """Drop the client's connection without an answer (a reset as the client sees it).

    The returned response is never written: aiohttp finds the transport gone and treats it as
    a premature client disconnect, quietly.
    """
    transport = request.transport
    if transport is not None:
        transport.abort()
    request.protocol.force_close()
    return web.Response(status=500)


async def read_json_object(request: web.Request) -> JSON:
    """The body as a JSON object; an empty body is ``{}``. Raises a 400 :class:`Rejected`."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise Rejected({"base": ["the body is not valid JSON"]}, status=400) from None
    if not isinstance(data, dict):
        raise Rejected({"base": ["the body must be a JSON object"]}, status=400)
    return data


def now_ms() -> str:
    """``2018-07-24T20:59:32.156Z`` (TextUs style)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_offset() -> str:
    """``2019-08-29T15:58:21.850+00:00`` (TrackDrive style)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def epoch() -> float:
    return time.time()


class Ids:
    """Unique, random-looking identifiers, reproducible for a given seed."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._n = rng.randrange(62**4, 62**5)

    def slug(self) -> str:
        """A 7-character base62 slug like TextUs's ``QNDkpL7``; never repeats."""
        self._n += 1
        value = (self._n * _SLUG_STEP) % _SLUG_SPACE
        chars = []
        for _ in range(7):
            value, digit = divmod(value, 62)
            chars.append(_B62[digit])
        return "".join(chars)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex32(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"


def e164(value: Any) -> str | None:
    """``value`` as E.164 when it is a valid number written with its country code, else None."""
    if not isinstance(value, str):
        return None
    try:
        return normalize(value, "")
    except InvalidPhoneNumber:
        return None


@lru_cache(maxsize=PHONE_CACHE_SIZE)
def national(number: str) -> str:
    """``+13035551234`` -> ``(303) 555-1234``: how both APIs format numbers for people."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def loose_phone(value: Any, region: str = "US") -> tuple[str, str | None] | None:
    """A loosely written number (``1-720-333-1234 x29``) as (E.164, extension), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return str(number), (parsed.extension or None)


def parse_bool(value: Any) -> bool | None:
    """Rails-style booleans (1/true/yes/on, 0/false/no/off); None when not one of them."""
    try:
        return _parse_bool(value)
    except ValueError:
        return None


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Rejected(Exception):
    """A request the emulated API refuses: HTTP ``status`` with Rails-style field errors."""

    def __init__(self, errors: dict[str, list[str]], status: int = 422) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status

    @property
    def description(self) -> str:
        return "; ".join(msg if field == "base" else f"{field} {msg}"
                         for field, msgs in self.errors.items() for msg in msgs)
