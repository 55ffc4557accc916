"""The public entry point: instance in, plan out.

`solve` validates the instance, compiles it to arrays, runs an engine and turns the chosen pairs
back into a `Plan` with explanations, objective, bound and statistics. Everything a user, the
HTTP service, the scenarios and the benchmarks do goes through here or through `ENGINES`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from .compile import Compiled, compile_instance
from .engines import ENGINES
from .engines.base import Control, EngineResult, SolveParams, Status
from .explain import explain
from .model import Assignment, Bound, Instance, Objective, Plan
from .objective import fairness_penalty
from .validate import instance_warnings, parse_instance

__all__ = ["DEFAULT_TIME_LIMIT_S", "EngineName", "build_plan", "solve"]

EngineName = Literal["optimal", "greedy"]
DEFAULT_TIME_LIMIT_S = 10.0
_WIDENINGS = 2  # rounds of compiling more candidates for requests short of them
_WIDEN_FACTOR = 4
# Share of the time limit that must be left for a solve to hand back for a widening.
_WIDEN_MIN_SHARE = 0.6


def solve(
    instance: Instance | str | bytes | Mapping[str, Any],
    *,
    engine: EngineName = "optimal",
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int = 2,
    control: Control | None = None,
) -> Plan:
    """Solve a matching problem. `time_limit_s` and `seed` override the instance's options;
    `workers` (1 or 2) is how many threads the solve may keep busy (`SolveParams.workers`).
    Raises `InstanceError` (naming record and field) on bad input and `ValueError` on bad
    arguments, before any solving."""
    started = time.perf_counter()
    problem = parse_instance(instance)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    options = problem.options
    if time_limit_s is None:
        time_limit_s = (
            options.time_limit_s if options.time_limit_s is not None else DEFAULT_TIME_LIMIT_S
        )
    params = SolveParams(
        time_limit_s=time_limit_s, seed=options.seed if seed is None else seed, workers=workers
    )
    control = control or Control()
    compiled = compile_instance(problem)
    compile_seconds = time.perf_counter() - started
    # Compile keeps each request's nearest candidates. When the engine finds requests whose
    # left-out candidates could do better, it hands back early: compile more for them, again.
    factor = np.ones(len(problem.requests), dtype=np.int64)
    for attempt in range(_WIDENINGS + 1):
        # A widening costs a compile and a solve from the start again: only while there is
        # time for both (on a 20,000-volunteer week two late widenings ran the solve 26 % past
        # its limit).
        left = time_limit_s - (time.perf_counter() - started)
        widen = attempt < _WIDENINGS and left > _WIDEN_MIN_SHARE * time_limit_s
        result = _run_engine(engine, compiled, params, started, control, hand_back=widen)
        if not result.stats.get("handed_back"):
            break
        factor[result.starved] *= _WIDEN_FACTOR
        compiled = compile_instance(problem, cap_factor=factor)
    result.stats["candidate_widenings"] = attempt
    return build_plan(compiled, result, started=started, compile_seconds=compile_seconds)


def _run_engine(
    engine: EngineName,
    compiled: Compiled,
    params: SolveParams,
    started: float,
    control: Control,
    *,
    hand_back: bool,
) -> EngineResult:
    """Run the engine with what is left of the solve's time limit (less a little for the
    explanations, never under a tenth of it so that greedy at least runs)."""
    left = params.time_limit_s - (time.perf_counter() - started)
    budget = max(0.97 * left - 0.1, 0.1 * params.time_limit_s)
    run_params = replace(params, time_limit_s=budget, stop_when_starved=hand_back)
    return ENGINES[engine](compiled.data, run_params, control)


def build_plan(
    compiled: Compiled, result: EngineResult, *, started: float, compile_seconds: float = 0.0
) -> Plan:
    """Turn an engine's chosen pairs into a plan with explanations and statistics."""
    data = compiled.data
    chosen = np.flatnonzero(result.selected)
    vols, reqs = compiled.instance.volunteers, compiled.instance.requests
    order = chosen[np.lexsort((data.pair_volunteer[chosen], data.pair_request[chosen]))]
    assignments = tuple(
        Assignment(
            volunteer_id=vols[data.pair_volunteer[p]].id,
            request_id=reqs[data.pair_request[p]].id,
            distance_km=round(float(compiled.pair_distance_km[p]), 3),
        )
        for p in order.tolist()
    )
    why = explain(
        compiled,
        result.selected,
        result.at_fault.tolist(),
        proven=result.status is Status.OPTIMAL,
        unstaffable_proven=bool(result.stats.get("staffing_proven", False)),
    )
    selected = result.selected
    coverage = int(data.request_priority[data.pair_request[selected]].sum())
    objective = Objective(
        coverage=coverage,
        travel_km=round(float(compiled.pair_distance_km[selected].sum()), 3),
        preference=round(float(compiled.pair_preference[selected].sum()), 6),
        fairness_penalty=round(fairness_penalty(data, selected), 6),
        stability=int(compiled.pair_previous[selected].sum()),
    )
    bound = result.coverage_bound
    stats: dict[str, float | int | str | bool] = {
        **result.stats,
        "solve_seconds": round(time.perf_counter() - started, 3),
        "compile_seconds": round(compile_seconds, 3),
        "volunteers": data.num_volunteers,
        "requests": data.num_requests,
        "candidate_pairs": data.num_pairs,
        "conflict_sets": data.num_conflict_sets,
    }
    if bound is not None and bound > 0:
        stats["gap"] = round((bound - coverage) / bound, 6)
    return Plan(
        warnings=tuple(instance_warnings(compiled.instance)),
        status=result.status.value,
        assignments=assignments,
        unfilled=why.unfilled,
        at_fault=why.at_fault,
        objective=objective,
        bound=Bound(coverage=bound),
        stats=stats,
    )
