"""The compiled inner loop of the local search (`local_search`): tabu search on one window.

A window is the slots of a set of volunteers as dense (slots x volunteers) matrices (see
`local_search._Window`). Each iteration evaluates every shift, and every swap and ejection chain
starting from a candidate list of slots, picks the best admissible move (aspiration first), applies
it and adapts the capacity prices. Written as plain loops compiled by numba: the neighbourhood is
re-evaluated tens of thousands of times a second, where numpy's per-call overhead held the
vectorised version to a few thousand; the GAP needs the many more iterations.

Arrays only, no domain objects; state arrays are updated in place so that the caller can run the
search in chunks of iterations (and check its deadline between them) and read the state back.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..problem import BoolArray, FloatArray, IntArray

__all__ = [
    "WindowArrays",
    "WindowState",
    "adapt_prices",
    "apply_move",
    "evaluate",
    "objective",
    "reset",
    "run",
]

# Status of a `run` call.
RUNNING = 0  # the iterations asked for are done
STUCK = 1  # no admissible move
STAGNANT = 2  # no new best within the patience (only when not endless)

SHIFT, SWAP, CHAIN = 0, 1, 2


class WindowArrays(NamedTuple):
    """What does not change during a window's search. `value[k, u]` is the objective of slot k
    on window volunteer u (inf where the pair does not exist), `size` its load; `clash[k1, k2]`
    that one volunteer cannot hold both slots (shape (0, 0) when nothing clashes)."""

    value: FloatArray
    size: IntArray
    valid: BoolArray
    movable: BoolArray
    capacity: IntArray
    max_pairs: IntArray
    clash: BoolArray
    fair_bp: FloatArray  # fairness breakpoints, sorted; the penalty is s1[i] * load - s2[i]
    fair_s1: FloatArray
    fair_s2: FloatArray
    fair_offset: FloatArray  # per volunteer: load counted before (the penalty's origin)
    # eps (weight of the soft terms), least and largest capacity price, up and down factors,
    # share of slots whose swaps and chains are searched in large windows
    reals: FloatArray
    # tenure (least, largest), windows up to this many slots search all swaps, patience,
    # endless (0/1), fairness terms present (0/1)
    ints: IntArray


class WindowState(NamedTuple):
    """The search's state, updated in place: volunteer of each slot, loads, pair counts,
    capacity prices, tabu expiry per (slot, volunteer), how many slots of each volunteer clash
    with each slot (shape (0, 0) without clashes), the best assignment, and counters
    (iteration, iteration of the last new best, improvements, moves, best's volunteers over
    capacity) with the best's objective."""

    assigned: IntArray
    load: IntArray
    pair_count: IntArray
    weight: FloatArray
    tabu: IntArray
    blocked: IntArray
    best: IntArray
    counters: IntArray
    best_objective: FloatArray


# Indices into `WindowArrays.reals`, `WindowArrays.ints` and `WindowState.counters`.
EPS, W_LO, W_HI, UP, DOWN, ROW_SHARE = range(6)
TENURE_LO, TENURE_HI, ALL_ROWS, PATIENCE, ENDLESS, FAIR = range(6)
ITER, LAST_BEST, IMPROVEMENTS, MOVES, BEST_OVER = range(5)


@njit(cache=True)
def _soft(a: WindowArrays, u: int, load: float) -> float:
    """eps times the fairness penalty of volunteer u at a load, from its offset (0 without
    fairness terms; the penalty of the offset alone is a constant, left in)."""
    if a.ints[FAIR] == 0:
        return 0.0
    total = load + a.fair_offset[u]
    i = np.searchsorted(a.fair_bp, total)
    return float(a.reals[EPS] * (a.fair_s1[i] * total - a.fair_s2[i]))


@njit(cache=True)
def objective(a: WindowArrays, s: WindowState) -> float:
    """Travel and soft terms of the window's slots (no capacity prices)."""
    total = 0.0
    for k in range(len(s.assigned)):
        total += a.value[k, s.assigned[k]]
    if a.ints[FAIR]:
        for u in range(len(s.load)):
            total += _soft(a, u, s.load[u])
    return total


