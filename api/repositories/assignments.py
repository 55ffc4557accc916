"""Queries on assignments: counts for statuses, the commitments of later runs, lists, and the
lock that serialises the transactions proposing assignments."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, joinedload

from api.models import (
    ACTIVE_ASSIGNMENT,
    Assignment,
    AssignmentStatus,
    ServiceRequest,
    Volunteer,
)
from api.repositories import rowcount


def count_for_request(session: Session, request_id: int, statuses: Sequence[str]) -> int:
    query = select(func.count()).where(
        Assignment.request_id == request_id, Assignment.status.in_(statuses)
    )
    return int(session.scalar(query) or 0)


def active_counts_by_request(session: Session, request_ids: Sequence[int]) -> dict[int, int]:
    if not request_ids:
        return {}
    query = (
        select(Assignment.request_id, func.count())
        .where(Assignment.request_id.in_(request_ids), Assignment.status.in_(ACTIVE_ASSIGNMENT))
        .group_by(Assignment.request_id)
    )
    return {rid: int(n) for rid, n in session.execute(query)}


def for_requests(
    session: Session,
    request_ids: Sequence[int],
    statuses: Sequence[str],
    *,
    erased: bool | None = None,
) -> list[Assignment]:
    """Assignments on the requests in these statuses; with `erased`, only those of erased
    volunteers (True) or of present ones (False)."""
    if not request_ids:
        return []
    query = (
        select(Assignment)
        .where(Assignment.request_id.in_(request_ids), Assignment.status.in_(statuses))
        .order_by(Assignment.id)
    )
    if erased is not None:
        gone = Volunteer.erased_at.is_not(None)
        query = query.join(Volunteer, Volunteer.id == Assignment.volunteer_id).where(
            gone if erased else ~gone
        )
    return list(session.scalars(query).all())


def for_volunteer(
    session: Session, volunteer_id: int, statuses: Sequence[str] | None = None
) -> list[Assignment]:
    """A volunteer's assignments (in these statuses), with their requests, in id order."""
    query = (
        select(Assignment)
        .where(Assignment.volunteer_id == volunteer_id)
        .options(joinedload(Assignment.request), joinedload(Assignment.volunteer))
        .order_by(Assignment.id)
    )
    if statuses is not None:
        query = query.where(Assignment.status.in_(statuses))
    return list(session.scalars(query).all())


def count_for_volunteer(session: Session, volunteer_id: int, statuses: Sequence[str]) -> int:
    query = select(func.count()).where(
        Assignment.volunteer_id == volunteer_id, Assignment.status.in_(statuses)
    )
    return int(session.scalar(query) or 0)


def revoke_links(session: Session, volunteer_ids: Sequence[int]) -> None:
    """Make every link of these volunteers' assignments unusable: each link hash becomes the
    hash of a random token nobody holds, and no salt is left to derive a link from."""
    ids = session.scalars(
        select(Assignment.id).where(Assignment.volunteer_id.in_(volunteer_ids))
    ).all()
    if ids:
        session.execute(
            update(Assignment),
            [
                {
                    "id": assignment_id,
                    "link_token_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                    "link_salt": None,
                }
                for assignment_id in ids
            ],
        )


def set_hours(session: Session, assignment_id: int, hours: float, now: datetime) -> bool:
    """A completed assignment's hours (the ledger holds the history)."""
    changed = session.execute(
        update(Assignment)
        .where(Assignment.id == assignment_id, Assignment.status == AssignmentStatus.COMPLETED)
        .values(hours_served=hours, updated_at=now)
    )
    return rowcount(changed) == 1


def completed_in(
    session: Session, volunteer_id: int, start: datetime, end: datetime
) -> list[Assignment]:
    """A volunteer's completed assignments of requests starting in [start, end), by start."""
    query = (
        select(Assignment)
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            Assignment.volunteer_id == volunteer_id,
            Assignment.status == AssignmentStatus.COMPLETED,
            Assignment.starts >= start,
            Assignment.starts < end,
        )
        .options(joinedload(Assignment.request))
        .order_by(Assignment.starts, Assignment.id)
    )
    return list(session.scalars(query).all())


