"""Weekly availability patterns ("Tue 14:00-18:00") expanded into dated intervals."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matcher.model import Interval

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 400  # a semester or a year; longer ranges are almost certainly typos
_PATTERN = re.compile(
    r"^\s*(?P<days>[A-Za-z]{3}(?:\s*,\s*[A-Za-z]{3})*)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


def _clock(text: str) -> time:
    hours, minutes = (int(p) for p in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    return time(hours, minutes)


def parse_pattern(pattern: str) -> tuple[set[int], time, time]:
    """Weekdays (0 = Monday) and the clock span of one pattern; ValueError if malformed."""
    match = _PATTERN.match(pattern)
    if match is None:
        raise ValueError(f'{pattern!r} is not a weekly pattern like "Tue 14:00-18:00"')
    days = set()
    for name in re.split(r"\s*,\s*", match["days"].lower()):
        if name not in DAYS:
            raise ValueError(f"{name!r} is not a day (Mon..Sun) in {pattern!r}")
        days.add(DAYS.index(name))
    try:
        start, end = _clock(match["start"]), _clock(match["end"])
    except ValueError:
        raise ValueError(f"{pattern!r} has a time that is not HH:MM") from None
    if end <= start:
        raise ValueError(f"{pattern!r} ends before it starts")
    return days, start, end


def expand_weekly(
    patterns: list[str], start_date: date, end_date: date, zone: str
) -> list[Interval]:
    """Every occurrence of the patterns from `start_date` to `end_date` inclusive, with the
    zone's UTC offset on each date."""
    if end_date < start_date:
        raise ValueError("end_date is before start_date")
    if (end_date - start_date).days > MAX_DAYS:
        raise ValueError(f"the date range is longer than {MAX_DAYS} days")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None
    parsed = [parse_pattern(p) for p in patterns]
    out: list[Interval] = []
    day = start_date
    while day <= end_date:
        for days, start, end in parsed:
            if day.weekday() in days:
                begin = datetime.combine(day, start, tz)
                finish = (
                    datetime.combine(day + timedelta(days=1), time(0), tz)
                    if end == time.max
                    else datetime.combine(day, end, tz)
                )
                out.append(Interval(start=begin, end=finish))
        day += timedelta(days=1)
    return out
