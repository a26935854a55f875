"""Quiet hours in the recipient's own time zone(s).

The TCPA's telemarketing window is 8 am to 9 pm *at the called party's location*; some states are
stricter (e.g. 8 am to 8 pm). :class:`QuietHours` holds the window in which sending is ALLOWED
and answers, for a number and an instant, whether a text may go now and, if not, the first
instant it may.

- The location comes from the number: ``phonenumbers``' time-zone data, by country and area code.
- A number that maps to several zones (Alaska's 907: Anchorage and Adak; Idaho's 208) is allowed
  only while the window is open in *every* one of them.
- Non-geographic numbers (toll-free 800/888..., premium, personal 500/533..., VoIP, UAN) say
  nothing about where their holder is: ``phonenumbers`` maps them to every zone of their plan
  (42 for the NANP, Guam to Newfoundland). They are treated as of unknown zone and follow
  ``fallback``, so the choice for them is the caller's, in one place. (A mobile number of a
  country that does not tie mobiles to places keeps its country's zones.)
- A number with no known zone follows ``fallback``: by default :data:`STRICTEST_US`, every zone
  of the fifty states at once (8 am Hawaii to 9 pm Eastern), or zones of your choice, or
  ``"deny"`` to never text such numbers.
- Clocks are injected (``clock=`` or ``now=``) and must be timezone-aware; results are in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import phonenumbers
from phonenumbers import timezone as phone_timezone

from ..phone import mask, normalize
from .errors import InvalidQuietHours

__all__ = [
    "DENY",
    "PRESETS",
    "STRICTEST_US",
    "QuietHours",
    "QuietHoursCheck",
    "QuietHoursTally",
]

# Every zone the fifty states use; a number of unknown location is texted only while it is
# inside the window in all of them.
STRICTEST_US: Final[tuple[str, ...]] = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Adak",
    "Pacific/Honolulu",
)
DENY: Final = "deny"
_FALLBACK_NAMES: Final[dict[str, tuple[str, ...]]] = {"strictest-us": STRICTEST_US}

# Named windows (allowed from, allowed until). "federal" is the TCPA's 8 am-9 pm; "strict" the
# 8 am-8 pm some states impose (e.g. Florida, Oklahoma).
PRESETS: Final[dict[str, tuple[time, time]]] = {
    "federal": (time(8, 0), time(21, 0)),
    "strict": (time(8, 0), time(20, 0)),
}

_CLOCK_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_SPEC = re.compile(r"\s*(\S+?)\s*-\s*(\S+)\s*")
# Window openings that never line up across a number's zones are given up on after this long.
_HORIZON = timedelta(days=8)
_MAX_STEPS = 64


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: time | str, what: str) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise InvalidQuietHours(
                f"quiet-hours {what} must be a wall-clock time without a time zone (the "
                "recipient's zone is applied per number), got one with tzinfo"
            )
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        match = _CLOCK_TIME.fullmatch(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    raise InvalidQuietHours(
        f"quiet-hours {what} {str(value)[:20]!r} is not a time; write it as HH:MM, e.g. 08:00"
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidQuietHours(
            f"{name[:60]!r} is not a known IANA time zone (like 'America/New_York'); install "
            "the tzdata package if your system has no zone database"
        ) from None


def _parse_fallback(fallback: str | Iterable[str]) -> tuple[ZoneInfo, ...] | None:
    if isinstance(fallback, str):
        key = fallback.strip()
        if key.lower() == DENY:
            return None
        names: tuple[str, ...] = _FALLBACK_NAMES.get(key.lower(), (key,))
    else:
        names = tuple(fallback)
    if not names or not all(isinstance(n, str) for n in names):
        raise InvalidQuietHours(
            "the quiet-hours fallback must be 'strictest-us', 'deny', or one or more IANA zone "
            "names"
        )
    return tuple(_zone(n) for n in dict.fromkeys(names))


# Number types that carry no location; their zones would be their whole numbering plan's.
_NON_GEOGRAPHIC: Final = frozenset({
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.VOICEMAIL,
})


@lru_cache(maxsize=4096)
def _zone_names_of(e164: str) -> tuple[str, ...]:
    number = phonenumbers.parse(e164)
    if phonenumbers.number_type(number) in _NON_GEOGRAPHIC:
        return ()
    names = phone_timezone.time_zones_for_number(number)
    return tuple(n for n in names if n != phone_timezone.UNKNOWN_TIMEZONE)


@lru_cache(maxsize=512)
def _known_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@attrs.frozen
class QuietHoursCheck:
    """Whether a number may be texted at ``at``, and from when if not.

    ``next_allowed`` is ``at`` itself when allowed, the first instant (UTC) the window is open in
    every zone of the number otherwise, or ``None`` when that never happens (``"deny"`` fallback,
    or zones too far apart for the window). ``reason`` is the outcome reason for a skip.
    """

    allowed: bool
    at: datetime
    next_allowed: datetime | None
    zones: tuple[str, ...]
    used_fallback: bool
    reason: str = "quiet_hours"


class QuietHours:
    """Sending is allowed from ``start`` (inclusive) to ``end`` (exclusive), recipient's time.

    ``QuietHours("08:00", "21:00")`` equals the ``"federal"`` preset; a window may cross midnight
    (``"22:00", "06:00"``). ``fallback`` decides numbers with no known zone (see the module
    docs); ``region`` is for numbers written without a country code; ``clock`` returns the
    current aware time when a call does not pass ``now``.
    """

    __slots__ = ("_clock", "_fallback", "_fallback_repr", "_region", "end", "start")

    def __init__(
        self,
        start: time | str,
        end: time | str,
        *,
        fallback: str | Iterable[str] = STRICTEST_US,
        region: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.start = _parse_time(start, "start")
        self.end = _parse_time(end, "end")
        if self.start == self.end:
            raise InvalidQuietHours(
                f"the quiet-hours window {self.start:%H:%M}-{self.end:%H:%M} is empty; give "
                "the allowed hours as START-END, e.g. 08:00-21:00"
            )
        self._fallback = _parse_fallback(fallback)
        if isinstance(fallback, str):
            self._fallback_repr = fallback.strip()
        elif tuple(fallback) == STRICTEST_US:
            self._fallback_repr = "strictest-us"
        else:
            self._fallback_repr = ",".join(fallback)
        self._region = region
        self._clock = clock

    @classmethod
    def preset(
        cls,
        name: str,
        *,
        fallback: str | Iterable[str] = STRICTEST_US,
        region: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> QuietHours:
        """A named window: ``"federal"`` (08:00-21:00) or ``"strict"`` (08:00-20:00)."""
        window = PRESETS.get(name.strip().lower()) if isinstance(name, str) else None
        if window is None:
            raise InvalidQuietHours(
                f"unknown quiet-hours preset {str(name)[:20]!r}; use one of "
                f"{', '.join(sorted(PRESETS))} or a window like 08:00-21:00"
            )
        return cls(*window, fallback=fallback, region=region, clock=clock)

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        fallback: str | Iterable[str] = STRICTEST_US,
        region: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> QuietHours:
        """A preset name or ``"HH:MM-HH:MM"`` (what ``--quiet-hours`` takes)."""
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidQuietHours(
                "quiet hours must be a preset (federal, strict) or a window like 08:00-21:00"
            )
        match = _SPEC.fullmatch(spec)
        if match is None:
            return cls.preset(spec, fallback=fallback, region=region, clock=clock)
        return cls(match.group(1), match.group(2), fallback=fallback, region=region, clock=clock)

    @property
    def window(self) -> str:
        """The allowed hours as ``HH:MM-HH:MM`` (what :meth:`parse` takes back)."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def fallback(self) -> str:
        """The fallback as given: ``strictest-us``, ``deny`` or zone names, comma-separated."""
        return self._fallback_repr

    def __repr__(self) -> str:
        return f"QuietHours({self.start:%H:%M}-{self.end:%H:%M}, fallback={self._fallback_repr})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuietHours):
            return NotImplemented
        return (self.start, self.end, self._fallback) == (other.start, other.end, other._fallback)

    def __hash__(self) -> int:
        return hash((self.start, self.end, self._fallback))

    def zones_for(self, number: str) -> tuple[tuple[ZoneInfo, ...], bool]:
        """The zones a number is judged in, and whether they came from the fallback.

        Raises :class:`~smsbridge.errors.InvalidPhoneNumber` for a number that does not parse.
        """
        names = _zone_names_of(normalize(number, self._region))
        zones = tuple(z for z in map(_known_zone, names) if z is not None)
        if zones:
            return zones, False
        return (self._fallback or ()), True

    def _inside(self, instant: datetime, zone: ZoneInfo) -> bool:
        local = instant.astimezone(zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def _next_opening(self, instant: datetime, zone: ZoneInfo) -> datetime:
        day: date = instant.astimezone(zone).date()
        for offset in range(-1, 3):
            opening = datetime.combine(day + timedelta(days=offset), self.start, tzinfo=zone)
            opening_utc = opening.astimezone(UTC)
            if opening_utc > instant:
                return opening_utc
        raise AssertionError("a daily window opens within three days")  # pragma: no cover

    def _now(self, now: datetime | None) -> datetime:
        instant = self._clock() if now is None else now
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise InvalidQuietHours(
                "quiet hours need a timezone-aware time (e.g. datetime.now(UTC)); "
                "got a naive or missing datetime"
            )
        return instant.astimezone(UTC)

    def check(self, number: str, now: datetime | None = None) -> QuietHoursCheck:
        """Whether ``number`` may be texted at ``now`` (default: the clock) and when if not."""
        at = self._now(now)
        zones, used_fallback = self.zones_for(number)
        names = tuple(z.key for z in zones)
        if not zones:
            return QuietHoursCheck(False, at, None, names, used_fallback)
        instant = at
        for _ in range(_MAX_STEPS):
            closed = [z for z in zones if not self._inside(instant, z)]
            if not closed:
                return QuietHoursCheck(instant == at, at, instant, names, used_fallback)
            # No zone can open before its own next opening, so the latest of those is the
            # earliest the number can be allowed; the loop re-checks the zones that may have
            # closed meanwhile.
            instant = max(self._next_opening(instant, z) for z in closed)
            if instant - at > _HORIZON:
                break
        return QuietHoursCheck(False, at, None, names, used_fallback)

    def is_allowed(self, number: str, now: datetime | None = None) -> bool:
        return self.check(number, now).allowed

    def next_allowed(self, number: str, now: datetime | None = None) -> datetime | None:
        """``now`` when allowed, else the first allowed instant (UTC), or None for never."""
        return self.check(number, now).next_allowed

    def describe(self, number: str) -> str:
        """A log-safe one-liner: the masked number and the zones it is judged in."""
        zones, used_fallback = self.zones_for(number)
        source = "fallback" if used_fallback else "number"
        return f"{mask(normalize(number, self._region))} in {len(zones)} zone(s) from {source}"


@attrs.define
class QuietHoursTally:
    """What quiet hours did to a job: how many recipients were held, until when, and how many
    can never be sent in the window (``next_allowed`` None). Feed it every non-allowed check.
    """

    held: int = 0
    never: int = 0
    earliest: datetime | None = None
    latest: datetime | None = None

    def add(self, check: QuietHoursCheck) -> None:
        if check.allowed:
            return
        until = check.next_allowed
        if until is None:
            self.never += 1
            return
        self.held += 1
        self.earliest = until if self.earliest is None else min(self.earliest, until)
        self.latest = until if self.latest is None else max(self.latest, until)
