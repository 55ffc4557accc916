"""The hours report and the supply-demand report.

Hours: the hours ledger's entries (completed assignments and their corrections) by volunteer and
by roster owner; names and numbers go only to the volunteer's own organization, and a volunteer
whose data were erased appears under their pseudonymous id. Supply and demand: requested, held
and confirmed slots by service type, skill, area and day part, and available volunteer hours by
skill and day part: aggregates only, for planners. Ranges are resolved by `api.services.periods`
(dates are whole local days).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from api.models import ACTIVE_ASSIGNMENT, AGREED_ASSIGNMENT, in_offset
from api.repositories import ledger as ledger_repo
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
from api.services.csv_export import Lang, csv_text
from api.services.organizations import Caller
from api.services.periods import resolve_range

_DAY_PARTS: tuple[tuple[DayPart, int, int], ...] = (
    ("morning", 0, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 24),
)
KM_PER_DEGREE = 111.32
_DAY_S = 86_400
FloatArray = NDArray[np.float64]


def hours_report(
    session: Session, caller: Caller, start: date | datetime, end: date | datetime
) -> HoursReport:
    lo, hi = resolve_range(start, end, caller.timezone)
    own = caller.org_id if caller.owns_roster else None
    rows = ledger_repo.hours_by_volunteer(session, lo, hi, own)
    volunteers = [
        VolunteerHours(
            university_id=r.organization_id,
            volunteer_id=r.id,
            external_id=r.external_id if own is not None and r.pseudonym is None else None,
            name=r.name if own is not None else None,
            pseudonym=r.pseudonym,
            assignments=r.assignments,
            hours=round(float(r.hours or 0), 2),
        )
        for r in rows
    ]
    totals: dict[int, UniversityHours] = {}
    for r, v in zip(rows, volunteers, strict=True):
        total = totals.setdefault(
            r.organization_id,
            UniversityHours(
                university_id=r.organization_id,
                university=r.organization,
                kind=r.organization_kind,
                volunteers=0,
                assignments=0,
                hours=0.0,
            ),
        )
        total.volunteers += 1
        total.assignments += v.assignments
        total.hours = round(total.hours + v.hours, 2)
    return HoursReport(start=lo, end=hi, volunteers=volunteers, universities=list(totals.values()))


HOURS_HEADERS: dict[Lang, tuple[str, ...]] = {
    "zh": ("组织ID", "志愿者ID", "编号", "姓名", "匿名编号", "服务次数", "服务时长（小时）"),
    "en": (
        "university_id",
        "volunteer_id",
        "external_id",
        "name",
        "pseudonym",
        "assignments",
        "hours",
    ),
}


def hours_csv(report: HoursReport, lang: Lang) -> str:
    return csv_text(
        HOURS_HEADERS[lang],
        (
            [
                v.university_id,
                v.volunteer_id,
                v.external_id or "",
                v.name or "",
                v.pseudonym or "",
                v.assignments,
                f"{v.hours:g}",
            ]
            for v in report.volunteers
        ),
    )


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
    caller: Caller,
    start_at: date | datetime,
    end_at: date | datetime,
    area: Literal["district", "grid"],
    cell_km: float,
) -> SupplyDemandReport:
    start, end = resolve_range(start_at, end_at, caller.timezone)
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


def _part_seconds_until(t: FloatArray, first_hour: int, last_hour: int) -> FloatArray:
    """Seconds of the day part [first_hour, last_hour) between the epoch and local moments `t`,
    in closed form: the cost does not grow with the days in a report's range."""
    days, into = np.divmod(t, _DAY_S)
    span = 3600 * (last_hour - first_hour)
    return np.asarray(days * span + np.clip(into - 3600 * first_hour, 0, span))


def _supply(session: Session, start: datetime, end: datetime) -> list[SupplyRow]:
    """Available hours and volunteers by skill and day part. Windows are cut at the range's
    ends and split into day parts in their own local time, with numpy: a city's week holds
    tens of thousands of windows (a loop over datetimes took 0.5 s for 5,000 volunteers)."""
    rows, skills = repo.supply(session, start, end)
    if not rows:
        return []
    vid, w_start, w_end, offset = np.asarray(rows, dtype=np.int64).T
    # Local seconds of each window's part inside [start, end).
    shift = 60 * offset
    lo = np.maximum(w_start, start.timestamp()) + shift
    hi = np.minimum(w_end, end.timestamp()) + shift
    seconds = np.stack(
        [np.maximum(_part_seconds_until(hi, a, b) - _part_seconds_until(lo, a, b), 0.0)
         for _, a, b in _DAY_PARTS],
        axis=1,
    )  # fmt: skip
    volunteers, at = np.unique(vid, return_inverse=True)
    hours = np.zeros((len(volunteers), len(_DAY_PARTS)))
    np.add.at(hours, at, seconds / 3600)
    members: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(volunteers.tolist()):
        for skill in ["(any)", *skills.get(v, [])]:
            members[skill].append(i)
    by_name = sorted(range(len(_DAY_PARTS)), key=lambda k: _DAY_PARTS[k][0])
    out = []
    for skill in sorted(members):
        of_skill = hours[members[skill]]
        for k in by_name:
            present = int((of_skill[:, k] > 0).sum())
            if present:
                out.append(
                    SupplyRow(
                        skill=skill,
                        day_part=_DAY_PARTS[k][0],
                        volunteers=present,
                        available_hours=round(float(of_skill[:, k].sum()), 2),
                    )
                )
    return out
