"""From the database to the matcher's format: the instance a match run solves.

A run's instance holds the chosen centers' open and filled requests inside its window, and the
volunteers available in it. Assignments already held on those requests are pinned (agreed by the
volunteer) or passed as `previous` (proposed), declined pairs are `excluded`, and every active
assignment elsewhere (any run, any center) near the window becomes a commitment of its volunteer:
one person across all centers. A slot served by a volunteer whose data were erased (a completed
assignment: erasure declines the open ones) is no longer asked for, and its pair is left out:
that person has no skills, place or time left to check it against. Ids are `v<volunteer id>`
and `r<request id>`. A flexible visit goes as a window and a duration (format v1.1) until its
team holds a time; from then on as a fixed request at that time (pinned pairs must be fixed, and
a team keeps the time its members agreed to).

The rules of the center that queued the run go into the options: its partners' quotas (each
volunteer's `group` being the organization that registered them), hours already served this year
against each volunteer's annual target where it prefers volunteers behind (the fairness term
counts them), and a repair's change budget with a price per change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from api.repositories import ledger as ledger_repo
from api.repositories import organizations as org_repo
from api.repositories import service_requests as request_repo
from api.repositories import volunteers as volunteer_repo
from api.schemas.organizations import OrganizationSettings, QuotaSetting
from api.services.organizations import settings_of

# Commitments this close to the window still matter: travel to and from them (rule 6).
COMMITMENT_MARGIN = timedelta(days=1)
# A repair prices each change to the published plan this many kilometres of travel, so that no
# one is moved to save less (a volunteer told "no longer needed" to save a few kilometres is a
# worse outcome than the kilometres); changes that staff more are never held back by it.
REPAIR_CHANGE_COST_KM = 10.0


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
    settled = assignment_repo.team_times(session, request_ids, ACTIVE_ASSIGNMENT)
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
    options: dict[str, Any] = {"time_limit_s": run.time_limit_s, "seed": run.seed}
    center = org_repo.get_organization(session, run.organization_id)
    rules = settings_of(center) if center is not None else OrganizationSettings()
    if rules.quotas:
        options["quotas"] = [_quota(q) for q in rules.quotas]
        for volunteer, row in zip(volunteers, rows, strict=True):
            volunteer["group"] = group_key(row.university_id)
    if rules.prefer_behind_target and center is not None:
        year = in_offset(run.window_start, run.offset_min).astimezone(ZoneInfo(center.timezone))
        served = ledger_repo.hours_between(
            session, year.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
            run.window_start,
        )  # fmt: skip
        # A person's own target, else their roster owner's.
        owners = org_repo.annual_targets(session, {row.university_id for row in rows})
        for volunteer, row in zip(volunteers, rows, strict=True):
            if served.get(row.id):
                volunteer["served_hours"] = round(served[row.id], 4)
            target = row.target_hours
            if target is None:
                target = owners.get(row.university_id)
            if target is not None:
                volunteer["target_hours"] = target
    if run.max_changes is not None:
        options["max_changes"] = run.max_changes
        options["change_cost_km"] = REPAIR_CHANGE_COST_KM

    def pairs(items: list[tuple[int, int]]) -> list[dict[str, str]]:
        return [
            {"volunteer_id": volunteer_key(v), "request_id": request_key(r)}
            for v, r in sorted(items)
            if v in present
        ]

    return {
        "volunteers": volunteers,
        "requests": [
            _request(r, served_by_erased[r.id], settled.get(r.id))
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
        "options": options,
    }


def group_key(organization_id: int) -> str:
    """A volunteer's `group` in the matcher: the organization that registered them."""
    return f"o{organization_id}"


def _quota(quota: QuotaSetting) -> dict[str, Any]:
    """A center's quota as the matcher's `options.quotas` entry."""
    return {
        "group": group_key(quota.organization_id),
        **quota.model_dump(exclude={"organization_id"}, exclude_none=True),
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
    # A flexible visit's team has its time (the last one published) and, for same_attributes,
    # its common values: the one newcomer must fit both.
    settled = assignment_repo.team_times(session, [request.id], tuple(AssignmentStatus))
    one = _request(request, request.volunteers_needed - 1, settled.get(request.id))
    team = assignment_repo.for_requests(session, [request.id], ACTIVE_ASSIGNMENT, erased=False)
    shared = {
        key: team[0].volunteer.attributes[key]
        for key in request.same_attributes
        if team and key in team[0].volunteer.attributes
    }
    if shared:
        one["attributes"] = {**one["attributes"], **shared}
    return {
        "volunteers": _volunteers(list(rows), skills, windows, commitments),
        "requests": [one],
        "options": {"time_limit_s": 1, "seed": 0},
    }


def _request(
    request: ServiceRequest,
    served_elsewhere: int = 0,
    settled: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """A request as the matcher sees it, less `served_elsewhere` slots. A flexible visit is a
    window and a duration (format v1.1) until its team holds a time (`settled`: the start and
    end chosen when it was published); from then on it is fixed at that time, so that the
    volunteers who agreed to it keep it and newcomers join them."""
    needed = request.volunteers_needed - served_elsewhere
    offset = request.offset_min
    times: dict[str, Any]
    if request.duration_min is None:
        times = {"start": _iso(request.start_at, offset), "end": _iso(request.end_at, offset)}
    elif settled is not None:
        times = {"start": _iso(settled[0], offset), "end": _iso(settled[1], offset)}
    else:
        times = {
            "earliest_start": _iso(request.start_at, offset),
            "latest_end": _iso(request.end_at, offset),
            "duration": request.duration_min,
        }
    if request.same_attributes and needed >= 2:
        times["same_attributes"] = request.same_attributes
    return {
        "id": request_key(request.id),
        "service_type": request.service_type,
        "location": {"lat": request.lat, "lon": request.lon},
        **times,
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
