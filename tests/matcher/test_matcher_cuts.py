"""Volunteer cuts (`matcher.engines.cuts`): every cut holds for every feasible set of the
volunteer's pairs, a fractional split that no feasible set allows is cut off, points already in
the convex hull are left alone; group cuts over a few requests cut off a pool split between
requests with minimum headcounts and hold for every plan; the optimal engine's LP reaches the
hull bound with them; and
the pricing's reduced costs of pairs in the formulation are exact (fixing by potential rests on
them)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from matcher import ENGINES, ProblemData, SolveParams
from matcher.engines.base import Control, Deadline, Status
from matcher.engines.cuts import MAX_SUPPORT, Cut, CutPool, _knapsack, separate, violated
from matcher.engines.formulation import Formulation, RowKind, formulate
from matcher.engines.optimal.columns import grow
from matcher.engines.optimal.face import fixed_by_potential
from matcher.engines.optimal.part import PartSolver
from matcher.engines.optimal.tiers import Tier
from matcher.engines.pricing import LpSolution, PairLinear, potentials, solve_lp
from matcher.engines.state import Incidence


def one_volunteer(
    loads: list[int],
    capacity: int,
    *,
    max_pairs: int = 99,
    conflicts: list[list[int]] | None = None,
    costs: list[int] | None = None,
) -> ProblemData:
    """One volunteer with a pair on each of len(loads) requests."""
    n = len(loads)
    return ProblemData.build(
        num_volunteers=1,
        num_requests=n,
        pair_volunteer=[0] * n,
        pair_request=list(range(n)),
        pair_cost=costs or [1] * n,
        pair_load=loads,
        volunteer_capacity=[capacity],
        volunteer_max_pairs=[max_pairs],
        conflict_sets=conflicts,
    )


def feasible_sets(data: ProblemData) -> list[np.ndarray]:
    """Every selection of the pairs that breaks no volunteer rule (requests need at most one
    here and each has one pair, so only the volunteer's caps and conflicts can fail)."""
    out = []
    for bits in itertools.product([False, True], repeat=data.num_pairs):
        selected = np.array(bits, dtype=bool)
        if data.violations(selected)[0] == 0:
            out.append(selected)
    return out


def test_a_split_no_feasible_set_allows_is_cut_off() -> None:
    """Loads 2 and 3 under a capacity of 4: the LP may take all of one and two thirds of the
    other, but no feasible set holds both; the cut is x0 + x1 <= 1 (scaled)."""
    data = one_volunteer([2, 3], 4)
    x = np.array([1.0, 2 / 3])
    (cut,) = separate(data, Incidence.of(data), np.arange(2), x)
    assert cut.coef @ x > cut.rhs + 1e-4
    assert cut.coef[0] == pytest.approx(cut.coef[1])
    assert cut.rhs == pytest.approx(cut.coef[0])


def test_points_inside_the_hull_are_not_cut() -> None:
    """Half of each of two feasible sets ({0, 1} and {2}) lies in the hull: no cut; an
    integral feasible point has nothing fractional to cut."""
    data = one_volunteer([1, 1, 2], 2)
    inc = Incidence.of(data)
    assert separate(data, inc, np.arange(3), np.array([0.5, 0.5, 0.5])) == []
    assert separate(data, inc, np.arange(3), np.array([1.0, 1.0, 0.0])) == []


def test_a_clique_cut_takes_in_every_pair_that_conflicts_with_all_of_it() -> None:
    """Three morning shifts overlap (one conflict set) and an afternoon shift does not fit the
    4-hour cap beside any of them (3 hours each): all four conflict pairwise. The LP at 0.6 on
    two mornings is cut by the clique of all four, the two pairs at zero included, so that the
    LP cannot move the weight to them; a hull cut over the support would leave them out."""
    data = one_volunteer([3, 3, 3, 3], 4, conflicts=[[0, 1, 2]])
    x = np.array([0.6, 0.6, 0.0, 0.0])
    (cut,) = separate(data, Incidence.of(data), np.arange(4), x)
    assert sorted(cut.pairs.tolist()) == [0, 1, 2, 3]
    assert cut.coef.tolist() == [1.0] * 4 and cut.rhs == 1.0


def test_conflicts_and_the_pair_count_are_respected() -> None:
    """Overlapping requests 0 and 1 (one conflict set) at 0.6 each break no cap but the clique;
    a cap of one pair cuts two pairs at 0.7 each."""
    clique = one_volunteer([1, 1], 10, conflicts=[[0, 1]])
    (cut,) = separate(clique, Incidence.of(clique), np.arange(2), np.array([0.6, 0.6]))
    assert cut.coef @ np.array([0.6, 0.6]) > cut.rhs
    capped = one_volunteer([1, 1], 10, max_pairs=1)
    (cut,) = separate(capped, Incidence.of(capped), np.arange(2), np.array([0.7, 0.7]))
    assert cut.coef @ np.array([0.7, 0.7]) > cut.rhs


@settings(max_examples=60, deadline=None)
@given(
    loads=st.lists(st.integers(1, 6), min_size=2, max_size=MAX_SUPPORT + 3),
    capacity=st.integers(1, 12),
    max_pairs=st.sampled_from([1, 2, 3, 4, 99]),  # 99: capacity alone, the knapsack branch
    clique=st.lists(st.integers(0, 6), max_size=3, unique=True),
    x=st.lists(st.floats(0.0, 1.0), min_size=MAX_SUPPORT + 3, max_size=MAX_SUPPORT + 3),
)
def test_every_cut_holds_for_every_feasible_set(
    loads: list[int], capacity: int, max_pairs: int, clique: list[int], x: list[float]
) -> None:
    n = len(loads)
    members = [r for r in clique if r < n]
    data = one_volunteer(
        loads, capacity, max_pairs=max_pairs, conflicts=[members] if len(members) > 1 else None
    )
    cuts = separate(data, Incidence.of(data), np.arange(n), np.array(x[:n]))
    pool = CutPool.empty().with_cuts(cuts)
    for selected in feasible_sets(data):
        assert violated(pool, selected) == 0
    for cut in cuts:  # and each one cuts off the point it was made for
        assert cut.coef @ np.array(x[:n])[cut.pairs] > cut.rhs


def test_large_supports_under_other_rules_keep_their_largest_values() -> None:
    """A volunteer with more fractional pairs than are enumerated, two of them in one conflict
    set, still gets a valid cut, over its largest values (any two pairs fit its capacity, so no
    clique cuts the split off: the support's hull does)."""
    n = MAX_SUPPORT + 4
    data = one_volunteer([2] * n, 5, conflicts=[[0, 1]])
    x = np.linspace(0.9, 0.2, n)
    (cut,) = separate(data, Incidence.of(data), np.arange(n), x)
    assert set(cut.pairs.tolist()) <= set(range(MAX_SUPPORT))
    assert_holds_for_singletons(cut, n)


def test_large_knapsack_supports_are_separated_in_full() -> None:
    """When capacity is the volunteer's only rule, a support beyond the enumeration limit is
    separated with generated knapsack sets, over every pair: the cut sums them all."""
    n = MAX_SUPPORT + 4
    data = one_volunteer([2] * n, 3)
    x = np.linspace(0.9, 0.2, n)
    (cut,) = separate(data, Incidence.of(data), np.arange(n), x)
    assert sorted(cut.pairs.tolist()) == list(range(n))
    assert cut.coef @ x[cut.pairs] > cut.rhs + 1.0
    assert_holds_for_singletons(cut, n)


def assert_holds_for_singletons(cut: Cut, n: int) -> None:
    pool = CutPool.empty().with_cuts([cut])
    for i in range(n):  # with loads 2 and capacity 3, the feasible sets are single pairs
        single = np.zeros(n, dtype=bool)
        single[i] = True
        assert violated(pool, single) == 0


@settings(max_examples=80, deadline=None)
@given(
    items=st.lists(st.tuples(st.floats(-1.0, 1.0), st.integers(0, 7)), min_size=1, max_size=9),
    capacity=st.integers(0, 15),
)
def test_knapsack_finds_the_best_set(items: list[tuple[float, int]], capacity: int) -> None:
    value = np.array([v for v, _ in items])
    load = np.array([w for _, w in items], dtype=np.int64)
    chosen = _knapsack(value, load, capacity)
    assert chosen @ load <= capacity
    best = max(
        float(np.array(bits) @ value)
        for bits in itertools.product([0, 1], repeat=len(items))
        if np.array(bits) @ load <= capacity
    )
    assert chosen @ value == pytest.approx(best)


def shared_pool() -> ProblemData:
    """Two same-time requests of exactly two (seed 4's r1 and r2 of the mixed-city 5,000/600
    week): request 0 has candidates a, b, c, d (volunteers 0-3, pairs 0-3), request 1 has e, a,
    b (volunteers 4, 0, 1, pairs 4-6)."""
    return ProblemData.build(
        num_volunteers=5,
        num_requests=2,
        pair_volunteer=[0, 1, 2, 3, 4, 0, 1],
        pair_request=[0, 0, 0, 0, 1, 1, 1],
        pair_cost=[1] * 7,
        request_min=[2, 2],
        request_max=[2, 2],
        conflict_sets=[[0, 1]],
    )


def plans(data: ProblemData) -> list[np.ndarray]:
    """Every selection of the pairs that breaks no rule."""
    out = []
    for bits in itertools.product([False, True], repeat=data.num_pairs):
        selected = np.array(bits, dtype=bool)
        if data.violations(selected) == (0, 0):
            out.append(selected)
    return out


def test_a_pool_split_between_two_requests_is_cut_off_by_a_group_cut() -> None:
    """The LP staffs request 1 whole (e and half each of a and b) and request 0 half (the other
    halves of a and b): three slots from a, b and e, where every plan gets two unless c or d
    joins. Each volunteer's and each request's rows hold, so no volunteer cut sees it; the group
    cut does (c and d, left at zero, enter with negative coefficients), and holds for every
    plan."""
    data = shared_pool()
    x = np.array([0.5, 0.5, 0.0, 0.0, 1.0, 0.5, 0.5])
    cuts = separate(data, Incidence.of(data), np.arange(7), x)
    assert len(cuts) == 1
    (cut,) = cuts
    assert cut.coef @ x[cut.pairs] > cut.rhs + 0.1
    assert set(cut.pairs.tolist()) >= {2, 3} and (cut.coef[np.isin(cut.pairs, [2, 3])] < 0).all()
    pool = CutPool.empty().with_cuts(cuts)
    for selected in plans(data):
        assert violated(pool, selected) == 0


def test_a_point_between_two_plans_gets_no_group_cut() -> None:
    """Half of {a, b on request 0} and half of {c, d on request 0, e and a on request 1}: in
    the hull of the group's plans, so nothing is cut."""
    data = shared_pool()
    x = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0])
    assert separate(data, Incidence.of(data), np.arange(7), x) == []


