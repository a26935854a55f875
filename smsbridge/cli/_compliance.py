"""``bulk``'s compliance and cost options (quiet hours, --at, segments) and their summary lines."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import click

from ..compliance import (
    LOOKALIKES,
    InvalidPrice,
    InvalidQuietHours,
    InvalidSegmentLimit,
    QuietHours,
    parse_max_segments,
    parse_price,
)
from ..dispatch.compliance import ComplianceReport

F = TypeVar("F", bound=Callable[..., Any])

_AT_FORMATS = ("%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M%z",
               "%Y-%m-%dT%H:%M:%S%z")


def compliance_options(func: F) -> F:
    """The options, in the order ``--help`` lists them."""
    options = (
        click.option(
            "--quiet-hours", metavar="PRESET|HH:MM-HH:MM",
            help="Only text recipients between these hours at THEIR location (time zone from "
                 "the number's area code). 'federal' = 08:00-21:00 (TCPA); 'strict' = "
                 "08:00-20:00; or e.g. 08:00-20:00 for stricter states. A number in several "
                 "zones must be inside the window in all; toll-free and other non-geographic "
                 "numbers, and unknown zones, use --quiet-hours-fallback. Recipients outside "
                 "the window are held until it opens (the job keeps running; if killed, "
                 "resume holds them again). Off by default."),
        click.option(
            "--quiet-hours-fallback", metavar="strictest-us|deny|ZONE[,ZONE]",
            default="strictest-us", show_default=True,
            help="Window for numbers with no known zone: inside it in every US zone at once "
                 "(08:00 Hawaii to 21:00 Eastern), never ('deny'), or the IANA zones named."),
        click.option(
            "--no-wait", "no_wait", is_flag=True,
            help="With --quiet-hours: skip recipients outside their window (reason "
                 "quiet_hours, with their next allowed time) instead of holding them; they "
                 "stay pending, so 'smsbridge resume' later sends them."),
        click.option(
            "--at", "send_at", metavar='"YYYY-MM-DD HH:MM +HHMM"',
            help='Start sending at this time, e.g. --at "2026-12-01 09:00 -0500" (the UTC '
                 "offset is required). The job is stored in the journal and waits; a job "
                 "killed while waiting still waits when resumed. A time already past sends "
                 "at once. Needs --journal. TextUs's own --option scheduled_at=... is passed "
                 "through per message: smsbridge submits at --at, TextUs then delivers at "
                 "scheduled_at (the later wins; refused with --quiet-hours, which could not "
                 "check it)."),
        click.option(
            "--max-segments", metavar="N",
            help="Refuse a rendered message longer than N segments (FAILED too_many_segments, "
                 "nothing sent to that recipient; a usage error when the body has no "
                 "{variables}). 160 GSM-7 characters are 1 segment (153 per part after); "
                 "one character outside GSM-7 (an emoji, a curly quote) makes it 70 (67)."),
        click.option(
            "--smart-encoding", is_flag=True,
            help="Replace look-alike characters (curly quotes, dashes, non-breaking spaces, "
                 "...) with GSM-7 ones before counting and sending; the summary lists them."),
        click.option(
            "--price-per-segment", metavar="PRICE",
            help="Price of one segment, e.g. 0.0079: the summary estimates the job's cost "
                 "(with --dry-run: before anything is sent)."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def parse_quiet_hours(spec: str | None, fallback: str, region: str | None) -> QuietHours | None:
    if spec is None:
        return None
    try:
        return QuietHours.parse(spec, fallback=_fallback(fallback), region=region)
    except InvalidQuietHours as exc:
        raise click.BadParameter(str(exc), param_hint="--quiet-hours") from None


def _fallback(value: str) -> str | tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    return names[0] if len(names) == 1 else names


def parse_at(value: str | None) -> datetime | None:
    """``--at``: a time with its UTC offset; a naive time is refused (whose 9 am?)."""
    if value is None:
        return None
    text = re.sub(r"\s+", " ", value.strip())
    if text.endswith("Z"):
        text = text[:-1] + "+0000"
    for pattern in _AT_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None and parsed.utcoffset() is not None:
        return parsed
    raise click.BadParameter(
        f"{value!r} is not a time with a UTC offset; write it like \"2026-12-01 09:00 -0500\" "
        "(the offset says whose 09:00 it is)", param_hint="--at")


def parse_segment_options(
    max_segments: str | None, price: str | None
) -> tuple[int | None, Decimal | None]:
    try:
        limit = None if max_segments is None else parse_max_segments(max_segments)
    except InvalidSegmentLimit as exc:
        raise click.BadParameter(str(exc), param_hint="--max-segments") from None
    try:
        cost = None if price is None else parse_price(price)
    except InvalidPrice as exc:
        raise click.BadParameter(str(exc), param_hint="--price-per-segment") from None
    return limit, cost


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _char(char: str) -> str:
    shown = {" ": "space", "\u00a0": "no-break space", "\t": "tab"}.get(char)
    if shown is None and not char.isprintable():
        shown = "invisible"
    return f"{shown or char} (U+{ord(char):04X})"


def describe_compliance(
    report: ComplianceReport | None, *, dry_run: bool, interrupted: bool = False
) -> list[str]:
    """Summary lines: segments and cost, look-alikes replaced, quiet hours, schedule."""
    if report is None:
        return []
    lines: list[str] = []
    if report.send_at is not None:
        lines.append(f"Scheduled for {_utc(report.send_at)}.")
    segments = report.segments
    if segments.recipients:
        line = (f"Segments: {segments.total_segments:,} for {segments.recipients:,} "
                f"recipient{'s' if segments.recipients != 1 else ''} (at most "
                f"{segments.max_segments} per message)")
        if segments.ucs2_recipients:
            chars = ", ".join(f"{_char(c)} x{n:,}" for c, n in
                              list(segments.ucs2_characters.items())[:8])
            line += (f"; UCS-2 (70 characters per segment) for {segments.ucs2_recipients:,} "
                     f"because of {chars}")
        cost = report.estimated_cost
        if cost is not None:
            line += (f"; estimated cost {cost.normalize():f} at "
                     f"{report.price_per_segment} per segment")
        lines.append(line + ".")
    if report.replacements:
        replaced = ", ".join(
            f"{_char(c)} -> {LOOKALIKES.get(c, '') or 'removed'!s} x{n:,}"
            for c, n in report.replacements.items())
        lines.append(f"Smart encoding replaced: {replaced}.")
    held = report.held
    if held.held and held.latest is not None:
        if dry_run:
            lines.append(f"Quiet hours: {held.held:,} outside their window now would be held "
                         f"until it opens (the last at {_utc(held.latest)}).")
        elif interrupted:
            lines.append(f"Quiet hours: {held.held:,} held (until as late as "
                         f"{_utc(held.latest)}); those not yet sent stay pending: resume the "
                         "job and they are held again until their window opens.")
        else:
            lines.append(f"Quiet hours: {held.held:,} held until their window opened (the "
                         f"last at {_utc(held.latest)}).")
    skipped = report.skipped
    if skipped.held and skipped.earliest is not None:
        lines.append(f"Quiet hours: {skipped.held:,} skipped outside their window (--no-wait);"
                     f" the first may be texted from {_utc(skipped.earliest)}, the last from "
                     f"{_utc(skipped.latest or skipped.earliest)}: resume the job then.")
    never = held.never + skipped.never
    if never:
        lines.append(f"Quiet hours: {never:,} can never be texted inside the window (unknown "
                     "zone with fallback 'deny'); they were skipped.")
    return lines