@njit(cache=True)
def _over(a: WindowArrays, s: WindowState) -> int:
    n = 0
    for u in range(len(s.load)):
        if s.load[u] > a.capacity[u]:
            n += 1
    return n


@njit(cache=True)
def evaluate(
    a: WindowArrays,
    s: WindowState,
    rows: BoolArray,
    shift_out: FloatArray,
    swap_out: FloatArray,
    chain_out: FloatArray,
    chain_target: IntArray,
) -> tuple[int, int, int, int]:
    """The move to make: (kind, k1, k2 or -1, volunteer or -1), kind -1 when none is admissible.

    Every shift, and every swap and chain from the slots in `rows`, is priced by its change of
    the penalised objective (values, soft terms, weighted excess). A move that leads to a plan
    within capacity better than the best is taken first (aspiration, tabu or not); else the
    cheapest move that is not tabu. With non-empty `*_out` matrices, the change of every move
    the hard rules allow is written there (inf elsewhere), for tests."""
    n, m = a.value.shape
    it = s.counters[ITER]
    record = shift_out.size > 0
    has_clash = a.clash.shape[0] > 0
    fair = a.ints[FAIR] != 0
    slack = np.empty(m, dtype=np.int64)
    pen0 = np.empty(m)
    soft0 = np.zeros(m)
    n_over = 0
    total_over = 0
    for u in range(m):
        slack[u] = a.capacity[u] - s.load[u]
        over = max(-slack[u], 0)
        pen0[u] = s.weight[u] * over
        if over > 0:
            n_over += 1
            total_over += over
        if fair:
            soft0[u] = _soft(a, u, s.load[u])
    aspire = n_over <= 2  # a shift or swap touches two volunteers: only then can it end feasible
    target = np.inf
    if aspire and s.counters[BEST_OVER] == 0:
        target = s.best_objective[0] - objective(a, s) - 1e-9
    # Per slot: value on its volunteer, slack of that volunteer without it, its excess then,
    # and the change as the slot leaves.
    value_v = np.empty(n)
    slack_left = np.empty(n, dtype=np.int64)
    over_out = np.empty(n, dtype=np.int64)
    leave = np.empty(n)
    for k in range(n):
        v = s.assigned[k]
        value_v[k] = a.value[k, v]
        slack_left[k] = slack[v] + a.size[k, v]
        over_out[k] = max(-slack_left[k], 0)
        leave[k] = s.weight[v] * over_out[k] - pen0[v] - value_v[k]
        if fair:
            leave[k] += _soft(a, v, s.load[v] - a.size[k, v]) - soft0[v]
    best = np.inf
    move = (-1, -1, -1, -1)
    asp = np.inf
    asp_move = (-1, -1, -1, -1)
    # Shifts, and each slot's two best volunteers to go to (not tabu) for the chains.
    top1 = np.full(n, np.inf)
    top2 = np.full(n, np.inf)
    top1_u = np.full(n, -1, dtype=np.int64)
    top2_u = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        v = s.assigned[k]
        for u in range(m):
            if record:
                shift_out[k, u] = np.inf
            if u == v or not a.valid[k, u] or s.pair_count[u] >= a.max_pairs[u]:
                continue
            if has_clash and s.blocked[k, u] != 0:
                continue
            over_add = max(a.size[k, u] - slack[u], 0)
            add = a.value[k, u] + s.weight[u] * over_add - pen0[u]
            if fair:
                add += _soft(a, u, s.load[u] + a.size[k, u]) - soft0[u]
            tabu = s.tabu[k, u] > it
            if not tabu:
                if add < top1[k]:
                    top2[k], top2_u[k] = top1[k], top1_u[k]
                    top1[k], top1_u[k] = add, u
                elif add < top2[k]:
                    top2[k], top2_u[k] = add, u
            if not a.movable[k]:
                continue
            delta = add + leave[k]
            if record:
                shift_out[k, u] = delta
            if not tabu and delta < best:
                best, move = delta, (SHIFT, k, -1, u)
            if aspire:
                out = over_out[k] - max(-slack[v], 0)
                into = over_add - max(-slack[u], 0)
                if out + into == -total_over:
                    true = delta - s.weight[v] * out - s.weight[u] * into
                    if true < asp:
                        asp, asp_move = true, (SHIFT, k, -1, u)
    # Swaps and chains from `rows`: k1 enters k2's volunteer as k2 leaves it ("enter"); in a
    # swap k2 enters k1's volunteer as k1 leaves ("back"); in a chain k2 goes to its best
    # volunteer other than its own and k1's.
    asp_swap = np.inf
    asp_swap_move = (-1, -1, -1, -1)
    for k1 in range(n):
        if not rows[k1]:
            continue
        v1 = s.assigned[k1]
        for k2 in range(n):
            if record:
                swap_out[k1, k2] = np.inf
                chain_out[k1, k2] = np.inf
                chain_target[k1, k2] = -1
            v2 = s.assigned[k2]
            if v1 == v2 or not a.valid[k1, v2] or not a.movable[k1] or not a.movable[k2]:
                continue
            clash = has_clash and a.clash[k1, k2]
            if has_clash and s.blocked[k1, v2] - clash != 0:
                continue
            over_in = max(a.size[k1, v2] - slack_left[k2], 0)
            enter = a.value[k1, v2] + s.weight[v2] * over_in - pen0[v2]
            if fair:
                enter += _soft(a, v2, s.load[v2] - a.size[k2, v2] + a.size[k1, v2]) - soft0[v2]
            tabu_in = s.tabu[k1, v2] > it
            if a.valid[k2, v1] and not (has_clash and s.blocked[k2, v1] - clash != 0):
                over_back = max(a.size[k2, v1] - slack_left[k1], 0)
                back = a.value[k2, v1] + s.weight[v1] * over_back - pen0[v1]
                if fair:
                    back += _soft(a, v1, s.load[v1] - a.size[k1, v1] + a.size[k2, v1]) - soft0[v1]
                swap = enter + back - value_v[k1] - value_v[k2]
                if record:
                    swap_out[k1, k2] = swap
                if not tabu_in and s.tabu[k2, v1] <= it and swap < best:
                    best, move = swap, (SWAP, k1, k2, -1)
                if aspire:
                    into = over_in - max(-slack[v2], 0)
                    bk = over_back - max(-slack[v1], 0)
                    if into + bk == -total_over:
                        true = swap - s.weight[v2] * into - s.weight[v1] * bk
                        if true < asp_swap:
                            asp_swap, asp_swap_move = true, (SWAP, k1, k2, -1)
            if tabu_in:
                continue
            if top1_u[k2] == v1:
                third, u = top2[k2], top2_u[k2]
            else:
                third, u = top1[k2], top1_u[k2]
            if u < 0 or not np.isfinite(third):
                continue
            chain = enter + third + leave[k1] - value_v[k2]
            if record:
                chain_out[k1, k2] = chain
                chain_target[k1, k2] = u
            if chain < best:
                best, move = chain, (CHAIN, k1, k2, u)
    # Aspiration: the cheapest shift or swap to a feasible plan better than the best.
    if min(asp, asp_swap) < target:
        return asp_move if asp <= asp_swap else asp_swap_move
    if not np.isfinite(best):
        return (-1, -1, -1, -1)
    return move


