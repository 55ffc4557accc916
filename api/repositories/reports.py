"""Queries behind the supply-demand report: demand and supply in a date range (the hours report
reads the ledger, `api.repositories.ledger`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import (
    Assignment,
    RequestStatus,
    ServiceRequest,
    VolunteerSkill,
)
from api.repositories import volunteers as volunteer_repo


def demand(session: Session, start: datetime, end: datetime) -> Sequence[Any]:
    """Requests (not cancelled) starting in [start, end)."""
    query = select(
        ServiceRequest.id,
        ServiceRequest.service_type,
        ServiceRequest.required_skills,
        ServiceRequest.district,
        ServiceRequest.lat,
        ServiceRequest.lon,
        ServiceRequest.start_at,
        ServiceRequest.offset_min,
        ServiceRequest.volunteers_needed,
    ).where(
        ServiceRequest.start_at >= start,
        ServiceRequest.start_at < end,
        ServiceRequest.status != RequestStatus.CANCELLED,
    )
    return session.execute(query).all()


def assignment_counts(
    session: Session, start: datetime, end: datetime
) -> dict[tuple[int, str], int]:
    """(request id, status) -> assignments, for requests starting in [start, end)."""
    query = (
        select(Assignment.request_id, Assignment.status, func.count())
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(ServiceRequest.start_at >= start, ServiceRequest.start_at < end)
        .group_by(Assignment.request_id, Assignment.status)
    )
    return {(rid, status): int(n) for rid, status, n in session.execute(query)}


def supply(
    session: Session, start: datetime, end: datetime
) -> tuple[Sequence[Any], dict[int, list[str]]]:
    """Availability windows overlapping [start, end), and the skills of their volunteers."""
    windows = volunteer_repo.window_seconds_in_range(session, start, end)
    skills: dict[int, list[str]] = {}
    for vid, skill in session.execute(select(VolunteerSkill.volunteer_id, VolunteerSkill.skill)):
        skills.setdefault(vid, []).append(skill)
    return windows, skills
