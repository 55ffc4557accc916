"""Queries on volunteers, their skills and availability windows (bulk paths for imports)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.orm import Session, selectinload

from api.models import AvailabilityWindow, Volunteer, VolunteerSkill

T = TypeVar("T")
CHUNK = 5000  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def ids_by_external_id(
    session: Session, university_id: int, external_ids: Sequence[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(external_ids):
        query = select(Volunteer.external_id, Volunteer.id).where(
            Volunteer.university_id == university_id, Volunteer.external_id.in_(chunk)
        )
        found.update({ext: vid for ext, vid in session.execute(query)})
    return found


def insert_volunteers(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows (column dicts) at once; their new ids, in order."""
    if not rows:
        return []
    query = insert(Volunteer).returning(Volunteer.id, sort_by_parameter_order=True)
    return list(session.scalars(query, list(rows)).all())


def update_volunteers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows (column dicts with `id`) at once."""
    if rows:
        session.execute(update(Volunteer), list(rows))


def replace_skills_and_windows(
    session: Session,
    volunteer_ids: Sequence[int],
    skills: Sequence[dict[str, Any]],
    windows: Sequence[dict[str, Any]],
) -> None:
    """Drop the volunteers' skills and windows, then insert the given ones."""
    for chunk in _chunks(volunteer_ids):
        session.execute(delete(VolunteerSkill).where(VolunteerSkill.volunteer_id.in_(chunk)))
        session.execute(
            delete(AvailabilityWindow).where(AvailabilityWindow.volunteer_id.in_(chunk))
        )
    if skills:
        session.execute(insert(VolunteerSkill), list(skills))
    if windows:
        session.execute(insert(AvailabilityWindow), list(windows))


def get_volunteer(session: Session, volunteer_id: int) -> Volunteer | None:
    query = (
        select(Volunteer)
        .where(Volunteer.id == volunteer_id)
        .options(selectinload(Volunteer.skills), selectinload(Volunteer.availability))
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


def list_volunteers(
    session: Session,
    *,
    university_id: int | None,
    skill: str | None,
    available_from: datetime | None,
    available_to: datetime | None,
    after_id: int,
    limit: int,
) -> Sequence[Volunteer]:
    """A page of volunteers in id order. With both window ends, one availability interval must
    cover the window; with one end, an interval must reach past it."""
    query = select(Volunteer).where(Volunteer.id > after_id)
    if university_id is not None:
        query = query.where(Volunteer.university_id == university_id)
    if skill is not None:
        query = query.where(
            exists().where(
                VolunteerSkill.volunteer_id == Volunteer.id, VolunteerSkill.skill == skill
            )
        )
    window = exists().where(AvailabilityWindow.volunteer_id == Volunteer.id)
    if available_from is not None and available_to is not None:
        window = window.where(
            AvailabilityWindow.start_at <= available_from, AvailabilityWindow.end_at >= available_to
        )
    elif available_from is not None:
        window = window.where(AvailabilityWindow.end_at > available_from)
    elif available_to is not None:
        window = window.where(AvailabilityWindow.start_at < available_to)
    if available_from is not None or available_to is not None:
        query = query.where(window)
    query = (
        query.order_by(Volunteer.id)
        .limit(limit)
        .options(selectinload(Volunteer.skills), selectinload(Volunteer.availability))
    )
    return session.scalars(query).all()


def all_volunteers(session: Session) -> Sequence[Volunteer]:
    """Every volunteer with skills and windows (for building a match instance)."""
    query = (
        select(Volunteer)
        .options(selectinload(Volunteer.skills), selectinload(Volunteer.availability))
        .order_by(Volunteer.id)
    )
    return session.scalars(query).all()


def delete_volunteer(session: Session, volunteer: Volunteer) -> None:
    session.delete(volunteer)
    session.flush()


def matching_data(
    session: Session, start: datetime, end: datetime, also: Sequence[int]
) -> tuple[list[Any], list[tuple[int, str]], list[tuple[int, datetime, datetime, int]]]:
    """What a match run needs of the volunteers available in [start, end] (and of `also`):
    their rows, skills (in order) and availability windows in the range."""
    overlapping = exists().where(
        AvailabilityWindow.volunteer_id == Volunteer.id,
        AvailabilityWindow.end_at > start,
        AvailabilityWindow.start_at < end,
    )
    wanted = overlapping if not also else overlapping | Volunteer.id.in_(also)
    rows = session.execute(
        select(
            Volunteer.id,
            Volunteer.lat,
            Volunteer.lon,
            Volunteer.languages,
            Volunteer.attributes,
            Volunteer.preferences,
            Volunteer.max_hours,
            Volunteer.max_travel_km,
            Volunteer.max_assignments,
        )
        .where(wanted)
        .order_by(Volunteer.id)
    ).all()
    skills = session.execute(
        select(VolunteerSkill.volunteer_id, VolunteerSkill.skill)
        .join(Volunteer, Volunteer.id == VolunteerSkill.volunteer_id)
        .where(wanted)
        .order_by(VolunteerSkill.volunteer_id, VolunteerSkill.position)
    ).all()
    return list(rows), list(skills), windows_in_range(session, start, end)


def windows_in_range(
    session: Session, start: datetime, end: datetime
) -> list[tuple[int, datetime, datetime, int]]:
    """(volunteer id, start, end, offset) of the availability windows overlapping [start, end),
    by volunteer and start."""
    query = (
        select(
            AvailabilityWindow.volunteer_id,
            AvailabilityWindow.start_at,
            AvailabilityWindow.end_at,
            AvailabilityWindow.offset_min,
        )
        .where(AvailabilityWindow.end_at > start, AvailabilityWindow.start_at < end)
        .order_by(AvailabilityWindow.volunteer_id, AvailabilityWindow.start_at)
    )
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(query)]