@njit(cache=True)
def _shift(a: WindowArrays, s: WindowState, k: int, u: int, rng: np.random.Generator) -> None:
    v = s.assigned[k]
    s.load[v] -= a.size[k, v]
    s.load[u] += a.size[k, u]
    s.pair_count[v] -= 1
    s.pair_count[u] += 1
    s.assigned[k] = u
    if a.clash.shape[0] > 0:
        for j in range(len(s.assigned)):
            if a.clash[j, k]:
                s.blocked[j, v] -= 1
                s.blocked[j, u] += 1
    lo, hi = a.ints[TENURE_LO], a.ints[TENURE_HI]
    s.tabu[k, v] = s.counters[ITER] + rng.integers(lo, hi + 1)


@njit(cache=True)
def apply_move(
    a: WindowArrays, s: WindowState, kind: int, k1: int, k2: int, u: int, rng: np.random.Generator
) -> None:
    """Make a move returned by `evaluate` (tabu: the slots may not return for a while)."""
    if kind == SHIFT:
        _shift(a, s, k1, u, rng)
    elif kind == SWAP:
        v1, v2 = s.assigned[k1], s.assigned[k2]
        _shift(a, s, k1, v2, rng)
        _shift(a, s, k2, v1, rng)
    else:
        v2 = s.assigned[k2]
        _shift(a, s, k1, v2, rng)
        _shift(a, s, k2, u, rng)