def commitments_outside(
    session: Session,
    request_ids: Sequence[int],
    start: datetime,
    end: datetime,
    volunteer_ids: Sequence[int] | None = None,
) -> list[tuple[int, datetime, datetime, float, float]]:
    """Active assignments on other requests that touch [start, end] (of `volunteer_ids` only,
    if given): (volunteer id, start, end, lat, lon), a flexible visit at its chosen time. They
    block a later run's volunteers and count toward their caps."""
    query = (
        select(
            Assignment.volunteer_id,
            Assignment.starts,
            Assignment.ends,
            ServiceRequest.lat,
            ServiceRequest.lon,
        )
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            Assignment.status.in_(ACTIVE_ASSIGNMENT),
            ServiceRequest.end_at >= start,
            ServiceRequest.start_at <= end,
        )
    )
    if request_ids:
        query = query.where(Assignment.request_id.not_in(request_ids))
    if volunteer_ids is not None:
        query = query.where(Assignment.volunteer_id.in_(volunteer_ids))
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def team_times(
    session: Session, request_ids: Sequence[int], statuses: Sequence[str]
) -> dict[int, tuple[datetime, datetime]]:
    """The start and end chosen for each flexible request among `request_ids` that has an
    assignment in `statuses` with a chosen time (the latest such assignment's)."""
    if not request_ids:
        return {}
    query = (
        select(Assignment.request_id, Assignment.start_at, Assignment.end_at)
        .where(
            Assignment.request_id.in_(request_ids),
            Assignment.status.in_(statuses),
            Assignment.start_at.is_not(None),
            Assignment.end_at.is_not(None),
        )
        .order_by(Assignment.id)
    )
    return {
        rid: (start, end)
        for rid, start, end in session.execute(query)
        if start is not None and end is not None
    }


# pg_advisory_xact_lock's key for proposing assignments (any fixed number no other lock uses).
_PROPOSALS_LOCK = 0x766F6C6D61746368  # "volmatch"