def test_no_group_cut_where_candidates_were_left_out() -> None:
    """A candidate that compile left out could fill request 0's minimum unseen: no group cut
    rests on the candidates it has."""
    data = shared_pool()
    dropped = replace(data, request_dropped=np.array([1, 0]), request_dropped_cost=np.array([5, 0]))
    x = np.array([0.5, 0.5, 0.0, 0.0, 1.0, 0.5, 0.5])
    assert separate(dropped, Incidence.of(dropped), np.arange(7), x) == []


def test_the_lp_with_group_cuts_reaches_the_integer_optimum() -> None:
    """The shared pool with a third same-time request of exactly two whose only candidates are
    c and d: five people, three requests of two, so every plan staffs two of them (4 slots);
    the LP staffs all of the first two and half of the third (5). Rounds of group cuts close
    it (the volunteer cuts alone leave 5)."""
    data = ProblemData.build(
        num_volunteers=5,
        num_requests=3,
        pair_volunteer=[0, 1, 2, 3, 4, 0, 1, 2, 3],
        pair_request=[0, 0, 0, 0, 1, 1, 1, 2, 2],
        pair_cost=[1] * 9,
        request_min=[2, 2, 2],
        request_max=[2, 2, 2],
        conflict_sets=[[0, 1, 2]],
    )
    state = PartSolver(data, Deadline(5.0), SolveParams(), Control()).state
    tier = Tier(1, PairLinear(coverage=1.0), maximize=True)
    priced = grow(state, tier, Deadline(5.0), patient=True)
    assert priced is not None
    assert priced.bound == pytest.approx(4.0)


