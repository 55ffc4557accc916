"""Queries on volunteers, their skills and availability windows (bulk paths for imports)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Table, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.expression import ColumnElement

from api.models import (
    Assignment,
    AssignmentStatus,
    AvailabilityWindow,
    ServiceRequest,
    Volunteer,
    VolunteerSkill,
    epoch_seconds,
    from_epoch,
)
from api.repositories import insert_plain_rows

T = TypeVar("T")
# Core tables for the bulk paths (the ORM's bulk path costs ~30 µs a row in bookkeeping).
VOLUNTEERS = cast(Table, Volunteer.__table__)
SKILLS = cast(Table, VolunteerSkill.__table__)
WINDOWS = cast(Table, AvailabilityWindow.__table__)
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


def insert_volunteers(
    session: Session, university_id: int, rows: Sequence[dict[str, Any]]
) -> dict[str, int]:
    """Insert rows (column dicts with `external_id`, all with the same columns) at once; the
    new ids by external id."""
    if not rows:
        return {}
    columns = ["university_id", *rows[0]]
    json_columns = {c for c in columns if isinstance(VOLUNTEERS.c[c].type, JSON)}
    insert_plain_rows(
        session,
        VOLUNTEERS,
        columns,
        [
            [university_id, *(json.dumps(v) if c in json_columns else v for c, v in r.items())]
            for r in rows
        ],
    )
    return ids_by_external_id(session, university_id, [r["external_id"] for r in rows])


def update_volunteers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows (column dicts with `id`, all with the same columns) at once."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "id"]
    query = (
        update(VOLUNTEERS)
        .where(VOLUNTEERS.c.id == bindparam("row_id"))
        .values({**{c: bindparam(f"new_{c}") for c in columns}, "updated_at": func.now()})
    )
    session.execute(
        query, [{"row_id": r["id"], **{f"new_{c}": r[c] for c in columns}} for r in rows]
    )


def replace_skills_and_windows(
    session: Session,
    volunteer_ids: Sequence[int],
    skills: Sequence[tuple[int, str, int]],
    windows: Sequence[tuple[int, int, int, int]],
) -> None:
    """Drop the volunteers' skills and windows, then insert the given ones: skills as
    (volunteer id, skill, position), windows as (volunteer id, start_s, end_s, offset_min)."""
    for chunk in _chunks(volunteer_ids):
        session.execute(delete(VolunteerSkill).where(VolunteerSkill.volunteer_id.in_(chunk)))
        session.execute(
            delete(AvailabilityWindow).where(AvailabilityWindow.volunteer_id.in_(chunk))
        )
    insert_plain_rows(session, SKILLS, ("volunteer_id", "skill", "position"), skills)
    insert_plain_rows(session, WINDOWS, ("volunteer_id", "start_s", "end_s", "offset_min"), windows)


@dataclass(frozen=True, slots=True)
class VolunteerRecord:
    """A volunteer as read for display: the row, its skills, its windows (start_s, end_s,
    offset_min)."""

    row: Any
    skills: list[str]
    windows: list[tuple[int, int, int]]


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
    search: str | None = None,
) -> list[VolunteerRecord]:
    """A page of volunteers in id order. With both window ends, one availability interval must
    cover the window; with one end, an interval must reach past it. Read with Core queries:
    building ORM objects for a page and its ~500 child rows costs more than the SQL."""
    query = select(VOLUNTEERS).where(Volunteer.id > after_id, Volunteer.erased_at.is_(None))
    if search:
        words = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(Volunteer.name.ilike(words) | Volunteer.external_id.ilike(words))
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
            AvailabilityWindow.start_s <= epoch_seconds(available_from),
            AvailabilityWindow.end_s >= epoch_seconds(available_to, up=True),
        )
    elif available_from is not None:
        window = window.where(AvailabilityWindow.end_s > epoch_seconds(available_from))
    elif available_to is not None:
        window = window.where(AvailabilityWindow.start_s < epoch_seconds(available_to, up=True))
    if available_from is not None or available_to is not None:
        query = query.where(window)
    rows = session.execute(query.order_by(Volunteer.id).limit(limit)).all()
    ids = [row.id for row in rows]
    skills: dict[int, list[str]] = {i: [] for i in ids}
    windows: dict[int, list[tuple[int, int, int]]] = {i: [] for i in ids}
    if ids:
        for vid, skill in session.execute(
            select(VolunteerSkill.volunteer_id, VolunteerSkill.skill)
            .where(VolunteerSkill.volunteer_id.in_(ids))
            .order_by(VolunteerSkill.volunteer_id, VolunteerSkill.position)
        ):
            skills[vid].append(skill)
        for vid, start, end, offset in session.execute(
            select(
                AvailabilityWindow.volunteer_id,
                AvailabilityWindow.start_s,
                AvailabilityWindow.end_s,
                AvailabilityWindow.offset_min,
            )
            .where(AvailabilityWindow.volunteer_id.in_(ids))
            .order_by(AvailabilityWindow.volunteer_id, AvailabilityWindow.start_s)
        ):
            windows[vid].append((start, end, offset))
    return [VolunteerRecord(row, skills[row.id], windows[row.id]) for row in rows]


def all_volunteers(session: Session) -> Sequence[Volunteer]:
    """Every volunteer with skills and windows (for building a match instance)."""
    query = (
        select(Volunteer)
        .options(selectinload(Volunteer.skills), selectinload(Volunteer.availability))
        .order_by(Volunteer.id)
    )
    return session.scalars(query).all()


def owners_of(session: Session, volunteer_ids: Sequence[int]) -> dict[int, int]:
    """Each volunteer's roster owner."""
    found: dict[int, int] = {}
    for chunk in _chunks(sorted(set(volunteer_ids))):
        query = select(Volunteer.id, Volunteer.university_id).where(Volunteer.id.in_(chunk))
        found.update({vid: owner for vid, owner in session.execute(query)})
    return found


