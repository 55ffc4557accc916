"""The hours ledger: completed hours as an append-only record.

Completing an assignment appends its hours; correcting them appends the difference (a
correction entry with its reason), so the ledger's sum per assignment always equals the
assignment's current `hours_served`, and every earlier figure stays readable. Entries are
written in the transaction that completes or corrects, and never change: they name the
volunteer's row, which erasure keeps as a pseudonymous record. The hours report, targets and
certificates read the ledger, never the assignments.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.errors import Conflict
from api.models import Assignment, AssignmentStatus, HourEntry, HourEntryKind, utc_now
from api.repositories import assignments as assignment_repo
from api.repositories import ledger as repo
from api.schemas.ledger import HourEntryOut, LedgerLine
from api.services import events
from api.services.audit import Actor, Change, record_one
from api.settings import Settings


def record_completion(session: Session, assignment: Assignment) -> HourEntry:
    """The ledger line of a just completed assignment."""
    request = assignment.request
    return repo.append(
        session,
        HourEntry(
            volunteer_id=assignment.volunteer_id,
            organization_id=assignment.volunteer.university_id,
            assignment_id=assignment.id,
            center_id=request.center_id,
            served_at=assignment.starts,
            offset_min=request.offset_min,
            hours=float(assignment.hours_served or 0.0),
            kind=HourEntryKind.COMPLETION,
            created_at=utc_now(),
        ),
    )


def correct(
    session: Session,
    settings: Settings,
    assignment: Assignment,
    hours_served: float,
    reason: str,
    actor: Actor,
) -> HourEntry | None:
    """Set a completed assignment's hours: a correction entry for the difference (None when
    there is none), the assignment's `hours_served` updated, the change audited and its event
    recorded."""
    if assignment.status != AssignmentStatus.COMPLETED:
        raise Conflict(
            f"only completed hours can be corrected; the assignment is {assignment.status}"
        )
    hours_served = round(hours_served, 2)
    recorded = repo.recorded_hours(session, assignment.id)
    delta = round(hours_served - recorded, 2)
    if delta == 0:
        return None
    before = {"hours_served": assignment.hours_served}
    assignment_repo.set_hours(session, assignment.id, hours_served, utc_now())
    session.refresh(assignment)
    entry = repo.append(
        session,
        HourEntry(
            volunteer_id=assignment.volunteer_id,
            organization_id=assignment.volunteer.university_id,
            assignment_id=assignment.id,
            center_id=assignment.request.center_id,
            served_at=assignment.starts,
            offset_min=assignment.request.offset_min,
            hours=delta,
            kind=HourEntryKind.CORRECTION,
            reason=reason,
            created_at=utc_now(),
        ),
    )
    record_one(
        session,
        actor,
        Change(
            "assignment",
            assignment.id,
            "hours_corrected",
            assignment.request.center_id,
            assignment.volunteer.university_id,
            before=before,
            after={"hours_served": hours_served, "reason": reason},
        ),
    )
    events.record(
        session,
        settings,
        [
            events.assignment_event(
                events.EventType.ASSIGNMENT_HOURS_CORRECTED, assignment, hours_served=hours_served
            )
        ],
    )
    return entry


def lines_of(session: Session, volunteer_id: int) -> list[LedgerLine]:
    """A volunteer's ledger, line by line, with the task and the center of each."""
    return [
        LedgerLine(
            **HourEntryOut.model_validate(entry, from_attributes=True).model_dump(),
            title=title,
            center=center,
        )
        for entry, title, center in repo.lines_of(session, volunteer_id)
    ]
