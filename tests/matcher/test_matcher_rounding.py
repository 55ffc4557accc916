"""The restricted path's plan rounded from the LP (`matcher.engines.optimal.rounding`): it keeps
every rule, and a part whose MIPs find nothing still ends with a plan better than greedy's."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from matcher_testkit import HYPOTHESIS_SOLVING, mip_that_finds_nothing, tiny_problems

from matcher import ENGINES, Control, ProblemData, SolveParams
from matcher.engines.optimal.rounding import rounded_plan
from matcher.engines.state import Incidence
from matcher.objective import plan_coverage


def greedy_trap(n: int) -> ProblemData:
    """n blocks of two requests and two volunteers, one request per volunteer: request A_i
    (first in greedy's order) may take v_i (near) or w_i (far), request B_i only v_i. Greedy
    gives v_i to A_i and leaves every B_i empty (coverage n); the optimum, which the LP finds
    integral, staffs both (2n)."""
    pv, pr, cost = [], [], []
    for i in range(n):
        v, w, a, b = 2 * i, 2 * i + 1, i, n + i
        pv += [v, w, v]
        pr += [a, a, b]
        cost += [100, 5000, 100]
    return ProblemData.build(
        num_volunteers=2 * n,
        num_requests=2 * n,
        pair_volunteer=pv,
        pair_request=pr,
        pair_cost=cost,
        volunteer_max_pairs=np.ones(2 * n, dtype=np.int64),
        request_order=list(range(2 * n)),
    )


def test_a_restricted_part_whose_mips_find_nothing_ends_above_greedy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every MIP (the dives too) spends its time and finds nothing, as on a loaded machine where
    they run out of time: the plan rounded from the LP still staffs what greedy left empty."""
    n = 40
    data = greedy_trap(n)
    greedy = ENGINES["greedy"](data, SolveParams(), Control()).selected
    assert plan_coverage(data, greedy) == n
    mip_that_finds_nothing(monkeypatch)
    part = importlib.import_module("matcher.engines.optimal.part")
    monkeypatch.setattr(part, "FULL_COLUMNS", 0)  # restricted columns, as parts over 15,000 pairs
    result = ENGINES["optimal"](data, SolveParams(time_limit_s=2, workers=1), Control())
    assert data.violations(result.selected) == (0, 0)
    assert plan_coverage(data, result.selected) == 2 * n
    assert float(result.stats["rounded_kept"]) >= 1


@settings(HYPOTHESIS_SOLVING, max_examples=60)
@given(data=tiny_problems(), seed=st.integers(0, 2**31))
def test_a_rounded_plan_keeps_every_cap_conflict_and_minimum(data: ProblemData, seed: int) -> None:
    """From any fractional values (an LP's may overfill a request or a volunteer once rounded
    up): no cap, conflict or headcount range broken, pinned pairs kept."""
    values = np.random.default_rng(seed).random(data.num_pairs)
    note(f"values {values.tolist()}")
    plan = rounded_plan(data, values, Incidence.of(data))
    assert plan is not None
    structural, _ = data.violations(plan)
    assert structural == 0 or data.violations(data.pair_pinned)[0] > 0  # a pin may break a cap
    assert plan[data.pair_pinned].all()
    filled = np.bincount(data.pair_request[plan], minlength=data.num_requests)
    has_pin = np.bincount(data.pair_request[data.pair_pinned], minlength=data.num_requests) > 0
    assert ((filled == 0) | (filled >= data.request_min) | has_pin).all()