@settings(max_examples=40, deadline=None)
@given(
    owners=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=3, max_size=9, unique=True
    ),
    minimum=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    extra=st.lists(st.integers(0, 2), min_size=3, max_size=3),
    loads=st.lists(st.integers(1, 4), min_size=3, max_size=3),
    capacity=st.lists(st.integers(1, 8), min_size=4, max_size=4),
    conflict=st.lists(st.integers(0, 2), max_size=3, unique=True),
    x=st.lists(st.floats(0.0, 1.0), min_size=9, max_size=9),
)
def test_every_group_cut_holds_for_every_plan(
    owners: list[tuple[int, int]],
    minimum: list[int],
    extra: list[int],
    loads: list[int],
    capacity: list[int],
    conflict: list[int],
    x: list[float],
) -> None:
    """Small weeks (four volunteers, three requests with minimum headcounts, loads, capacities,
    a conflict set) and any point: every cut separated, group cuts among them, keeps every
    plan."""
    pair_volunteer = [v for v, _ in owners]
    pair_request = [r for _, r in owners]
    data = ProblemData.build(
        num_volunteers=4,
        num_requests=3,
        pair_volunteer=pair_volunteer,
        pair_request=pair_request,
        pair_cost=[1] * len(owners),
        pair_load=[loads[r] for r in pair_request],
        volunteer_capacity=capacity,
        request_min=minimum,
        request_max=[m + e for m, e in zip(minimum, extra, strict=True)],
        conflict_sets=[conflict] if len(conflict) > 1 else None,
    )
    cuts = separate(data, Incidence.of(data), np.arange(data.num_pairs), np.array(x[: len(owners)]))
    pool = CutPool.empty().with_cuts(cuts)
    for selected in plans(data):
        assert violated(pool, selected) == 0


