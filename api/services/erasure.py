"""Erasing a volunteer, on request (`DELETE /v1/volunteers/{id}`) or after a retention period.

Personal data go, the record of service stays. The volunteer's open assignments (proposed or
confirmed) are declined, which reopens their requests as any decline does. A volunteer whom no
assignment names leaves nothing behind. Otherwise the row stays as a pseudonymous record: a
random `anon-<hex>` id (stable, unrelated to anything about the person) replaces the external id;
name, phone, email, address, home location, district, skills, languages, attributes,
preferences, caps, target and availability are emptied. Their completed assignments, ledger
entries and certificates keep naming that row, so hours still count for their organization in
every report. A volunteer checked in right now cannot be erased until the center completes or
the assignment is otherwise settled (409): those hours are not yet recorded.

The retention sweep (`VOLMATCH_PERSONAL_DATA_RETENTION_DAYS`, off by default) erases volunteers
with no activity for that many days: no change to their record and no assignment updated or
starting since, and none still open. The solving process runs it every
`VOLMATCH_RETENTION_SWEEP_S`; `volmatch admin purge-inactive` runs it at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.errors import Conflict
from api.models import AssignmentStatus, Volunteer, utc_now
from api.repositories import assignments as assignment_repo
from api.repositories import volunteers as repo
from api.services.assignments import DECLINE, act
from api.services.audit import Actor, Change, record_one

REMOVED_REASON = "the volunteer was removed from the roster"
RETENTION = Actor.system("retention")


def new_pseudonym() -> str:
    return f"anon-{secrets.token_hex(8)}"


def erase(session: Session, volunteer: Volunteer, actor: Actor) -> str | None:
    """Erase the volunteer's personal data; the pseudonym kept in their place (None when no
    assignment names them and the row is gone)."""
    if assignment_repo.count_for_volunteer(session, volunteer.id, (AssignmentStatus.CHECKED_IN,)):
        raise Conflict(
            "the volunteer is checked in to an assignment; complete or settle it before erasing"
        )
    for assignment in assignment_repo.for_volunteer(
        session, volunteer.id, (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED)
    ):
        act(session, assignment, DECLINE, actor, reason=REMOVED_REASON)
    owner = volunteer.university_id
    if not assignment_repo.for_volunteer(session, volunteer.id):
        repo.delete_volunteer(session, volunteer)
        record_one(
            session, actor, Change("volunteer", volunteer.id, "erased", owner, after={"kept": None})
        )
        return None
    pseudonym = new_pseudonym()
    repo.erase_volunteer(session, volunteer.id, pseudonym, utc_now())
    record_one(
        session,
        actor,
        Change("volunteer", volunteer.id, "erased", owner, after={"kept": pseudonym}),
    )
    return pseudonym


def purge_inactive(session: Session, days: int, now: datetime | None = None) -> list[int]:
    """Erase every volunteer without activity for `days` days; their ids."""
    since = (now or utc_now()) - timedelta(days=days)
    erased = []
    for volunteer in repo.inactive_since(session, since):
        erase(session, volunteer, RETENTION)
        erased.append(volunteer.id)
    return erased
