"""Stakeholder quotas (`options.quotas`): a group of volunteers (a partner university, a law firm)
holds at least or at most a share of the plan's assignments or hours, hard or soft.

- The format: bad quotas are rejected naming the record and field; a quota naming a group no
  volunteer is in is a warning.
- The rule (13) in `check_plan`, and in `ProblemData.violations` (so that no engine prefers a
  plan that breaks it).
- Each engine keeps hard quotas (maxima and minima, of assignments and of hours) where the plan
  without them would not, and pays for them in travel or coverage; the unfilled reasons say so.
- Soft quotas cost their weight per unit short in the soft score (tier 3): they decide ties.
- The local search's moves keep every hard quota; the large-neighbourhood sub-problems count
  the held pairs.
"""

from __future__ import annotations

import numpy as np
import pytest
from matcher_testkit import (
    Json,
    make_instance,
    pairs_of,
    request,
    run,
    violated_rules,
    volunteer,
)

from matcher import Control, InstanceError, ProblemData, compile_instance, parse_instance, solve
from matcher.engines.base import Deadline
from matcher.engines.decompose import restrict, split
from matcher.engines.greedy import greedy_selection
from matcher.engines.lns import _reoptimise
from matcher.engines.local_search import local_search
from matcher.engines.state import Incidence
from matcher.objective import lexicographic_key, quota_shortfall

ENGINES = ("optimal", "greedy")


def near_and_far(quota: Json | None = None, *, n_requests: int = 4) -> Json:
    """Group A lives next to the requests, group B 10 km away; requests one after another,
    so that one volunteer of A could take them all (no caps). Without a quota A takes all."""
    vols = [volunteer(f"a{i}", east_km=0.5 * i, group="A") for i in range(4)]
    vols += [volunteer(f"b{i}", east_km=10 + 0.5 * i, group="B") for i in range(4)]
    reqs = [request(f"r{i}", start=8 + 2 * i, end=9 + i * 2 + (i % 2)) for i in range(n_requests)]
    return make_instance(vols, reqs, **({"quotas": [quota]} if quota else {}))


def group_share(plan_pairs: set[tuple[str, str]], group_prefix: str) -> float:
    return sum(1 for v, _ in plan_pairs if v.startswith(group_prefix)) / max(len(plan_pairs), 1)


# --------------------------------------------------------------------------------------------
# Format
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quota", "where"),
    [
        ({"group": "A"}, "options.quotas[0] (group A): give exactly one of min_share"),
        ({"group": "A", "min_share": 0.1, "max_share": 0.5}, "options.quotas[0] (group A)"),
        ({"group": "A", "min_share": 1.5}, "options.quotas[0].min_share (group A)"),
        ({"group": "A", "max_share": -0.1}, "options.quotas[0].max_share (group A)"),
        ({"group": "A", "min_share": 0.1, "of": "days"}, "options.quotas[0].of (group A)"),
        ({"group": "A", "min_share": 0.1, "weight": -1}, "options.quotas[0].weight (group A)"),
        ({"group": "", "min_share": 0.1}, "options.quotas[0].group"),
        ({"group": "A", "min_share": 0.1, "hard": "yes"}, "options.quotas[0].hard (group A)"),
    ],
)
def test_bad_quotas_are_rejected_naming_record_and_field(quota: Json, where: str) -> None:
    with pytest.raises(InstanceError) as error:
        parse_instance(near_and_far(quota))
    assert where in str(error.value)


def test_contradicting_hard_quotas_are_rejected() -> None:
    data = near_and_far()
    data["options"] = {
        "quotas": [
            {"group": "A", "min_share": 0.6},
            {"group": "A", "max_share": 0.5},
            {"group": "B", "min_share": 0.5},
        ]
    }
    with pytest.raises(InstanceError) as error:
        parse_instance(data)
    text = str(error.value)
    assert "options.quotas[0].min_share (group A): min_share 0.6 exceeds options.quotas[1]" in text
    assert "options.quotas[2].min_share (group B): hard minimum shares of the assignments add up to 1.1" in text
    # Soft ones may contradict: they are costs, not rules.
    data["options"]["quotas"] = [{**q, "hard": False} for q in data["options"]["quotas"]]
    parse_instance(data)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"group": ""}, "volunteers[0].group (id a0)"),
        ({"group": 3}, "volunteers[0].group (id a0)"),
        ({"served_hours": -1}, "volunteers[0].served_hours (id a0)"),
        ({"target_hours": 0}, "volunteers[0].target_hours (id a0)"),
    ],
)
def test_bad_volunteer_fields_are_rejected_naming_record_and_field(
    fields: Json, where: str
) -> None:
    data = near_and_far()
    data["volunteers"][0].update(fields)
    with pytest.raises(InstanceError) as error:
        parse_instance(data)
    assert where in str(error.value)