def test_formulation_keeps_the_cut_on_the_pairs_it_has() -> None:
    data = one_volunteer([2, 3, 1], 4)
    (cut,) = separate(data, Incidence.of(data), np.arange(2), np.array([1.0, 2 / 3]))
    pool = CutPool.empty().with_cuts([cut])
    whole = formulate(data).with_cuts(pool)
    rows = np.flatnonzero(whole.row_kind == RowKind.CUT)
    assert len(rows) == 1 and whole.row_hi[rows[0]] == pytest.approx(cut.rhs)
    assert whole.matrix[rows[0], :3].toarray().ravel() == pytest.approx([*cut.coef, 0.0])
    # Without pair 1 the cut keeps pair 0 (still valid: subsets of feasible sets are feasible).
    part = formulate(data, np.array([0, 2])).with_cuts(pool)
    rows = np.flatnonzero(part.row_kind == RowKind.CUT)
    assert part.matrix[rows[0], :2].toarray().ravel() == pytest.approx([cut.coef[0], 0.0])
    assert (
        formulate(data, np.array([2])).with_cuts(pool).matrix.shape
        == formulate(data, np.array([2])).matrix.shape
    )


def knapsack_split_week() -> ProblemData:
    """Volunteer 0 lives next to requests 0 and 1 (loads 2 and 3, capacity 4); volunteer 1 is
    far from both. The LP lets volunteer 0 take all of one and two thirds of the other (the
    rounded capacity rows cannot see it with these loads); every plan sends volunteer 1 to one."""
    return ProblemData.build(
        num_volunteers=2,
        num_requests=2,
        pair_volunteer=[0, 0, 1, 1],
        pair_request=[0, 1, 0, 1],
        pair_cost=[10, 10, 1000, 1000],
        pair_load=[2, 3, 2, 3],
        volunteer_capacity=[4, 100],
    )


