"""A match run's plan as the console shows it: pages of its assignments and of its unfilled
requests (with their reasons in plain words), timelines per volunteer and per request, and the
points of its map.

A plan names volunteers by id only, as the API's plan does; their names reach a center through
published assignments (the board). On the map, a volunteer's home is coarsened to a cell of
about two kilometres: enough to see where help comes from, not where anyone lives.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.models import MatchRun, RunStatus, ServiceRequest
from api.repositories import service_requests as request_repo
from api.repositories import volunteers as volunteer_repo
from api.schemas.match_runs import PlannedAssignment, PlanOut
from api.services import match_runs
from api.web.i18n import N_, Language

PAGE_ROWS = 50
TIMELINE_ROWS = 30
HOME_CELL_DEG = 0.02  # ~2 km: volunteers' homes on a map are this coarse
MAX_LINES = 400  # beyond this many assignments the map draws points only

REASONS = {
    "no_candidate": N_("No volunteer fits (skills, language, time or distance)"),
    "candidates_busy": N_("The volunteers who fit are busy at that time"),
    "hours_cap": N_("The volunteers who fit have reached their hours"),
    "assignment_cap": N_("The volunteers who fit have reached their number of tasks"),
    "below_min_volunteers": N_("Too few volunteers for the minimum"),
    "mandatory_unstaffable": N_("A mandatory request no plan can staff"),
    "not_chosen": N_("The volunteers who fit serve requests of higher priority"),
    "time_limit": N_("Not placed within the time limit"),
}

_FINISHED = (RunStatus.SUCCEEDED, RunStatus.CANCELLED)
_cache: dict[tuple[int, datetime | None], PlanOut] = {}
_cache_lock = Lock()
_CACHE_SIZE = 8


def plan_of(run: MatchRun) -> PlanOut:
    """The run's plan (a finished run's plan never changes: the last few are kept parsed, by
    the run's number and when it finished, since a number alone names another run in another
    database)."""
    key = (run.id, run.finished_at)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and run.status in _FINISHED:
        return cached
    plan = match_runs.plan_out(run)
    if run.status in _FINISHED:
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = plan
    return plan


def pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


def page_slice(items: list[Any], page: int, size: int) -> tuple[list[Any], int, int]:
    """The page's items, the page number (clamped) and the number of pages."""
    total = pages(len(items), size)
    page = min(max(page, 1), total)
    return items[(page - 1) * size : page * size], page, total


def _requests(session: Session, ids: list[int]) -> dict[int, ServiceRequest]:
    return {r.id: r for r in request_repo.requests_by_ids(session, sorted(set(ids)))}


@dataclass(frozen=True)
class AssignmentRow:
    request: ServiceRequest | None
    volunteer_id: int
    distance_km: float
    start: datetime | None  # a flexible visit's chosen start, else the request's
    end: datetime | None


def _times(request: ServiceRequest, a: PlannedAssignment | None) -> tuple[datetime, datetime]:
    """When the planned work is: a flexible visit's chosen start and end, else the request's
    (an unplaced flexible visit: its window)."""
    if a is not None and a.start is not None and a.end is not None:
        return a.start, a.end
    return request.start_at, request.end_at


def assignment_page(
    session: Session, plan: PlanOut, page: int
) -> tuple[list[AssignmentRow], int, int]:
    ordered = sorted(plan.assignments, key=lambda a: (a.request_id, a.volunteer_id))
    shown, page, total = page_slice(ordered, page, PAGE_ROWS)
    requests = _requests(session, [a.request_id for a in shown])
    rows = []
    for a in shown:
        r = requests.get(a.request_id)
        start, end = _times(r, a) if r is not None else (None, None)
        rows.append(AssignmentRow(r, a.volunteer_id, a.distance_km, start, end))
    return rows, page, total


@dataclass(frozen=True)
class UnfilledRow:
    request: ServiceRequest | None
    request_id: int
    missing: int
    reasons: list[tuple[str, str]]  # (plain words in the page's language, the matcher's sentence)


def unfilled_page(
    session: Session, plan: PlanOut, page: int, lang: Language
) -> tuple[list[UnfilledRow], int, int]:
    shown, page, total = page_slice(plan.unfilled, page, PAGE_ROWS)
    requests = _requests(session, [u.request_id for u in shown])
    rows = [
        UnfilledRow(
            requests.get(u.request_id),
            u.request_id,
            u.missing,
            [
                (lang.gettext(REASONS[code]) if code in REASONS else code, sentence)
                for code, sentence in zip(u.codes, u.reasons, strict=False)
            ]
            or [("", s) for s in u.reasons],
        )
        for u in shown
    ]
    return rows, page, total


@dataclass(frozen=True)
class Bar:
    left: float  # percent of the window
    width: float
    text: str
    title: str
    unfilled: bool = False


@dataclass(frozen=True)
class TimelineRow:
    label: str
    bars: list[Bar]


@dataclass(frozen=True)
class Timeline:
    days: list[str]
    rows: list[TimelineRow]
    page: int
    pages: int