def test_a_quota_of_a_group_nobody_is_in_is_a_warning() -> None:
    plan = run(near_and_far({"group": "C", "min_share": 0.1}))
    assert plan.warnings == (
        "options.quotas[0]: no volunteer is in group C; only plans without assignments meet it",
    )
    assert plan.objective.coverage == 0  # what a hard minimum of nobody allows


# --------------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------------


def test_check_plan_applies_hard_quotas_only() -> None:
    all_a = [("a0", f"r{i}") for i in range(4)]
    half = [("a0", "r0"), ("a0", "r1"), ("b0", "r2"), ("b0", "r3")]
    assert 13 in violated_rules(near_and_far({"group": "A", "max_share": 0.5}), all_a)
    assert 13 not in violated_rules(near_and_far({"group": "A", "max_share": 0.5}), half)
    assert 13 in violated_rules(near_and_far({"group": "B", "min_share": 0.75}), half)
    assert 13 not in violated_rules(near_and_far({"group": "B", "min_share": 0.5}), half)
    soft = {"group": "B", "min_share": 0.75, "hard": False}
    assert 13 not in violated_rules(near_and_far(soft), half)
    # Hours: r1 and r3 last two hours, r0 and r2 one: B's r2 + r3 are 3 of 6 hours.
    assert 13 not in violated_rules(
        near_and_far({"group": "B", "min_share": 0.5, "of": "hours"}), half
    )
    assert 13 in violated_rules(
        near_and_far({"group": "B", "min_share": 0.51, "of": "hours"}), half
    )
    # The empty plan meets every share.
    assert 13 not in violated_rules(near_and_far({"group": "B", "min_share": 0.5}), [])


def test_violations_count_a_broken_hard_quota_as_structural() -> None:
    compiled = compile_instance(parse_instance(near_and_far({"group": "A", "max_share": 0.5})))
    data = compiled.data
    all_a = np.isin(data.pair_volunteer, [0]) & (data.pair_request < 4)
    assert data.violations(all_a) == (1, 0)
    soft = compile_instance(
        parse_instance(near_and_far({"group": "A", "max_share": 0.5, "hard": False, "weight": 2}))
    ).data
    assert soft.violations(all_a) == (0, 0)
    # Two assignments beyond the half, at 2 each.
    assert quota_shortfall(soft, all_a) == pytest.approx(4.0)


# --------------------------------------------------------------------------------------------
# Engines: penalised where the quota binds, allowed where it does not
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hard_maximum_keeps_the_near_group_to_its_share(engine: str) -> None:
    free = run(near_and_far(), engine)
    assert group_share(pairs_of(free), "a") == 1.0
    capped = run(near_and_far({"group": "A", "max_share": 0.25}), engine)
    assert capped.objective.coverage == 4  # B staffs the rest
    assert group_share(pairs_of(capped), "a") <= 0.25
    assert capped.objective.travel_km > free.objective.travel_km
    assert capped.quotas[0].met and capped.quotas[0].share <= 0.25
    assert not violated_rules(near_and_far({"group": "A", "max_share": 0.25}), pairs_of(capped))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hard_minimum_of_hours_brings_in_the_far_group(engine: str) -> None:
    quota = {"group": "B", "min_share": 0.5, "of": "hours"}
    plan = run(near_and_far(quota), engine)
    hours = {"r0": 1, "r1": 2, "r2": 1, "r3": 2}
    b_hours = sum(hours[r] for v, r in pairs_of(plan) if v.startswith("b"))
    assert plan.objective.coverage == 4
    assert b_hours >= 3
    assert plan.quotas[0].amount == pytest.approx(b_hours)
    assert not violated_rules(near_and_far(quota), pairs_of(plan))


