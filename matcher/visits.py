"""Flexible home visits of a mixed week, routed day by day around the fixed part's plan.

A flexible visit (FORMAT v1.1: a window, a duration, a team) is planned after the fixed
requests: for each local day (the date of `earliest_start` in its own offset) the visits of that
day become one `RoutingData` for `matcher.engines.routing.solve_routes`, and its routes are
mapped back to assignments with a chosen start and end. A fixed request with `same_attributes`
is routed too, as a visit whose window is its time (`routed_requests`): the matching engines
cannot make a team share a value the request does not fix. Everything here works on the validated
`Instance`; the routing engine sees arrays only. No clock but the caller's `Deadline`.

**Vehicles.** One per free gap of a volunteer that day: a merged availability interval cut by
the engagements the volunteer already has (the fixed part's assignments, commitments, visits of
earlier days and of the day's first pass). A gap starts at home (at the interval's start) or at
the place of the engagement before it (at its end), and ends at home (by the interval's end) or
at the next engagement's place (by its start). Travel time is real (great-circle km at
`options.travel_speed_kmh`, plus `_TRAVEL_MARGIN_S` so that starts rounded to the second still
leave time); the distance INTO a gap's end is 0: the return leg is not counted, so a route's
distance is the sum of each visit's leg from the stop before it (FORMAT v1.1's travel).
Engagements outside the interval are kept conservatively: the gap opens no earlier than such an
engagement's end plus the trip home, and closes no later than the trip from home to the next one
(with the triangle inequality, rule 6 then holds with every engagement, not only the adjacent).

**Eligibility** (who may serve a visit): rules 1-3, 3b (`same_attributes`: the volunteer has
every key), 5 (home within `max_travel_km`), excluded pairs removed, caps left, and a gap that
can hold the visit alone with its travel. Each visit keeps its `K_GAPS` eligible gaps whose
start is nearest (per value tuple of `same_attributes` for teams), so that a 5,000-volunteer day
stays a few thousand vehicles.

**Teams.** `team = volunteers_needed`, `same_group` for `same_attributes` (a volunteer's group is
the index of its values of every key any flexible visit names: teams share all of them, which is
stricter than a visit naming fewer keys asks, never looser). A visit whose `min_volunteers` is
below `volunteers_needed` and that the first pass leaves out gets a second pass that day with
`team = min_volunteers`, around the first pass's routes.

**Caps** (`max_hours`, `max_assignments`) are weekly, shared over the days: each day receives
what is left. The engine's `max_duration` is working time (travel and waiting included), so
passing the hours left as it is conservative (rule 7 counts service time only). Several gaps of
one volunteer in a day each see the whole remainder: a final trim drops that volunteer's
lowest-priority visits of the day until the caps hold (a team left below `min_volunteers` by the
trim loses the visit).

**Bound.** The coverage a visit can reach in any plan: `priority * min(volunteers_needed, n)`
where n counts the eligible volunteers (of one value tuple for a team) that have, net of their
commitments only, an availability gap holding the visit's duration inside its window and the
hours and assignments left for it (travel ignored; 0 when n < min_volunteers). It is valid
whatever the fixed part chooses, unlike the routing engine's own bound, which sees the gaps the
fixed part leaves and only the nearest gaps.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np

from .compile import Tables, to_micros
from .engines.base import Control, Deadline, SolveParams
from .engines.routing import RoutingData, solve_routes
from .geo import great_circle_km
from .model import Instance, Pair, Request, Volunteer
from .problem import FloatArray, IntArray
from .rules import SECONDS_TOLERANCE, attribute_key, merged_availability

__all__ = [
    "K_GAPS",
    "VisitAssignment",
    "VisitPlanner",
    "VisitShortfall",
    "VisitsResult",
    "routed_requests",
    "team_exclusions",
]

# Eligible gaps kept per visit (per value tuple for a team): the nearest by their start place.
K_GAPS = 40
# Added to every travel time: routes are searched in float minutes and starts are rounded to
# the second, which may move two consecutive starts 0.5 s each towards one another.
_TRAVEL_MARGIN_S = 2.0
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Share of a day's time for its first pass when some of its visits may take a smaller team.
_FIRST_PASS_SHARE = 0.75


@dataclass(frozen=True, slots=True)
class VisitAssignment:
    """A volunteer (index into `instance.volunteers`) at a flexible visit (index into
    `instance.requests`) from `start` to `end`, `distance_km` from the stop before."""

    volunteer: int
    request: int
    start: datetime
    end: datetime
    distance_km: float


@dataclass(frozen=True, slots=True)
class VisitShortfall:
    """What kept a flexible visit short, for its explanation (`matcher.explain`). Counts of
    volunteers after each filter: `qualified` (rules 1-3), `with_keys` (3b), `in_reach` (5),
    `allowed` (not excluded), `available` (a gap of the availability holds it), `uncommitted`
    (... net of commitments); among the last, at the end of the solve: `hours_capped`,
    `count_capped`, `busy` (no gap left that holds it, `busy_at` naming a few with the request
    they serve then), `free` (the rest; `free_in_group`: the most of one value tuple)."""

    request: int
    missing: int
    qualified: int
    with_keys: int
    in_reach: int
    allowed: int
    available: int
    uncommitted: int
    hours_capped: int
    count_capped: int
    busy: int
    busy_at: tuple[tuple[int, int], ...]  # (volunteer, request or -1)
    free: int
    free_in_group: int
    staffed: int
    possible: bool  # some plan could staff it (what the bound counts), so leaving it is no proof


@dataclass(frozen=True, eq=False)
class VisitsResult:
    assignments: tuple[VisitAssignment, ...]
    coverage: int
    coverage_bound: int
    at_fault: tuple[int, ...]  # mandatory flexible visits left below min_volunteers
    shortfalls: tuple[VisitShortfall, ...]
    stats: dict[str, float | int | str | bool] = field(default_factory=dict)


@dataclass
class _Engagement:
    start: int  # microseconds since the epoch
    end: int
    lat: float
    lon: float
    request: int  # -1 for a commitment


@dataclass
class _Person:
    """What is left of a volunteer as the days are planned."""

    home: tuple[float, float]
    availability: list[tuple[int, int]]
    engagements: list[_Engagement]
    hours_left: float
    count_left: int


@dataclass(frozen=True, eq=False)
class _Gaps:
    """Free gaps as parallel arrays (times in microseconds)."""

    volunteer: IntArray
    open: IntArray
    close: IntArray
    start_lat: FloatArray
    start_lon: FloatArray
    end_lat: FloatArray
    end_lon: FloatArray

    @property
    def size(self) -> int:
        return int(self.volunteer.size)


def _micros_to_datetime(us: int, like: datetime) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(like.tzinfo)


class VisitPlanner:
    """The routed requests of one instance (`routed_requests`): their static eligibility (rules 1-3, 3b, 5,
    excluded pairs), the volunteers' state over the days, and `plan`, which routes them
    around the fixed part's assignments."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        flex = self.flex = routed_requests(instance)
        vols, reqs = instance.volunteers, instance.requests
        self.speed = instance.options.travel_speed_kmh
        # The routed requests alone, in their order (`local`), for rules 1-3 and 5.
        self.flex_instance = instance.model_copy(
            update={"requests": tuple(reqs[r] for r in flex)}
        )
        self.tables = tables = Tables(self.flex_instance)
        self.local = {r: i for i, r in enumerate(flex)}
        nv = len(vols)
        every = np.arange(nv, dtype=np.int64)
        self.keys = sorted({k for r in flex for k in reqs[r].same_attributes})
        groups: dict[tuple[object, ...], int] = {}
        self.group = np.array(
            [
                groups.setdefault(
                    tuple(
                        attribute_key(v.attributes[k]) if k in v.attributes else None
                        for k in self.keys
                    ),
                    len(groups),
                )
                for v in vols
            ],
            dtype=np.int64,
        )
        excluded: dict[int, set[int]] = defaultdict(set)
        v_index = {v.id: i for i, v in enumerate(vols)}
        r_index = {r.id: i for i, r in enumerate(reqs)}
        for pair in instance.excluded:
            if pair.volunteer_id in v_index and pair.request_id in r_index:
                excluded[r_index[pair.request_id]].add(v_index[pair.volunteer_id])
        has_key = {k: np.array([k in v.attributes for v in vols], dtype=bool) for k in self.keys}
        # Funnel counts and the eligible volunteers of each visit (before time and caps):
        # rules 1-3 and 3b once per distinct requirement, rule 5 by blocks of visits.
        self.funnel: dict[int, list[int]] = {}
        self.eligible = np.zeros((len(flex), nv), dtype=bool)
        alike: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for i, r in enumerate(flex):
            alike[(tables.r_skills[i].tobytes(), tables.r_langs[i].tobytes(),
                   bool(tables.r_any_language[i]), tables.r_attrs[i].tobytes(),
                   reqs[r].same_attributes)].append(i)  # fmt: skip
        for rows in alike.values():
            rr = np.full(nv, rows[0], dtype=np.int64)
            qualified = tables.skills_ok(every, rr) & tables.language_ok(every, rr)
            qualified &= tables.attributes_ok(every, rr)
            keyed = qualified.copy()
            for key in reqs[flex[rows[0]]].same_attributes:
                keyed &= has_key[key]
            for lo in range(0, len(rows), 256):  # (visits x volunteers) distances, in blocks
                block = np.array(rows[lo : lo + 256], dtype=np.int64)
                km = great_circle_km(  # in `Tables.distance_km`'s order: the same floats
                    tables.v_lat[None, :], tables.v_lon[None, :],
                    tables.r_lat[block, None], tables.r_lon[block, None],
                )  # fmt: skip
                reach = keyed[None, :] & (km <= tables.v_radius[None, :] + 1e-9)
                for j, i in enumerate(block.tolist()):
                    r = flex[i]
                    ok = reach[j]
                    counts = [int(qualified.sum()), int(keyed.sum()), int(ok.sum())]
                    ok[list(excluded.get(r, ()))] = False
                    counts.append(int(ok.sum()))
                    self.funnel[r] = counts
                    self.eligible[i] = ok
        # Volunteers' state: availability, engagements, caps left after commitments and the
        # fixed part.
        self.people: list[_Person] = []
        for vol in vols:
            engagements = [
                _Engagement(to_micros(c.start), to_micros(c.end), c.location.lat,
                            c.location.lon, -1)
                for c in vol.commitments
            ]  # fmt: skip
            committed = sum(c.duration_hours for c in vol.commitments)
            self.people.append(
                _Person(
                    home=(vol.location.lat, vol.location.lon),
                    availability=[
                        (to_micros(s), to_micros(e))
                        for s, e in merged_availability(vol.availability)
                    ],
                    engagements=engagements,
                    hours_left=math.inf if vol.max_hours is None else vol.max_hours - committed,
                    count_left=(
                        1 << 30
                        if vol.max_assignments is None
                        else vol.max_assignments - len(vol.commitments)
                    ),
                )
            )
        # The bound sees commitments only (whatever the fixed part chooses).
        self._bound_people = [
            (list(p.engagements), p.hours_left, p.count_left) for p in self.people
        ]
        self._group_cache: dict[tuple[str, ...], IntArray] = {}
        self._committed_gaps: _Gaps | None = None
        self.staffed: dict[int, int] = dict.fromkeys(flex, 0)
        self._assigned: dict[int, list[VisitAssignment]] = defaultdict(list)

    def plan(
        self,
        fixed: Sequence[tuple[int, int]],
        *,
        deadline: Deadline,
        seed: int = 0,
        control: Control | None = None,
    ) -> VisitsResult:
        """Route the flexible visits around the fixed part's assignments `fixed` ((volunteer,
        request) indices), day by day, within `deadline` (the bound and the explanations'
        counts included: the days not reached by then stay unrouted). Call once."""
        control = control or Control()
        reqs = self.instance.requests
        flex = self.flex
        if not flex:
            return VisitsResult((), 0, 0, (), ())
        for v, r in fixed:
            req, p = reqs[r], self.people[v]
            p.engagements.append(
                _Engagement(to_micros(req.window_start), to_micros(req.window_end),
                            req.location.lat, req.location.lon, r)
            )  # fmt: skip
            p.hours_left -= req.duration_hours
            p.count_left -= 1
        days: dict[date, list[int]] = defaultdict(list)
        for r in flex:
            days[reqs[r].window_start.date()].append(r)
        order = sorted(days)
        stats: dict[str, float | int | str | bool] = {
            "routing_days": len(order),
            "routing_visits": len(flex),
            "routing_vehicles": 0,
            "routing_seconds": 0.0,
            "routing_coverage_bound": 0,
            "routing_iterations": 0,
        }
        # The bound sees commitments only: computed first, its time counts against the limit,
        # and the explanations' counts after the routing walk the same gaps: as much again is
        # kept for them.
        before = deadline.remaining()
        coverage_bound = self.bound()
        days_deadline = Deadline(max(deadline.remaining() - (before - deadline.remaining()), 0.0))
        setup = 0.0
        for k, day in enumerate(order):
            if days_deadline.expired() or control.should_stop():
                # Days not reached stay unrouted (explained as `time_limit`): the plan is
                # valid, and the solve ends by its limit.
                stats["routing_days_skipped"] = len(order) - k
                break
            todo = days[day]
            later = sum(len(days[d]) for d in order[k + 1 :])
            share = len(todo) / (len(todo) + later)
            if any(self.smaller_team(r) for r in todo):
                share *= _FIRST_PASS_SHARE
            # Each day after this one keeps the time of a set-up (the longest seen): at a
            # short limit every day gets at least its first routes.
            reserve = setup * (len(order) - k - 1)
            setup = max(setup, self.route(todo, team_min=False, deadline=days_deadline,
                                          share=share, seed=seed + k, control=control,
                                          stats=stats, reserve=reserve))  # fmt: skip
            again = [r for r in todo if self.smaller_team(r) and self.staffed[r] == 0]
            if again and not days_deadline.expired():
                share = len(again) / (len(again) + later)
                self.route(again, team_min=True, deadline=days_deadline, share=share,
                           seed=seed + k, control=control, stats=stats,
                           reserve=reserve)  # fmt: skip
        assignments = sorted(
            (self._with_leg(a) for team in self._assigned.values() for a in team),
            key=lambda a: (a.request, a.volunteer),
        )
        at_fault = tuple(
            r for r in flex if reqs[r].mandatory and self.staffed[r] < reqs[r].min_volunteers
        )
        stats["routing_seconds"] = round(float(stats["routing_seconds"]), 3)
        return VisitsResult(
            assignments=tuple(assignments),
            coverage=sum(reqs[a.request].priority for a in assignments),
            coverage_bound=coverage_bound,
            at_fault=at_fault,
            shortfalls=self.shortfalls(),
            stats=stats,
        )

    def _with_leg(self, a: VisitAssignment) -> VisitAssignment:
        """`a` with its leg from the stop before it in the final plan: the place of the
        volunteer's engagement that ended last at or before its start within the merged
        availability interval holding it (touching it counts, as in `rules.route_of`), else home (a later pass may have put a visit before
        one routed earlier)."""
        p = self.people[a.volunteer]
        s = to_micros(a.start)
        i0 = next(lo for lo, hi in p.availability if lo <= s < hi)
        last = max((e for e in p.engagements if i0 <= e.end <= s), key=lambda e: (e.end, e.start),
                   default=None)  # fmt: skip
        prev = p.home if last is None else (last.lat, last.lon)
        req = self.instance.requests[a.request]
        if not req.flexible:  # a fixed team: FORMAT v1's travel, from home
            prev = p.home
        leg = float(great_circle_km(prev[0], prev[1], req.location.lat, req.location.lon))
        return replace(a, distance_km=round(leg, 3))

    # -- per request --------------------------------------------------------------------

    def smaller_team(self, r: int) -> bool:
        req = self.instance.requests[r]
        return req.min_volunteers < req.volunteers_needed

    # -- gaps ---------------------------------------------------------------------------

    def _gaps(self, volunteers: IntArray, lo: int, hi: int, *, travel: bool = True,
              commitments_only: bool = False) -> _Gaps:  # fmt: skip
        """The free gaps of `volunteers` that meet [lo, hi]."""
        cols: list[list[float]] = [[] for _ in range(7)]
        for v in volunteers.tolist():
            p = self.people[v]
            engagements = self._bound_people[v][0] if commitments_only else p.engagements
            for g in _person_gaps(p, engagements, lo, hi, self.speed if travel else math.inf):
                cols[0].append(v)
                for c, x in zip(cols[1:], g, strict=True):
                    c.append(x)
        return _Gaps(
            volunteer=np.array(cols[0], dtype=np.int64),
            open=np.array(cols[1], dtype=np.int64),
            close=np.array(cols[2], dtype=np.int64),
            start_lat=np.array(cols[3], dtype=np.float64),
            start_lon=np.array(cols[4], dtype=np.float64),
            end_lat=np.array(cols[5], dtype=np.float64),
            end_lon=np.array(cols[6], dtype=np.float64),
        )

    def _minutes(self, km: FloatArray) -> FloatArray:
        return np.asarray(km / self.speed * 60.0 + _TRAVEL_MARGIN_S / 60.0, dtype=np.float64)

    # -- one pass of one day ------------------------------------------------------------

    def route(
        self,
        visits: list[int],
        *,
        team_min: bool,
        deadline: Deadline,
        share: float,
        seed: int,
        control: Control,
        stats: dict[str, float | int | str | bool],
        reserve: float = 0.0,
    ) -> float:
        """Route `visits` (one day's) on the volunteers' free gaps for `share` of the time
        left less `reserve` (kept for the days after), and book the assignments kept after the
        caps' trim. Returns the seconds spent outside `solve_routes` (gaps, matrices, trim)."""
        begun = deadline.remaining()
        reqs = self.instance.requests
        early = np.array([to_micros(reqs[r].window_start) for r in visits], dtype=np.int64)
        late_end = np.array([to_micros(reqs[r].window_end) for r in visits], dtype=np.int64)
        dur_min = np.array([_minutes(reqs[r]) for r in visits])
        lo, hi = int(early.min()), int(late_end.max())
        rows = np.array([self.local[r] for r in visits], dtype=np.int64)
        hours_left = np.array([p.hours_left for p in self.people])
        count_left = np.array([p.count_left for p in self.people], dtype=np.int64)
        able = self.eligible[rows] & (count_left >= 1)[None, :]
        able &= hours_left[None, :] + SECONDS_TOLERANCE / 3600 >= dur_min[:, None] / 60.0
        gaps = self._gaps(np.flatnonzero(able.any(axis=0)), lo, hi)
        # Candidate (gap, visit) pairs: an eligible volunteer's gap that holds the visit alone.
        per_v = np.bincount(gaps.volunteer, minlength=len(self.people))
        first = np.zeros(len(self.people) + 1, dtype=np.int64)
        np.cumsum(per_v, out=first[1:])
        vis_idx, vol_idx = np.nonzero(able)
        count = per_v[vol_idx]
        pv = np.repeat(vis_idx, count)
        pg = np.repeat(first[vol_idx], count) + _ranks(count)
        lat = np.array([reqs[r].location.lat for r in visits])
        lon = np.array([reqs[r].location.lon for r in visits])
        km_in = great_circle_km(gaps.start_lat[pg], gaps.start_lon[pg], lat[pv], lon[pv])
        t_in = self._minutes(km_in)
        t_out = self._minutes(
            great_circle_km(lat[pv], lon[pv], gaps.end_lat[pg], gaps.end_lon[pg])
        )
        origin = lo
        g_open = (gaps.open - origin) / 6e7
        g_close = (gaps.close - origin) / 6e7
        v_early = (early - origin) / 6e7
        v_late = (late_end - origin) / 6e7 - dur_min
        begin = np.maximum(v_early[pv], g_open[pg] + t_in)
        work = hours_left[gaps.volunteer[pg]] * 60.0
        fits = (begin <= v_late[pv]) & (begin + dur_min[pv] + t_out <= g_close[pg])
        fits &= t_in + dur_min[pv] + t_out <= work
        pv, pg, km_in = pv[fits], pg[fits], km_in[fits]
        # Keep each visit's K nearest gaps (per value tuple for a team).
        same = np.array([bool(reqs[r].same_attributes) for r in visits])
        grp = np.where(same[pv], self.group[gaps.volunteer[pg]], -1)
        order = np.lexsort((km_in, grp, pv))
        key = pv[order] * (int(self.group.max(initial=0)) + 2) + grp[order] + 1
        rank = np.arange(key.size) - np.searchsorted(key, key, side="left")
        keep = order[rank < K_GAPS]
        pv, pg = pv[keep], pg[keep]
        used, vehicle_of = np.unique(pg, return_inverse=True)
        team = np.array(
            [reqs[r].min_volunteers if team_min else reqs[r].volunteers_needed for r in visits],
            dtype=np.int64,
        )
        if used.size == 0:
            return begun - deadline.remaining()
        # Nodes: the visits, then each distinct place a used gap starts or ends at.
        veh_vol = gaps.volunteer[used]
        places = np.concatenate(
            [
                np.stack([gaps.start_lat[used], gaps.start_lon[used]], axis=1),
                np.stack([gaps.end_lat[used], gaps.end_lon[used]], axis=1),
            ]
        )
        uniq, place_of = np.unique(places, axis=0, return_inverse=True)
        place_of = place_of.ravel()
        n, m = len(visits), used.size
        node_lat = np.concatenate([lat, uniq[:, 0]])
        node_lon = np.concatenate([lon, uniq[:, 1]])
        total = node_lat.size
        km = np.zeros((total, total))
        # Only legs into visits are travelled (places are only left or arrived at).
        km[:, :n] = great_circle_km(
            node_lat[:, None], node_lon[:, None], node_lat[None, :n], node_lon[None, :n]
        )
        km[:n, n:] = great_circle_km(
            node_lat[:n, None], node_lon[:n, None], node_lat[None, n:], node_lon[None, n:]
        )
        travel = self._minutes(km)
        distance = km.copy()
        distance[:n, n:] = 0.0  # the leg into a gap's end (home, the next engagement) is free
        data = RoutingData.build(
            travel_time=travel,
            distance=distance,
            vehicle_start=n + place_of[:m],
            vehicle_end=n + place_of[m:],
            vehicle_shift_start=g_open[used],
            vehicle_shift_end=g_close[used],
            vehicle_max_duration=np.minimum(hours_left[veh_vol] * 60.0, 1e12),
            vehicle_max_visits=np.minimum(count_left[veh_vol], n),
            vehicle_group=self.group[veh_vol],
            visit_node=np.arange(n),
            visit_earliest=v_early,
            visit_latest=np.maximum(v_late, v_early),
            visit_duration=dur_min,
            visit_priority=np.array([reqs[r].priority for r in visits]) * team,
            visit_mandatory=[reqs[r].mandatory for r in visits],
            visit_team=team,
            visit_same_group=same,
            eligible=(vehicle_of.ravel(), pv),
        )
        # What is left now, after this day's set-up; at least the first routes (an insertion
        # of each visit) when the deadline passed during the set-up.
        seconds = max((deadline.remaining() - reserve) * share, 0.001)
        result = solve_routes(data, SolveParams(time_limit_s=seconds, seed=seed), control)
        searched = float(result.stats.get("seconds", 0.0))
        stats["routing_vehicles"] = int(stats["routing_vehicles"]) + m
        stats["routing_seconds"] = float(stats["routing_seconds"]) + float(
            result.stats.get("seconds", 0.0)
        )
        stats["routing_iterations"] = int(stats["routing_iterations"]) + int(
            result.stats.get("iterations", 0)
        )
        stats["routing_coverage_bound"] = int(stats["routing_coverage_bound"]) + (
            result.coverage_bound
        )
        out: list[VisitAssignment] = []
        for k, (route, starts) in enumerate(zip(result.routes, result.starts, strict=True)):
            g = int(used[k])
            v = int(gaps.volunteer[g])
            for i, s in zip(route.tolist(), starts.tolist(), strict=True):
                req = reqs[visits[i]]
                start_us = origin + round(s * 60.0) * _US
                start_us = min(max(start_us, int(early[i])), int(late_end[i]) - round(
                    dur_min[i] * 60 * _US))  # fmt: skip
                start = _micros_to_datetime(start_us, req.window_start)
                out.append(
                    VisitAssignment(
                        volunteer=v, request=visits[i], start=start,
                        end=start + timedelta(minutes=_minutes(req)),
                        distance_km=0.0,  # the leg is measured on the final plan (`_with_leg`)
                    )
                )  # fmt: skip
        self._record(out)
        return max(begun - deadline.remaining() - searched, 0.0)

    def _record(self, placed: list[VisitAssignment]) -> None:
        """Trim each volunteer's visits to the caps left (lowest priority first; a team
        below its minimum loses the visit), then book what stays."""
        reqs = self.instance.requests
        by_request: dict[int, list[VisitAssignment]] = defaultdict(list)
        for a in placed:
            by_request[a.request].append(a)
        by_volunteer: dict[int, list[VisitAssignment]] = defaultdict(list)
        for a in placed:
            by_volunteer[a.volunteer].append(a)
        dropped: set[int] = set()  # whole requests dropped
        removed: set[tuple[int, int]] = set()
        for v, mine in by_volunteer.items():
            p = self.people[v]
            mine = sorted(mine, key=lambda a: (-reqs[a.request].priority, a.start))
            hours, count = 0.0, 0
            for a in mine:
                h = reqs[a.request].duration_hours
                if (
                    hours + h <= p.hours_left + SECONDS_TOLERANCE / 3600
                    and count + 1 <= p.count_left
                ):
                    hours, count = hours + h, count + 1
                else:
                    removed.add((a.volunteer, a.request))
        for r, team in by_request.items():
            left = [a for a in team if (a.volunteer, a.request) not in removed]
            if len(left) < reqs[r].min_volunteers:
                dropped.add(r)
        kept = [
            a
            for a in placed
            if a.request not in dropped and (a.volunteer, a.request) not in removed
        ]
        for a in kept:
            req, p = reqs[a.request], self.people[a.volunteer]
            p.engagements.append(
                _Engagement(to_micros(a.start), to_micros(a.end), req.location.lat,
                            req.location.lon, a.request)
            )  # fmt: skip
            p.hours_left -= req.duration_hours
            p.count_left -= 1
            self.staffed[a.request] += 1
            self._assigned[a.request].append(a)

    # -- bound and explanations ---------------------------------------------------------

    def _all_gaps(self, *, commitments_only: bool) -> _Gaps:
        """Every volunteer's free gaps over the visits' days, travel ignored (net of the
        commitments only: computed once)."""
        if commitments_only and self._committed_gaps is not None:
            return self._committed_gaps
        gaps = self._gaps_over_days(commitments_only=commitments_only)
        if commitments_only:
            self._committed_gaps = gaps
        return gaps

    def _gaps_over_days(self, *, commitments_only: bool) -> _Gaps:
        reqs = self.instance.requests
        lo = min(to_micros(reqs[r].window_start) for r in self.flex)
        hi = max(to_micros(reqs[r].window_end) for r in self.flex)
        every = np.arange(len(self.people), dtype=np.int64)
        return self._gaps(every, lo, hi, travel=False, commitments_only=commitments_only)

    def _fitting(self, r: int, gaps: _Gaps) -> IntArray:
        """Eligible volunteers of visit r with one of `gaps` holding it alone (travel
        ignored)."""
        req = self.instance.requests[r]
        lo, hi = to_micros(req.window_start), to_micros(req.window_end)
        need = round(_minutes(req) * 60 * _US)
        room = np.minimum(gaps.close, hi) - np.maximum(gaps.open, lo) >= need
        room &= self.eligible[self.local[r]][gaps.volunteer]
        return np.unique(gaps.volunteer[room])

    def _possible(self, r: int, fit: IntArray) -> int:
        """How many volunteers (of one value tuple for a team) could each serve visit r in
        some plan: among `fit` (gaps net of commitments), those whose caps net of commitments
        leave room for it."""
        req = self.instance.requests[r]
        hours = np.array([self._bound_people[v][1] for v in fit.tolist()], dtype=np.float64)
        count = np.array([self._bound_people[v][2] for v in fit.tolist()], dtype=np.int64)
        fit = fit[(hours + SECONDS_TOLERANCE / 3600 >= req.duration_hours) & (count >= 1)]
        return _most_in_group(self._groups(req)[fit]) if req.same_attributes else int(fit.size)

    def _groups(self, req: Request) -> IntArray:
        """Each volunteer's group for the visit's own `same_attributes` keys (the routing's
        groups use every key any visit names: stricter, so not for the bound)."""
        keys = req.same_attributes
        if keys not in self._group_cache:
            codes: dict[tuple[object, ...], int] = {}
            self._group_cache[keys] = np.array(
                [
                    codes.setdefault(
                        tuple(attribute_key(v.attributes[k]) if k in v.attributes else None
                              for k in keys),
                        len(codes),
                    )
                    for v in self.instance.volunteers
                ],
                dtype=np.int64,
            )  # fmt: skip
        return self._group_cache[keys]

    def bound(self) -> int:
        """The coverage bound of the flexible visits (module docstring)."""
        gaps = self._all_gaps(commitments_only=True)
        total = 0
        for r in self.flex:
            req = self.instance.requests[r]
            most = self._possible(r, self._fitting(r, gaps))
            if most >= req.min_volunteers:
                total += req.priority * min(req.volunteers_needed, most)
        return total

    def shortfalls(self) -> tuple[VisitShortfall, ...]:
        """The counts that explain each flexible visit left short (`VisitShortfall`)."""
        reqs = self.instance.requests
        short = [r for r in self.flex if self.staffed[r] < reqs[r].volunteers_needed]
        if not short:
            return ()
        committed = self._all_gaps(commitments_only=True)
        now = self._all_gaps(commitments_only=False)
        availability = _Gaps(
            volunteer=np.array([v for v, p in enumerate(self.people) for _ in p.availability],
                               dtype=np.int64),
            open=np.array([s for p in self.people for s, _ in p.availability], dtype=np.int64),
            close=np.array([e for p in self.people for _, e in p.availability], dtype=np.int64),
            start_lat=np.zeros(0), start_lon=np.zeros(0), end_lat=np.zeros(0),
            end_lon=np.zeros(0),
        )  # fmt: skip
        out = []
        for r in short:
            req = reqs[r]
            staffed = self.staffed[r]
            fit_commit = self._fitting(r, committed)
            serving = {a.volunteer for a in self._assigned[r]}
            cand = np.array([v for v in fit_commit.tolist() if v not in serving], dtype=np.int64)
            hours = np.array([self.people[v].hours_left for v in cand.tolist()])
            count = np.array([self.people[v].count_left for v in cand.tolist()], dtype=np.int64)
            h_cap = hours + SECONDS_TOLERANCE / 3600 < req.duration_hours
            c_cap = ~h_cap & (count < 1)
            busy = ~h_cap & ~c_cap & ~np.isin(cand, self._fitting(r, now))
            free = ~(h_cap | c_cap | busy)
            lo, hi = to_micros(req.window_start), to_micros(req.window_end)
            busy_at = tuple((v, self._blocker(v, lo, hi)) for v in cand[busy][:5].tolist())
            free_v = cand[free]
            in_group = (
                _most_in_group(self._groups(req)[free_v])
                if req.same_attributes
                else int(free_v.size)
            )
            c = self.funnel[r]
            out.append(
                VisitShortfall(
                    request=r, missing=req.volunteers_needed - staffed, qualified=c[0],
                    with_keys=c[1], in_reach=c[2], allowed=c[3],
                    available=int(self._fitting(r, availability).size),
                    uncommitted=int(fit_commit.size), hours_capped=int(h_cap.sum()),
                    count_capped=int(c_cap.sum()), busy=int(busy.sum()), busy_at=busy_at,
                    free=int(free.sum()), free_in_group=in_group, staffed=staffed,
                    possible=self._possible(r, fit_commit) >= req.min_volunteers,
                )
            )  # fmt: skip
        return tuple(out)

    def _blocker(self, v: int, lo: int, hi: int) -> int:
        """A request volunteer v serves during [lo, hi] (-1 if none)."""
        for e in self.people[v].engagements:
            if e.request >= 0 and e.start < hi and e.end > lo:
                return e.request
        return -1


