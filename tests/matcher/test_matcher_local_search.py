"""The local search (`matcher.engines.local_search`) and its place in `lns.improve`.

- On random problems with every hard rule of the array form (loads and caps, pair caps,
  conflict sets, headcount bounds, mandatory requests, pinned pairs), the plan it returns keeps
  the rules the start kept and is never lexicographically worse than the start.
- Hand-made instances where only a shift, only a swap, or only an ejection chain improves the
  plan (the others are blocked by capacity), and one where a mandatory request can be staffed
  only after moving someone else.
- Deadlines and stop requests are honoured; the same seed and iteration budget give the same
  plan.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.gap import GapInstance, to_problem
from matcher import Control, ProblemData
from matcher.engines import tabu_kernel as kernel
from matcher.engines.base import Deadline
from matcher.engines.greedy import greedy_selection
from matcher.engines.kernels import warm_up
from matcher.engines.lns import improve
from matcher.engines.local_search import (
    BackgroundSearch,
    SearchStats,
    _Search,
    _Static,
    _Window,
    local_search,
)
from matcher.objective import lexicographic_key


def random_problem(seed: int, nv: int = 8, nr: int = 12, density: float = 0.6) -> ProblemData:
    """A random problem using every rule of the array form."""
    rng = np.random.default_rng(seed)
    keep = rng.random((nv, nr)) < density
    v, r = np.nonzero(keep)
    n = len(v)
    sets = [sorted(rng.choice(nr, size=3, replace=False).tolist()) for _ in range(nr // 4)]
    request_max = rng.integers(1, 3, nr)
    pinned = np.zeros(n, dtype=bool)
    if n and rng.random() < 0.5:
        pinned[rng.integers(n)] = True
    return ProblemData.build(
        num_volunteers=nv,
        num_requests=nr,
        pair_volunteer=v,
        pair_request=r,
        pair_cost=rng.integers(0, 100, n),
        pair_load=rng.integers(1, 6, n),
        volunteer_capacity=rng.integers(4, 12, nv),
        volunteer_max_pairs=rng.integers(1, 4, nv),
        request_min=np.minimum(rng.integers(1, 3, nr), request_max),
        request_max=request_max,
        request_mandatory=rng.random(nr) < 0.3,
        request_priority=rng.integers(1, 4, nr),
        pair_bonus=rng.random(n) * (rng.random(n) < 0.3),
        pair_pinned=pinned,
        conflict_sets=sets,
    )


def gap_problem(cost: list[list[int]], load: list[list[int]], capacity: list[int]) -> ProblemData:
    """A generalised assignment problem (agents x jobs), as the GAP benchmark builds it."""
    instance = GapInstance("hand", np.asarray(cost), np.asarray(load), np.asarray(capacity), False)
    data: ProblemData = to_problem(instance)
    return data


def plan(data: ProblemData, agent_of_job: list[int]) -> np.ndarray:
    """Selection of a GAP built by `gap_problem` from each job's agent."""
    selected = np.zeros(data.num_pairs, dtype=bool)
    n = data.num_requests
    for job, agent in enumerate(agent_of_job):
        selected[agent * n + job] = True
    return selected


