"""Annual targets in the fairness term: `served_hours` (hours served in the target period) and
`target_hours` move where each volunteer's convex fairness penalty starts, weighed by
`soft_weights.target`: F(offset + hours) - F(offset), with offset = target weight x (served -
target). People behind their target cost nothing for longer, so among plans of equal coverage
and travel the one giving them the hours wins; people far ahead cost more per hour.
"""

from __future__ import annotations

import numpy as np
import pytest
from matcher_testkit import Json, make_instance, pairs_of, request, run, volunteer

from matcher import compile_instance, parse_instance
from matcher.engines.local_search import _Search, _Static, _Window
from matcher.objective import fairness_penalty


def two_at_one_place(ahead: Json, behind: Json, *, requests: int = 1, **options: object) -> Json:
    """Two volunteers at the same place (travel ties); `requests` four-hour requests one after
    another at that place."""
    vols = [volunteer("ahead", **ahead), volunteer("behind", **behind)]
    reqs = [request(f"r{i}", start=8 + 4 * i, end=12 + 4 * i) for i in range(requests)]
    return make_instance(vols, reqs, **options)


def penalty_of(data: Json, pairs: set[tuple[str, str]]) -> float:
    compiled = compile_instance(parse_instance(data))
    ids_v, ids_r = compiled.volunteer_ids, compiled.request_ids
    chosen = {(ids_v.index(v), ids_r.index(r)) for v, r in pairs}
    d = compiled.data
    selected = np.array(
        [(int(v), int(r)) in chosen for v, r in zip(d.pair_volunteer, d.pair_request, strict=True)]
    )
    return fairness_penalty(d, selected)


def test_the_penalty_counts_from_the_hours_already_served() -> None:
    """F(h) = sum over k of max(0, h - 4k) / 4 (weight 1). Four hours for someone 6 hours ahead
    of a 24-hour target: F(10) - F(6) = 2.0 - 0.5 = 1.5; for someone 20 behind: 0; for someone
    with 40 served and no target (served hours alone count): F(44) - F(40) = 10."""
    data = two_at_one_place(
        {"served_hours": 30, "target_hours": 24}, {"served_hours": 4, "target_hours": 24}
    )
    assert penalty_of(data, {("ahead", "r0")}) == pytest.approx(1.5)
    assert penalty_of(data, {("behind", "r0")}) == pytest.approx(0.0)
    data = two_at_one_place({"served_hours": 40}, {})
    assert penalty_of(data, {("ahead", "r0")}) == pytest.approx(10.0)
    assert penalty_of(data, {("behind", "r0")}) == pytest.approx(0.0)
    # The target weight scales how much the served hours count; 0 ignores them.
    weighed = two_at_one_place({"served_hours": 40}, {}, soft_weights={"target": 0.5})
    assert penalty_of(weighed, {("ahead", "r0")}) == pytest.approx(F(24) - F(20))
    ignored = two_at_one_place({"served_hours": 40}, {}, soft_weights={"target": 0.0})
    assert penalty_of(ignored, {("ahead", "r0")}) == pytest.approx(0.0)


def F(hours: float) -> float:
    return sum(max(0.0, hours - 4 * k) / 4 for k in range(1, 13))


def test_people_behind_their_target_are_preferred() -> None:
    """Three four-hour requests, two volunteers at one place: the one behind a 24-hour target
    takes the hours (its penalty stays 0 up to 24 hours); without targets the same two are
    spread evenly by the convex penalty."""
    data = two_at_one_place(
        {"served_hours": 24, "target_hours": 24},
        {"served_hours": 0, "target_hours": 24},
        requests=3,
    )
    plan = run(data)
    assert {v for v, _ in pairs_of(plan)} == {"behind"}
    assert plan.objective.fairness_penalty == pytest.approx(0.0)
    even = run(two_at_one_place({}, {}, requests=3))
    assert {v for v, _ in pairs_of(even)} == {"ahead", "behind"}


def test_served_hours_count_without_targets() -> None:
    data = two_at_one_place({"served_hours": 40}, {"served_hours": 0})
    assert pairs_of(run(data)) == {("behind", "r0")}
    data = two_at_one_place({"served_hours": 0}, {"served_hours": 40})
    assert pairs_of(run(data)) == {("ahead", "r0")}


def test_targets_never_outweigh_travel() -> None:
    """Fairness is tier 3: a volunteer behind a target but farther away does not get the hours."""
    vols = [
        volunteer("near", served_hours=100),
        volunteer("far", east_km=1, served_hours=0, target_hours=100),
    ]
    plan = run(make_instance(vols, [request("r0")]))
    assert pairs_of(plan) == {("near", "r0")}


def test_the_local_search_weighs_the_same_penalty() -> None:
    """The search's window objective holds eps times each volunteer's fairness penalty at its
    offset plus load: `objective.fairness_penalty` plus the constant F(offset) of each."""
    data = two_at_one_place(
        {"served_hours": 30, "target_hours": 24},
        {"served_hours": 0, "target_hours": 24},
        requests=3,
    )
    d = compile_instance(parse_instance(data)).data
    selected = d.pair_volunteer == 0  # "ahead" takes all three
    static = _Static(d)
    window = _Window(_Search(static, selected, np.random.default_rng(0)), np.arange(2))
    soft = (window.objective() - float(d.pair_cost[selected].sum())) / static.eps
    constants = sum(penalty_at(static, float(o)) for o in d.volunteer_fairness_offset)
    assert fairness_penalty(d, selected) > 0
    assert soft == pytest.approx(fairness_penalty(d, selected) + constants, rel=1e-9)


def penalty_at(static: _Static, load: float) -> float:
    """F at a load, from the search's own tables."""
    i = np.searchsorted(static.fair_bp, load, side="left")
    return float(static.fair_s1[i] * load - static.fair_s2[i])
