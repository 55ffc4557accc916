"""Periods: report ranges given as dates or times, and the year a target counts over.

A date stands for a whole local day in the caller organization's time zone: `from=2026-03-01`
starts at that day's midnight, `to=2026-03-10` ends at the end of the 10th (inclusive). A time
(RFC 3339, with its offset) is taken as it is, `to` exclusive. Every problem names its parameter.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.errors import FieldError, InvalidInput

MAX_RANGE_DAYS = 400


def day_start(day: date, timezone: str) -> datetime:
    """Midnight at the start of `day` in `timezone`."""
    return datetime.combine(day, time(), ZoneInfo(timezone))


def moment(value: date | datetime, timezone: str, *, end: bool) -> datetime:
    """A range end as an instant: a date is the start of that local day, or (`end`) of the next."""
    if isinstance(value, datetime):
        return value
    return day_start(value + timedelta(days=1) if end else value, timezone)


def resolve_range(
    start: date | datetime,
    end: date | datetime,
    timezone: str,
    names: tuple[str, str] = ("from", "to"),
    max_days: int = MAX_RANGE_DAYS,
    where: str = "query",
) -> tuple[datetime, datetime]:
    """[start, end) from two report parameters (in the `where` part of the request); 422
    naming the parameter if the range is empty or longer than `max_days`."""
    lo, hi = moment(start, timezone, end=False), moment(end, timezone, end=True)
    if hi <= lo:
        raise InvalidInput(
            f"`{names[1]}` must come after `{names[0]}`",
            fields=[FieldError(loc=[where, names[1]], msg=f"not after `{names[0]}`")],
        )
    if (hi - lo).days > max_days:
        raise InvalidInput(
            f"the range spans more than {max_days} days",
            fields=[
                FieldError(loc=[where, names[1]], msg=f"at most {max_days} days after `{names[0]}`")
            ],
        )
    return lo, hi


def optional_range(
    start: date | datetime | None,
    end: date | datetime | None,
    timezone: str,
    names: tuple[str, str] = ("from", "to"),
) -> tuple[datetime | None, datetime | None]:
    """Like `resolve_range` with either end optional and no length limit (filters)."""
    lo = None if start is None else moment(start, timezone, end=False)
    hi = None if end is None else moment(end, timezone, end=True)
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidInput(
            f"`{names[1]}` must come after `{names[0]}`",
            fields=[FieldError(loc=["query", names[1]], msg=f"not after `{names[0]}`")],
        )
    return lo, hi


def check_period_start(text: str) -> str:
    """A target year's first day as MM-DD (02-29 refused: not every year has it)."""
    try:
        day = date.fromisoformat(f"2001-{text}")
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a day of the year like 01-01 or 09-01",
            fields=[FieldError(loc=["body", "period_start"], msg="a day as MM-DD")],
        ) from None
    return f"{day.month:02d}-{day.day:02d}"


def target_year(year: int, period_start: str, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of target year `year`: from `period_start` (MM-DD) of `year` to the same
    day a year later, local midnights."""
    month, day = (int(p) for p in period_start.split("-"))
    return (
        day_start(date(year, month, day), timezone),
        day_start(date(year + 1, month, day), timezone),
    )


def year_of(moment_: datetime, period_start: str, timezone: str) -> int:
    """The target year `moment_` falls in."""
    local = moment_.astimezone(ZoneInfo(timezone)).date()
    month, day = (int(p) for p in period_start.split("-"))
    return local.year if (local.month, local.day) >= (month, day) else local.year - 1