def test_the_lp_with_cuts_reaches_the_integer_optimum() -> None:
    """The combined tier's LP bound on the knapsack split: W * 2 - 1010 with cuts, and far above
    it (W * 2 - 10 - 10 * 2/3 - 1000/3) with the volunteer rows alone."""
    data = knapsack_split_week()
    state = PartSolver(data, Deadline(5.0), SolveParams(), Control()).state
    weight = 2.0 * 1000 + 1.0
    tier = Tier(12, PairLinear(coverage=weight, cost=-1.0), maximize=True)
    priced = grow(state, tier, Deadline(5.0))
    assert priced is not None
    assert len(state.cuts) >= 1
    assert priced.bound == pytest.approx(2 * weight - 1010)
    plain = linprog(
        -(2 * weight - np.array([10, 10, 1000, 1000])),
        A_ub=[[2, 3, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1]],
        b_ub=[4, 1, 1],
        bounds=[(0, 1)] * 4,
    )
    assert -plain.fun > 2 * weight - 1010 + 600  # what the cuts closed


def potentials_and_reduced_costs(
    data: ProblemData, form: Formulation, objective: PairLinear, pool: CutPool | None = None
) -> tuple[LpSolution, np.ndarray, np.ndarray]:
    """The LP of `form` under `objective` (maximised), the pricing's potentials of its pairs,
    and minus their reduced costs c - A^T y computed from the whole matrix."""
    c = np.zeros(form.num_vars)
    c[: form.num_pairs] = objective.on_pairs(data)
    lp = solve_lp(form, c, maximize=True, time_limit_s=5.0)
    assert lp is not None
    potential, _ = potentials(data, form, lp, objective, [], data.request_sets(), pool)
    reduced = -c - form.matrix.T @ lp.duals  # minimisation form, as `LpSolution.duals`
    return lp, potential[form.pairs], -reduced[: form.num_pairs]


def test_reduced_costs_with_cut_rows_are_exact() -> None:
    """With a volunteer cut in the formulation (binding: volunteer 0 would take both requests),
    potentials still equal the LP's reduced costs: the cut's dual is charged to its pairs."""
    data = knapsack_split_week()
    (cut,) = separate(data, Incidence.of(data), np.arange(2), np.array([1.0, 2 / 3]))
    pool = CutPool.empty().with_cuts([cut])
    form = formulate(data).with_cuts(pool)
    lp, potential, expected = potentials_and_reduced_costs(
        data, form, PairLinear(coverage=2001.0, cost=-1.0), pool
    )
    assert np.abs(lp.duals[form.row_kind == RowKind.CUT]).max() > 1.0
    assert potential == pytest.approx(expected, abs=1e-6)


def test_reduced_costs_inside_the_formulation_are_exact() -> None:
    """Potentials of pairs in the formulation equal the LP's reduced costs (c - A^T y), link
    rows x <= y of requests with a minimum included."""
    # Request 0 needs two or none: volunteer 0 (capacity 2) can only give it a fraction, so
    # its link rows hold volunteer 1's pair down, with a dual.
    data = ProblemData.build(
        num_volunteers=3,
        num_requests=2,
        pair_volunteer=[0, 0, 1, 1],
        pair_request=[0, 1, 0, 1],
        pair_cost=[10, 12, 19, 14],
        pair_load=[2, 2, 2, 3],
        volunteer_capacity=[2, 4, 4],
        request_min=[2, 1],
        request_max=[3, 1],
        request_priority=[1, 2],
    )
    form = formulate(data)
    lp, potential, expected = potentials_and_reduced_costs(
        data, form, PairLinear(coverage=100.0, cost=-1.0)
    )
    assert np.abs(lp.duals[form.row_kind == RowKind.LINK]).max() > 1.0
    assert potential == pytest.approx(expected, abs=1e-6)


def test_fixing_by_potential_keeps_free_what_a_plan_within_the_gap_could_move() -> None:
    """With a gap of 3 between the LP bound and the optimum, a pair whose potential is beyond
    3.5 either way is fixed (out below, in above); the others stay free."""
    data = one_volunteer([1, 1, 1, 1], 10)
    form = formulate(data)
    potential = np.array([-10.0, -3.2, 3.4, 10.0])
    fixed = fixed_by_potential(form, potential, 3.0)
    assert fixed.var_lo[:4].tolist() == [0, 0, 0, 1]
    assert fixed.var_hi[:4].tolist() == [0, 1, 1, 1]


