"""Volunteers: all-or-nothing roster imports (JSON or CSV), single edits, and who sees what.

An import is prepared whole before anything is written: every row is validated, weekly patterns
are expanded, missing locations are geocoded, and every problem of every row is collected into
one 422. Only then are rows inserted or (same university, same external id) updated, in bulk.
Personal data (name, phone, email, home address and location) goes only to the volunteer's own
university; centers see name and phone through their assignments (`api.services.assignments`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from api.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    Loc,
    NotFound,
    PayloadTooLarge,
    fields_from_pydantic,
    invalid_from_validation_error,
)
from api.models import (
    OrgKind,
    Volunteer,
    epoch_seconds,
    from_epoch,
    offset_minutes,
)
from api.pagination import decode_cursor, next_cursor
from api.repositories import volunteers as repo
from api.repositories.volunteers import VolunteerRecord
from api.schemas.common import Page
from api.schemas.volunteers import (
    ImportedVolunteer,
    ImportResult,
    Personal,
    VolunteerFields,
    VolunteerIn,
    VolunteerOut,
    VolunteerPatch,
)
from api.services.audit import Actor, Change, diff
from api.services.audit import record as record_changes
from api.services.availability import expand_weekly
from api.services.geocoding import Geocoder, locate_rows
from api.services.organizations import Caller
from matcher.model import Interval, Location

RowLoc = Callable[[int, str], Loc]
# Where a pydantic error of row `index` points: (index, pydantic loc) -> loc.
ErrorLoc = Callable[[int, tuple[int | str, ...]], Loc]


def json_row_loc(index: int, field_name: str) -> Loc:
    return ["body", index, field_name]


def json_error_loc(index: int, loc: tuple[int | str, ...]) -> Loc:
    return ["body", index, *loc]


@dataclass
class PreparedVolunteer:
    """One validated row, ready to write."""

    external_id: str
    columns: dict[str, Any]
    skills: list[str]
    windows: list[Interval] = field(default_factory=list)


def validate_records(
    records: Sequence[Any], error_loc: ErrorLoc = json_error_loc
) -> tuple[list[VolunteerIn | None], list[FieldError]]:
    """Each record as a `VolunteerIn`, or None where it is invalid (with its problems)."""
    rows: list[VolunteerIn | None] = []
    problems: list[FieldError] = []
    for i, record in enumerate(records):
        try:
            rows.append(VolunteerIn.model_validate(record))
        except ValidationError as exc:
            rows.append(None)
            for error, plain in zip(exc.errors(), fields_from_pydantic(exc.errors()), strict=True):
                problems.append(FieldError(loc=error_loc(i, tuple(error["loc"])), msg=plain.msg))
    return rows, problems


def prepare(
    session: Session,
    rows: Sequence[VolunteerIn | None],
    caller: Caller,
    geocoder: Geocoder,
    row_loc: RowLoc = json_row_loc,
    problems: list[FieldError] | None = None,
) -> list[PreparedVolunteer]:
    """Validate a batch across rows and complete it (weekly patterns, geocoding); raise one
    `InvalidInput` naming every bad row and field, with the `problems` found before. Rows that
    are None failed earlier and are skipped."""
    problems = list(problems or [])
    valid = [(i, row) for i, row in enumerate(rows) if row is not None]
    first_row: dict[str, int] = {}
    for i, row in valid:
        if row.external_id in first_row:
            problems.append(
                FieldError(
                    loc=row_loc(i, "external_id"),
                    msg=f"external_id {row.external_id!r} repeats row {first_row[row.external_id]}",
                )
            )
        first_row.setdefault(row.external_id, i)
    prepared = [_prepare_row(row, caller, i, row_loc, problems) for i, row in valid]
    located, missing = locate_rows(
        session,
        geocoder,
        [row.location for _, row in valid],
        [row.address for _, row in valid],
        lambda j, name: row_loc(valid[j][0], name),
    )
    problems.extend(missing)
    for ready, point in zip(prepared, located, strict=True):
        if point is not None:
            ready.columns.update(lat=point.lat, lon=point.lon)
    if problems:
        rejected = len({tuple(p.loc[:2]) for p in problems})
        raise InvalidInput(
            f"{rejected} row(s) rejected; nothing was written",
            fields=sorted(problems, key=lambda p: (str(p.loc[0]), _position(p.loc))),
        )
    return prepared


def _position(loc: Loc) -> int:
    return loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1


def _prepare_row(
    row: VolunteerFields, caller: Caller, i: int, row_loc: RowLoc, problems: list[FieldError]
) -> PreparedVolunteer:
    windows = list(row.availability)
    if row.weekly is not None:
        weekly = row.weekly
        try:
            windows.extend(
                expand_weekly(
                    weekly.patterns,
                    weekly.start_date,
                    weekly.end_date,
                    weekly.timezone or caller.timezone,
                )
            )
        except ValueError as exc:
            problems.append(FieldError(loc=row_loc(i, "weekly"), msg=str(exc)))
    columns: dict[str, Any] = {
        "name": row.name,
        "phone": row.phone,
        "email": row.email,
        "address": row.address,
        "district": row.district,
        "languages": list(dict.fromkeys(row.languages)),
        "attributes": dict(row.attributes),
        "preferences": dict(row.preferences),
        "max_hours": row.max_hours,
        "max_travel_km": row.max_travel_km,
        "max_assignments": row.max_assignments,
        "target_hours": row.target_hours,
    }
    external_id = row.external_id if isinstance(row, VolunteerIn) else ""
    return PreparedVolunteer(external_id, columns, list(dict.fromkeys(row.skills)), windows)


def write(
    session: Session,
    caller: Caller,
    prepared: Sequence[PreparedVolunteer],
    before: dict[int, dict[str, Any]] | None = None,
) -> ImportResult:
    """Insert new volunteers and update known ones (by external id) of the caller's roster, in
    bulk, each change audited (an update with its `before` fields where the caller read them)."""
    university_id = caller.org_id
    existing = repo.ids_by_external_id(session, university_id, [p.external_id for p in prepared])
    new = [p for p in prepared if p.external_id not in existing]
    known = [p for p in prepared if p.external_id in existing]
    new_ids = repo.insert_volunteers(
        session, university_id, [{**p.columns, "external_id": p.external_id} for p in new]
    )
    repo.update_volunteers(
        session,
        [{**p.columns, "id": existing[p.external_id]} for p in known],
    )
    ids = new_ids | existing
    _write_children(session, [(ids[p.external_id], p) for p in prepared])
    changes = []
    for p in prepared:
        vid, after = ids[p.external_id], audit_view(p)
        if p.external_id not in existing:
            set_fields = {k: v for k, v in after.items() if v not in (None, [], {})}
            changes.append(Change("volunteer", vid, "created", university_id, after=set_fields))
            continue
        old = (before or {}).get(vid)
        if old is not None:
            old, after = diff(old, after)
        if after:
            changes.append(
                Change("volunteer", vid, "updated", university_id, before=old, after=after)
            )
    record_changes(session, Actor.of(caller), changes)
    return ImportResult(
        created=len(new),
        updated=len(known),
        volunteers=[
            ImportedVolunteer(external_id=p.external_id, id=ids[p.external_id]) for p in prepared
        ],
    )


def _write_children(session: Session, rows: Sequence[tuple[int, PreparedVolunteer]]) -> None:
    skills = [(vid, skill, k) for vid, p in rows for k, skill in enumerate(p.skills)]
    windows = [
        (vid, epoch_seconds(w.start, up=True), epoch_seconds(w.end), offset_minutes(w.start))
        for vid, p in rows
        for w in p.windows
    ]
    repo.replace_skills_and_windows(session, [vid for vid, _ in rows], skills, windows)


def import_volunteers(
    session: Session,
    caller: Caller,
    records: Sequence[Any],
    geocoder: Geocoder,
    row_loc: RowLoc = json_row_loc,
    error_loc: ErrorLoc = json_error_loc,
    problems: Sequence[FieldError] = (),
) -> ImportResult:
    """Validate, complete and write a roster, all or nothing."""
    rows, invalid = validate_records(records, error_loc)
    prepared = prepare(session, rows, caller, geocoder, row_loc, [*problems, *invalid])
    return write(session, caller, prepared)


_ROWS = TypeAdapter(list[VolunteerIn])
_RECORDS = TypeAdapter(list[dict[str, Any]])


def import_json(
    session: Session, caller: Caller, body: bytes, geocoder: Geocoder, max_rows: int
) -> ImportResult:
    """A JSON array roster. Valid bodies are parsed and validated in one pass; an invalid one is
    validated again row by row, so that every problem of every row is reported."""
    try:
        rows: Sequence[VolunteerIn | None] = _ROWS.validate_json(body)
        invalid: list[FieldError] = []
    except ValidationError:
        try:
            records = _RECORDS.validate_json(body)
        except ValidationError as exc:
            raise invalid_from_validation_error(
                exc, "the body must be a JSON array of volunteers", ["body"]
            ) from None
        rows, invalid = validate_records(records)
    if len(rows) > max_rows:
        raise PayloadTooLarge(f"more than {max_rows} rows in one batch; split it")
    return write(session, caller, prepare(session, rows, caller, geocoder, problems=invalid))


def create_volunteer(session: Session, caller: Caller, row: VolunteerIn, geocoder: Geocoder) -> int:
    """Register one volunteer; 409 if the university has the external id already."""
    if repo.ids_by_external_id(session, caller.org_id, [row.external_id]):
        raise Conflict(f"external_id {row.external_id!r} is registered already; PATCH it instead")
    prepared = prepare(session, [row], caller, geocoder, lambda _i, name: ["body", name])
    return write(session, caller, prepared).volunteers[0].id


def visible_volunteer(session: Session, caller: Caller, volunteer_id: int) -> Volunteer:
    """A volunteer the caller may read: its own roster's, or any for an admin; an erased one is
    no longer there for anyone."""
    volunteer = repo.get_volunteer(session, volunteer_id)
    if (
        volunteer is None
        or volunteer.erased_at is not None
        or not caller.reads(volunteer.university_id)
    ):
        raise NotFound(f"no volunteer {volunteer_id}")
    return volunteer


def update_volunteer(
    session: Session, caller: Caller, volunteer_id: int, patch: VolunteerPatch, geocoder: Geocoder
) -> Volunteer:
    volunteer = visible_volunteer(session, caller, volunteer_id)
    merged = current_fields(volunteer)
    changes = patch.model_dump(exclude_unset=True)
    if "availability" in changes or "weekly" in changes:
        merged["availability"] = []
    moved = "address" in changes and "location" not in changes
    merged.update(changes)
    if moved:
        merged["location"] = None  # a new address without coordinates: locate it anew
    try:
        fields = VolunteerIn.model_validate({**merged, "external_id": volunteer.external_id})
    except ValidationError as exc:
        raise invalid_from_validation_error(
            exc, "the changed volunteer is not valid", ["body"]
        ) from None
    prepared = prepare(session, [fields], caller, geocoder, lambda _i, name: ["body", name])
    write(session, caller, prepared, {volunteer.id: stored_view(volunteer)})
    return visible_volunteer(session, caller, volunteer_id)


def current_fields(volunteer: Volunteer) -> dict[str, Any]:
    return {
        "name": volunteer.name,
        "phone": volunteer.phone,
        "email": volunteer.email,
        "address": volunteer.address,
        "location": {"lat": volunteer.lat, "lon": volunteer.lon},
        "district": volunteer.district,
        "skills": [s.skill for s in volunteer.skills],
        "languages": volunteer.languages,
        "attributes": volunteer.attributes,
        "availability": [
            _interval(w.start_s, w.end_s, w.offset_min) for w in volunteer.availability
        ],
        "max_hours": volunteer.max_hours,
        "max_travel_km": volunteer.max_travel_km,
        "max_assignments": volunteer.max_assignments,
        "target_hours": volunteer.target_hours,
        "preferences": volunteer.preferences,
    }


def audit_view(p: PreparedVolunteer) -> dict[str, Any]:
    """A prepared row as the audit trail records it (personal fields are redacted there)."""
    return {**p.columns, "skills": p.skills, "availability_windows": len(p.windows)}


def stored_view(volunteer: Volunteer) -> dict[str, Any]:
    """A stored volunteer in the shape of `audit_view`, to find what an update changes."""
    return {
        "name": volunteer.name,
        "phone": volunteer.phone,
        "email": volunteer.email,
        "address": volunteer.address,
        "district": volunteer.district,
        "languages": volunteer.languages,
        "attributes": volunteer.attributes,
        "preferences": volunteer.preferences,
        "max_hours": volunteer.max_hours,
        "max_travel_km": volunteer.max_travel_km,
        "max_assignments": volunteer.max_assignments,
        "target_hours": volunteer.target_hours,
        "lat": volunteer.lat,
        "lon": volunteer.lon,
        "skills": [s.skill for s in volunteer.skills],
        "availability_windows": len(volunteer.availability),
    }


def list_visible(
    session: Session,
    caller: Caller,
    *,
    university_id: int | None,
    skill: str | None,
    available_from: datetime | None,
    available_to: datetime | None,
    cursor: str | None,
    limit: int,
    search: str | None = None,
) -> Page[VolunteerOut]:
    """A page of the volunteers the caller may see; `search` finds a name or student number
    (the console's search box; only where names are the caller's to see)."""
    if caller.kind is not OrgKind.ADMIN:
        if university_id is not None and university_id != caller.org_id:
            return Page(items=[])  # another university's roster: nothing to see
        university_id = caller.org_id
    page = repo.list_volunteers(
        session,
        university_id=university_id,
        skill=skill,
        available_from=available_from,
        available_to=available_to,
        after_id=decode_cursor(cursor),
        limit=limit,
        search=search if caller.kind is OrgKind.UNIVERSITY else None,
    )
    return Page(
        items=[record_out(r, caller) for r in page],
        next_cursor=next_cursor([r.row.id for r in page], limit),
    )


def _interval(start_s: int, end_s: int, offset_min: int) -> Interval:
    # From the database, so valid: built without re-validation (hot on list pages).
    return Interval.model_construct(
        start=from_epoch(start_s, offset_min), end=from_epoch(end_s, offset_min)
    )


def to_out(volunteer: Volunteer, caller: Caller) -> VolunteerOut:
    """An ORM volunteer (skills and availability loaded) as the caller may see it."""
    windows = [(w.start_s, w.end_s, w.offset_min) for w in volunteer.availability]
    return record_out(
        VolunteerRecord(volunteer, [s.skill for s in volunteer.skills], windows), caller
    )


def record_out(record: VolunteerRecord, caller: Caller) -> VolunteerOut:
    volunteer = record.row
    personal = None
    if caller.owns(volunteer.university_id):
        personal = Personal(
            name=volunteer.name,
            phone=volunteer.phone,
            email=volunteer.email,
            address=volunteer.address,
            location=Location(lat=volunteer.lat, lon=volunteer.lon),
        )
    return VolunteerOut(
        id=volunteer.id,
        university_id=volunteer.university_id,
        external_id=volunteer.external_id,
        district=volunteer.district,
        skills=record.skills,
        languages=volunteer.languages,
        attributes=volunteer.attributes,
        availability=[_interval(*w) for w in record.windows],
        max_hours=volunteer.max_hours,
        max_travel_km=volunteer.max_travel_km,
        max_assignments=volunteer.max_assignments,
        target_hours=volunteer.target_hours,
        preferences=volunteer.preferences,
        created_at=volunteer.created_at,
        updated_at=volunteer.updated_at,
        personal=personal,
    )