def search(data: ProblemData, selected: np.ndarray, **kwargs: object) -> np.ndarray:
    options: dict[str, object] = {"seed": 0, "max_iterations": 300, **kwargs}
    return local_search(data, selected, Deadline(30.0), Control(), **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Hard rules and never worse
# --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_random_problems_keep_rules_and_never_get_worse(seed: int) -> None:
    data = random_problem(seed)
    start = greedy_selection(data).selected.copy()
    out = search(data, start, seed=seed % 7, max_iterations=150)
    structural, staffing = data.violations(out)
    before = data.violations(start)
    assert structural <= before[0]
    assert staffing <= before[1]
    if before == (0, 0):
        assert (structural, staffing) == (0, 0)
    assert lexicographic_key(data, out) >= lexicographic_key(data, start)
    # Coverage and headcounts are those of the start: the search moves slots, never drops them.
    filled = np.bincount(data.pair_request[out], minlength=data.num_requests)
    assert np.array_equal(
        filled, np.bincount(data.pair_request[start], minlength=data.num_requests)
    )
    assert np.all(out[data.pair_pinned & start])


@pytest.mark.parametrize("seed", range(6))
def test_improve_never_returns_a_worse_plan(seed: int) -> None:
    data = random_problem(seed, nv=10, nr=16)
    start = greedy_selection(data).selected.copy()
    out = improve(data, start, Deadline(0.3), Control(), seed=seed)
    assert lexicographic_key(data, out) >= lexicographic_key(data, start)


def test_large_windowed_problem_keeps_rules() -> None:
    """More slots than one window holds: the search goes window by window."""
    data = random_problem(3, nv=150, nr=600, density=0.05)
    start = greedy_selection(data).selected.copy()
    stats = SearchStats()
    out = search(data, start, max_iterations=600, stats=stats)
    assert stats.windows > 1
    assert data.violations(out)[0] <= data.violations(start)[0]
    assert lexicographic_key(data, out) >= lexicographic_key(data, start)


# --------------------------------------------------------------------------------------------
# Hand-made instances with one known better move
# --------------------------------------------------------------------------------------------


def test_shift_to_a_cheaper_volunteer() -> None:
    data = gap_problem(cost=[[5, 1], [1, 1]], load=[[1, 1], [1, 1]], capacity=[2, 2])
    out = search(data, plan(data, [0, 0]))
    assert int(data.pair_cost[out].sum()) == 2  # job 0 moves to agent 1


def test_swap_when_capacity_blocks_every_shift() -> None:
    """Both agents are full (capacity 2, loads 2): no job can move alone; trading the two jobs
    saves 8."""
    data = gap_problem(cost=[[5, 1], [1, 5]], load=[[2, 2], [2, 2]], capacity=[2, 2])
    out = search(data, plan(data, [0, 1]))
    assert int(data.pair_cost[out].sum()) == 2


def test_ejection_chain_when_a_swap_is_too_dear() -> None:
    """Each agent holds at most one job (loads 3, capacity 3). Job 0 is cheap on agent 1, where
    job 1 sits; sending job 1 back to agent 0 (a swap) costs 100, to the empty agent 2 only 6:
    job 0 to agent 1 with job 1 ejected to agent 2 saves 7."""
    data = gap_problem(
        cost=[[9, 100], [1, 5], [50, 6]],
        load=[[3, 3], [3, 3], [3, 3]],
        capacity=[3, 3, 3],
    )
    out = search(data, plan(data, [0, 1]))
    assert int(data.pair_cost[out].sum()) == 7
    assert data.violations(out) == (0, 0)


def test_staffs_a_short_mandatory_request_by_moving_someone_else() -> None:
    """Job 1 (mandatory) has only agent 0, who is busy with job 0; job 0 could go to agent 1."""
    data = ProblemData.build(
        num_volunteers=2,
        num_requests=2,
        pair_volunteer=[0, 0, 1],
        pair_request=[0, 1, 0],
        pair_cost=[1, 1, 3],
        pair_load=[2, 2, 2],
        volunteer_capacity=[2, 2],
        request_mandatory=[True, True],
    )
    start = np.array([True, False, False])
    out = search(data, start, staff=np.array([1]))
    assert out.tolist() == [False, True, True]
    assert data.violations(out) == (0, 0)
    # Without `staff` the same plan is only polished, never given more pairs.
    assert search(data, start).sum() == 1


def test_conflicts_and_pair_caps_are_never_broken() -> None:
    """Volunteer 1 is cheaper for both requests but may hold only one of two conflicting
    requests; the search moves exactly one there."""
    data = ProblemData.build(
        num_volunteers=2,
        num_requests=2,
        pair_volunteer=[0, 0, 1, 1],
        pair_request=[0, 1, 0, 1],
        pair_cost=[10, 10, 1, 2],
        pair_load=[1, 1, 1, 1],
        conflict_sets=[[0, 1]],
    )
    out = search(data, np.array([True, True, False, False]))
    assert out.tolist() == [False, True, True, False]
    assert data.violations(out) == (0, 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_move_values_match_a_recount(seed: int) -> None:
    """Every shift, swap and chain the search evaluates changes the penalised objective (travel,
    soft terms, priced excess) by exactly the value it was given; loads broken on purpose so
    that the capacity prices matter. Also with conflict sets, bonuses and fairness terms."""
    base = random_problem(seed, nv=6, nr=14, density=0.8)
    data = replace(
        base,
        volunteer_max_pairs=np.full(6, 6),
        fairness_breakpoints=np.array([4, 8]),
        fairness_slopes=np.array([0.5, 1.0]),
    )
    start = greedy_selection(data).selected.copy()
    search_ = _Search(_Static(data), start, np.random.default_rng(seed))
    window = _Window(search_, search_.all_volunteers())
    state = window.state
    state.weight[:] = np.random.default_rng(seed).random(window.m) * 10
    window.arrays.capacity[:] = np.maximum(window.arrays.capacity - 3, 0)  # some over capacity
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(20):
        state.counters[kernel.ITER] += 1
        chosen, shift, swap, chain, target = window.moves()
        for kind, values in ((kernel.SHIFT, shift), (kernel.SWAP, swap), (kernel.CHAIN, chain)):
            allowed = np.argwhere(np.isfinite(values))
            for a, b in allowed[rng.permutation(len(allowed))[:5]].tolist():
                saved = [field.copy() for field in state]
                before = window.penalised()
                if kind == kernel.SHIFT:
                    move = (kind, a, -1, b)
                else:
                    move = (kind, a, b, int(target[a, b]))
                kernel.apply_move(window.arrays, state, *move, rng)
                assert window.penalised() - before == pytest.approx(values[a, b], abs=1e-6)
                for field, old in zip(state, saved, strict=True):
                    field[...] = old
                checked += 1
        if chosen[0] >= 0:
            kernel.apply_move(window.arrays, state, *chosen, rng)
    assert checked > 50


def _window_with_one_over(seed: int) -> tuple[_Window, int, float]:
    """A window whose first volunteer holding a slot is over capacity by one, its capacity prices
    all 1, and the objective of its plan."""
    data = random_problem(seed, nv=6, nr=14, density=0.8)
    start = greedy_selection(data).selected.copy()
    search_ = _Search(_Static(data), start, np.random.default_rng(seed))
    window = _Window(search_, search_.all_volunteers())
    state = window.state
    over = int(state.assigned[0])
    window.arrays.capacity[:] = np.maximum(window.arrays.capacity, state.load)
    window.arrays.capacity[over] = state.load[over] - 1
    state.weight[:] = 1.0
    return window, over, window.objective()


def test_prices_rise_where_the_excess_looks_better_than_the_best_plan() -> None:
    """Over capacity, and the penalised plan below the best plan within capacity: the prices are
    too low to keep the search out, so the volunteer over capacity gets dearer, the others not."""
    window, over, value = _window_with_one_over(4)
    state = window.state
    state.counters[kernel.BEST_OVER] = 0
    state.best_objective[0] = value + 10.0  # the best plan within capacity is dearer
    kernel.adapt_prices(window.arrays, state, value)
    assert state.weight[over] == pytest.approx(1.0 + window.arrays.reals[kernel.UP])
    assert np.all(np.delete(state.weight, over) == 1.0)


def test_prices_fall_where_the_excess_is_no_better_than_the_best_plan() -> None:
    """Over capacity, but the penalised plan already costs more than the best plan within
    capacity: the excess is not worth keeping out at a higher price, so every price falls and
    the search may cross capacity again (raising it here kept D-type searches out of reach of
    the best plans)."""
    window, _, value = _window_with_one_over(5)
    state = window.state
    state.counters[kernel.BEST_OVER] = 0
    state.best_objective[0] = value - 10.0  # the best plan within capacity is cheaper
    kernel.adapt_prices(window.arrays, state, value)
    assert np.all(state.weight == pytest.approx(1.0 - window.arrays.reals[kernel.DOWN]))


def test_prices_rise_on_any_excess_until_a_plan_within_capacity_is_known() -> None:
    window, over, value = _window_with_one_over(6)
    state = window.state
    state.counters[kernel.BEST_OVER] = 1
    state.best_objective[0] = value - 10.0
    kernel.adapt_prices(window.arrays, state, value)
    assert state.weight[over] == pytest.approx(1.0 + window.arrays.reals[kernel.UP])


def test_prices_fall_within_capacity() -> None:
    window, over, value = _window_with_one_over(7)
    state = window.state
    window.arrays.capacity[over] += 1
    state.counters[kernel.BEST_OVER] = 0
    state.best_objective[0] = value + 10.0
    kernel.adapt_prices(window.arrays, state, value)
    assert np.all(state.weight == pytest.approx(1.0 - window.arrays.reals[kernel.DOWN]))


# --------------------------------------------------------------------------------------------
# Deadlines, stop requests, determinism
# --------------------------------------------------------------------------------------------


def test_background_search_returns_a_plan_no_worse_than_its_start() -> None:
    warm_up()  # so that the thread searches at once rather than loading the compiled loop
    data = random_problem(8, nv=8, nr=16, density=0.7)
    start = greedy_selection(data).selected.copy()
    search = BackgroundSearch(data, start, 30.0, Control(), seed=0)
    waited = time.perf_counter()
    while search.stats.iterations == 0 and time.perf_counter() - waited < 20.0:
        time.sleep(0.05)
    plan = search.stop()
    assert plan is not None
    assert data.violations(plan)[0] == 0
    assert lexicographic_key(data, plan) >= lexicographic_key(data, start)
    assert search.stats.iterations > 0


def test_background_search_hands_its_error_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("search failed")

    monkeypatch.setattr(
        importlib.import_module("matcher.engines.local_search"), "local_search", broken
    )
    data = random_problem(9)
    search = BackgroundSearch(data, greedy_selection(data).selected, 1.0, Control(), seed=0)
    with pytest.raises(RuntimeError, match="search failed"):
        search.stop()


def test_deadline_is_honoured() -> None:
    data = random_problem(5, nv=200, nr=800, density=0.05)
    start = greedy_selection(data).selected.copy()
    started = time.perf_counter()
    out = local_search(data, start, Deadline(0.3), Control(), seed=0)
    assert time.perf_counter() - started < 2.0
    assert lexicographic_key(data, out) >= lexicographic_key(data, start)


def test_stop_request_is_honoured() -> None:
    data = random_problem(6, nv=60, nr=120)
    start = greedy_selection(data).selected.copy()
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    stats = SearchStats()
    local_search(data, start, Deadline(60.0), Control(should_stop=stop), seed=0, stats=stats)
    assert stats.seconds < 10.0


@pytest.mark.parametrize("seed", [0, 1])
def test_same_seed_same_plan(seed: int) -> None:
    data = random_problem(11, nv=30, nr=60)
    start = greedy_selection(data).selected.copy()
    first = search(data, start, seed=seed, max_iterations=400)
    second = search(data, start, seed=seed, max_iterations=400)
    assert np.array_equal(first, second)


def test_a_failing_column_dive_leaves_the_search_its_plan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The dives are a heuristic: should they fail, the search goes on from the plan given."""
    import importlib

    from matcher.engines.column_dive import gap_shape

    module = importlib.import_module("matcher.engines.local_search")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(module, "column_dive", broken)
    rng = np.random.default_rng(3)
    pv, pr = np.divmod(np.arange(4 * 10), 10)
    data = ProblemData.build(
        num_volunteers=4, num_requests=10, pair_volunteer=pv, pair_request=pr,
        pair_cost=rng.integers(1, 50, 40), pair_load=rng.integers(1, 10, 40),
        volunteer_capacity=np.full(4, 30), request_mandatory=np.ones(10, dtype=bool),
    )  # fmt: skip
    gap = gap_shape(data)
    assert gap is not None
    start = greedy_selection(data).selected
    with caplog.at_level("WARNING"):
        search = BackgroundSearch(data, start, 0.5, Control(), seed=0, gap=gap)
        plan = search.stop()
    assert plan is not None  # the search's, from `start`
    assert "column dive failed (RuntimeError: broken on purpose)" in caplog.text
