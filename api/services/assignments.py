"""The assignment lifecycle, and who may see and act on an assignment.

    proposed --confirm--> confirmed --check-in--> checked_in --complete--> completed
    proposed/confirmed --decline (volunteer)--> declined
    proposed/confirmed --cancel (center)--> cancelled
    confirmed --no-show (center, or the check-in window passing)--> no_show --check-in--> ...

Volunteers act through their roster owner's key (university, law firm, community) or the
assignment's link token (`api.services.self_service.by_link`); centers act on assignments to
their own requests. Any other move is a 409. Every move is audited and records its event, in the same transaction
(`api.services.audit`, `api.services.events`); a completion also writes the hours to the ledger
(`api.services.ledger`). A decline or cancellation reopens the request (`filled` -> `open`);
then a standby is promoted or a repair run queued, as the center has set
(`api.services.standby`). A no-show reopens nothing and writes no hours: the work's time has
passed; a late arrival can still be checked in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.errors import Conflict, NotFound
from api.models import Assignment, AssignmentStatus, OrgKind, utc_now
from api.pagination import decode_cursor, next_cursor
from api.repositories import assignments as repo
from api.schemas.assignments import AssignmentOut, Attendance, Contact, RequestBrief
from api.schemas.common import Page
from api.services import events, ledger, standby
from api.services.audit import Actor, Change, record_one
from api.services.events import EventType
from api.services.organizations import Caller
from api.services.service_requests import refresh_fill_status
from api.settings import Settings
from matcher.model import Location

# Statuses in which the request's center may see the volunteer's name and phone.
_CONTACT_FOR_CENTER = (
    AssignmentStatus.PROPOSED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
    AssignmentStatus.COMPLETED,
)


@dataclass(frozen=True)
class Move:
    """One lifecycle action: from which statuses, to which, and who may take it."""

    name: str
    from_statuses: tuple[AssignmentStatus, ...]
    to: AssignmentStatus
    event: EventType


CONFIRM = Move(
    "confirm",
    (AssignmentStatus.PROPOSED,),
    AssignmentStatus.CONFIRMED,
    EventType.ASSIGNMENT_CONFIRMED,
)
DECLINE = Move(
    "decline",
    (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED),
    AssignmentStatus.DECLINED,
    EventType.ASSIGNMENT_DECLINED,
)
CHECK_IN = Move(
    "check in",
    (AssignmentStatus.CONFIRMED, AssignmentStatus.NO_SHOW),
    AssignmentStatus.CHECKED_IN,
    EventType.ASSIGNMENT_CHECKED_IN,
)
COMPLETE = Move(
    "complete",
    (AssignmentStatus.CHECKED_IN,),
    AssignmentStatus.COMPLETED,
    EventType.ASSIGNMENT_COMPLETED,
)
CANCEL = Move(
    "cancel",
    (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED),
    AssignmentStatus.CANCELLED,
    EventType.ASSIGNMENT_CANCELLED,
)
NO_SHOW = Move(
    "mark as no-show",
    (AssignmentStatus.CONFIRMED,),
    AssignmentStatus.NO_SHOW,
    EventType.ASSIGNMENT_NO_SHOW,
)
# The ends after which a standby may be proposed in the assignment's place.
FALLEN = (AssignmentStatus.DECLINED, AssignmentStatus.CANCELLED)


def _may_see(caller: Caller, assignment: Assignment) -> bool:
    if caller.kind is OrgKind.ADMIN:
        return True
    if caller.kind is OrgKind.CENTER:
        return assignment.request.center_id == caller.org_id
    if caller.owns_roster:
        return assignment.volunteer.university_id == caller.org_id
    return False


def visible_assignment(session: Session, caller: Caller, assignment_id: int) -> Assignment:
    assignment = repo.get_assignment(session, assignment_id)
    if assignment is None or not _may_see(caller, assignment):
        raise NotFound(f"no assignment {assignment_id}")
    return assignment


def act(
    session: Session,
    settings: Settings,
    assignment: Assignment,
    move: Move,
    actor: Actor,
    *,
    reason: str | None = None,
    hours_served: float | None = None,
) -> Assignment:
    """Take `move` on the assignment (and record its event), or 409 if its status does not
    allow it."""
    values: dict[str, object] = {"status": move.to, "updated_at": utc_now()}
    if reason is not None:
        values["reason"] = reason
    if move is COMPLETE:
        duration = assignment.hours  # a flexible visit's duration, not its window
        values["hours_served"] = round(hours_served if hours_served is not None else duration, 2)
    before = {"status": assignment.status}
    if move.to in FALLEN:  # before any write: a standby may be proposed (`standby.replace`)
        repo.lock_proposals(session)
    if not repo.transition(session, assignment.id, move.from_statuses, values):
        raise Conflict(f"cannot {move.name} an assignment that is {assignment.status}")
    session.refresh(assignment)
    record_one(
        session,
        actor,
        Change(
            "assignment",
            assignment.id,
            str(move.to),
            assignment.request.center_id,
            assignment.volunteer.university_id,
            before=before,
            after={k: v for k, v in values.items() if k != "updated_at"},
        ),
    )
    if move is COMPLETE:
        ledger.record_completion(session, assignment)
    events.record(session, settings, [events.assignment_event(move.event, assignment)])
    if move.to in FALLEN:
        refresh_fill_status(session, [assignment.request_id], actor)
        session.flush()
        standby.replace(session, settings, assignment, actor)
    return assignment


def act_as(
    session: Session,
    settings: Settings,
    caller: Caller,
    assignment_id: int,
    move: Move,
    *,
    reason: str | None = None,
    hours_served: float | None = None,
) -> Assignment:
    """A move by an organization: volunteer moves by the volunteer's university, center moves
    by the request's center (the route has checked the kind)."""
    assignment = visible_assignment(session, caller, assignment_id)
    if caller.kind is OrgKind.ADMIN:
        raise NotFound(f"no assignment {assignment_id}")  # admins read, they do not act
    return act(
        session,
        settings,
        assignment,
        move,
        Actor.of(caller),
        reason=reason,
        hours_served=hours_served,
    )


