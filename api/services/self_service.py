"""What a volunteer does through their link (no key: the link token is the credential): see
the assignment with the center's contact, answer it, see their coming work and served hours,
replace their weekly availability (where their university allows it), and keep a private
calendar feed (shown once, revocable, stored hashed like keys and links).
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.errors import FieldError, Forbidden, InvalidInput, NotFound
from api.models import (
    Assignment,
    AssignmentStatus,
    Organization,
    epoch_seconds,
    in_offset,
    offset_minutes,
    utc_now,
)
from api.repositories import assignments as assignment_repo
from api.repositories import organizations as org_repo
from api.repositories import volunteers as volunteer_repo
from api.schemas.self_service import (
    AvailabilityResult,
    CalendarFeed,
    CenterContact,
    LinkAssignmentOut,
    Schedule,
    ScheduledWork,
    Served,
)
from api.schemas.volunteers import WeeklyAvailability
from api.services import calendar_feed
from api.services.assignments import attendance_of, to_out
from api.services.availability import expand_weekly
from api.services.links import token_hash
from api.services.organizations import settings_of
from api.settings import Settings
from matcher.model import Interval, Location

UPCOMING = (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN)


def center_contact(center: Organization) -> CenterContact:
    chosen = settings_of(center)
    return CenterContact(
        center_id=center.id,
        name=center.name,
        contact_name=chosen.contact_name,
        contact_phone=chosen.contact_phone,
    )


def _organization(session: Session, org_id: int) -> Organization:
    org = org_repo.get_organization(session, org_id)
    assert org is not None  # foreign keys: a request's center and a volunteer's university
    return org


def may_edit_availability(session: Session, assignment: Assignment) -> bool:
    university = _organization(session, assignment.volunteer.university_id)
    return settings_of(university).volunteers_edit_availability


def link_view(session: Session, assignment: Assignment) -> LinkAssignmentOut:
    base = to_out(assignment, None)
    return LinkAssignmentOut(
        **base.model_dump(),
        center=center_contact(_organization(session, assignment.request.center_id)),
        can_edit_availability=may_edit_availability(session, assignment),
    )


def schedule(session: Session, assignment: Assignment) -> Schedule:
    volunteer_id = assignment.volunteer_id
    upcoming = assignment_repo.of_volunteer(session, volunteer_id, UPCOMING, utc_now())
    centers = {
        cid: center_contact(_organization(session, cid))
        for cid in {a.request.center_id for a in upcoming}
    }
    count, hours = assignment_repo.served(session, volunteer_id)
    shows, missed = assignment_repo.attendance(session, [volunteer_id]).get(volunteer_id, (0, 0))
    return Schedule(
        upcoming=[
            ScheduledWork(
                assignment_id=a.id,
                status=a.status,
                title=a.request.title,
                service_type=a.request.service_type,
                address=a.request.address,
                location=Location(lat=a.request.lat, lon=a.request.lon),
                start=in_offset(a.request.start_at, a.request.offset_min),
                end=in_offset(a.request.end_at, a.request.offset_min),
                center=centers[a.request.center_id],
            )
            for a in upcoming
        ],
        served=Served(assignments=count, hours=round(hours, 2)),
        attendance=attendance_of(shows, missed),
    )


def replace_weekly(
    session: Session, assignment: Assignment, body: WeeklyAvailability
) -> AvailabilityResult:
    """Replace the volunteer's availability from `start_date` to `end_date` (in the zone given,
    else their university's) by the weekly patterns; 403 where the university does not allow
    it."""
    if not may_edit_availability(session, assignment):
        raise Forbidden(
            "your university keeps your availability; ask them to change it for you"
        )
    volunteer = assignment.volunteer
    zone = body.timezone or _organization(session, volunteer.university_id).timezone
    try:
        windows = expand_weekly(body.patterns, body.start_date, body.end_date, zone)
    except ValueError as exc:
        raise InvalidInput(
            "the weekly availability is not valid",
            fields=[FieldError(loc=["body", "patterns"], msg=str(exc))],
        ) from None
    tz = ZoneInfo(zone)
    first = datetime.combine(body.start_date, time(0), tz)
    after = datetime.combine(body.end_date + timedelta(days=1), time(0), tz)
    volunteer_repo.replace_windows_between(
        session,
        volunteer.id,
        epoch_seconds(first),
        epoch_seconds(after),
        [
            (epoch_seconds(w.start, up=True), epoch_seconds(w.end), offset_minutes(w.start))
            for w in windows
        ],
    )
    held = assignment_repo.of_volunteer(session, volunteer.id, UPCOMING, first)
    outside = [
        a.id
        for a in held
        if first <= a.request.start_at < after and not _covered(a, windows)
    ]
    return AvailabilityResult(windows=windows, outside=outside)


def _covered(assignment: Assignment, windows: list[Interval]) -> bool:
    request = assignment.request
    return any(w.start <= request.start_at and request.end_at <= w.end for w in windows)


def issue_calendar(settings: Settings, assignment: Assignment) -> CalendarFeed:
    """A new feed token for the volunteer (the previous one stops working at once)."""
    token = secrets.token_urlsafe(24)
    assignment.volunteer.calendar_token_hash = token_hash(token)
    url = f"{settings.public_url.rstrip('/')}/v1/calendar/{token}.ics"
    return CalendarFeed(token=token, url=url)


def revoke_calendar(assignment: Assignment) -> None:
    assignment.volunteer.calendar_token_hash = None


def calendar(session: Session, feed_token: str) -> bytes:
    volunteer = volunteer_repo.volunteer_by_calendar_token_hash(session, token_hash(feed_token))
    if volunteer is None:
        raise NotFound("no calendar for this link")
    now = utc_now()
    work = assignment_repo.of_volunteer(
        session, volunteer.id, calendar_feed.FEED_STATUSES, now - calendar_feed.PAST
    )
    centers = {cid: _organization(session, cid) for cid in {a.request.center_id for a in work}}
    contacts = {
        cid: " ".join(p for p in (c.contact_name, c.contact_phone) if p) or None
        for cid, c in ((cid, center_contact(org)) for cid, org in centers.items())
    }
    return calendar_feed.feed(work, centers, contacts, now, "志愿服务 Volunteer work")
