"""Proofs with the rows over every pair: quotas (hard and soft), the change budget, and the
fairness term's per-volunteer offsets (annual targets).

- Tiny random arrays: every claim of the optimal engine (bound, coverage proven, travel bound,
  status optimal with the best soft score) against an enumeration of every selection that
  restates the rules here, on all columns and on restricted columns (pricing, reduced-cost
  fixing, and candidates the data leaves out).
- Small weeks: the engine's optimum with quotas and a change budget against the textbook model
  (one binary per pair passing rules 1-5, a switch per request, caps, one row per volunteer
  and pair of conflicting requests, the quota and change rows), solved by HiGHS through scipy
  tier by tier, built from `matcher.rules` and the instance, not from the engine's arrays.
- Pricing: the LP's reduced costs, the quota and change rows' duals included, equal the
  potentials, and pairs left out of the columns are priced with those duals too.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, note, settings
from hypothesis import strategies as st
from matcher_testkit import (
    HYPOTHESIS_SOLVING,
    Json,
    make_instance,
    request,
    solve_arrays,
    tiny_problems,
    truncated,
    volunteer,
)
from scipy.optimize import Bounds, LinearConstraint, milp

from matcher import ENGINES, Control, Instance, ProblemData, SolveParams, parse_instance, rules
from matcher import solve as solve_instance
from matcher.engines.base import EngineResult
from matcher.engines.formulation import RowKind, formulate
from matcher.engines.pricing import PairLinear, bound_with, potentials, solve_lp
from matcher.objective import plan_coverage, soft_score
from matcher.problem import UNLIMITED

# --------------------------------------------------------------------------------------------
# Tiny random arrays against enumeration
# --------------------------------------------------------------------------------------------

SHARES = st.sampled_from([0.25, 0.34, 0.5, 0.67])


@st.composite
def quota_problems(draw: st.DrawFn) -> tuple[ProblemData, ProblemData]:
    """(whole problem, what the engine is given): at most 12 pairs with loads, caps, conflict
    sets, headcount ranges, mandatory requests, a pinned pair, bonuses, fairness from offsets,
    groups, up to two quotas (minimum or maximum, of pairs or load, hard or soft), previous
    pairs and a change budget; the engine's copy may leave out each request's costliest
    candidates beyond its maximum (never a previous or pinned one)."""
    data = draw(tiny_problems())
    nv, n, nr = data.num_volunteers, data.num_pairs, data.num_requests
    request_max = data.request_max
    quotas = draw(
        st.lists(
            st.tuples(
                st.integers(0, 1),
                SHARES,
                st.booleans(),
                st.booleans(),
                st.booleans(),
                st.sampled_from([0.5, 2.0]),
            ),
            max_size=2,
        )
    )
    previous = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    data = replace(
        data,
        volunteer_group=np.array(draw(st.lists(st.integers(-1, 1), min_size=nv, max_size=nv))),
        quota_group=np.array([q[0] for q in quotas], dtype=np.int64),
        quota_share=np.array([q[1] for q in quotas]),
        quota_minimum=np.array([q[2] for q in quotas], dtype=bool),
        quota_by_load=np.array([q[3] for q in quotas], dtype=bool),
        quota_hard=np.array([q[4] for q in quotas], dtype=bool),
        quota_weight=np.array([q[5] for q in quotas]),
        quota_base=np.zeros(len(quotas)),
        pair_previous=previous & ~data.pair_pinned,
        max_changes=draw(st.sampled_from([int(UNLIMITED), 0, 1, 2, 3])),
    )
    if draw(st.booleans()):
        data = replace(
            data,
            fairness_breakpoints=np.array([1, 3]),
            fairness_slopes=np.array([0.25, 0.25]),
            volunteer_fairness_offset=np.array(
                draw(st.lists(st.sampled_from([-2.0, 0.0, 1.0, 3.0]), min_size=nv, max_size=nv))
            ),
        )
    drop = np.zeros(n, dtype=bool)
    for r in range(nr):
        mine = np.flatnonzero(data.pair_request == r)
        mine = mine[np.argsort(data.pair_cost[mine], kind="stable")]
        keep = draw(st.integers(request_max[r], max(len(mine), request_max[r])))
        drop[mine[keep:]] = True
    drop &= ~data.pair_pinned & ~data.pair_previous
    return data, truncated(data, drop) if drop.any() else data


def enumerated_optimum(data: ProblemData) -> tuple[int, int, float] | None:
    """(coverage, cost, soft score) of the lexicographic optimum by enumerating every selection,
    the rules restated on a matrix of selections (caps, conflicts, headcounts, pins, hard
    quotas, the change budget; the soft score with offsets and soft quotas)."""
    n, nv, nr = data.num_pairs, data.num_volunteers, data.num_requests
    masks = np.arange(1 << n, dtype=np.int64)
    chosen = ((masks[:, None] >> np.arange(n)) & 1).astype(np.int64)
    by_volunteer = np.eye(nv, dtype=np.int64)[data.pair_volunteer]
    by_request = np.eye(nr, dtype=np.int64)[data.pair_request]
    load = chosen @ (by_volunteer * data.pair_load[:, None])
    ok = np.all(load <= data.volunteer_capacity, axis=1)
    ok &= np.all(chosen @ by_volunteer <= data.volunteer_max_pairs, axis=1)
    filled = chosen @ by_request
    ok &= np.all(filled <= data.request_max, axis=1)
    ok &= ~np.any((filled > 0) & (filled < data.request_min), axis=1)
    ok &= ~np.any(data.request_mandatory & (filled < data.request_min), axis=1)
    ok &= np.all(chosen[:, data.pair_pinned] == 1, axis=1)
    for s in range(data.num_conflict_sets):
        members = data.conflict_requests[data.conflict_indptr[s] : data.conflict_indptr[s + 1]]
        in_set = np.isin(data.pair_request, members)[:, None]
        ok &= np.all(chosen @ (by_volunteer * in_set) <= 1, axis=1)
    group = data.volunteer_group[data.pair_volunteer]
    shortfall = np.zeros(len(masks))
    for q in range(len(data.quota_group)):
        amount = data.pair_load.astype(float) if data.quota_by_load[q] else np.ones(n)
        mine = chosen @ (amount * (group == data.quota_group[q]))
        total = chosen @ amount
        target = data.quota_share[q] * total
        short = np.maximum(target - mine, 0) if data.quota_minimum[q] else np.maximum(
            mine - target, 0
        )
        short[short < 1e-9] = 0.0
        if data.quota_hard[q]:
            ok &= short == 0
        else:
            shortfall += data.quota_weight[q] * short
    changes = (
        (data.pair_previous & ~data.pair_pinned).sum()
        - chosen @ data.pair_previous.astype(np.int64)
        + chosen @ (~data.pair_previous & ~data.pair_pinned).astype(np.int64)
    )
    ok &= changes <= data.max_changes
    if not ok.any():
        return None
    coverage = chosen @ data.request_priority[data.pair_request]
    cost = chosen @ data.pair_cost
    offset = data.volunteer_fairness_offset[None, :, None]
    bp = data.fairness_breakpoints[None, None, :]
    excess = np.maximum(offset + load[:, :, None] - bp, 0) - np.maximum(offset - bp, 0)
    soft = (
        chosen @ data.pair_bonus
        - (excess * data.fairness_slopes).sum(axis=(1, 2))
        - shortfall
    )
    feasible = np.flatnonzero(ok)
    best = feasible[np.lexsort((-soft[feasible], cost[feasible], -coverage[feasible]))[0]]
    selected = chosen[best].astype(bool)
    assert data.violations(selected) == (0, 0)
    assert soft_score(data, selected) == pytest.approx(soft[best])
    return int(coverage[best]), int(cost[best]), float(soft[best])


def assert_array_claims(whole: ProblemData, given: ProblemData, result: EngineResult) -> None:
    """What the engine claims holds: its bound is above the optimum; a plan called optimal
    keeps every rule and is the optimum in all three tiers; a valid plan whose coverage is
    called proven has the optimal coverage, and the travel bound is below the optimal travel."""
    best = enumerated_optimum(whole)
    valid = given.violations(result.selected) == (0, 0)
    if result.status == "optimal":
        assert valid and best is not None
    if best is None:
        assert not valid  # nothing keeps the rules: neither may the engine's plan
        return
    coverage, cost, soft = best
    cov = plan_coverage(given, result.selected)
    travel = int(given.pair_cost[result.selected].sum())
    if result.coverage_bound is not None and result.status != "infeasible":
        assert result.coverage_bound >= coverage, f"bound {result.coverage_bound}, optimum {best}"
    if valid and result.stats.get("coverage_proven"):
        assert cov == coverage, f"coverage_proven at {cov}, optimum {best}"
    if valid and "travel_bound_km" in result.stats and cov == coverage:
        claimed = float(result.stats["travel_bound_km"]) * 1000.0
        assert claimed <= cost + 1e-6, f"travel bound {claimed}, optimum {best}"
    if result.status == "optimal":
        assert (cov, travel) == (coverage, cost), f"optimal at {(cov, travel)}, optimum {best}"
        assert soft_score(given, result.selected) >= soft - 1e-6, f"soft score, optimum {best}"


@pytest.mark.parametrize("columns", ["all", "restricted"])
@settings(HYPOTHESIS_SOLVING, max_examples=40)
@given(problem=quota_problems())
def test_claims_with_quotas_and_a_change_budget(
    columns: str, problem: tuple[ProblemData, ProblemData]
) -> None:
    whole, data = problem
    note(f"whole: {describe(whole)}")
    result = solve_arrays(data, columns)
    assert_array_claims(whole, data, result)


@settings(HYPOTHESIS_SOLVING, max_examples=40)
@given(problem=quota_problems())
def test_greedy_keeps_hard_rows_where_it_claims_a_plan(
    problem: tuple[ProblemData, ProblemData],
) -> None:
    """Greedy proves nothing; what it returns as a plan keeps every hard row."""
    _, data = problem
    result = ENGINES["greedy"](data, SolveParams(time_limit_s=0.5), Control())
    structural, _ = data.violations(result.selected)
    if data.max_changes >= int(UNLIMITED) and not data.pair_pinned.any():
        assert structural == 0  # the empty plan keeps every share: greedy never ends worse


def describe(data: ProblemData) -> str:
    return repr(
        {
            name: (value.tolist() if isinstance(value, np.ndarray) else value)
            for name, value in vars(data).items()
            if not name.startswith("_")
        }
    )


# --------------------------------------------------------------------------------------------
# Small weeks against the textbook model
# --------------------------------------------------------------------------------------------


def small_week(seed: int, *, with_previous: bool) -> Json:
    """About 24 volunteers in three groups and 10 requests over a day; group C lives farther
    away. Quotas: C at least a quarter of the assignments, A at most 40 % of the hours; with
    `with_previous`, the pairs of an earlier plan under the same quotas, one of them
    declined, and a budget of 3 changes."""
    rng = np.random.default_rng(seed)
    vols = [
        volunteer(
            f"v{i}",
            north_km=float(rng.uniform(-4, 4)) + (6.0 if i % 3 == 2 else 0.0),
            east_km=float(rng.uniform(-4, 4)),
            group="ABC"[i % 3],
            max_hours=float(rng.choice([3, 4, 6])),
            max_travel_km=12,
        )
        for i in range(24)
    ]
    reqs = []
    for i in range(10):
        start = float(rng.choice([8, 9, 10, 13, 14]))
        needed = int(rng.integers(1, 4))
        reqs.append(
            request(
                f"r{i}",
                start=start,
                end=start + float(rng.choice([1, 2, 3])),
                north_km=float(rng.uniform(-4, 4)),
                east_km=float(rng.uniform(-4, 4)),
                volunteers_needed=needed,
                min_volunteers=int(rng.integers(1, needed + 1)),
                priority=int(rng.integers(1, 3)),
            )
        )
    quotas = [
        {"group": "C", "min_share": 0.25},
        {"group": "A", "max_share": 0.4, "of": "hours"},
    ]
    data = make_instance(vols, reqs, quotas=quotas)
    if with_previous:
        earlier = solve_instance(data, time_limit_s=3.0)
        pairs = [(a.volunteer_id, a.request_id) for a in earlier.assignments]
        declined = pairs[int(rng.integers(len(pairs)))]
        data = make_instance(
            vols, reqs, previous=[p for p in pairs if p != declined], quotas=quotas, max_changes=3
        )
        data["excluded"] = [{"volunteer_id": declined[0], "request_id": declined[1]}]
    return data


def textbook_optimum(instance: Instance) -> tuple[int, float] | None:
    """(coverage, travel km) of the lexicographic optimum of the textbook model, by HiGHS
    (scipy), coverage first, then travel under the optimal coverage."""
    vols, reqs = instance.volunteers, instance.requests
    speed = instance.options.travel_speed_kmh
    excluded = {(p.volunteer_id, p.request_id) for p in instance.excluded}
    pairs = [
        (i, j)
        for i, v in enumerate(vols)
        for j, r in enumerate(reqs)
        if rules.keepable(instance, v, r) and (v.id, r.id) not in excluded
    ]
    n, m = len(pairs), len(reqs)
    nvar = n + m  # x per pair, y per request
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []

    def row(coefficients: dict[int, float], low: float, high: float) -> None:
        dense = np.zeros(nvar)
        for k, c in coefficients.items():
            dense[k] += c
        rows.append(dense)
        lo.append(low)
        hi.append(high)

    for j, r in enumerate(reqs):
        mine = {k: 1.0 for k, (_, jj) in enumerate(pairs) if jj == j}
        row({**mine, n + j: -float(r.volunteers_needed)}, -np.inf, 0.0)
        row({**mine, n + j: -float(r.min_volunteers)}, 0.0, np.inf)
        if r.mandatory:
            row({n + j: 1.0}, 1.0, 1.0)
    for i, v in enumerate(vols):
        own = [k for k, (ii, _) in enumerate(pairs) if ii == i]
        committed = sum(c.duration_hours for c in v.commitments)
        if v.max_hours is not None:
            hours = {k: reqs[pairs[k][1]].duration_hours for k in own}
            row(hours, -np.inf, v.max_hours - committed + 1e-9)
        if v.max_assignments is not None:
            row(dict.fromkeys(own, 1.0), -np.inf, v.max_assignments - len(v.commitments))
        for a, b in itertools.combinations(own, 2):
            if rules.travel_conflict(reqs[pairs[a][1]], reqs[pairs[b][1]], speed):
                row({a: 1.0, b: 1.0}, -np.inf, 1.0)
    pinned = {(p.volunteer_id, p.request_id) for p in instance.pinned}
    for k, (i, j) in enumerate(pairs):
        if (vols[i].id, reqs[j].id) in pinned:
            row({k: 1.0}, 1.0, 1.0)
    for quota in instance.options.quotas:
        if not quota.hard:
            continue
        coefficients = {}
        for k, (i, j) in enumerate(pairs):
            amount = reqs[j].duration_hours if quota.of == "hours" else 1.0
            coefficients[k] = amount * ((vols[i].group == quota.group) - quota.share)
        if quota.min_share is not None:
            row(coefficients, 0.0, np.inf)
        else:
            row(coefficients, -np.inf, 0.0)
    if instance.options.max_changes is not None:
        previous = {(p.volunteer_id, p.request_id) for p in instance.previous}
        keepable = {
            (v.id, r.id)
            for v in vols
            for r in reqs
            if (v.id, r.id) in previous and rules.keepable(instance, v, r)
        }
        coefficients = {}
        for k, (i, j) in enumerate(pairs):
            key = (vols[i].id, reqs[j].id)
            coefficients[k] = -1.0 if key in keepable else 0.0 if key in pinned else 1.0
        row(coefficients, -np.inf, instance.options.max_changes - len(keepable))
    matrix = sp.csr_matrix(np.array(rows)) if rows else sp.csr_matrix((0, nvar))
    constraints = [LinearConstraint(matrix, lo, hi)] if rows else []
    coverage = np.zeros(nvar)
    travel = np.zeros(nvar)
    for k, (i, j) in enumerate(pairs):
        coverage[k] = reqs[j].priority
        travel[k] = rules.distance_km(vols[i], reqs[j])
    options: dict[str, Any] = {"time_limit": 60.0, "mip_rel_gap": 0.0}
    integrality = np.ones(nvar)
    bounds = Bounds(np.zeros(nvar), np.ones(nvar))
    first = milp(-coverage, constraints=constraints, integrality=integrality, bounds=bounds,
                 options=options)  # fmt: skip
    if first.x is None:
        return None
    best = round(-first.fun)
    held = [*constraints, LinearConstraint(coverage.reshape(1, -1), best - 0.5, np.inf)]
    second = milp(travel, constraints=held, integrality=integrality, bounds=bounds,
                  options=options)  # fmt: skip
    assert second.x is not None
    return best, float(second.fun)


@pytest.mark.parametrize("with_previous", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_engine_optimum_with_quotas_matches_the_textbook_model(
    seed: int, with_previous: bool
) -> None:
    data = small_week(seed, with_previous=with_previous)
    instance = parse_instance(data)
    expected = textbook_optimum(instance)
    plan = solve_instance(instance, time_limit_s=10.0)
    if expected is None:  # the decline left no plan within the budget that keeps the quotas
        assert plan.status == "infeasible" and plan.warnings
        return
    assert plan.status == "optimal", plan.stats
    assert plan.objective.coverage == expected[0]
    # The engine minimises whole metres per pair (floored): within a metre per assignment.
    assert abs(plan.objective.travel_km - expected[1]) <= 1e-3 * len(plan.assignments) + 1e-6
    assert all(q.met for q in plan.quotas if q.hard)
    if with_previous:
        assert plan.objective.changes <= 3


# --------------------------------------------------------------------------------------------
# Pricing with the rows over every pair
# --------------------------------------------------------------------------------------------


def quota_week() -> ProblemData:
    """Three volunteers, three requests; volunteer 2 (group 0) is the only member of the group
    that must hold half of the pairs, and the dearest: the quota row binds, with a dual."""
    data = ProblemData.build(
        num_volunteers=3,
        num_requests=3,
        pair_volunteer=[0, 0, 1, 1, 2, 2, 2],
        pair_request=[0, 1, 1, 2, 0, 1, 2],
        pair_cost=[1, 2, 1, 3, 30, 40, 35],
        pair_load=[1, 2, 2, 1, 1, 2, 1],
        volunteer_capacity=[2, 2, 2],
    )
    return replace(
        data,
        volunteer_group=np.array([-1, -1, 0]),
        quota_group=np.array([0]),
        quota_share=np.array([0.5]),
        quota_minimum=np.array([True]),
        quota_by_load=np.array([False]),
        quota_hard=np.array([True]),
        quota_weight=np.array([1.0]),
        pair_previous=np.array([True, False, False, True, False, False, False]),
        max_changes=2,
    )


def test_reduced_costs_with_quota_and_change_rows_are_exact() -> None:
    data = quota_week()
    form = formulate(data)
    objective = PairLinear(coverage=100.0, cost=-1.0)
    c = np.zeros(form.num_vars)
    c[: form.num_pairs] = objective.on_pairs(data)
    lp = solve_lp(form, c, maximize=True, time_limit_s=5.0)
    assert lp is not None and not lp.infeasible
    assert np.abs(lp.duals[form.row_kind == RowKind.QUOTA]).max() > 1.0
    assert np.abs(lp.duals[form.row_kind == RowKind.CHANGES]).max() > 1.0
    potential, _ = potentials(data, form, lp, objective, [], data.request_sets())
    reduced = -c - form.matrix.T @ lp.duals
    assert potential[form.pairs] == pytest.approx(-reduced[: form.num_pairs], abs=1e-6)


def test_pairs_left_out_are_priced_with_the_quota_dual() -> None:
    """Without volunteer 2's cheapest pair in the columns, the restricted LP must pay for the
    quota elsewhere: that pair's potential, the quota's dual included, is positive, and the
    bound it gives holds over the whole LP."""
    data = replace(quota_week(), max_changes=int(UNLIMITED), pair_previous=np.zeros(7, bool))
    objective = PairLinear(coverage=100.0, cost=-1.0)
    whole = formulate(data)
    c = np.zeros(whole.num_vars)
    c[: whole.num_pairs] = objective.on_pairs(data)
    full = solve_lp(whole, c, maximize=True, time_limit_s=5.0)
    columns = np.array([0, 1, 2, 3, 5, 6])  # pair 4 (volunteer 2 on request 0) left out
    form = formulate(data, columns)
    c = np.zeros(form.num_vars)
    c[: form.num_pairs] = objective.on_pairs(data)[form.pairs]
    lp = solve_lp(form, c, maximize=True, time_limit_s=5.0)
    assert full is not None and lp is not None
    potential, left_out = potentials(data, form, lp, objective, [], data.request_sets())
    inside = np.isin(np.arange(data.num_pairs), columns)
    assert np.abs(lp.duals[form.row_kind == RowKind.QUOTA]).max() > 1.0
    assert potential[4] > 1e-6
    assert bound_with(data, lp, potential, left_out, inside) >= full.value - 1e-6
    assert lp.value < full.value - 1e-6