def test_the_optimum_under_a_minimum_of_assignments_takes_the_cheapest_share() -> None:
    """B must hold half the assignments: the optimum gives B the two requests where it costs
    the least travel (all B's are 10 km further: any two), and A the rest."""
    plan = run(near_and_far({"group": "B", "min_share": 0.5}), time_limit_s=3.0)
    assert plan.status == "optimal"
    assert sum(1 for v, _ in pairs_of(plan) if v.startswith("b")) == 2
    free = run(near_and_far())
    # The least detour: B's nearest volunteer (10 km instead of A's 0 km) twice.
    assert plan.objective.travel_km == pytest.approx(free.objective.travel_km + 20.0, abs=1e-3)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_minimum_the_group_cannot_reach_costs_coverage_and_says_why(engine: str) -> None:
    """B's one volunteer can do one request at a time: with B at least half of the assignments,
    only two of the four overlapping requests are staffed; the others say the quota blocks
    their free candidates."""
    vols = [volunteer(f"a{i}", east_km=i, group="A") for i in range(4)]
    vols.append(volunteer("b0", east_km=5, group="B"))
    reqs = [request(f"r{i}", start=9, end=11) for i in range(4)]
    data = make_instance(vols, reqs, quotas=[{"group": "B", "min_share": 0.5}])
    plan = run(data, engine)
    assert plan.objective.coverage == 2 if engine == "optimal" else plan.objective.coverage <= 2
    assert not violated_rules(data, pairs_of(plan))
    codes = {code for u in plan.unfilled for code in u.codes}
    assert "quota" in codes
    sentence = next(s for u in plan.unfilled for s in u.reasons if "quota" in s)
    assert "would break group B's hard quota (at least 0.5 of the assignments)" in sentence
    assert run(make_instance(vols, reqs), engine).objective.coverage == 4


def test_a_soft_quota_breaks_ties_and_never_costs_travel() -> None:
    """a0 and b0 live at the same place: travel ties, and the soft minimum for B decides (a
    soft maximum for B the other way). Against a nearer A, the soft quota gives way."""
    tie = [volunteer("a0", group="A"), volunteer("b0", group="B")]
    reqs = [request("r1")]
    for quota, chosen in (
        ({"group": "B", "min_share": 1.0, "hard": False}, "b0"),
        ({"group": "B", "max_share": 0.0, "hard": False}, "a0"),
    ):
        plan = run(make_instance(tie, reqs, quotas=[quota]))
        assert pairs_of(plan) == {(chosen, "r1")}
        assert plan.objective.quota_shortfall == 0.0
    nearer_a = [volunteer("a0", group="A"), volunteer("b0", east_km=1, group="B")]
    soft = {"group": "B", "min_share": 1.0, "hard": False, "weight": 100}
    plan = run(make_instance(nearer_a, reqs, quotas=[soft]))
    assert pairs_of(plan) == {("a0", "r1")}
    assert plan.objective.quota_shortfall == pytest.approx(100.0)
    assert plan.quotas[0].met is False and plan.status == "optimal"


def test_rows_over_every_pair_make_one_part() -> None:
    """Two separate towns are two independent parts, unless a quota spans them."""
    vols = [
        volunteer("a0", group="A", max_travel_km=10),
        volunteer("b0", north_km=200, group="B", max_travel_km=10),
    ]
    reqs = [request("r1"), request("r2", north_km=200)]
    plain = compile_instance(parse_instance(make_instance(vols, reqs))).data
    assert len(split(plain, batch_pairs=1)) == 2
    quota = make_instance(vols, reqs, quotas=[{"group": "A", "max_share": 0.5}])
    assert len(split(compile_instance(parse_instance(quota)).data, batch_pairs=1)) == 1
    assert run(quota).objective.coverage == 2


# --------------------------------------------------------------------------------------------
# Greedy, the local search and the sub-MIPs keep hard quotas
# --------------------------------------------------------------------------------------------


def compiled_data(data: Json) -> ProblemData:
    return compile_instance(parse_instance(data)).data


def test_greedy_passes_over_pairs_beyond_a_hard_maximum() -> None:
    data = compiled_data(near_and_far({"group": "A", "max_share": 0.5}))
    sel = greedy_selection(data).selected
    assert data.violations(sel) == (0, 0)
    assert int(sel.sum()) == 4


def test_greedy_meets_a_hard_minimum_by_swapping_then_by_dropping() -> None:
    data = compiled_data(near_and_far({"group": "B", "min_share": 0.5}))
    sel = greedy_selection(data).selected
    assert data.violations(sel) == (0, 0) and int(sel.sum()) == 4  # swaps sufficed
    vols = [volunteer("a0", group="A"), volunteer("b0", group="B", max_assignments=1)]
    reqs = [request(f"r{i}", start=8 + 2 * i, end=9 + 2 * i) for i in range(4)]
    data = compiled_data(make_instance(vols, reqs, quotas=[{"group": "B", "min_share": 0.5}]))
    sel = greedy_selection(data).selected
    assert data.violations(sel) == (0, 0)
    assert int(sel.sum()) == 2  # b0 once and a0 once: the other two dropped


