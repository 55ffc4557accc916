"""What a volunteer does through their link (no key: the link token is the credential): see
the assignment with the center's contact, answer it, see their coming work and served hours
(from the hours ledger), replace their weekly availability (where their roster owner allows
it), and keep a private calendar feed (shown once, revocable, stored hashed like keys and
links). Each change is audited as the link's doing.

A link works until `VOLMATCH_LINK_VALID_DAYS` after its work ends; then it has expired (410),
so that an old message does not open the volunteer's schedule for ever.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.errors import FieldError, Forbidden, Gone, InvalidInput, NotFound
from api.models import (
    Assignment,
    AssignmentStatus,
    Organization,
    epoch_seconds,
    offset_minutes,
    utc_now,
)
from api.repositories import assignments as assignment_repo
from api.repositories import ledger as ledger_repo
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
    ServedPeriod,
)
from api.schemas.volunteers import WeeklyAvailability
from api.services import calendar_feed, links
from api.services.assignments import attendance_of, to_out
from api.services.audit import Actor, Change, record_one
from api.services.availability import expand_weekly
from api.services.links import token_hash
from api.services.organizations import settings_of
from api.settings import Settings
from matcher.model import Interval, Location

UPCOMING = (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN)


class LinkExpired(Gone):
    """An expired link; it names the work and whom to call (read before the request's
    session ends, for the volunteer's page to show)."""

    code = "link_expired"

    def __init__(self, detail: str, title: str, start: datetime, contact: CenterContact) -> None:
        super().__init__(detail)
        self.title, self.start, self.contact = title, start, contact


def expires_at(settings: Settings, assignment: Assignment) -> datetime:
    return assignment.ends + timedelta(days=settings.link_valid_days)


def by_link(
    session: Session, settings: Settings, token: str, now: datetime | None = None
) -> Assignment:
    """The assignment behind a link: NotFound for an unknown token, LinkExpired once its work
    ended more than `link_valid_days` ago."""
    assignment = assignment_repo.assignment_by_token_hash(session, token_hash(token))
    if assignment is None:
        raise NotFound("no assignment for this link")
    if (now or utc_now()) >= expires_at(settings, assignment):
        request = assignment.request
        raise LinkExpired(
            "this link has expired: its work ended some time ago",
            request.title,
            assignment.local_times[0],
            center_contact(_organization(session, request.center_id)),
        )
    return assignment


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
    assert org is not None  # foreign keys: a request's center and a volunteer's roster owner
    return org


def may_edit_availability(session: Session, assignment: Assignment) -> bool:
    owner = _organization(session, assignment.volunteer.university_id)
    return settings_of(owner).volunteers_edit_availability


def link_view(
    session: Session, settings: Settings, assignment: Assignment
) -> LinkAssignmentOut:
    base = to_out(assignment, None)
    return LinkAssignmentOut(
        **base.model_dump(),
        center=center_contact(_organization(session, assignment.request.center_id)),
        description=assignment.request.description,
        bring=assignment.request.bring,
        expires_at=expires_at(settings, assignment),
        can_edit_availability=may_edit_availability(session, assignment),
    )


def term_of(day: date) -> tuple[date, date]:
    """The university term `day` falls in: spring, 1 February to 31 July; autumn, 1 August to
    31 January."""
    if 2 <= day.month <= 7:
        return date(day.year, 2, 1), date(day.year, 7, 31)
    first_year = day.year if day.month >= 8 else day.year - 1
    return date(first_year, 8, 1), date(first_year + 1, 1, 31)


def schedule(
    session: Session, settings: Settings, assignment: Assignment, now: datetime | None = None
) -> Schedule:
    now = now or utc_now()
    volunteer_id = assignment.volunteer_id
    upcoming = assignment_repo.of_volunteer(session, volunteer_id, UPCOMING, now)
    centers = {
        cid: center_contact(_organization(session, cid))
        for cid in {a.request.center_id for a in upcoming}
    }
    count, hours = ledger_repo.served(session, volunteer_id)
    zone = ZoneInfo(_organization(session, assignment.volunteer.university_id).timezone)
    today = now.astimezone(zone).date()
    periods = []
    for name, (first, last) in (
        ("term", term_of(today)),
        ("year", (date(today.year, 1, 1), date(today.year, 12, 31))),
    ):
        n, h = ledger_repo.served(
            session,
            volunteer_id,
            datetime.combine(first, time(0), zone),
            datetime.combine(last + timedelta(days=1), time(0), zone),
        )
        periods.append(
            ServedPeriod(period=name, start=first, end=last, assignments=n, hours=round(h, 2))
        )
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
                start=a.local_times[0],
                end=a.local_times[1],
                bring=a.request.bring,
                center=centers[a.request.center_id],
                link=link_of(settings, a),
            )
            for a in upcoming
        ],
        served=Served(assignments=count, hours=round(hours, 2)),
        periods=periods,
        attendance=attendance_of(shows, missed),
    )


