"""The change budget (`options.max_changes`): a repair keeps the previous plan's pairs unless
moving them is needed, and changes at most `max_changes` pairs (previous pairs dropped plus
pairs added, pinned ones aside).

- The format and the rule (14) in `check_plan`: previous pairs no plan could keep (the volunteer
  is no longer available, or committed elsewhere) are no change when dropped.
- A repair after one decline: within the budget in every engine; a larger budget may change more
  and buys what the plan's objective shows.
- A budget no plan can keep (a request left below its minimum by the decline, and a budget of
  0): status infeasible, with a warning that names the option, and the reason on the request.
- The local search never adds a change; the unfilled reasons name the spent budget.
"""

from __future__ import annotations

import numpy as np
import pytest
from matcher_testkit import Json, make_instance, pairs_of, request, run, violated_rules, volunteer

from matcher import Control, InstanceError, compile_instance, parse_instance, solve
from matcher.engines.base import Deadline
from matcher.engines.local_search import local_search

ENGINES = ("optimal", "greedy")


def a_week(seed: int = 3, volunteers: int = 30, requests: int = 15) -> tuple[list[Json], list[Json]]:
    """Volunteers and requests scattered over a small town, over one day."""
    rng = np.random.default_rng(seed)
    vols = [
        volunteer(
            f"v{i:02d}",
            north_km=float(rng.uniform(-5, 5)),
            east_km=float(rng.uniform(-5, 5)),
            max_hours=6,
        )
        for i in range(volunteers)
    ]
    reqs = [
        request(
            f"r{i:02d}",
            start=8 + (i % 5) * 2,
            end=10 + (i % 5) * 2,
            north_km=float(rng.uniform(-5, 5)),
            east_km=float(rng.uniform(-5, 5)),
            volunteers_needed=int(rng.integers(1, 4)),
        )
        for i in range(requests)
    ]
    return vols, reqs


def after_a_decline(max_changes: int | None, seed: int = 3) -> tuple[Json, set[tuple[str, str]]]:
    """A published plan of `a_week` (greedy's: the same on every run) in which one volunteer
    declined: the repair's instance (the other pairs previous, the declined one excluded) and
    the pairs kept."""
    vols, reqs = a_week(seed)
    published = pairs_of(solve(make_instance(vols, reqs), engine="greedy"))
    declined = sorted(published)[len(published) // 2]
    options = {} if max_changes is None else {"max_changes": max_changes}
    data = make_instance(vols, reqs, previous=sorted(published - {declined}), **options)
    data["excluded"] = [{"volunteer_id": declined[0], "request_id": declined[1]}]
    return data, published - {declined}


def changes(kept: set[tuple[str, str]], planned: set[tuple[str, str]]) -> int:
    return len(kept - planned) + len(planned - kept)


# --------------------------------------------------------------------------------------------
# Format and rule
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [(-1, "options.max_changes: Input should be greater than or equal to 0"),
     ("3", "options.max_changes: Input should be a valid integer"),
     (1.5, "options.max_changes: Input should be a valid integer")],
)  # fmt: skip
def test_a_bad_budget_is_rejected_naming_the_field(value: object, message: str) -> None:
    vols, reqs = a_week(volunteers=2, requests=1)
    with pytest.raises(InstanceError) as error:
        parse_instance(make_instance(vols, reqs, max_changes=value))
    assert message in str(error.value)


def test_check_plan_counts_drops_and_additions_but_not_what_no_plan_could_keep() -> None:
    vols = [volunteer(f"v{i}", east_km=i) for i in range(4)]
    vols.append(volunteer("gone", availability=[(0.0, 1.0)]))  # no longer available at 9-11
    reqs = [request(f"r{i}", start=8 + 2 * i, end=9 + 2 * i) for i in range(3)]
    previous = [("v0", "r0"), ("v1", "r1"), ("gone", "r2")]
    data = make_instance(vols, reqs, previous=previous, pinned=[("v3", "r0")], max_changes=1)
    # v3 is pinned (no change); gone -> r2 cannot be kept (no change); v2 -> r2 is one.
    assert 14 not in violated_rules(data, [("v0", "r0"), ("v1", "r1"), ("v3", "r0"), ("v2", "r2")])
    # Dropping v1 -> r1 is a second change.
    assert 14 in violated_rules(data, [("v0", "r0"), ("v3", "r0"), ("v2", "r2")])
    data["options"]["max_changes"] = 2
    assert 14 not in violated_rules(data, [("v0", "r0"), ("v3", "r0"), ("v2", "r2")])


# --------------------------------------------------------------------------------------------
# Repairs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("budget", [0, 1, 3])
def test_a_repair_after_one_decline_stays_within_the_budget(engine: str, budget: int) -> None:
    data, kept = after_a_decline(budget)
    plan = run(data, engine, time_limit_s=3.0)
    planned = pairs_of(plan)
    assert changes(kept, planned) <= budget
    assert plan.objective.changes == changes(kept, planned)
    assert not violated_rules(data, planned)
    if budget == 0:
        assert planned == kept  # the hole stays open
        assert any("max_changes" in u.codes for u in plan.unfilled)
    else:
        assert plan.objective.coverage >= sum(1 for _ in kept) + 1  # the hole is filled


