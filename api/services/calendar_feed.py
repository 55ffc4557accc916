"""A volunteer's private calendar feed (RFC 5545, built with `icalendar`).

One VEVENT per proposed, confirmed or under-way assignment of the last 30 days and later: its
time in the center's time zone when that zone has the request's UTC offset at that moment
(TZID plus the VTIMEZONE the feed carries), else in UTC, so that every phone shows the instant
the center meant. Proposed work is TENTATIVE, confirmed work CONFIRMED. The UID is stable per
assignment, so a calendar updates an event rather than adding another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event

from api.models import Assignment, AssignmentStatus, Organization, in_offset

PAST = timedelta(days=30)
FEED_STATUSES = (
    AssignmentStatus.PROPOSED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
)
_STATUS = {
    AssignmentStatus.PROPOSED: "TENTATIVE",
    AssignmentStatus.CONFIRMED: "CONFIRMED",
    AssignmentStatus.CHECKED_IN: "CONFIRMED",
}


def local_time(moment: datetime, offset_min: int, zone: str) -> datetime:
    """`moment` in `zone` if that zone has `offset_min` then, else in UTC."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC)
    shown = moment.astimezone(tz)
    offset = shown.utcoffset()
    if offset is not None and offset == in_offset(moment, offset_min).utcoffset():
        return shown
    return moment.astimezone(UTC)


def feed(
    assignments: Sequence[Assignment],
    centers: dict[int, Organization],
    contacts: dict[int, str | None],
    now: datetime,
    name: str,
) -> bytes:
    """The feed of `assignments` (with their requests loaded); `contacts` by center id."""
    calendar = Calendar()
    calendar.add("prodid", "-//volmatch//volunteer schedule//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for assignment in assignments:
        request = assignment.request
        center = centers.get(request.center_id)
        zone = center.timezone if center is not None else "UTC"
        event = Event()
        event.add("uid", f"assignment-{assignment.id}@volmatch")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("last-modified", assignment.updated_at.astimezone(UTC))
        event.add("dtstart", local_time(assignment.starts, request.offset_min, zone))
        event.add("dtend", local_time(assignment.ends, request.offset_min, zone))
        summary = request.title
        if assignment.status == AssignmentStatus.PROPOSED:
            summary = f"{summary}（待确认 / to confirm）"
        event.add("summary", summary)
        event.add("status", _STATUS[AssignmentStatus(assignment.status)])
        place = request.address or request.district
        if place:
            event.add("location", place)
        event.add("geo", (request.lat, request.lon))
        lines = [center.name if center is not None else ""]
        contact = contacts.get(request.center_id)
        if contact:
            lines.append(contact)
        if request.bring:
            lines.append(f"请带上 / Bring: {request.bring}")
        event.add("description", "\n".join(line for line in lines if line))
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
