"""The textbook HiGHS peer: its plans keep every hard rule, it agrees with the engine where both
prove, its model has the min-headcount switch and pinned pairs, and compile's pruning of
candidates loses nothing on small weeks."""

from __future__ import annotations

import importlib
import time

import numpy as np
import pytest

import matcher
from benchmarks.textbook import all_pairs, engine_result, solve_textbook
from matcher import ProblemData
from matcher.rules import pair_violations
from scenarios.generate import build
from scenarios.spec import load_scenario


def tiny_week(
    family: str, seed: int, volunteers: int = 300, requests: int = 40
) -> matcher.Instance:
    data = build(load_scenario(family), seed=seed, volunteers=volunteers, requests=requests)
    return matcher.parse_instance(data.instance)


@pytest.mark.parametrize(
    ("family", "seed"),
    [("mixed-city", 0), ("min-headcounts", 1), ("same-gender-pairs", 2), ("scarce-skills", 3)],
)
def test_plans_keep_every_rule_and_agree_with_the_engine(family: str, seed: int) -> None:
    instance = tiny_week(family, seed)
    compiled = matcher.compile_instance(instance)
    result = solve_textbook(compiled.data, 30.0)
    assert result.status == "optimal"
    plan = matcher.build_plan(
        compiled, engine_result(result, compiled.data), started=time.perf_counter()
    )
    report = matcher.check_plan(instance, plan)
    assert report.ok, report.violations[:3]
    assert plan.objective.coverage == result.tier1.objective == result.tier1.bound
    engine = matcher.solve(instance, time_limit_s=20.0, workers=1)
    if engine.status == "optimal":
        assert engine.objective.coverage == plan.objective.coverage
        assert engine.objective.travel_km == pytest.approx(plan.objective.travel_km, rel=1e-5)
    # Where greedy is short of the optimum, the peer's plan is not greedy's.
    greedy = matcher.solve(instance, engine="greedy")
    assert greedy.objective.coverage <= plan.objective.coverage


def test_min_headcount_switch_staffs_fully_or_not_at_all() -> None:
    """Request 0 needs two of v0, v1; v1 is wanted more at request 1, which overlaps it: the
    best plan leaves request 0 empty rather than staffing it with one."""
    data = ProblemData.build(
        num_volunteers=2,
        num_requests=2,
        pair_volunteer=[0, 1, 1],
        pair_request=[0, 0, 1],
        pair_cost=[1, 1, 1],
        request_min=[2, 1],
        request_max=[2, 1],
        request_priority=[1, 5],
        conflict_sets=[[0, 1]],
    )
    result = solve_textbook(data, 10.0)
    assert result.status == "optimal"
    assert result.selected is not None
    assert result.selected.tolist() == [False, False, True]
    assert result.stats["switches"] == 1


def test_pinned_pairs_are_kept_and_travel_is_the_second_tier() -> None:
    """Two volunteers for one request: the near one unless the far one is pinned."""
    kwargs = dict(
        num_volunteers=2, num_requests=1, pair_volunteer=[0, 1], pair_request=[0, 0],
        pair_cost=[100, 5],
    )  # fmt: skip
    free = solve_textbook(ProblemData.build(**kwargs), 10.0)  # type: ignore[arg-type]
    assert free.selected is not None and free.selected.tolist() == [False, True]
    assert free.tier2 is not None and free.tier2.objective == 5
    pinned = solve_textbook(ProblemData.build(**kwargs, pair_pinned=[True, False]), 10.0)  # type: ignore[arg-type]
    assert pinned.selected is not None and pinned.selected.tolist() == [True, False]


def test_compile_prunes_candidates_and_the_pruning_loses_nothing_on_a_small_week(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dense city: every volunteer reaches every request, so compile past its pair budget keeps
    only each request's nearest (the budget is set to 0 here, as if the week were a city of
    millions of pairs). Every pair meeting the hard rules is a candidate of `all_pairs`; the
    peer's optimum is the same on the pruned and on all pairs."""
    instance = tiny_week("dense-city", 0, volunteers=400, requests=25)
    assert matcher.compile_instance(instance).data.num_pairs == all_pairs(instance).data.num_pairs
    monkeypatch.setattr(importlib.import_module("matcher.compile"), "_PAIR_BUDGET", 0)
    pruned = matcher.compile_instance(instance)
    full = all_pairs(instance)
    keys = set(full.data.pair_keys().tolist())
    assert set(pruned.data.pair_keys().tolist()) < keys  # pruned: fewer, all among them
    n = instance.requests.__len__()
    expected = {
        i * n + j
        for i, v in enumerate(instance.volunteers)
        for j, r in enumerate(instance.requests)
        if not pair_violations(v, r)
        and (v.max_hours is None or r.duration_hours <= v.max_hours + 1e-9)
    }
    assert keys == expected
    a, b = solve_textbook(pruned.data, 60.0), solve_textbook(full.data, 60.0)
    assert a.status == b.status == "optimal"
    assert a.tier1.objective == b.tier1.objective
    assert a.tier2 is not None and b.tier2 is not None
    assert a.tier2.objective == pytest.approx(b.tier2.objective, rel=1e-6)
    assert np.asarray(pruned.data.request_dropped).sum() > 0