def test_a_larger_budget_may_change_more_and_the_objective_says_what_it_buys() -> None:
    """A repair prices each change at 100 km (`change_cost_km`): it fills the hole and moves
    nobody for travel alone. With no budget and no price the matcher ranks travel above
    keeping pairs: it moves people to save kilometres, and says how many it moved."""
    limited, kept = after_a_decline(3)
    limited["options"]["change_cost_km"] = 100
    unlimited, _ = after_a_decline(None)
    small = run(limited, time_limit_s=5.0)
    free = run(unlimited, time_limit_s=5.0)
    assert small.objective.changes == 1  # the hole, filled
    assert free.objective.changes > 3
    assert free.objective.travel_km < small.objective.travel_km
    assert free.objective.coverage >= small.objective.coverage
    assert free.objective.changes == changes(kept, pairs_of(free))
    assert "travel_bound_km" not in small.stats  # its tier 2 is not travel alone


def test_a_price_on_changes_moves_nobody_for_travel_alone() -> None:
    priced, kept = after_a_decline(None)
    priced["options"] = {"change_cost_km": 100}
    plan = run(priced, time_limit_s=5.0)
    assert plan.objective.changes == 1
    assert pairs_of(plan) > kept


@pytest.mark.parametrize("engine", ENGINES)
def test_a_budget_no_plan_keeps_is_infeasible_and_says_which_option(engine: str) -> None:
    """r1 needs two; one of its two declined: keeping the other alone breaks its minimum,
    dropping it or adding one is a change, and the budget is 0."""
    vols = [volunteer(f"v{i}", east_km=i) for i in range(4)]
    reqs = [request("r1", volunteers_needed=2, min_volunteers=2)]
    data = make_instance(vols, reqs, previous=[("v1", "r1")], max_changes=0)
    data["excluded"] = [{"volunteer_id": "v0", "request_id": "r1"}]
    plan = run(data, engine)
    assert plan.status == "infeasible"
    assert any(w.startswith("options.max_changes: no plan was found within 0 changes") for w in plan.warnings)
    data["options"]["max_changes"] = 1
    plan = run(data, engine)
    assert plan.status != "infeasible" and plan.objective.changes == 1
    assert not violated_rules(data, pairs_of(plan))


def test_the_local_search_never_adds_a_change() -> None:
    """The plan keeps two far previous pairs; nearer volunteers are free. Moving a previous
    slot to them would save travel, at two changes each: the search keeps them."""
    vols = [volunteer("far0", east_km=8), volunteer("far1", east_km=9)]
    vols += [volunteer(f"near{i}", east_km=i) for i in range(3)]
    reqs = [request("r0", start=8, end=9), request("r1", start=10, end=11), request("r2")]
    data = make_instance(
        vols, reqs, previous=[("far0", "r0"), ("far1", "r1")], max_changes=1
    )
    compiled = compile_instance(parse_instance(data)).data
    start = compiled.pair_previous.copy()
    out = local_search(compiled, start, Deadline(10.0), Control(), seed=0, max_iterations=200)
    assert compiled.changes(out) <= compiled.changes(start)
    assert np.array_equal(out & compiled.pair_previous, compiled.pair_previous)
    # Without the budget the same search moves them.
    free = compile_instance(parse_instance({**data, "options": {}})).data
    moved = local_search(free, start, Deadline(10.0), Control(), seed=0, max_iterations=200)
    assert free.pair_cost[moved].sum() < free.pair_cost[start].sum()


@pytest.mark.parametrize("seed", [3, 4])
def test_a_price_on_changes_starts_greedy_from_the_previous_plan(seed: int) -> None:
    """Without a budget but with `change_cost_km`, the first plan (greedy's, also the optimal
    engine's first incumbent) keeps every previous pair that still fits: its cascade of
    re-choices after the decline would otherwise change several."""
    data, kept = after_a_decline(None, seed)
    plain = pairs_of(solve(data, engine="greedy"))
    assert changes(kept, plain) > 1
    priced = pairs_of(solve({**data, "options": {"change_cost_km": 10}}, engine="greedy"))
    assert kept <= priced and changes(kept, priced) <= 1


def test_changes_are_counted_under_a_price_when_no_previous_pair_is_left() -> None:
    """Every proposal of a request was declined: nothing is previous, and each pair the repair
    adds is a change (the count a budget is checked against)."""
    data = make_instance(
        [volunteer(f"v{i}") for i in range(3)], [request("r0", start=9, end=11)],
        change_cost_km=10,
    )  # fmt: skip
    data["excluded"] = [{"volunteer_id": "v0", "request_id": "r0"}]
    for engine in ENGINES:
        plan = run(data, engine)
        assert len(plan.assignments) == 1 and plan.objective.changes == 1
    del data["options"]["change_cost_km"]
    assert solve(data).objective.changes == 0  # a plain run has no changes to count