def _minutes(req: Request) -> float:
    """A routed request's duration in minutes (a fixed one's from its start to its end)."""
    return float(req.duration) if req.duration is not None else req.duration_hours * 60.0


def routed_requests(instance: Instance) -> list[int]:
    """The requests the routing plans: flexible visits, and fixed requests with
    `same_attributes` (the matching engines cannot make a team share a value it does not
    fix; routed, a fixed request is a visit whose window is its time) unless pinned, when
    `team_exclusions` keeps them in the fixed part."""
    pinned = {p.request_id for p in instance.pinned}
    return [
        i
        for i, r in enumerate(instance.requests)
        if r.flexible or (r.same_attributes and r.id not in pinned)
    ]


def team_exclusions(instance: Instance) -> tuple[Pair, ...]:
    """For a pinned fixed request with `same_attributes`: every volunteer whose values differ
    from the (first) pinned volunteer's, as excluded pairs (its team then shares them)."""
    vols = {v.id: v for v in instance.volunteers}
    reqs = {r.id: r for r in instance.requests}
    out: list[Pair] = []
    done: set[str] = set()
    for pin in instance.pinned:
        r = reqs.get(pin.request_id)
        v = vols.get(pin.volunteer_id)
        if r is None or v is None or r.flexible or not r.same_attributes or r.id in done:
            continue
        done.add(r.id)

        def values(x: Volunteer, keys: tuple[str, ...] = r.same_attributes) -> tuple[object, ...]:
            return tuple(
                attribute_key(x.attributes[k]) if k in x.attributes else None for k in keys
            )

        want = values(v)
        out.extend(
            Pair(volunteer_id=o.id, request_id=r.id)
            for o in instance.volunteers
            if values(o) != want or None in values(o)
        )
    return tuple(out)


