"""The hours ledger and the supply-demand report.

Hours: completed assignments only, by volunteer and by university; names and student numbers go
only to the volunteer's own university. Supply and demand: requested, held and confirmed slots by
service type, skill, area and day part, and available volunteer hours by skill and day part:
aggregates only, for planners.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from api.errors import FieldError, InvalidInput
from api.models import ACTIVE_ASSIGNMENT, AGREED_ASSIGNMENT, OrgKind, in_offset
from api.repositories import reports as repo
from api.schemas.reports import (
    DayPart,
    DemandRow,
    HoursReport,
    SupplyDemandReport,
    SupplyRow,
    UniversityHours,
    VolunteerHours,
)
from api.services.organizations import Caller

MAX_RANGE_DAYS = 400
_DAY_PARTS: tuple[tuple[DayPart, int, int], ...] = (
    ("morning", 0, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 24),
)
KM_PER_DEGREE = 111.32


def check_range(start: datetime, end: datetime) -> None:
    if end <= start or (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"the range must end after it starts and span at most {MAX_RANGE_DAYS} days",
            fields=[FieldError(loc=["query", "end"], msg="after start, within the maximum span")],
        )


def hours_report(session: Session, caller: Caller, start: datetime, end: datetime) -> HoursReport:
    check_range(start, end)
    own = caller.org_id if caller.kind is OrgKind.UNIVERSITY else None
    rows = repo.completed_hours(session, start, end, own)
    volunteers = [
        VolunteerHours(
            university_id=r.university_id,
            volunteer_id=r.id,
            external_id=r.external_id if own is not None else None,
            name=r.name if own is not None else None,
            assignments=r.assignments,
            hours=round(float(r.hours or 0), 2),
        )
        for r in rows
    ]
    totals: dict[int, UniversityHours] = {}
    for r, v in zip(rows, volunteers, strict=True):
        total = totals.setdefault(
            r.university_id,
            UniversityHours(
                university_id=r.university_id,
                university=r.university,
                volunteers=0,
                assignments=0,
                hours=0.0,
            ),
        )
        total.volunteers += 1
        total.assignments += v.assignments
        total.hours = round(total.hours + v.hours, 2)
    return HoursReport(
        start=start, end=end, volunteers=volunteers, universities=list(totals.values())
    )


def hours_csv(report: HoursReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["university_id", "volunteer_id", "external_id", "name", "assignments", "hours"]
    )
    for v in report.volunteers:
        writer.writerow(
            [
                v.university_id,
                v.volunteer_id,
                v.external_id or "",
                v.name or "",
                v.assignments,
                f"{v.hours:g}",
            ]
        )
    return out.getvalue()


def _day_part(hour: int) -> DayPart:
    return next(name for name, lo, hi in _DAY_PARTS if lo <= hour < hi)


def _cell(lat: float, lon: float, cell_km: float) -> str:
    step_lat = cell_km / KM_PER_DEGREE
    step_lon = cell_km / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return (
        f"{math.floor(lat / step_lat) * step_lat:.4f},{math.floor(lon / step_lon) * step_lon:.4f}"
    )


def supply_demand(
    session: Session,
    start: datetime,
    end: datetime,
    area: Literal["district", "grid"],
    cell_km: float,
) -> SupplyDemandReport:
    check_range(start, end)
    counts = repo.assignment_counts(session, start, end)
    groups: dict[tuple[str, str, str, DayPart], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in repo.demand(session, start, end):
        held = sum(counts.get((r.id, s), 0) for s in ACTIVE_ASSIGNMENT)
        agreed = sum(counts.get((r.id, s), 0) for s in AGREED_ASSIGNMENT)
        where = r.district if area == "district" and r.district else _cell(r.lat, r.lon, cell_km)
        part = _day_part(in_offset(r.start_at, r.offset_min).hour)
        for skill in r.required_skills or ["(none)"]:
            g = groups[(r.service_type, skill, where, part)]
            g[0] += 1
            g[1] += r.volunteers_needed
            g[2] += held
            g[3] += agreed
    demand = [
        DemandRow(
            service_type=k[0],
            skill=k[1],
            area=k[2],
            day_part=k[3],
            requests=v[0],
            requested_slots=v[1],
            assigned_slots=v[2],
            confirmed_slots=v[3],
        )
        for k, v in sorted(groups.items())
    ]
    return SupplyDemandReport(
        start=start, end=end, area=area, demand=demand, supply=_supply(session, start, end)
    )


def _supply(session: Session, start: datetime, end: datetime) -> list[SupplyRow]:
    windows, skills = repo.supply(session, start, end)
    hours: dict[tuple[str, DayPart], float] = defaultdict(float)
    people: dict[tuple[str, DayPart], set[int]] = defaultdict(set)
    for vid, w_start, w_end, offset in windows:
        for part, h in _split_by_day_part(max(w_start, start), min(w_end, end), offset).items():
            for skill in ["(any)", *skills.get(vid, [])]:
                hours[(skill, part)] += h
                people[(skill, part)].add(vid)
    return [
        SupplyRow(skill=k[0], day_part=k[1], volunteers=len(people[k]), available_hours=round(h, 2))
        for k, h in sorted(hours.items())
    ]


def _split_by_day_part(start: datetime, end: datetime, offset_min: int) -> dict[DayPart, float]:
    """Hours of [start, end) in each day part, in the window's local time."""
    out: dict[DayPart, float] = defaultdict(float)
    local, stop = in_offset(start, offset_min), in_offset(end, offset_min)
    while local < stop:
        part, _, hi = next(p for p in _DAY_PARTS if p[1] <= local.hour < p[2])
        boundary = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=hi)
        piece_end = min(boundary, stop)
        out[part] += (piece_end - local).total_seconds() / 3600
        local = piece_end
    return out