def test_fixing_by_potential_leaves_pinned_pairs_alone() -> None:
    """A pinned pair (held at 1) may have any potential: it cannot move, so it costs nothing
    and stays in; fixing it out would leave the soft tier without a plan."""
    data = ProblemData.build(
        num_volunteers=1,
        num_requests=2,
        pair_volunteer=[0, 0],
        pair_request=[0, 1],
        pair_cost=[1, 1],
        pair_pinned=[True, False],
    )
    form = formulate(data)
    fixed = fixed_by_potential(form, np.array([-1000.0, -1000.0]), 0.0)
    assert fixed.var_lo[:2].tolist() == [1, 0]
    assert fixed.var_hi[:2].tolist() == [1, 0]


def test_a_far_pinned_pair_keeps_the_soft_tier_provable() -> None:
    """Volunteer 0 is pinned to request 0 from far away (its potential is far below zero);
    the soft tier still has a plan on the optimal face and the solve is proven optimal."""
    data = ProblemData.build(
        num_volunteers=3,
        num_requests=2,
        pair_volunteer=[0, 1, 2, 1, 2],
        pair_request=[0, 0, 0, 1, 1],
        pair_cost=[5000, 10, 20, 10, 30],
        pair_load=[1] * 5,
        volunteer_capacity=[5, 1, 5],
        request_max=[2, 1],
        pair_pinned=[True, False, False, False, False],
        pair_bonus=[0.0, 1.0, 0.0, 0.0, 2.0],
    )
    result = ENGINES["optimal"](data, SolveParams(time_limit_s=3), Control())
    assert result.status is Status.OPTIMAL
    assert result.selected[0]


def test_huge_capacities_are_enumerated_not_tabled() -> None:
    """Loads in microseconds make capacities of billions of units: the knapsack's table would
    not fit in memory, so the largest values are enumerated instead (and the cut is valid)."""
    n = MAX_SUPPORT + 4
    data = one_volunteer([2_000_000_000] * n, 5_000_000_000)
    x = np.linspace(0.9, 0.2, n)
    (cut,) = separate(data, Incidence.of(data), np.arange(n), x)
    assert set(cut.pairs.tolist()) <= set(range(MAX_SUPPORT))
    assert_holds_for_singletons(cut, n)


@settings(max_examples=60, deadline=None)
@given(
    num_requests=st.integers(1, 8),
    sets=st.lists(st.lists(st.integers(0, 7), min_size=2, max_size=4, unique=True), max_size=5),
    picks=st.lists(st.integers(0, 7), min_size=1, max_size=8),
)
def test_conflicts_among_requests_agree_with_the_pairwise_lookup(
    num_requests: int, sets: list[list[int]], picks: list[int]
) -> None:
    """The matrix the cuts use (one product over the sets) says what `conflicting` says of each
    pair of requests, for any requests, repeated ones included."""
    conflict_sets = [sorted({r % num_requests for r in s}) for s in sets]
    conflict_sets = [s for s in conflict_sets if len(s) >= 2]
    data = ProblemData.build(
        num_volunteers=1, num_requests=num_requests, pair_volunteer=[0] * num_requests,
        pair_request=list(range(num_requests)), pair_cost=[1] * num_requests,
        conflict_sets=conflict_sets,
    )  # fmt: skip
    inc = Incidence.of(data)
    requests = np.array([r % num_requests for r in picks], dtype=np.int64)
    matrix = inc.conflicts_among(requests)
    for i, j in itertools.product(range(len(requests)), repeat=2):
        expected = i != j and bool(inc.conflicting(int(requests[i]), requests[[j]])[0])
        assert matrix[i, j] == expected, (i, j, requests.tolist(), conflict_sets)
    assert inc.volunteer_conflicts(0, data.pair_request).tolist() == inc.conflicts_among(
        np.arange(num_requests)
    ).tolist()