@njit(cache=True)
def reset(a: WindowArrays, s: WindowState, assigned: IntArray) -> None:
    """Back to `assigned` with fresh tabu memory (loads and clashes recounted)."""
    n = a.value.shape[0]
    s.assigned[:] = assigned
    s.load[:] = 0
    s.pair_count[:] = 0
    for k in range(n):
        s.load[assigned[k]] += a.size[k, assigned[k]]
        s.pair_count[assigned[k]] += 1
    if a.clash.shape[0] > 0:
        s.blocked[:] = 0
        for j in range(n):
            for k in range(n):
                if a.clash[j, k]:
                    s.blocked[j, assigned[k]] += 1
    s.tabu[:] = 0


@njit(cache=True)
def adapt_prices(a: WindowArrays, s: WindowState, value: float) -> None:
    """After a move, the capacity prices of the plan in hand (objective `value`): up for each
    volunteer over capacity while the penalised plan still looks better than the best plan within
    capacity (the prices are too low to keep the search out of it); else all down, so that the
    search may cross capacity again. Weighing the excess against the best plan, rather than
    raising the price of any excess, keeps the search near the feasible plans worth having: on
    types D and E up to 200 jobs it halved the distance to the best known (docs/engines.md)."""
    m = len(s.load)
    penalty = 0.0
    for v in range(m):
        penalty += s.weight[v] * max(s.load[v] - a.capacity[v], 0)
    promising = s.counters[BEST_OVER] > 0 or value + penalty < s.best_objective[0] - 1e-9
    if penalty > 0.0 and promising:
        for v in range(m):
            if s.load[v] > a.capacity[v]:
                s.weight[v] = min(s.weight[v] * (1.0 + a.reals[UP]), a.reals[W_HI])
    else:
        for v in range(m):
            s.weight[v] = max(s.weight[v] * (1.0 - a.reals[DOWN]), a.reals[W_LO])


@njit(cache=True, nogil=True)  # beside a MIP, in a second thread (`BackgroundSearch`)
def run(a: WindowArrays, s: WindowState, iterations: int, rng: np.random.Generator) -> int:
    """Up to `iterations` more tabu iterations; returns RUNNING, STUCK or STAGNANT. Whatever it
    returns, `s.best` holds the best assignment seen (within capacity first, then objective)."""
    n = a.value.shape[0]
    empty2 = np.empty((0, 0))
    empty_target = np.empty((0, 0), dtype=np.int64)
    rows = np.ones(n, dtype=np.bool_)
    all_rows = n <= a.ints[ALL_ROWS]
    patience = a.ints[PATIENCE]
    endless = a.ints[ENDLESS] != 0
    c = s.counters
    for _ in range(iterations):
        c[ITER] += 1
        if not all_rows:
            for k in range(n):
                v = s.assigned[k]
                rows[k] = rng.random() < a.reals[ROW_SHARE] or s.load[v] > a.capacity[v]
        kind, k1, k2, u = evaluate(a, s, rows, empty2, empty2, empty2, empty_target)
        if kind < 0:
            return STUCK
        apply_move(a, s, kind, k1, k2, u, rng)
        c[MOVES] += 1
        over = _over(a, s)
        value = objective(a, s)
        adapt_prices(a, s, value)
        best_over = c[BEST_OVER]
        if over < best_over or (over == best_over and value < s.best_objective[0] - 1e-9):
            c[BEST_OVER] = over
            s.best_objective[0] = value
            s.best[:] = s.assigned
            c[LAST_BEST] = c[ITER]
            c[IMPROVEMENTS] += 1
        elif c[ITER] - c[LAST_BEST] > patience:
            if not endless:
                return STAGNANT
            # Intensify: back to the best plan, with fresh tabu memory.
            reset(a, s, s.best)
            c[LAST_BEST] = c[ITER]
    return RUNNING
