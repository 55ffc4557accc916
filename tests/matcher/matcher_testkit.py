"""Builders and helpers shared by the matcher tests.

Instances are built as plain JSON-like dicts (what a user would send), so every test goes
through `parse_instance` like real input does. Times are given in hours after `BASE`
(2026-03-02 00:00 +08:00); places in kilometres north/east of `ORIGIN`.

The module name is unique on purpose: `tests/matcher` is not a package, so pytest puts this
directory on `sys.path` and test modules import it by name.
"""

from __future__ import annotations

import importlib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from matcher import (
    ENGINES,
    Control,
    Instance,
    Plan,
    SolveParams,
    check_plan,
    parse_instance,
    rules,
    solve,
)
from matcher.engines.base import EngineResult
from matcher.geo import EARTH_RADIUS_KM
from matcher.model import Assignment, Objective
from matcher.problem import UNLIMITED, ProblemData

DATA = Path(__file__).parent / "data"
FORMAT_EXAMPLE = DATA / "format_example.json"

TZ = timezone(timedelta(hours=8))
BASE = datetime(2026, 3, 2, tzinfo=TZ)
ORIGIN = (34.25, 108.95)  # Xi'an
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0
ENGINE_NAMES = ("optimal", "greedy")
TIME_LIMIT_S = 1.0

Json = dict[str, Any]

# Hypothesis settings of every property test here: the same examples on every run (a failure
# is reproducible and CI is not flaky), no per-example deadline (solves use wall-clock limits).
HYPOTHESIS = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# For tests that solve: shrinking a failure would re-solve hundreds of instances, so these stop
# at the first failing example (printed in full by `note`; minimal regressions are separate).
HYPOTHESIS_SOLVING = settings(HYPOTHESIS, phases=[Phase.explicit, Phase.generate])


def at(hours: float, tz: timezone = TZ) -> str:
    """RFC 3339 time `hours` after BASE, written with offset `tz`."""
    return (BASE + timedelta(hours=hours)).astimezone(tz).isoformat()


def place(north_km: float = 0.0, east_km: float = 0.0) -> Json:
    """A location `north_km` north and `east_km` east of ORIGIN (east measured on the parallel)."""
    lat = ORIGIN[0] + north_km / KM_PER_DEGREE
    lon = ORIGIN[1] + east_km / (KM_PER_DEGREE * math.cos(math.radians(ORIGIN[0])))
    return {"lat": lat, "lon": lon}


def span(start: float, end: float) -> Json:
    return {"start": at(start), "end": at(end)}


def volunteer(
    vid: str = "v1",
    *,
    north_km: float = 0.0,
    east_km: float = 0.0,
    availability: Sequence[tuple[float, float]] = ((0.0, 24.0),),
    **fields: Any,
) -> Json:
    """A volunteer at ORIGIN (+ offsets), available all day on BASE unless told otherwise.
    Any other field of the format (skills, max_hours, commitments, ...) passes through."""
    return {
        "id": vid,
        "location": place(north_km, east_km),
        "availability": [span(s, e) for s, e in availability],
        **fields,
    }


def commitment(start: float, end: float, *, north_km: float = 0.0, east_km: float = 0.0) -> Json:
    return {**span(start, end), "location": place(north_km, east_km)}


def request(
    rid: str = "r1",
    *,
    start: float = 9.0,
    end: float = 11.0,
    north_km: float = 0.0,
    east_km: float = 0.0,
    service_type: str = "visit",
    **fields: Any,
) -> Json:
    """A request at ORIGIN (+ offsets) from 09:00 to 11:00 on BASE unless told otherwise."""
    return {
        "id": rid,
        "service_type": service_type,
        "location": place(north_km, east_km),
        "start": at(start),
        "end": at(end),
        **fields,
    }


def make_instance(
    volunteers: Iterable[Json] = (),
    requests: Iterable[Json] = (),
    *,
    pinned: Iterable[tuple[str, str]] = (),
    previous: Iterable[tuple[str, str]] = (),
    **options: Any,
) -> Json:
    """An instance dict; keyword arguments go to `options`."""
    data: Json = {
        "volunteers": list(volunteers),
        "requests": list(requests),
        "pinned": [{"volunteer_id": v, "request_id": r} for v, r in pinned],
        "previous": [{"volunteer_id": v, "request_id": r} for v, r in previous],
    }
    if options:
        data["options"] = options
    return data


