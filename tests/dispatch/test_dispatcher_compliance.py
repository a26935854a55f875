"""Dispatcher compliance: quiet hours at the recipient's location, scheduled sends, segments,
cost, segment limits and smart encoding."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smsbridge import ConfigurationError, Dispatcher, Message, OutcomeStatus, Recipient
from smsbridge import _constants as C
from smsbridge.compliance import TooManySegments
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider

# One number per US zone; the 907 number is judged in both of Alaska's zones.
ZONES = {
    "+12125550100": ("America/New_York",),
    "+13125550100": ("America/Chicago",),
    "+13035550100": ("America/Denver",),
    "+16025550100": ("America/Phoenix",),  # Arizona: no DST
    "+14155550100": ("America/Los_Angeles",),
    "+19075550100": ("America/Anchorage", "America/Adak"),
    "+18085550100": ("Pacific/Honolulu",),
}


class FastClock:
    """Starts at ``start`` and runs ``speed`` times faster than real time (monotonic)."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.at(time.monotonic())

    def at(self, monotonic: float) -> datetime:
        return self.start + timedelta(seconds=(monotonic - self.origin) * self.speed)


def _inside_federal(at: datetime, zones: tuple[str, ...]) -> bool:
    return all(8 <= at.astimezone(ZoneInfo(z)).hour < 21 for z in zones)


async def test_held_recipients_across_us_zones_are_texted_only_once_their_window_opens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 08:30 in New York on a July morning; every zone west of it is still closed. The clock
    # runs an hour per second, and the engine looks at it every 20 ms (36 clock seconds).
    monkeypatch.setattr(C, "QUIET_HOURS_MAX_SLEEP", 0.02)
    clock = FastClock(datetime(2026, 7, 15, 12, 30, tzinfo=UTC), speed=3600)
    fake = FakeProvider()
    dispatcher = Dispatcher(fake, quiet_hours="federal", clock=clock)

    report = await dispatcher.send(Message(to=list(ZONES), body="Sale today"))

    assert report.sent == len(ZONES)
    sent_at = {m.to: clock.at(m.accepted_at) for m in fake.accepted}
    for phone, zones in ZONES.items():
        assert _inside_federal(sent_at[phone], zones), (phone, sent_at[phone])
    # Held ones went out in the order their windows opened (Honolulu last, 18:00 UTC).
    order = sorted(ZONES, key=lambda p: sent_at[p])
    assert order[0] == "+12125550100" and order[-1] == "+18085550100"
    assert sent_at["+19075550100"] >= datetime(2026, 7, 15, 17, 0, tzinfo=UTC)  # Adak's 08:00
    held = report.compliance.held  # type: ignore[union-attr]
    assert held.held == len(ZONES) - 1
    assert held.earliest == datetime(2026, 7, 15, 13, 0, tzinfo=UTC)  # Chicago's 08:00
    assert held.latest == datetime(2026, 7, 15, 18, 0, tzinfo=UTC)  # Honolulu's 08:00


@pytest.mark.parametrize(("moment", "allowed"), [
    # January (standard time everywhere): 20:59 / 21:00 in New York.
    (datetime(2026, 1, 15, 1, 59, tzinfo=UTC), {"+12125550100", "+13125550100",
                                                 "+13035550100", "+16025550100",
                                                 "+14155550100", "+19075550100",
                                                 "+18085550100"}),
    (datetime(2026, 1, 15, 2, 0, tzinfo=UTC), {"+13125550100", "+13035550100",
                                                "+16025550100", "+14155550100",
                                                "+19075550100", "+18085550100"}),
    # July 07:59 in Phoenix (MST, no DST) is 08:59 in Denver (MDT).
    (datetime(2026, 7, 15, 14, 59, tzinfo=UTC), {"+12125550100", "+13125550100",
                                                  "+13035550100"}),
    # 08:00 in Honolulu is 19:00 in Anchorage and 18:00 in Adak, 14:00 in New York.
    (datetime(2026, 7, 15, 18, 0, tzinfo=UTC), set(ZONES)),
])
async def test_without_waiting_recipients_outside_their_window_are_skipped_with_the_next_time(
    moment: datetime, allowed: set[str], journal_path: Path,
) -> None:
    fake = FakeProvider()
    dispatcher = Dispatcher(fake, quiet_hours="federal", wait=False, clock=lambda: moment,
                            journal=journal_path)

    report = await dispatcher.send(Message(to=list(ZONES), body="Hi"))

    assert {o.phone for o in report.by_status("sent")} == allowed
    assert set(fake.accepted_numbers()) == allowed
    skipped = report.by_status("skipped")
    assert {o.phone for o in skipped} == set(ZONES) - allowed
    for outcome in skipped:
        assert outcome.reason == "quiet_hours" and "next allowed" in (outcome.error or "")
    tally = report.compliance.skipped  # type: ignore[union-attr]
    assert tally.held == len(skipped)
    # Never final in the journal: they stay pending for a later resume.
    with Journal(journal_path) as journal:
        pending = {e.phone for e in journal.recipients(report.job_id)
                   if e.state not in ("sent",)}
        assert not pending & allowed
        assert journal.report(report.job_id).pending == len(skipped)
    await dispatcher.aclose()


