"""Service hours and callback windows: whether chat is open now, the callback
slots a resident can pick, and checking a window.

Pure functions of the clock and the service's settings, so they are tested
with fixed times. Slots are cut from the service hours in the service's
local time zone (residents and counsellors are in the same city).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.errors import InvalidInput

MIN_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(hours=12)


@dataclass(frozen=True)
class ServiceHours:
    """When counsellors phone residents, in local time."""

    opens: time
    closes: time
    slot: timedelta
    zone: ZoneInfo

    @classmethod
    def parse(cls, hours: str, slot_minutes: int, zone: str) -> ServiceHours:
        """From config: ``"08:00-22:00"``, slot length, IANA zone name."""
        opens, closes = (time.fromisoformat(part.strip()) for part in hours.split("-"))
        if closes <= opens:
            raise ValueError(f"callback hours must open before they close: {hours!r}")
        if slot_minutes < 15:
            raise ValueError("callback slots must be at least 15 minutes")
        return cls(opens, closes, timedelta(minutes=slot_minutes), ZoneInfo(zone))


def is_open(hours: ServiceHours, now: datetime) -> bool:
    """Whether ``now`` falls within the service hours (local time)."""
    local = now.astimezone(hours.zone).time()
    return hours.opens <= local < hours.closes


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    # "today" or "tomorrow", in the service's zone.
    day: str

    def to_payload(self) -> dict[str, str]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "day": self.day,
        }


def slots(hours: ServiceHours, now: datetime) -> list[Slot]:
    """The slots of today and tomorrow that have not ended yet.

    The slot under way is included: a resident may ask for a call now.
    """
    local_now = now.astimezone(hours.zone)
    today = local_now.date()
    found = []
    for day_name, day in (("today", today), ("tomorrow", today + timedelta(days=1))):
        for start, end in _day_slots(hours, day):
            if end > now:
                found.append(Slot(start.astimezone(UTC), end.astimezone(UTC), day_name))
    return found


def _day_slots(hours: ServiceHours, day: date) -> list[tuple[datetime, datetime]]:
    start = datetime.combine(day, hours.opens, hours.zone)
    closes = datetime.combine(day, hours.closes, hours.zone)
    found = []
    while start < closes:
        end = min(start + hours.slot, closes)
        found.append((start, end))
        start = end
    return found


def _refused(reason: str) -> InvalidInput:
    """A window the resident must choose again; ``reason`` says why."""
    return InvalidInput(f"window_{reason}", field="window")


def parse_instant(value: object) -> datetime:
    """An ISO 8601 time with an offset (``...Z`` or ``+08:00``), in UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise _refused("format")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _refused("format") from None
    if parsed.tzinfo is None:
        raise _refused("format")
    return parsed.astimezone(UTC)


def check_window(
    start: datetime, end: datetime, now: datetime, max_ahead: timedelta
) -> None:
    """Raise InvalidInput unless [start, end) is a sensible callback window:
    not over, not too far ahead, neither too short nor too long."""
    if end <= start:
        raise _refused("order")
    if end <= now:
        raise _refused("past")
    if start > now + max_ahead:
        raise _refused("too_far")
    if end - start < MIN_WINDOW:
        raise _refused("too_short")
    if end - start > MAX_WINDOW:
        raise _refused("too_long")


@dataclass(frozen=True)
class Retry:
    """When to ring again, and the resident's window that time falls in."""

    at: datetime
    window_start: datetime
    window_end: datetime


def schedule_retry(
    start: datetime, end: datetime, earliest: datetime, zone: ZoneInfo
) -> Retry:
    """The next try for a callback with window [start, end), no sooner than
    ``earliest``: inside the window, at its start if ``earliest`` comes
    before it, else at the start of the same hours on the next day (local
    time in ``zone``) that leaves room. Never at an hour the resident did
    not choose."""
    while earliest >= end:
        start, end = _a_day_later(start, zone), _a_day_later(end, zone)
    return Retry(max(earliest, start), start, end)


def _a_day_later(moment: datetime, zone: ZoneInfo) -> datetime:
    # Wall-clock arithmetic in the service's zone keeps the resident's local
    # hours across a daylight-saving change.
    return (moment.astimezone(zone) + timedelta(days=1)).astimezone(UTC)
