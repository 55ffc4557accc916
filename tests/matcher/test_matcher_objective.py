"""The lexicographic objective of FORMAT.md in the `optimal` engine: coverage first, then travel,
then the soft terms (preferences, fair spread of hours, keeping `previous`), each tier deciding
only among plans tied on the tiers before it.
"""

from __future__ import annotations

from matcher_testkit import make_instance, pairs_of, request, run, volunteer


def test_coverage_beats_travel() -> None:
    """Two far volunteers cover both requests; a near one could cover only one of them."""
    data = make_instance(
        [volunteer("near"), volunteer("far1", north_km=20), volunteer("far2", north_km=-20)],
        [request("a", start=9, end=11), request("b", start=10, end=12)],
    )
    plan = run(data)
    assert plan.objective.coverage == 2
    assert plan.status == "optimal"


def test_priority_weighs_coverage() -> None:
    data = make_instance(
        [volunteer("v1")],
        [request("low", start=9, end=11), request("high", start=10, end=12, priority=3)],
    )
    plan = run(data)
    assert pairs_of(plan) == {("v1", "high")}
    assert plan.objective.coverage == 3


def test_travel_decides_among_equal_coverage() -> None:
    """Who goes where: the assignment with the least total travel (a swap would cost more)."""
    data = make_instance(
        [volunteer("north", north_km=3), volunteer("south", north_km=-3)],
        [request("n", north_km=2.5), request("s", north_km=-2.5)],
    )
    plan = run(data)
    assert pairs_of(plan) == {("north", "n"), ("south", "s")}
    assert plan.objective.travel_km == 1.0


def test_travel_is_optimal_not_greedy() -> None:
    """Greedy gives the first request its nearest volunteer; the optimum does not."""
    data = make_instance(
        [volunteer("mid", north_km=1), volunteer("edge", north_km=-3)],
        [request("first", start=9, end=10), request("second", start=9, end=10, north_km=2)],
    )
    greedy, optimal = run(data, "greedy"), run(data)
    assert greedy.objective.coverage == optimal.objective.coverage == 2
    assert optimal.objective.travel_km < greedy.objective.travel_km
    assert pairs_of(optimal) == {("edge", "first"), ("mid", "second")}


def test_preference_breaks_a_travel_tie() -> None:
    data = make_instance(
        [
            # 1.0004 km either way: the same whole metres (travel ties), whatever the rounding.
            volunteer("likes", north_km=1.0004, preferences={"tutor": 1.0}),
            volunteer("neutral", north_km=-1.0004),
        ],
        [request("r1", service_type="tutor")],
    )
    plan = run(data)
    assert pairs_of(plan) == {("likes", "r1")}
    assert plan.objective.preference == 1.0


def test_preference_never_beats_travel() -> None:
    data = make_instance(
        [
            volunteer("likes", north_km=1.5, preferences={"tutor": 5.0}),
            volunteer("neutral", north_km=-1),
        ],
        [request("r1", service_type="tutor")],
    )
    assert pairs_of(run(data)) == {("neutral", "r1")}


def test_previous_pair_breaks_a_tie() -> None:
    data = make_instance(
        [volunteer("new", north_km=1), volunteer("old", north_km=-1)],
        [request("r1")],
        previous=[("old", "r1")],
    )
    plan = run(data)
    assert pairs_of(plan) == {("old", "r1")}
    assert plan.objective.stability == 1


def test_previous_pair_never_beats_travel() -> None:
    data = make_instance(
        [volunteer("new", north_km=1), volunteer("old", north_km=-1.5)],
        [request("r1")],
        previous=[("old", "r1")],
    )
    plan = run(data)
    assert pairs_of(plan) == {("new", "r1")}
    assert plan.objective.stability == 0


def test_hours_are_spread_fairly() -> None:
    """Two 3-hour requests and two volunteers at one place: one volunteer doing both (6 h) is as
    good on coverage and travel as one each, and less fair."""
    data = make_instance(
        [volunteer("a"), volunteer("b")],
        [request("morning", start=8, end=11), request("afternoon", start=13, end=16)],
    )
    plan = run(data)
    assert len(plan.assignments) == 2
    assert {a.volunteer_id for a in plan.assignments} == {"a", "b"}
    assert plan.objective.fairness_penalty == 0


def test_fairness_weight_zero_is_accepted() -> None:
    data = make_instance(
        [volunteer("a"), volunteer("b")],
        [request("morning", start=8, end=11), request("afternoon", start=13, end=16)],
        soft_weights={"preference": 0, "fairness": 0, "stability": 0},
    )
    plan = run(data)
    assert plan.objective.coverage == 2
    assert plan.objective.fairness_penalty == 0