async def test_a_resume_inside_the_window_sends_what_was_skipped_for_quiet_hours(
    journal_path: Path,
) -> None:
    fake = FakeProvider()
    night = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)  # 23:00 in New York, 20:00 in SF
    first = Dispatcher(fake, quiet_hours="federal", wait=False, clock=lambda: night,
                       journal=journal_path)
    before = await first.send(Message(to=["+12125550100", "+14155550100"], body="Hi"))
    await first.aclose()
    assert [o.status for o in before] == [OutcomeStatus.SKIPPED, OutcomeStatus.SENT]

    morning = datetime(2026, 7, 15, 13, 0, tzinfo=UTC)
    second = Dispatcher(fake, journal=journal_path, clock=lambda: morning)  # stored rules apply
    after = await second.resume()
    await second.aclose()

    assert {o.phone: o.reason for o in after} == {
        "+12125550100": None, "+14155550100": "already_sent"}
    assert fake.accepted_count("+12125550100") == 1 and fake.accepted_count() == 2


async def test_a_toll_free_number_follows_the_fallback_not_every_zone_of_the_plan() -> None:
    # 22:30 UTC in July: 18:30 in New York, 12:30 in Honolulu, but 08:30 (next day) in Guam
    # and 11:30 in Samoa — the 42-zone NANP plan would allow it; the fallback's zones decide.
    fake = FakeProvider()
    at = datetime(2026, 7, 15, 2, 30, tzinfo=UTC)  # 22:30 New York: outside the strictest window
    dispatcher = Dispatcher(fake, quiet_hours="federal", wait=False, clock=lambda: at)
    report = await dispatcher.send(Message(to=["+18005550199"], body="Hi"))
    (outcome,) = report.outcomes
    assert outcome.reason == "quiet_hours"
    # The strictest US window reopens at 08:00 in Honolulu (18:00 UTC).
    assert "next allowed 2026-07-15 18:00 UTC" in (outcome.error or "")


async def test_a_naive_send_at_is_refused_before_anything_is_stored(journal_path: Path) -> None:
    dispatcher = Dispatcher(FakeProvider(), journal=journal_path)
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        await dispatcher.send(Message(to=["+12125550100"], body="Hi"),
                              send_at=datetime(2026, 12, 1, 9, 0))
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        dispatcher.stream(["+12125550100"], body="Hi", send_at=datetime(2026, 12, 1, 9, 0))
    await dispatcher.aclose()
    assert _stored_jobs(journal_path) == 0


def _stored_jobs(path: Path) -> int:
    if not path.exists():
        return 0
    with Journal(path) as journal:
        return len(journal.jobs())


async def test_a_scheduled_send_waits_until_its_time_by_the_clock() -> None:
    clock = FastClock(datetime(2026, 12, 1, 13, 59, 59, tzinfo=UTC))
    fake = FakeProvider()
    send_at = datetime(2026, 12, 1, 9, 0, 0, 500000, tzinfo=ZoneInfo("America/New_York"))
    report = await Dispatcher(fake, clock=clock).send(
        Message(to=["+12125550100", "+14155550100"], body="Hi"), send_at=send_at)
    assert report.sent == 2
    assert min(clock.at(m.accepted_at) for m in fake.accepted) >= send_at
    assert report.compliance.send_at == send_at  # type: ignore[union-attr]