def _person_gaps(
    p: _Person, engagements: list[_Engagement], lo: int, hi: int, speed: float
) -> list[tuple[int, int, float, float, float, float]]:
    """Free gaps (open, close, start place, end place) of one person that meet [lo, hi]."""
    def trip_us(a: tuple[float, float], b: tuple[float, float]) -> int:
        if math.isinf(speed):
            return 0
        km = float(great_circle_km(a[0], a[1], b[0], b[1]))
        return math.ceil((km / speed * 3600 + _TRAVEL_MARGIN_S) * _US)

    ordered = sorted(engagements, key=lambda e: (e.start, e.end))
    gaps = []
    for i0, i1 in p.availability:
        if i1 <= lo or i0 >= hi:
            continue
        opening, closing = i0, i1
        # An engagement touching the interval belongs to it (`rules.route_of`); one outside
        # it leaves time to come home from it, and to go to it from home.
        for e in ordered:
            if e.end < i0:
                opening = max(opening, e.end + trip_us((e.lat, e.lon), p.home))
            elif e.start > i1:
                closing = min(closing, e.start - trip_us(p.home, (e.lat, e.lon)))
        cursor, place = i0, p.home
        spans = []
        for e in ordered:
            if e.end < i0 or e.start > i1:
                continue
            if e.start > cursor:
                spans.append((cursor, e.start, place, (e.lat, e.lon)))
            if e.end >= cursor:
                cursor, place = e.end, (e.lat, e.lon)
        spans.append((cursor, i1, place, p.home))
        for g0, g1, a, b in spans:
            g0, g1 = max(g0, opening), min(g1, closing)
            if g1 > g0 and g1 > lo and g0 < hi:
                gaps.append((g0, g1, a[0], a[1], b[0], b[1]))
    return gaps


def _most_in_group(groups: IntArray) -> int:
    return int(np.bincount(groups).max()) if groups.size else 0


def _ranks(counts: IntArray) -> IntArray:
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