def act_by_link(
    session: Session,
    settings: Settings,
    assignment: Assignment,
    move: Move,
    *,
    reason: str | None = None,
) -> Assignment:
    """A move by the volunteer through their assignment's link (found and checked by
    `api.services.self_service.by_link`)."""
    return act(session, settings, assignment, move, Actor.link(assignment.id), reason=reason)


def list_visible(
    session: Session,
    caller: Caller,
    *,
    run_id: int | None,
    request_id: int | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> Page[AssignmentOut]:
    page = repo.list_assignments(
        session,
        center_id=caller.org_id if caller.kind is OrgKind.CENTER else None,
        university_id=caller.org_id if caller.owns_roster else None,
        run_id=run_id,
        request_id=request_id,
        status=status,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    record = repo.attendance(session, [a.volunteer_id for a in page])
    return Page(
        items=[to_out(a, caller, record) for a in page],
        next_cursor=next_cursor([a.id for a in page], limit),
    )


def attendance_of(shows: int, missed: int) -> Attendance:
    ended = shows + missed
    return Attendance(
        shows=shows, no_shows=missed, show_rate=round(shows / ended, 3) if ended else None
    )


def out(session: Session, assignment: Assignment, caller: Caller | None) -> AssignmentOut:
    """One assignment as `caller` may see it, with the volunteer's attendance where entitled."""
    return to_out(assignment, caller, repo.attendance(session, [assignment.volunteer_id]))


def to_out(
    assignment: Assignment,
    caller: Caller | None,
    record: dict[int, tuple[int, int]] | None = None,
) -> AssignmentOut:
    """`caller` None: the volunteer through the link (they know their own name). Whoever may
    see the contact also sees the volunteer's attendance (from `record`, by volunteer)."""
    request, volunteer = assignment.request, assignment.volunteer
    contact = None
    if caller is not None and (
        caller.owns(volunteer.university_id)
        or (
            caller.kind is OrgKind.CENTER
            and request.center_id == caller.org_id
            and assignment.status in _CONTACT_FOR_CENTER
        )
    ):
        contact = Contact(name=volunteer.name, phone=volunteer.phone)
    attendance = None
    if contact is not None and record is not None:
        attendance = attendance_of(*record.get(volunteer.id, (0, 0)))
    return AssignmentOut(
        id=assignment.id,
        run_id=assignment.run_id,
        volunteer_id=assignment.volunteer_id,
        volunteer_pseudonym=volunteer.pseudonym,
        status=assignment.status,
        distance_km=assignment.distance_km,
        reason=assignment.reason,
        hours_served=assignment.hours_served,
        request=RequestBrief(
            id=request.id,
            center_id=request.center_id,
            title=request.title,
            service_type=request.service_type,
            address=request.address,
            location=Location(lat=request.lat, lon=request.lon),
            start=assignment.local_times[0],
            end=assignment.local_times[1],
        ),
        contact=contact,
        attendance=attendance,
        created_at=assignment.created_at,
        updated_at=assignment.updated_at,
    )