def delete_volunteer(session: Session, volunteer: Volunteer) -> None:
    session.delete(volunteer)
    session.flush()


def erase_volunteer(session: Session, volunteer_id: int, pseudonym: str, now: datetime) -> None:
    """Empty every personal and matching field of the volunteer, who is known from now on by
    `pseudonym` alone (it replaces the external id too); drop skills, availability and the
    calendar feed."""
    session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer_id)
        .values(
            external_id=pseudonym,
            pseudonym=pseudonym,
            erased_at=now,
            name=None,
            phone=None,
            email=None,
            address=None,
            lat=0.0,  # the columns are required: no place at all, rather than the home
            lon=0.0,
            district=None,
            languages=[],
            attributes={},
            preferences={},
            max_hours=None,
            max_travel_km=None,
            max_assignments=None,
            target_hours=None,
            calendar_token_hash=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    replace_skills_and_windows(session, [volunteer_id], [], [])
    session.expire_all()


def inactive_since(session: Session, since: datetime) -> Sequence[Volunteer]:
    """Volunteers (not erased) untouched since `since`: their record unchanged, and none of
    their assignments open, changed or starting since."""
    open_statuses = (
        AssignmentStatus.PROPOSED,
        AssignmentStatus.CONFIRMED,
        AssignmentStatus.CHECKED_IN,
    )
    recent = (
        exists()
        .where(Assignment.volunteer_id == Volunteer.id)
        .where(
            Assignment.status.in_(open_statuses)
            | (Assignment.updated_at >= since)
            | exists().where(
                ServiceRequest.id == Assignment.request_id, ServiceRequest.end_at >= since
            )
        )
    )
    query = (
        select(Volunteer)
        .where(Volunteer.erased_at.is_(None), Volunteer.updated_at < since, ~recent)
        .order_by(Volunteer.id)
    )
    return session.scalars(query).all()


def matching_data(
    session: Session,
    start: datetime,
    end: datetime,
    also: Sequence[int],
    only: Collection[int] | None = None,
) -> tuple[list[Any], list[tuple[int, str]], list[tuple[int, datetime, datetime, int]]]:
    """What a match run needs of the volunteers available in [start, end] (and of `also`):
    their rows, skills (in order) and availability windows in the range. With `only`, exactly
    those volunteers and `also`, whether or not they are available."""
    overlapping = exists().where(
        AvailabilityWindow.volunteer_id == Volunteer.id,
        AvailabilityWindow.end_s > epoch_seconds(start),
        AvailabilityWindow.start_s < epoch_seconds(end, up=True),
    )
    ids = None if only is None else sorted({*only, *also})
    wanted: ColumnElement[bool] = overlapping
    if ids is not None:
        wanted = Volunteer.id.in_(ids)
    elif also:
        wanted = overlapping | Volunteer.id.in_(also)
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
    return list(rows), list(skills), windows_in_range(session, start, end, ids)


def windows_in_range(
    session: Session, start: datetime, end: datetime, volunteer_ids: Sequence[int] | None = None
) -> list[tuple[int, datetime, datetime, int]]:
    """(volunteer id, start, end, offset) of the availability windows overlapping [start, end),
    by volunteer and start; with `volunteer_ids` (None: everyone), of those volunteers only."""
    return [
        (vid, from_epoch(a, off), from_epoch(b, off), off)
        for vid, a, b, off in window_seconds_in_range(session, start, end, volunteer_ids)
    ]


def window_seconds_in_range(
    session: Session, start: datetime, end: datetime, volunteer_ids: Sequence[int] | None = None
) -> list[tuple[int, int, int, int]]:
    """The same windows as (volunteer id, start_s, end_s, offset_min): epoch seconds, for
    aggregates that need no datetimes."""
    query = (
        select(
            AvailabilityWindow.volunteer_id,
            AvailabilityWindow.start_s,
            AvailabilityWindow.end_s,
            AvailabilityWindow.offset_min,
        )
        .where(
            AvailabilityWindow.end_s > epoch_seconds(start),
            AvailabilityWindow.start_s < epoch_seconds(end, up=True),
        )
        .order_by(AvailabilityWindow.volunteer_id, AvailabilityWindow.start_s)
    )
    if volunteer_ids is not None:
        query = query.where(AvailabilityWindow.volunteer_id.in_(volunteer_ids))
    return [(vid, start_s, end_s, offset) for vid, start_s, end_s, offset in session.execute(query)]


def home_points(session: Session, volunteer_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Home coordinates of these volunteers (for maps that show them coarsened)."""
    found: dict[int, tuple[float, float]] = {}
    for chunk in _chunks(list(volunteer_ids)):
        query = select(Volunteer.id, Volunteer.lat, Volunteer.lon).where(Volunteer.id.in_(chunk))
        found.update({vid: (lat, lon) for vid, lat, lon in session.execute(query)})
    return found


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What fanning an event out needs of a volunteer: whose, and reachable how (not the
    address or number themselves)."""

    university_id: int
    has_email: bool
    has_phone: bool


def contact_facts(session: Session, volunteer_ids: Collection[int]) -> dict[int, ContactFacts]:
    if not volunteer_ids:
        return {}
    out: dict[int, ContactFacts] = {}
    for chunk in _chunks(sorted(volunteer_ids)):
        query = select(
            Volunteer.id,
            Volunteer.university_id,
            Volunteer.email.is_not(None),
            Volunteer.phone.is_not(None),
        ).where(Volunteer.id.in_(chunk))
        for vid, uni, email, phone in session.execute(query):
            out[vid] = ContactFacts(uni, bool(email), bool(phone))
    return out


def volunteers_by_ids(session: Session, ids: Collection[int]) -> dict[int, Volunteer]:
    if not ids:
        return {}
    query = select(Volunteer).where(Volunteer.id.in_(sorted(ids)))
    return {v.id: v for v in session.scalars(query)}


def volunteer_by_calendar_token_hash(session: Session, token_hash: str) -> Volunteer | None:
    query = select(Volunteer).where(Volunteer.calendar_token_hash == token_hash)
    return session.scalars(query).first()


def replace_windows_between(
    session: Session,
    volunteer_id: int,
    start_s: int,
    end_s: int,
    windows: Sequence[tuple[int, int, int]],
) -> None:
    """Drop the volunteer's windows that start in [start_s, end_s) and add `windows` (start_s,
    end_s, offset_min)."""
    session.execute(
        delete(AvailabilityWindow).where(
            AvailabilityWindow.volunteer_id == volunteer_id,
            AvailabilityWindow.start_s >= start_s,
            AvailabilityWindow.start_s < end_s,
        )
    )
    insert_plain_rows(
        session,
        WINDOWS,
        ("volunteer_id", "start_s", "end_s", "offset_min"),
        [(volunteer_id, a, b, off) for a, b, off in windows],
    )
    session.execute(
        update(Volunteer).where(Volunteer.id == volunteer_id).values(updated_at=func.now())
    )