def _window(run: MatchRun) -> tuple[datetime, float]:
    start = run.window_start
    return start, max((run.window_end - start).total_seconds(), 1.0)


def _bar(
    run: MatchRun, times: tuple[datetime, datetime], text: str, title: str, unfilled: bool
) -> Bar:
    start, span = _window(run)
    left = (times[0] - start).total_seconds() / span * 100
    width = (times[1] - times[0]).total_seconds() / span * 100
    return Bar(max(left, 0.0), max(width, 0.4), text, title, unfilled)


def _day_labels(run: MatchRun, timezone: str, lang: Language) -> list[str]:
    zone = ZoneInfo(timezone)
    first = run.window_start.astimezone(zone)
    days = max(1, math.ceil((run.window_end - run.window_start).total_seconds() / 86400))
    return [
        lang.when(first + timedelta(days=d), timezone).rsplit(" ", 1)[0][5:] for d in range(days)
    ]


def timeline(
    session: Session,
    run: MatchRun,
    plan: PlanOut,
    by: str,
    page: int,
    lang: Language,
    timezone: str,
) -> Timeline:
    """Rows of bars over the run's window: per volunteer (their requests) or per request
    (filled n of m; unfilled ones light)."""
    days = _day_labels(run, timezone, lang)
    if by == "volunteer":
        of_volunteer: dict[int, list[PlannedAssignment]] = defaultdict(list)
        for a in plan.assignments:
            of_volunteer[a.volunteer_id].append(a)
        ids, page, total = page_slice(sorted(of_volunteer), page, TIMELINE_ROWS)
        requests = _requests(session, [a.request_id for v in ids for a in of_volunteer[v]])
        rows = []
        for vid in ids:
            bars = []
            for a in of_volunteer[vid]:
                r = requests.get(a.request_id)
                if r is not None:
                    times = _times(r, a)
                    title = f"{r.title} {lang.clock(times[0], timezone)}-{lang.clock(times[1], timezone)}"
                    bars.append(_bar(run, times, r.title, title, False))
            rows.append(TimelineRow(lang.gettext(N_("Volunteer #%(id)s"), id=vid), bars))
        return Timeline(days, rows, page, total)
    assigned: dict[int, int] = defaultdict(int)
    placed: dict[int, PlannedAssignment] = {}  # a flexible visit's team shares its start
    for a in plan.assignments:
        assigned[a.request_id] += 1
        placed[a.request_id] = a
    missing = {u.request_id: u.missing for u in plan.unfilled}
    everything = _requests(session, [*assigned, *missing])
    ordered = sorted(everything.values(), key=lambda r: (r.start_at, r.id))
    shown, page, total = page_slice(ordered, page, TIMELINE_ROWS)
    rows = []
    for r in shown:
        n = assigned.get(r.id, 0)
        needed = n + missing.get(r.id, 0)
        text = f"{n}/{needed}"
        times = _times(r, placed.get(r.id))
        title = f"{r.title} {lang.clock(times[0], timezone)}-{lang.clock(times[1], timezone)} {text}"
        rows.append(TimelineRow(r.title, [_bar(run, times, text, title, r.id in missing)]))
    return Timeline(days, rows, page, total)


def _coarse(value: float) -> float:
    return round(round(value / HOME_CELL_DEG) * HOME_CELL_DEG, 4)


def map_points(session: Session, plan: PlanOut, lang: Language, timezone: str) -> dict[str, Any]:
    """Requests (filled or not) and the assigned volunteers' coarse home cells, for Leaflet."""
    assigned: dict[int, int] = defaultdict(int)
    placed: dict[int, PlannedAssignment] = {}
    for a in plan.assignments:
        assigned[a.request_id] += 1
        placed[a.request_id] = a
    missing = {u.request_id: u.missing for u in plan.unfilled}
    requests = _requests(session, [*assigned, *missing])
    homes = volunteer_repo.home_points(session, sorted({a.volunteer_id for a in plan.assignments}))
    cells = {vid: (_coarse(lat), _coarse(lon)) for vid, (lat, lon) in homes.items()}
    out_requests = [
        {
            "lat": r.lat,
            "lon": r.lon,
            "unfilled": r.id in missing,
            "label": f"{r.title} · {lang.when(_times(r, placed.get(r.id))[0], timezone)} · "
            f"{assigned.get(r.id, 0)}/{assigned.get(r.id, 0) + missing.get(r.id, 0)}",
        }
        for r in requests.values()
    ]
    out_volunteers = [
        {
            "lat": lat,
            "lon": lon,
            "label": lang.gettext(N_("Volunteer #%(id)s (home area, about 2 km)"), id=vid),
        }
        for vid, (lat, lon) in sorted(cells.items())
    ]
    lines = []
    if len(plan.assignments) <= MAX_LINES:
        for a in plan.assignments:
            r = requests.get(a.request_id)
            cell = cells.get(a.volunteer_id)
            if r is not None and cell is not None:
                lines.append([[cell[0], cell[1]], [r.lat, r.lon]])
    return {"requests": out_requests, "volunteers": out_volunteers, "lines": lines}