async def test_a_dry_run_reports_segments_ucs2_recipients_and_the_estimated_cost() -> None:
    recipients = [
        Recipient("+12125550100", {"name": "Ann"}),     # GSM-7: 1 segment
        Recipient("+12125550101", {"name": "Zoë"}),     # ë forces UCS-2
        Recipient("+12125550102", {"name": "Bo 😀"}),   # an emoji forces UCS-2
        Recipient("+12125550103", {"name": "x" * 150}),  # 2 GSM-7 segments
    ]
    dispatcher = Dispatcher(FakeProvider(), dry_run=True, price_per_segment="0.0079")
    report = await dispatcher.send(Message(to=recipients, body="Hi {name}, see you"))

    segments = report.compliance.segments  # type: ignore[union-attr]
    assert segments.recipients == 4
    assert segments.total_segments == 1 + 1 + 1 + 2
    assert segments.ucs2_recipients == 2
    assert segments.ucs2_characters == {"ë": 1, "😀": 1}
    assert report.compliance.estimated_cost == Decimal("0.0395")  # type: ignore[union-attr]


async def test_a_rendered_body_over_max_segments_fails_before_any_request() -> None:
    fake = FakeProvider()
    recipients = [Recipient("+12125550100", {"name": "Ann"}),
                  Recipient("+12125550101", {"name": "y" * 200})]
    report = await Dispatcher(fake, max_segments=1).send(
        Message(to=recipients, body="Hi {name}"))
    assert [o.status for o in report] == [OutcomeStatus.SENT, OutcomeStatus.FAILED]
    assert report.outcomes[1].reason == "too_many_segments"
    assert "2 segments" in (report.outcomes[1].error or "")
    assert set(fake.accepted_numbers()) == {"+12125550100"}


async def test_a_body_without_variables_over_max_segments_is_a_usage_error(
    journal_path: Path,
) -> None:
    fake = FakeProvider()
    dispatcher = Dispatcher(fake, max_segments=1, journal=journal_path)
    with pytest.raises(TooManySegments) as info:
        await dispatcher.send(Message(to=["+12125550100"], body="z" * 161))
    assert info.value.segments == 2 and info.value.limit == 1
    assert fake.calls == 0
    await dispatcher.aclose()


async def test_smart_encoding_sends_gsm7_and_reports_what_it_replaced() -> None:
    fake = FakeProvider()
    report = await Dispatcher(fake, smart_encoding=True).send(
        Message(to=["+12125550100", "+12125550101"],
                body="It\u2019s \u201con\u201d \u2014 10\u00a0am"))
    assert {m.body for m in fake.accepted} == {'It\'s "on" - 10 am'}
    compliance = report.compliance
    assert compliance is not None
    assert compliance.replacements == {
        "\u2019": 2, "\u201c": 2, "\u201d": 2, "\u2014": 2, "\u00a0": 2}
    assert compliance.segments.ucs2_recipients == 0


async def test_smart_encoding_and_the_segment_limit_are_part_of_the_job_identity(
    journal_path: Path,
) -> None:
    message = Message(to=["+12125550100"], body="It\u2019s on")
    plain = await Dispatcher(FakeProvider(), journal=journal_path).send(message)
    smart = await Dispatcher(FakeProvider(), journal=journal_path, smart_encoding=True).send(
        message)
    limited = await Dispatcher(FakeProvider(), journal=journal_path, max_segments=3).send(
        message)
    assert len({plain.job_id, smart.job_id, limited.job_id}) == 3
    with Journal(journal_path) as journal:
        stored = journal.job(smart.job_id).spec
    assert stored.smart_encoding is True and stored.max_segments is None


async def test_quiet_hours_refuse_a_provider_scheduled_at_they_could_not_check() -> None:
    fake = FakeProvider()
    dispatcher = Dispatcher(fake, quiet_hours="federal")
    with pytest.raises(ConfigurationError, match="send_at"):
        await dispatcher.send(Message(to=["+12125550100"], body="Hi",
                                      options={"scheduled_at": "2026-12-01T23:30:00Z"}))
    assert fake.calls == 0


async def test_a_real_run_with_a_price_reports_the_segments_sent_and_their_cost() -> None:
    fake = FakeProvider()
    report = await Dispatcher(fake, price_per_segment=Decimal("0.01")).send(
        Message(to=["+12125550100", "+12125550101"], body="w" * 161))
    compliance = report.compliance
    assert compliance is not None and report.sent == 2
    assert compliance.segments.total_segments == 4
    assert compliance.estimated_cost == Decimal("0.04")