@pytest.mark.parametrize(
    "quota", [{"group": "A", "max_share": 0.5}, {"group": "B", "min_share": 0.5, "of": "hours"}]
)
def test_the_local_search_never_breaks_a_hard_quota(quota: Json) -> None:
    """From a plan that meets the quota with B far away, every move to a nearer A would save
    travel; the search's moves keep each group's share (and it still improves within them)."""
    vols = [volunteer(f"a{i}", east_km=i, group="A") for i in range(3)]
    vols += [volunteer(f"b{i}", east_km=10 + i, group="B") for i in range(3)]
    reqs = [request(f"r{i}", start=8 + 2 * i, end=9 + 2 * i) for i in range(4)]
    data = compiled_data(make_instance(vols, reqs, quotas=[quota]))
    # Start: a2 takes r0, r1; b2 (the farthest of B) takes r2, r3.
    start = np.zeros(data.num_pairs, dtype=bool)
    for v, r in ((2, 0), (2, 1), (5, 2), (5, 3)):
        start[np.flatnonzero((data.pair_volunteer == v) & (data.pair_request == r))] = True
    assert data.violations(start) == (0, 0)
    out = local_search(data, start, Deadline(10.0), Control(), seed=0, max_iterations=300)
    assert data.violations(out) == (0, 0)
    assert data.pair_cost[out].sum() < data.pair_cost[start].sum()  # moved within each group
    groups = data.volunteer_group[data.pair_volunteer]
    assert np.array_equal(np.sort(groups[out]), np.sort(groups[start]))


def test_the_sub_problems_of_the_neighbourhood_search_count_the_held_pairs() -> None:
    """A at most half: with r0 and r1 held by A outside the sub-problem, the freed volunteers
    of r2 and r3 can only give them to B, however near A is."""
    data = compiled_data(near_and_far({"group": "A", "max_share": 0.5}))
    current = np.zeros(data.num_pairs, dtype=bool)
    for v, r in ((0, 0), (1, 1), (4, 2), (5, 3)):  # a0, a1 / b0, b1
        current[np.flatnonzero((data.pair_volunteer == v) & (data.pair_request == r))] = True
    assert data.violations(current) == (0, 0)
    out, _ = _reoptimise(
        data, Incidence.of(data), current, np.array([2, 3, 4, 5]), Deadline(5.0)
    )
    assert out is not None
    assert data.violations(out) == (0, 0)
    sub = restrict(data, np.flatnonzero(np.isin(data.pair_volunteer, [2, 3, 4, 5])), current)
    assert sub.data.quota_base[0] == pytest.approx(2 * (1 - 0.5))  # two held A pairs


def test_no_engine_prefers_a_plan_that_breaks_a_hard_quota() -> None:
    data = compiled_data(near_and_far({"group": "A", "max_share": 0.25}))
    all_a = (data.pair_volunteer == 0) & (data.pair_request < 4)
    valid = greedy_selection(data).selected
    assert data.violations(valid) == (0, 0)
    assert data.pair_cost[all_a].sum() < data.pair_cost[valid].sum()
    assert lexicographic_key(data, valid) > lexicographic_key(data, all_a)


def test_a_hard_quota_holds_in_every_engine_on_a_city_week() -> None:
    """A generated week with three partner groups: a hard minimum and a hard maximum, both
    binding (without them the plan breaks both); every engine's plan keeps them."""
    rng = np.random.default_rng(7)
    vols = [
        volunteer(
            f"v{i}",
            north_km=float(rng.uniform(-6, 6)) + (8.0 if i % 3 == 2 else 0.0),
            east_km=float(rng.uniform(-6, 6)),
            group="ABC"[i % 3],
            max_hours=6,
        )
        for i in range(60)
    ]
    reqs = [
        request(
            f"r{i}",
            start=8 + (i % 6) * 1.5,
            end=10 + (i % 6) * 1.5,
            north_km=float(rng.uniform(-6, 6)),
            east_km=float(rng.uniform(-6, 6)),
            volunteers_needed=int(rng.integers(1, 4)),
        )
        for i in range(30)
    ]
    quotas = [{"group": "C", "min_share": 0.3}, {"group": "A", "max_share": 0.3, "of": "hours"}]
    free = solve(make_instance(vols, reqs), time_limit_s=3.0)
    assert 13 in violated_rules(make_instance(vols, reqs, quotas=quotas), pairs_of(free))
    data = make_instance(vols, reqs, quotas=quotas)
    for engine in ("optimal", "greedy"):
        plan = solve(data, engine=engine, time_limit_s=3.0)
        assert not violated_rules(data, pairs_of(plan)), engine
        assert all(q.met for q in plan.quotas)
