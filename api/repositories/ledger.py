"""Queries on the hours ledger: appending entries (never changing them) and summing them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.models import (
    Assignment,
    HourEntry,
    HourEntryKind,
    Organization,
    ServiceRequest,
    Volunteer,
)


def append(session: Session, entry: HourEntry) -> HourEntry:
    """Add one entry; there is no update or delete here on purpose."""
    session.add(entry)
    session.flush()
    return entry


def recorded_hours(session: Session, assignment_id: int) -> float:
    """The hours the ledger holds for one assignment (its completion plus corrections)."""
    query = select(func.coalesce(func.sum(HourEntry.hours), 0.0)).where(
        HourEntry.assignment_id == assignment_id
    )
    return float(session.scalar(query) or 0.0)


def hours_by_volunteer(
    session: Session, start: datetime, end: datetime, organization_id: int | None
) -> Sequence[Any]:
    """Per volunteer with entries served in [start, end): roster owner (id, name, kind),
    volunteer (id, external id, name, pseudonym), completed assignments and hours."""
    completions = func.sum(case((HourEntry.kind == HourEntryKind.COMPLETION, 1), else_=0))
    query = (
        select(
            HourEntry.organization_id,
            Organization.name.label("organization"),
            Organization.kind.label("organization_kind"),
            Volunteer.id,
            Volunteer.external_id,
            Volunteer.name,
            Volunteer.pseudonym,
            completions.label("assignments"),
            func.sum(HourEntry.hours).label("hours"),
        )
        .join(Volunteer, Volunteer.id == HourEntry.volunteer_id)
        .join(Organization, Organization.id == HourEntry.organization_id)
        .where(HourEntry.served_at >= start, HourEntry.served_at < end)
        .group_by(
            HourEntry.organization_id,
            Organization.name,
            Organization.kind,
            Volunteer.id,
            Volunteer.external_id,
            Volunteer.name,
            Volunteer.pseudonym,
        )
        .order_by(HourEntry.organization_id, Volunteer.id)
    )
    if organization_id is not None:
        query = query.where(HourEntry.organization_id == organization_id)
    return session.execute(query).all()


def entries_of(
    session: Session,
    volunteer_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Sequence[HourEntry]:
    """A volunteer's entries in order (served in [start, end) when given)."""
    query = select(HourEntry).where(HourEntry.volunteer_id == volunteer_id)
    if start is not None:
        query = query.where(HourEntry.served_at >= start)
    if end is not None:
        query = query.where(HourEntry.served_at < end)
    return session.scalars(query.order_by(HourEntry.id)).all()


def served(
    session: Session,
    volunteer_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[int, float]:
    """The volunteer's completed assignments (completion entries) and hours (every entry),
    served in [start, end) when given."""
    completions = func.sum(case((HourEntry.kind == HourEntryKind.COMPLETION, 1), else_=0))
    query = select(
        func.coalesce(completions, 0), func.coalesce(func.sum(HourEntry.hours), 0.0)
    ).where(HourEntry.volunteer_id == volunteer_id)
    if start is not None:
        query = query.where(HourEntry.served_at >= start)
    if end is not None:
        query = query.where(HourEntry.served_at < end)
    count, hours = session.execute(query).one()
    return int(count or 0), float(hours or 0.0)


def total(session: Session) -> float:
    return float(session.scalar(select(func.coalesce(func.sum(HourEntry.hours), 0.0))) or 0.0)


def lines_of(session: Session, volunteer_id: int) -> Sequence[Any]:
    """A volunteer's entries with what they were for, by the day served: the entry, the
    request's title and the center's name."""
    query = (
        select(HourEntry, ServiceRequest.title, Organization.name.label("center"))
        .join(Assignment, Assignment.id == HourEntry.assignment_id)
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .join(Organization, Organization.id == HourEntry.center_id)
        .where(HourEntry.volunteer_id == volunteer_id)
        .order_by(HourEntry.served_at, HourEntry.id)
    )
    return session.execute(query).all()
