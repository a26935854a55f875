"""Quiet hours in the recipient's zone(s), with an injected clock, across US zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from smsbridge.compliance.errors import InvalidQuietHours
from smsbridge.compliance.quiet_hours import PRESETS, STRICTEST_US, QuietHours, QuietHoursTally
from smsbridge.errors import InvalidPhoneNumber, ValidationError

FEDERAL = QuietHours.preset("federal")

EASTERN = "+12125551234"  # New York
CENTRAL = "+13125551234"  # Chicago
MOUNTAIN = "+13035551234"  # Denver
ARIZONA = "+16025551234"  # Phoenix: Mountain Standard Time all year
PACIFIC = "+14155551234"  # San Francisco
ALASKA = "+19075551234"  # 907: Anchorage and Adak (the Aleutians, an hour behind)
HAWAII = "+18085551234"  # Honolulu: no DST
IDAHO = "+12085551234"  # 208: Boise (Mountain) and the panhandle (Pacific)
UNKNOWN_ZONE = "+80012345678"  # international freephone: valid, no time zone


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (number, day, UTC hour the federal window opens, UTC hour it closes): 08:00 and 21:00 local.
WINDOWS = [
    (EASTERN, "2026-01-15", 13, 2), (EASTERN, "2026-07-15", 12, 1),
    (CENTRAL, "2026-01-15", 14, 3), (CENTRAL, "2026-07-15", 13, 2),
    (MOUNTAIN, "2026-01-15", 15, 4), (MOUNTAIN, "2026-07-15", 14, 3),
    (ARIZONA, "2026-01-15", 15, 4), (ARIZONA, "2026-07-15", 15, 4),
    (PACIFIC, "2026-01-15", 16, 5), (PACIFIC, "2026-07-15", 15, 4),
    # Alaska: opens with Adak (later), closes with Anchorage (earlier).
    (ALASKA, "2026-01-15", 18, 6), (ALASKA, "2026-07-15", 17, 5),
    (HAWAII, "2026-01-15", 18, 7), (HAWAII, "2026-07-15", 18, 7),
    (IDAHO, "2026-01-15", 16, 4), (IDAHO, "2026-07-15", 15, 3),
]


@pytest.mark.parametrize(("number", "day", "opens", "closes"), WINDOWS)
def test_federal_window_opens_at_8_and_closes_at_9_local_in_each_us_zone(
    number: str, day: str, opens: int, closes: int
) -> None:
    opening = utc(f"{day}T{opens:02d}:00")
    closing = utc(f"{day}T{closes:02d}:00") + timedelta(days=1 if closes < opens else 0)
    minute = timedelta(minutes=1)

    before = FEDERAL.check(number, opening - minute)
    assert not before.allowed and before.next_allowed == opening
    assert FEDERAL.is_allowed(number, opening)
    assert FEDERAL.is_allowed(number, closing - minute)
    after = FEDERAL.check(number, closing)
    assert not after.allowed
    assert after.next_allowed == opening + timedelta(days=1)
    assert after.reason == "quiet_hours" and not after.used_fallback


def test_allowed_check_returns_now_as_next_allowed() -> None:
    now = utc("2026-01-15T15:00")
    check = FEDERAL.check(EASTERN, now)
    assert check.allowed and check.next_allowed == now and check.at == now
    assert check.zones == ("America/New_York",)


def test_multi_zone_number_is_held_while_any_of_its_zones_is_outside_the_window() -> None:
    # 17:30 UTC in January: 08:30 in Anchorage (open) but 07:30 in Adak (closed).
    now = utc("2026-01-15T17:30")
    assert FEDERAL.is_allowed("+19075550000", now) is False
    check = FEDERAL.check(ALASKA, now)
    assert set(check.zones) == {"America/Anchorage", "America/Adak"}
    assert check.next_allowed == utc("2026-01-15T18:00")


def test_arizona_keeps_standard_time_while_denver_springs_forward() -> None:
    # 14:30 UTC on 9 March 2026: 08:30 MDT in Denver, 07:30 MST in Phoenix.
    now = utc("2026-03-09T14:30")
    assert FEDERAL.is_allowed(MOUNTAIN, now)
    assert not FEDERAL.is_allowed(ARIZONA, now)
    assert FEDERAL.next_allowed(ARIZONA, now) == utc("2026-03-09T15:00")
    # Phoenix opens at 15:00 UTC on both sides of the change.
    assert FEDERAL.next_allowed(ARIZONA, utc("2026-03-07T12:00")) == utc("2026-03-07T15:00")


def test_next_allowed_across_spring_forward_uses_the_new_offset() -> None:
    # 23:00 EST on Saturday 7 March 2026; clocks go forward at 02:00 on Sunday 8 March.
    now = utc("2026-03-08T04:00")
    assert not FEDERAL.is_allowed(EASTERN, now)
    assert FEDERAL.next_allowed(EASTERN, now) == utc("2026-03-08T12:00")  # 08:00 EDT
    # Hawaii has no DST: 08:00 HST is 18:00 UTC either way (08:00 UTC is 22:00 HST the day before).
    assert FEDERAL.next_allowed(HAWAII, utc("2026-03-08T08:00")) == utc("2026-03-08T18:00")
    assert FEDERAL.next_allowed(HAWAII, utc("2026-03-07T08:00")) == utc("2026-03-07T18:00")


def test_next_allowed_across_fall_back_uses_the_new_offset() -> None:
    # 00:00 EDT on Sunday 1 November 2026; clocks go back at 02:00.
    now = utc("2026-11-01T04:00")
    assert FEDERAL.next_allowed(EASTERN, now) == utc("2026-11-01T13:00")  # 08:00 EST
    assert FEDERAL.next_allowed(PACIFIC, utc("2026-11-01T08:00")) == utc("2026-11-01T16:00")


def test_a_window_over_the_skipped_hour_is_shorter_on_spring_forward_day() -> None:
    night = QuietHours("01:00", "03:00", fallback="deny")
    assert night.is_allowed(EASTERN, utc("2026-03-08T06:30"))  # 01:30 EST
    at_three = night.check(EASTERN, utc("2026-03-08T07:00"))  # 03:00 EDT: an hour later
    assert not at_three.allowed
    assert at_three.next_allowed == utc("2026-03-09T05:00")  # 01:00 EDT


def test_a_window_over_the_repeated_hour_is_open_both_times_on_fall_back_day() -> None:
    night = QuietHours("01:00", "02:00")
    assert night.is_allowed(EASTERN, utc("2026-11-01T05:30"))  # 01:30 EDT
    assert night.is_allowed(EASTERN, utc("2026-11-01T06:30"))  # 01:30 EST, again
    assert night.next_allowed(EASTERN, utc("2026-11-01T07:00")) == utc("2026-11-02T06:00")


def test_a_window_may_cross_midnight() -> None:
    overnight = QuietHours("22:00", "06:00")
    assert overnight.is_allowed(EASTERN, utc("2026-01-16T03:00"))  # 22:00 EST
    assert overnight.is_allowed(EASTERN, utc("2026-01-16T10:59"))  # 05:59 EST
    assert overnight.next_allowed(EASTERN, utc("2026-01-16T12:00")) == utc("2026-01-17T03:00")


def test_stricter_state_window_closes_an_hour_earlier() -> None:
    strict = QuietHours.parse("08:00-20:00")
    now = utc("2026-01-16T01:30")  # 20:30 EST
    assert FEDERAL.is_allowed(EASTERN, now)
    assert not strict.is_allowed(EASTERN, now)
    assert strict == QuietHours.preset("strict")


def test_zones_whose_windows_never_overlap_give_no_next_time() -> None:
    one_hour = QuietHours("08:00", "09:00")
    check = one_hour.check(ALASKA, utc("2026-01-15T12:00"))
    assert not check.allowed and check.next_allowed is None


def test_unknown_zone_follows_the_strictest_us_window_by_default() -> None:
    check = FEDERAL.check(UNKNOWN_ZONE, utc("2026-01-15T17:59"))
    assert check.used_fallback and set(check.zones) == set(STRICTEST_US)
    # 08:00 in Hawaii and Adak (18:00 UTC) ... until 21:00 Eastern (02:00 UTC).
    assert check.next_allowed == utc("2026-01-15T18:00")
    assert FEDERAL.is_allowed(UNKNOWN_ZONE, utc("2026-01-16T01:59"))
    assert not FEDERAL.is_allowed(UNKNOWN_ZONE, utc("2026-01-16T02:00"))


def test_unknown_zone_fallback_is_configurable() -> None:
    eastern = QuietHours("08:00", "21:00", fallback="America/New_York")
    assert eastern.is_allowed(UNKNOWN_ZONE, utc("2026-01-15T13:00"))
    several = QuietHours("08:00", "21:00", fallback=["America/New_York", "America/Chicago"])
    assert several.next_allowed(UNKNOWN_ZONE, utc("2026-01-15T13:00")) == utc("2026-01-15T14:00")
    assert QuietHours("08:00", "21:00", fallback="strictest-us") == FEDERAL


def test_deny_fallback_never_allows_an_unknown_zone_but_still_judges_known_ones() -> None:
    deny = QuietHours("08:00", "21:00", fallback="deny")
    check = deny.check(UNKNOWN_ZONE, utc("2026-01-15T20:00"))
    assert not check.allowed and check.next_allowed is None and check.used_fallback
    assert deny.is_allowed(EASTERN, utc("2026-01-15T20:00"))


def test_non_us_numbers_are_judged_in_their_own_zone() -> None:
    uk = "+447911123456"
    assert FEDERAL.is_allowed(uk, utc("2026-01-15T08:00"))
    assert FEDERAL.next_allowed(uk, utc("2026-07-15T06:00")) == utc("2026-07-15T07:00")  # BST


def test_the_injected_clock_is_used_when_no_time_is_given() -> None:
    readings = [utc("2026-01-15T12:00"), utc("2026-01-15T13:00")]
    quiet = QuietHours("08:00", "21:00", clock=lambda: readings[0])
    assert not quiet.is_allowed(EASTERN)
    assert quiet.next_allowed(EASTERN) == utc("2026-01-15T13:00")
    readings[0] = readings[1]
    assert quiet.is_allowed(EASTERN)


def test_aware_times_in_any_offset_are_accepted_and_results_are_utc() -> None:
    new_york = datetime(2026, 1, 15, 7, 30, tzinfo=ZoneInfo("America/New_York"))
    result = FEDERAL.next_allowed(EASTERN, new_york)
    assert result == utc("2026-01-15T13:00") and result is not None and result.tzinfo is UTC
    est = timezone(-timedelta(hours=5))
    assert FEDERAL.is_allowed(EASTERN, datetime(2026, 1, 15, 8, 0, tzinfo=est))


def test_naive_times_are_rejected() -> None:
    with pytest.raises(InvalidQuietHours, match="timezone-aware"):
        FEDERAL.check(EASTERN, datetime(2026, 1, 15, 12, 0))
    naive_clock = QuietHours("08:00", "21:00", clock=lambda: datetime(2026, 1, 15, 12, 0))
    with pytest.raises(InvalidQuietHours, match="timezone-aware"):
        naive_clock.is_allowed(EASTERN)


def test_an_invalid_number_is_a_typed_error_with_the_number_masked() -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        FEDERAL.check("+1212555", utc("2026-01-15T12:00"))
    assert "+1212555" not in str(info.value)


def test_numbers_without_country_code_use_the_region() -> None:
    assert FEDERAL.check("(212) 555-1234", utc("2026-01-15T13:00")).zones == ("America/New_York",)
    london = QuietHours("08:00", "21:00", region="GB")
    assert london.check("07911 123456", utc("2026-01-15T08:00")).allowed


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [("federal", time(8), time(21)), ("Strict", time(8), time(20)),
     ("08:00-21:00", time(8), time(21)), (" 8:30 - 19:45 ", time(8, 30), time(19, 45))],
)
def test_parse_accepts_presets_and_windows(spec: str, start: time, end: time) -> None:
    quiet = QuietHours.parse(spec)
    assert (quiet.start, quiet.end) == (start, end)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tcpa", "unknown quiet-hours preset 'tcpa'; use one of federal, strict"),
        ("", "preset"),
        ("25:00-08:00", "HH:MM"),
        ("08:00-08:00", "is empty"),
        ("eight-nine", "HH:MM"),
        ("08:00-", "preset"),
    ],
)
def test_parse_rejects_bad_windows_with_a_hint(spec: str, message: str) -> None:
    with pytest.raises(InvalidQuietHours, match=message) as info:
        QuietHours.parse(spec)
    assert isinstance(info.value, ValidationError)


@pytest.mark.parametrize("fallback", ["Mars/Olympus", [], ["America/New_York", "Nowhere/Else"]])
def test_a_bad_fallback_is_rejected_when_configured(fallback: str | list[str]) -> None:
    with pytest.raises(InvalidQuietHours, match="zone"):
        QuietHours("08:00", "21:00", fallback=fallback)


def test_window_times_must_be_wall_clock_times() -> None:
    with pytest.raises(InvalidQuietHours, match="without a time zone"):
        QuietHours(time(8, tzinfo=UTC), time(21))


def test_presets_and_repr() -> None:
    assert PRESETS["federal"] == (time(8), time(21))
    assert repr(FEDERAL) == "QuietHours(08:00-21:00, fallback=strictest-us)"
    assert repr(QuietHours("08:00", "20:00", fallback="deny")) == (
        "QuietHours(08:00-20:00, fallback=deny)"
    )


def test_tally_counts_held_recipients_and_the_span_of_their_release_times() -> None:
    tally = QuietHoursTally()
    now = utc("2026-01-15T12:00")
    for number in (EASTERN, CENTRAL, HAWAII):  # held until 13:00, 14:00 and 18:00 UTC
        tally.add(FEDERAL.check(number, now))
    tally.add(FEDERAL.check(EASTERN, utc("2026-01-15T15:00")))  # allowed: not counted
    tally.add(QuietHours("08:00", "09:00").check(ALASKA, now))  # never
    assert (tally.held, tally.never) == (3, 1)
    assert tally.earliest == utc("2026-01-15T13:00")
    assert tally.latest == utc("2026-01-15T18:00")


def test_next_allowed_is_the_first_allowed_minute_found_by_stepping_minute_by_minute() -> None:
    import random

    rng = random.Random(14)
    numbers = [EASTERN, CENTRAL, ARIZONA, PACIFIC, ALASKA, HAWAII, IDAHO, UNKNOWN_ZONE]
    # Around both 2026 DST changes and an ordinary day.
    days = [utc("2026-03-07T00:00"), utc("2026-10-31T00:00"), utc("2026-06-10T00:00")]
    for _ in range(30):
        number = rng.choice(numbers)
        now = rng.choice(days) + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        expected = now
        while not FEDERAL.is_allowed(number, expected):
            expected += timedelta(minutes=1)
        assert FEDERAL.next_allowed(number, now) == expected, (number, now)


@pytest.mark.parametrize("number", ["+18005550199", "+18885550123", "+15005550123",
                                    "+19005550123"])
def test_toll_free_and_other_non_geographic_numbers_follow_the_fallback(number: str) -> None:
    # phonenumbers maps them to all 42 NANP zones (Guam to Newfoundland): a window that
    # says nothing about where the holder is. They are judged as of unknown zone instead.
    check = FEDERAL.check(number, utc("2026-07-15T22:30"))
    assert check.used_fallback
    assert check.zones == STRICTEST_US
    assert QuietHours("08:00", "21:00", fallback="deny").check(
        number, utc("2026-07-15T18:00")).next_allowed is None


def test_a_mobile_number_of_a_country_without_mobile_locations_keeps_its_country_zones() -> None:
    check = FEDERAL.check("+61412345678", utc("2026-07-15T02:00"))  # an Australian mobile
    assert not check.used_fallback
    assert "Australia/Sydney" in check.zones and "America/New_York" not in check.zones
