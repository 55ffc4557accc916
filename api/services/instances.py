"""From the database to the matcher's format: the instance a match run solves.

A run's instance holds the chosen centers' open and filled requests inside its window, and the
volunteers available in it. Assignments already held on those requests are pinned (agreed by the
volunteer) or passed as `previous` (proposed), declined pairs are `excluded`, and every active
assignment elsewhere (any run, any center) near the window becomes a commitment of its volunteer:
one person across all centers. A slot served by a volunteer whose data were erased (a completed
assignment: erasure declines the open ones) is no longer asked for, and its pair is left out:
that person has no skills, place or time left to check it against. Ids are `v<volunteer id>`
and `r<request id>`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.models import (
    ACTIVE_ASSIGNMENT,
    AGREED_ASSIGNMENT,
    AssignmentStatus,
    MatchRun,
    RequestStatus,
    ServiceRequest,
    in_offset,
)
from api.repositories import assignments as assignment_repo
from api.repositories import service_requests as request_repo
from api.repositories import volunteers as volunteer_repo

# Commitments this close to the window still matter: travel to and from them (rule 6).
COMMITMENT_MARGIN = timedelta(days=1)


def volunteer_key(volunteer_id: int) -> str:
    return f"v{volunteer_id}"


def request_key(request_id: int) -> str:
    return f"r{request_id}"


def id_of(key: str) -> int:
    return int(key[1:])


def _iso(moment: datetime, offset_min: int) -> str:
    return in_offset(moment, offset_min).isoformat()


def scope_requests(session: Session, run: MatchRun) -> list[ServiceRequest]:
    return request_repo.requests_in_window(
        session,
        [int(c) for c in run.center_ids],
        run.window_start,
        run.window_end,
        (RequestStatus.OPEN, RequestStatus.FILLED),
    )


def build_instance(
    session: Session, run: MatchRun, volunteers_only: Collection[int] | None = None
) -> dict[str, Any]:
    """The run's instance as FORMAT.md JSON data (with the project's `commitments` and
    `excluded`), from the database as it is now. With `volunteers_only`, only those volunteers
    and the ones holding assignments on its requests (enough to check a plan of them)."""
    requests = scope_requests(session, run)
    request_ids = [r.id for r in requests]
    held = assignment_repo.for_requests(session, request_ids, ACTIVE_ASSIGNMENT, erased=False)
    served_by_erased: dict[int, int] = defaultdict(int)
    for a in assignment_repo.for_requests(session, request_ids, ACTIVE_ASSIGNMENT, erased=True):
        served_by_erased[a.request_id] += 1
    declined = assignment_repo.for_requests(session, request_ids, (AssignmentStatus.DECLINED,))
    held_pairs = {(a.volunteer_id, a.request_id) for a in held}
    rows, skills, windows = volunteer_repo.matching_data(
        session,
        run.window_start,
        run.window_end,
        sorted({a.volunteer_id for a in held}),
        volunteers_only,
    )
    commitments = assignment_repo.commitments_outside(
        session,
        request_ids,
        run.window_start - COMMITMENT_MARGIN,
        run.window_end + COMMITMENT_MARGIN,
    )
    volunteers = _volunteers(rows, skills, windows, commitments)
    present = {row.id for row in rows}

    def pairs(items: list[tuple[int, int]]) -> list[dict[str, str]]:
        return [
            {"volunteer_id": volunteer_key(v), "request_id": request_key(r)}
            for v, r in sorted(items)
            if v in present
        ]

    return {
        "volunteers": volunteers,
        "requests": [
            _request(r, served_by_erased[r.id])
            for r in requests
            if r.volunteers_needed > served_by_erased[r.id]
        ],
        "pinned": pairs(
            [(a.volunteer_id, a.request_id) for a in held if a.status in AGREED_ASSIGNMENT]
        ),
        "previous": pairs(
            [(a.volunteer_id, a.request_id) for a in held if a.status == AssignmentStatus.PROPOSED]
        ),
        "excluded": pairs(sorted({(a.volunteer_id, a.request_id) for a in declined} - held_pairs)),
        "options": {"time_limit_s": run.time_limit_s, "seed": run.seed},
    }


def _volunteers(
    rows: list[Any],
    skills: list[tuple[int, str]],
    windows: list[tuple[int, datetime, datetime, int]],
    commitments: list[tuple[int, datetime, datetime, float, float]],
) -> list[dict[str, Any]]:
    """Volunteers in the matcher's format from `volunteer_repo.matching_data` and
    `assignment_repo.commitments_outside`."""
    skills_of: dict[int, list[str]] = defaultdict(list)
    for vid, skill in skills:
        skills_of[vid].append(skill)
    windows_of: dict[int, list[dict[str, str]]] = defaultdict(list)
    for vid, start, end, offset in windows:
        windows_of[vid].append({"start": _iso(start, offset), "end": _iso(end, offset)})
    commitments_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for vid, start, end, lat, lon in commitments:
        commitments_of[vid].append(
            {"start": _iso(start, 0), "end": _iso(end, 0), "location": {"lat": lat, "lon": lon}}
        )
    volunteers = []
    for row in rows:
        volunteer: dict[str, Any] = {
            "id": volunteer_key(row.id),
            "location": {"lat": row.lat, "lon": row.lon},
            "skills": skills_of.get(row.id, []),
            "languages": row.languages,
            "attributes": row.attributes,
            "availability": windows_of.get(row.id, []),
            "preferences": row.preferences,
            "commitments": commitments_of.get(row.id, []),
        }
        for cap in ("max_hours", "max_travel_km", "max_assignments"):
            if getattr(row, cap) is not None:
                volunteer[cap] = getattr(row, cap)
        volunteers.append(volunteer)
    return volunteers


def pair_instance(
    session: Session, run: MatchRun, volunteer_id: int, request: ServiceRequest
) -> dict[str, Any] | None:
    """An instance of one volunteer and one open place on `request`, within `run`'s window:
    the volunteer's data as it is now, and every active assignment they hold elsewhere as a
    commitment (blocking times, counting toward caps). None if the volunteer is gone."""
    rows, skills, windows = volunteer_repo.matching_data(
        session, run.window_start, run.window_end, [], {volunteer_id}
    )
    if not rows:
        return None
    commitments = assignment_repo.commitments_outside(
        session,
        [request.id],
        run.window_start - COMMITMENT_MARGIN,
        run.window_end + COMMITMENT_MARGIN,
        [volunteer_id],
    )
    return {
        "volunteers": _volunteers(list(rows), skills, windows, commitments),
        "requests": [{**_request(request), "volunteers_needed": 1, "min_volunteers": 1}],
        "options": {"time_limit_s": 1, "seed": 0},
    }


def _request(request: ServiceRequest, served_elsewhere: int = 0) -> dict[str, Any]:
    """A request as the matcher sees it, less `served_elsewhere` slots."""
    needed = request.volunteers_needed - served_elsewhere
    return {
        "id": request_key(request.id),
        "service_type": request.service_type,
        "location": {"lat": request.lat, "lon": request.lon},
        "start": _iso(request.start_at, request.offset_min),
        "end": _iso(request.end_at, request.offset_min),
        "required_skills": request.required_skills,
        "languages": request.languages,
        "attributes": request.attributes,
        "volunteers_needed": needed,
        "min_volunteers": min(request.min_volunteers, needed),
        "priority": request.priority,
        "mandatory": request.mandatory,
    }


def held_pairs(session: Session, run: MatchRun) -> set[tuple[int, int]]:
    """(volunteer, request) of the assignments held now on the run's requests."""
    request_ids = [r.id for r in scope_requests(session, run)]
    return {
        (a.volunteer_id, a.request_id)
        for a in assignment_repo.for_requests(session, request_ids, ACTIVE_ASSIGNMENT, erased=False)
    }