def run(data: Json | Instance, engine: str = "optimal", **kwargs: Any) -> Plan:
    """Solve with a short time limit (unless given)."""
    kwargs.setdefault("time_limit_s", TIME_LIMIT_S)
    return solve(data, engine=engine, **kwargs)  # type: ignore[arg-type]


def pairs_of(plan: Plan) -> set[tuple[str, str]]:
    return {(a.volunteer_id, a.request_id) for a in plan.assignments}


def hand_plan(
    instance: Instance, pairs: Iterable[tuple[str, str]], status: str = "feasible"
) -> Plan:
    """A plan made by hand from (volunteer_id, request_id) pairs, with correct distances."""
    vols = {v.id: v for v in instance.volunteers}
    reqs = {r.id: r for r in instance.requests}
    assignments = tuple(
        Assignment(volunteer_id=v, request_id=r, distance_km=rules.distance_km(vols[v], reqs[r]))
        for v, r in pairs
    )
    coverage = sum(reqs[a.request_id].priority for a in assignments)
    travel = sum(a.distance_km for a in assignments)
    return Plan(
        status=status,
        assignments=assignments,
        objective=Objective(coverage=coverage, travel_km=travel),
    )


def violated_rules(data: Json | Instance, pairs: Iterable[tuple[str, str]]) -> set[rules.RuleId]:
    """The hard rules `check_plan` reports for a hand-made plan of `pairs`."""
    instance = data if isinstance(data, Instance) else parse_instance(data)
    return {v.rule for v in check_plan(instance, hand_plan(instance, pairs)).violations}


# --------------------------------------------------------------------------------------------
# Brute force: the reference optimum, from the reference rules only
# --------------------------------------------------------------------------------------------


def feasible_by_rules(instance: Instance, pairs: Sequence[tuple[str, str]]) -> bool:
    """Every hard rule 1-11 of FORMAT.md, straight from `matcher.rules` (no compiled arrays)."""
    vols = {v.id: v for v in instance.volunteers}
    reqs = {r.id: r for r in instance.requests}
    for v, r in pairs:
        if rules.pair_violations(vols[v], reqs[r]):
            return False
    for vid, vol in vols.items():
        mine = [reqs[r] for v, r in pairs if v == vid]
        if mine and rules.schedule_violations(vol, mine, instance.options.travel_speed_kmh):
            return False
    for rid, req in reqs.items():
        n = sum(1 for _, r in pairs if r == rid)
        if rules.headcount_violations(req, n):
            return False
    chosen = set(pairs)
    return all((p.volunteer_id, p.request_id) in chosen for p in instance.pinned)


def brute_force_optimum(instance: Instance) -> tuple[int, float] | None:
    """(coverage, travel_km) of the lexicographic optimum over all feasible plans, or None when
    no plan keeps every hard rule. Enumerates subsets of the pairs that pass rules 1-5."""
    vols = {v.id: v for v in instance.volunteers}
    reqs = {r.id: r for r in instance.requests}
    candidates = [
        (v.id, r.id)
        for v in instance.volunteers
        for r in instance.requests
        if not rules.pair_violations(v, r)
    ]
    assert len(candidates) <= 14, "brute force is for tiny instances"
    best: tuple[int, float] | None = None
    for k in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, k):
            if not feasible_by_rules(instance, subset):
                continue
            coverage = sum(reqs[r].priority for _, r in subset)
            travel = sum(rules.distance_km(vols[v], reqs[r]) for v, r in subset)
            if best is None or (coverage, -travel) > (best[0], -best[1]):
                best = (coverage, travel)
    return best


def request_ids_unfilled(plan: Plan) -> dict[str, int]:
    return {u.request_id: u.missing for u in plan.unfilled}


def headcounts(plan: Plan) -> Mapping[str, int]:
    out: dict[str, int] = {}
    for a in plan.assignments:
        out[a.request_id] = out.get(a.request_id, 0) + 1
    return out


def mip_that_finds_nothing(monkeypatch: Any) -> None:
    """Patch the optimal engine's MIP call (a pytest `monkeypatch`) into one that spends its
    whole time limit and finds no plan (as HiGHS on a hard GAP), sleeping so that the GIL is
    free meanwhile, as HiGHS leaves it."""
    import importlib
    import time

    from matcher.engines.milp import MilpOutcome, Solved

    def nothing(*args: Any, **kwargs: Any) -> MilpOutcome:
        time.sleep(kwargs["time_limit_s"])
        return MilpOutcome(Solved.UNKNOWN, None, None, None, kwargs["time_limit_s"])

    monkeypatch.setattr(
        importlib.import_module("matcher.engines.optimal.mip"), "solve_milp", nothing
    )