def link_of(settings: Settings, assignment: Assignment) -> str | None:
    token = links.derive(settings, assignment.link_salt)
    return links.url(settings, token) if token else None


def replace_weekly(
    session: Session, assignment: Assignment, body: WeeklyAvailability
) -> AvailabilityResult:
    """Replace the volunteer's availability from `start_date` to `end_date` (in the zone given,
    else their roster owner's) by the weekly patterns; 403 where the roster owner does not
    allow it."""
    if not may_edit_availability(session, assignment):
        raise Forbidden(
            "your organization keeps your availability; ask them to change it for you"
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
    record_one(
        session,
        Actor.link(assignment.id),
        Change(
            "volunteer",
            volunteer.id,
            "availability_replaced",
            volunteer.university_id,
            after={
                "from": body.start_date.isoformat(),
                "to": body.end_date.isoformat(),
                "windows": len(windows),
            },
        ),
    )
    held = assignment_repo.of_volunteer(session, volunteer.id, UPCOMING, first)
    outside = [
        a.id
        for a in held
        if first <= a.starts < after and not _covered(a, windows)
    ]
    return AvailabilityResult(windows=windows, outside=outside)


def _covered(assignment: Assignment, windows: list[Interval]) -> bool:
    return any(w.start <= assignment.starts and assignment.ends <= w.end for w in windows)


def issue_calendar(session: Session, settings: Settings, assignment: Assignment) -> CalendarFeed:
    """A new feed token for the volunteer (the previous one stops working at once)."""
    token = secrets.token_urlsafe(24)
    assignment.volunteer.calendar_token_hash = token_hash(token)
    _calendar_changed(session, assignment, "calendar_issued")
    url = f"{settings.public_url.rstrip('/')}/v1/calendar/{token}.ics"
    return CalendarFeed(token=token, url=url)


def revoke_calendar(session: Session, assignment: Assignment) -> None:
    if assignment.volunteer.calendar_token_hash is not None:
        assignment.volunteer.calendar_token_hash = None
        _calendar_changed(session, assignment, "calendar_revoked")


def _calendar_changed(session: Session, assignment: Assignment, action: str) -> None:
    volunteer = assignment.volunteer
    record_one(
        session,
        Actor.link(assignment.id),
        Change("volunteer", volunteer.id, action, volunteer.university_id),
    )


def calendar(session: Session, feed_token: str) -> bytes:
    volunteer = volunteer_repo.volunteer_by_calendar_token_hash(session, token_hash(feed_token))
    if volunteer is None:
        raise NotFound("no calendar for this link")
    now = utc_now()
    work = assignment_repo.of_volunteer(
        session, volunteer.id, calendar_feed.FEED_STATUSES, now - calendar_feed.PAST
    )
    return _calendar_of(session, work, now)


def assignment_calendar(session: Session, assignment: Assignment) -> bytes:
    """The one assignment as a calendar file, for a phone to add (404 unless it is coming or
    under way: proposed, confirmed or checked in)."""
    if assignment.status not in calendar_feed.FEED_STATUSES:
        raise NotFound(f"the assignment is {assignment.status}: nothing to add to a calendar")
    return _calendar_of(session, [assignment], utc_now())


def _calendar_of(session: Session, work: list[Assignment], now: datetime) -> bytes:
    centers = {cid: _organization(session, cid) for cid in {a.request.center_id for a in work}}
    contacts = {
        cid: " ".join(p for p in (c.contact_name, c.contact_phone) if p) or None
        for cid, c in ((cid, center_contact(org)) for cid, org in centers.items())
    }
    return calendar_feed.feed(work, centers, contacts, now, "志愿服务 Volunteer work")
