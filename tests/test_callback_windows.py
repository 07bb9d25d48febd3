"""Callback slots and window checks, with fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.errors import InvalidInput
from hotline.services.callback_windows import (
    Retry,
    ServiceHours,
    check_window,
    parse_instant,
    schedule_retry,
    slots,
)

HOURS = ServiceHours.parse("08:00-22:00", 120, "Asia/Shanghai")
AHEAD = timedelta(hours=48)


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    # Shanghai is UTC+8 all year (no daylight saving).
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_slots_start_with_the_one_under_way_and_cover_tomorrow():
    found = slots(HOURS, shanghai(1, 9, 30))
    assert found[0].start == shanghai(1, 8) and found[0].end == shanghai(1, 10)
    assert [s.day for s in found].count("today") == 7
    assert [s.day for s in found].count("tomorrow") == 7
    assert found[-1].end == shanghai(2, 22)


def test_late_at_night_only_tomorrow_is_left():
    found = slots(HOURS, shanghai(1, 23, 15))
    assert {s.day for s in found} == {"tomorrow"}
    assert found[0].start == shanghai(2, 8)


def test_the_last_slot_is_cut_at_closing_time():
    hours = ServiceHours.parse("09:00-12:30", 60, "Asia/Shanghai")
    found = slots(hours, shanghai(1, 8))
    assert [(s.start, s.end) for s in found if s.day == "today"][-1] == (
        shanghai(1, 12),
        shanghai(1, 12, 30),
    )


@pytest.mark.parametrize("hours", ["22:00-08:00", "8-22", "08:00"])
def test_bad_service_hours_are_refused_at_start(hours):
    with pytest.raises(ValueError):
        ServiceHours.parse(hours, 120, "Asia/Shanghai")


def test_instants_need_an_offset_and_come_back_in_utc():
    assert parse_instant("2026-12-01T10:00:00+08:00") == shanghai(1, 10)
    assert parse_instant("2026-12-01T02:00:00Z") == shanghai(1, 10)
    for bad in ("2026-12-01T10:00:00", "tomorrow", 5, None, "2" * 50):
        with pytest.raises(InvalidInput):
            parse_instant(bad)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (shanghai(1, 12), shanghai(1, 11), "order"),
        (shanghai(1, 6), shanghai(1, 8), "past"),
        (shanghai(4, 10), shanghai(4, 12), "too_far"),
        (shanghai(1, 12), shanghai(1, 12, 10), "too_short"),
        (shanghai(1, 10), shanghai(2, 9), "too_long"),
    ],
)
def test_unusable_windows_say_why(start, end, reason):
    with pytest.raises(InvalidInput) as caught:
        check_window(start, end, shanghai(1, 9), AHEAD)
    assert caught.value.reason == f"window_{reason}"
    assert caught.value.details == {"field": "window"}


def test_the_current_slot_and_tomorrows_are_fine():
    now = shanghai(1, 9, 30)
    check_window(shanghai(1, 8), shanghai(1, 10), now, AHEAD)
    check_window(shanghai(2, 20), shanghai(2, 22), now, AHEAD)


# --- retries stay inside the resident's window ------------------------------

RETRY_AFTER = timedelta(minutes=30)


@pytest.mark.parametrize(
    ("tried_at", "retry"),
    [
        # Before the window opened (a supervisor rang early): at its start,
        # never at 04:06.
        (shanghai(1, 3, 36), Retry(shanghai(1, 8), shanghai(1, 8), shanghai(1, 10))),
        # Inside it with room to spare: half an hour later.
        (
            shanghai(1, 8, 10),
            Retry(shanghai(1, 8, 40), shanghai(1, 8), shanghai(1, 10)),
        ),
        # Too late for this window (or after it): the same hours tomorrow.
        (shanghai(1, 9, 50), Retry(shanghai(2, 8), shanghai(2, 8), shanghai(2, 10))),
        (shanghai(1, 9, 30), Retry(shanghai(2, 8), shanghai(2, 8), shanghai(2, 10))),
        (shanghai(1, 11, 15), Retry(shanghai(2, 8), shanghai(2, 8), shanghai(2, 10))),
    ],
    ids=["before-window", "inside", "too-late", "at-the-end", "after-window"],
)
def test_a_retry_falls_in_the_window_or_the_next_one(tried_at, retry):
    assert (
        schedule_retry(
            shanghai(1, 8),
            shanghai(1, 10),
            tried_at + RETRY_AFTER,
            HOURS.zone,
        )
        == retry
    )


def test_the_next_days_window_keeps_the_local_hours_across_daylight_saving():
    london = ZoneInfo("Europe/London")
    # Clocks go forward on 29 March 2026: 08:00 is 07:00 UTC, then 08:00 UTC.
    start = datetime(2026, 3, 28, 8, tzinfo=UTC)
    end = start + timedelta(hours=2)
    retry = schedule_retry(start, end, end, london)
    assert retry.window_start == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert retry.window_start.astimezone(london).hour == 8
    assert retry.at == retry.window_start