# --------------------------------------------------------------------------------------------
# Tiny random arrays (the proofs against enumeration)
# --------------------------------------------------------------------------------------------

COSTS = st.sampled_from([0, 0, 1, 8, 9, 10])  # ties, and chains costlier than W
CAPACITIES = st.sampled_from([2, 3, 4, int(UNLIMITED)])
MAX_PAIRS = st.sampled_from([1, 2, int(UNLIMITED)])


@st.composite
def tiny_problems(draw: st.DrawFn) -> ProblemData:
    """A random problem of at most 12 pairs with loads, caps, conflict sets, headcount ranges,
    priorities, mandatory requests, at most one pinned pair and bonuses."""
    nv = draw(st.integers(1, 5))
    nr = draw(st.integers(1, 4))
    grid = [(v, r) for v in range(nv) for r in range(nr)]
    pairs = sorted(draw(st.lists(st.sampled_from(grid), min_size=1, max_size=12, unique=True)))
    n = len(pairs)
    request_max = draw(st.lists(st.integers(1, 2), min_size=nr, max_size=nr))
    request_min = [draw(st.integers(1, m)) for m in request_max]
    pin = draw(st.sampled_from([-1, -1, -1, *range(n)]))  # at most one pinned pair
    sets = (
        draw(
            st.lists(
                st.lists(st.integers(0, nr - 1), min_size=2, max_size=3, unique=True).map(sorted),
                max_size=2,
            )
        )
        if nr >= 2
        else []
    )
    return ProblemData.build(
        num_volunteers=nv,
        num_requests=nr,
        pair_volunteer=[v for v, _ in pairs],
        pair_request=[r for _, r in pairs],
        pair_cost=draw(st.lists(COSTS, min_size=n, max_size=n)),
        pair_load=draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)),
        volunteer_capacity=draw(st.lists(CAPACITIES, min_size=nv, max_size=nv)),
        volunteer_max_pairs=draw(st.lists(MAX_PAIRS, min_size=nv, max_size=nv)),
        request_min=request_min,
        request_max=request_max,
        request_mandatory=draw(st.lists(st.booleans(), min_size=nr, max_size=nr)),
        request_priority=draw(st.lists(st.integers(1, 3), min_size=nr, max_size=nr)),
        pair_bonus=draw(st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0]), min_size=n, max_size=n)),
        conflict_sets=sets,
        request_order=draw(st.permutations(list(range(nr)))),
        pair_pinned=[i == pin for i in range(n)],
    )


def solve_arrays(data: ProblemData, columns: str = "all") -> EngineResult:
    """The optimal engine on `data` for half a second; with `columns="restricted"` every part
    starts from restricted columns (as parts of more than `FULL_COLUMNS` pairs do)."""
    part = importlib.import_module("matcher.engines.optimal.part")
    with pytest.MonkeyPatch.context() as patch:
        if columns == "restricted":
            patch.setattr(part, "FULL_COLUMNS", 0)
        return ENGINES["optimal"](data, SolveParams(time_limit_s=0.5), Control())


def truncated(data: ProblemData, drop: np.ndarray) -> ProblemData:
    """`data` without the pairs in `drop`, recorded as left out the way compile records them: per
    request their count and the least cost among them. Every other field (fairness, quotas, the
    change budget) is kept, so the copy differs from `data` only in the pairs left out."""
    keep = ~drop
    nr = data.num_requests
    dropped = np.bincount(data.pair_request[drop], minlength=nr)
    least = np.zeros(nr, dtype=np.int64)
    for r in np.flatnonzero(dropped):
        least[r] = data.pair_cost[drop & (data.pair_request == r)].min()
    return replace(
        data,
        pair_volunteer=data.pair_volunteer[keep],
        pair_request=data.pair_request[keep],
        pair_cost=data.pair_cost[keep],
        pair_load=data.pair_load[keep],
        pair_bonus=data.pair_bonus[keep],
        pair_pinned=data.pair_pinned[keep],
        pair_previous=data.pair_previous[keep],
        request_dropped=dropped,
        request_dropped_cost=least,
    )
