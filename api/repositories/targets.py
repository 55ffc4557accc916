"""The query behind annual targets: each volunteer's target and the hours served in their
organization's target year."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from api.models import HourEntry, Organization, UtcDateTime, Volunteer


@dataclass(frozen=True, slots=True)
class OrgPeriod:
    """An organization's target year, and the share of it gone by (what "on track" expects)."""

    organization_id: int
    start: datetime
    end: datetime
    elapsed: float


def progress(
    session: Session,
    periods: Sequence[OrgPeriod],
    *,
    behind_only: bool,
    after_id: int,
    limit: int,
) -> Sequence[Any]:
    """A page (by volunteer id) of the volunteers of these organizations who have a target
    (their own, or their organization's): id, organization, external id, name, target, hours
    served in the organization's period, and the hours expected by now; with `behind_only`,
    only those who served less than expected."""
    if not periods:
        return []
    table = union_all(
        *(
            select(
                literal(p.organization_id, Integer).label("organization_id"),
                literal(p.start, UtcDateTime()).label("start_at"),
                literal(p.end, UtcDateTime()).label("end_at"),
                literal(p.elapsed, Float).label("elapsed"),
            )
            for p in periods
        )
    ).subquery("periods")
    target = func.coalesce(Volunteer.target_hours, Organization.target_hours)
    served = func.coalesce(func.sum(HourEntry.hours), 0.0)
    expected = target * table.c.elapsed
    query = (
        select(
            Volunteer.id,
            Volunteer.university_id.label("organization_id"),
            Volunteer.external_id,
            Volunteer.name,
            target.label("target"),
            served.label("served"),
            expected.label("expected"),
        )
        .join(Organization, Organization.id == Volunteer.university_id)
        .join(table, table.c.organization_id == Volunteer.university_id)
        .outerjoin(
            HourEntry,
            and_(
                HourEntry.volunteer_id == Volunteer.id,
                HourEntry.served_at >= table.c.start_at,
                HourEntry.served_at < table.c.end_at,
            ),
        )
        .where(Volunteer.erased_at.is_(None), Volunteer.id > after_id, target.is_not(None))
        .group_by(
            Volunteer.id,
            Volunteer.university_id,
            Volunteer.external_id,
            Volunteer.name,
            Volunteer.target_hours,
            Organization.target_hours,
            table.c.elapsed,
        )
        .order_by(Volunteer.id)
        .limit(limit)
    )
    if behind_only:
        query = query.having(served < expected)
    return session.execute(query).all()


def roster_owners_with_targets(
    session: Session, kinds: Sequence[str], organization_id: int | None
) -> Sequence[Organization]:
    """Roster owners that have a default target or a volunteer with one."""
    personal = (
        select(Volunteer.university_id)
        .where(Volunteer.target_hours.is_not(None), Volunteer.erased_at.is_(None))
        .distinct()
    )
    query = select(Organization).where(
        Organization.kind.in_(kinds),
        Organization.target_hours.is_not(None) | Organization.id.in_(personal),
    )
    if organization_id is not None:
        query = query.where(Organization.id == organization_id)
    return session.scalars(query.order_by(Organization.id)).all()