def lock_proposals(session: Session) -> None:
    """Hold, until the transaction ends, the right to propose assignments (publishing a plan,
    promoting a standby). Each such transaction checks a volunteer's other assignments before
    adding one, and must see those of any other that passed its check first: on PostgreSQL,
    whose READ COMMITTED lets two of them check at once and both add (one person booked twice,
    and every later run holding both pinned pairs fails), by a transaction-scoped advisory lock;
    SQLite has one writer at a time already. Taken before the transaction's writes, so that a
    transaction holding it never waits for a row held by one waiting for it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PROPOSALS_LOCK})


def lock_held(session: Session, request_ids: Sequence[int]) -> None:
    """Lock the active assignments on these requests until the transaction ends, in id order:
    a confirmation, check-in or decline of one of them waits, so that what a publication
    checked is still so when it writes (PostgreSQL; SQLite has one writer at a time)."""
    if request_ids:
        session.execute(
            select(Assignment.id)
            .where(
                Assignment.request_id.in_(request_ids),
                Assignment.status.in_(ACTIVE_ASSIGNMENT),
            )
            .order_by(Assignment.id)
            .with_for_update()
        )


def insert_assignments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Assignment), list(rows))


def get_assignment(session: Session, assignment_id: int) -> Assignment | None:
    query = (
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .options(joinedload(Assignment.request), joinedload(Assignment.volunteer))
    )
    return session.scalars(query).first()


def assignment_by_token_hash(session: Session, token_hash: str) -> Assignment | None:
    query = (
        select(Assignment)
        .where(Assignment.link_token_hash == token_hash)
        .options(joinedload(Assignment.request), joinedload(Assignment.volunteer))
    )
    return session.scalars(query).first()


def list_assignments(
    session: Session,
    *,
    center_id: int | None,
    university_id: int | None,
    run_id: int | None,
    request_id: int | None,
    status: str | None,
    after_id: int,
    limit: int,
) -> Sequence[Assignment]:
    query = (
        select(Assignment)
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .join(Volunteer, Volunteer.id == Assignment.volunteer_id)
        .where(Assignment.id > after_id)
        .options(joinedload(Assignment.request), joinedload(Assignment.volunteer))
    )
    if center_id is not None:
        query = query.where(ServiceRequest.center_id == center_id)
    if university_id is not None:
        query = query.where(Volunteer.university_id == university_id)
    if run_id is not None:
        query = query.where(Assignment.run_id == run_id)
    if request_id is not None:
        query = query.where(Assignment.request_id == request_id)
    if status is not None:
        query = query.where(Assignment.status == status)
    return session.scalars(query.order_by(Assignment.id).limit(limit)).all()


def transition(
    session: Session, assignment_id: int, from_statuses: Sequence[str], values: dict[str, Any]
) -> bool:
    """Change an assignment only if it is still in one of `from_statuses` (a conditional
    UPDATE, so that two concurrent actions cannot both pass)."""
    changed = session.execute(
        update(Assignment)
        .where(Assignment.id == assignment_id, Assignment.status.in_(from_statuses))
        .values(**values)
    )
    return rowcount(changed) == 1


SHOWED_UP = (AssignmentStatus.CHECKED_IN, AssignmentStatus.COMPLETED)


def attendance(session: Session, volunteer_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(shows, no-shows) per volunteer: assignments checked in or completed, and no-shows."""
    if not volunteer_ids:
        return {}
    query = (
        select(Assignment.volunteer_id, Assignment.status, func.count())
        .where(
            Assignment.volunteer_id.in_(sorted(set(volunteer_ids))),
            Assignment.status.in_((*SHOWED_UP, AssignmentStatus.NO_SHOW)),
        )
        .group_by(Assignment.volunteer_id, Assignment.status)
    )
    out: dict[int, tuple[int, int]] = {}
    for vid, status, n in session.execute(query):
        shows, missed = out.get(vid, (0, 0))
        if status == AssignmentStatus.NO_SHOW:
            missed += int(n)
        else:
            shows += int(n)
        out[vid] = (shows, missed)
    return out


def of_volunteer(
    session: Session, volunteer_id: int, statuses: Sequence[str], ends_after: datetime
) -> list[Assignment]:
    """The volunteer's assignments in `statuses` whose request ends after `ends_after`, by
    start."""
    query = (
        select(Assignment)
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            Assignment.volunteer_id == volunteer_id,
            Assignment.status.in_(statuses),
            Assignment.ends > ends_after,
        )
        .options(joinedload(Assignment.request))
        .order_by(Assignment.starts, Assignment.id)
    )
    return list(session.scalars(query).all())


def starting_between(
    session: Session, statuses: Sequence[str], start: datetime, end: datetime
) -> list[Assignment]:
    """Assignments in `statuses` whose request starts in [start, end), with their requests."""
    query = (
        select(Assignment)
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            Assignment.status.in_(statuses),
            Assignment.starts >= start,
            Assignment.starts < end,
        )
        .options(joinedload(Assignment.request))
        .order_by(Assignment.id)
    )
    return list(session.scalars(query).all())


def pair_statuses(session: Session, volunteer_id: int, request_id: int) -> set[str]:
    """The statuses of every assignment of the volunteer to the request."""
    query = select(Assignment.status).where(
        Assignment.volunteer_id == volunteer_id, Assignment.request_id == request_id
    )
    return set(session.scalars(query).all())


def assignments_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Assignment]:
    if not ids:
        return {}
    query = (
        select(Assignment)
        .where(Assignment.id.in_(sorted(set(ids))))
        .options(joinedload(Assignment.request), joinedload(Assignment.volunteer))
    )
    return {a.id: a for a in session.scalars(query).unique()}
