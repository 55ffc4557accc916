"""Improving a plan once the exact tiers stop: local search first, then large-neighbourhood
search with exact small MIPs as the move.

The local search (`local_search`: tabu search with shift, swap and ejection-chain moves under
adaptive capacity penalties) is the main improver: it makes thousands of moves a second where a
sub-MIP on a tight knapsack takes 0.2-1 s, and it can repair plans that break load caps (from
the LP rounding it is given as `hint`, or after staffing the mandatory requests in `staff`). It
keeps every request's headcount, so on problems it searches window by window (the large ones)
the last share of the time goes to the sub-MIPs, which can also change coverage.

Each LNS step frees every pair of a few related volunteers (those around one request: its current
volunteers and some of its other candidates), holds everything else fixed, and solves the freed
sub-problem exactly under one weighted objective that respects the tier order. The result is
kept only if the whole plan is lexicographically better. Neighbourhoods grow while steps are
cheap and fruitless, and shrink when a step is slow.
"""

from __future__ import annotations

import numpy as np

from ..objective import lexicographic_key
from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline
from .decompose import net_of_held, restrict
from .formulation import formulate
from .kernels import ready
from .local_search import local_search, searched_whole
from .milp import solve_milp
from .state import Incidence

__all__ = ["improve"]

_MAX_FREE_PAIRS = 3000
_STEP_SECONDS = 0.25
# Share of the time left to the sub-MIPs on problems the local search splits into windows.
_LNS_SHARE = 0.15


def improve(
    data: ProblemData,
    selected: BoolArray,
    deadline: Deadline,
    control: Control,
    *,
    seed: int,
    staff: IntArray | None = None,
    hint: FloatArray | None = None,
    alternative: BoolArray | None = None,
) -> BoolArray:
    """Improve `selected` until the deadline or a stop request; never returns a worse plan.
    `staff`: mandatory requests the plan leaves short; `hint`: a fractional plan (an LP
    optimum) to round into a second start; `alternative`: another plan to start from (see
    `local_search`)."""
    if data.num_volunteers < 2 or data.num_pairs == 0:
        return selected
    if ready():  # else its compiled loop is still being made ready: the sub-MIPs take the time
        share = 1.0 if searched_whole(data, selected) else 1.0 - _LNS_SHARE
        searched = local_search(
            data, selected, Deadline(deadline.remaining() * share), control,
            seed=seed, staff=staff, hint=hint, alternative=alternative,
        )  # fmt: skip
        if lexicographic_key(data, searched) > lexicographic_key(data, selected):
            selected = searched
    rng = np.random.default_rng(seed)
    inc = Incidence.of(data)
    current = selected.copy()
    best_key = lexicographic_key(data, current)
    size = 2
    fruitless = 0
    requests_with_pairs = np.flatnonzero(np.diff(inc.request_ptr) > 0)
    while not deadline.expired() and not control.should_stop():
        volunteers = _neighbourhood(data, inc, current, requests_with_pairs, size, rng)
        candidate, seconds = _reoptimise(data, inc, current, volunteers, deadline)
        if candidate is not None:
            key = lexicographic_key(data, candidate)
            if key > best_key:
                current, best_key, fruitless = candidate, key, 0
                continue
        fruitless += 1
        if seconds > 0.5 * _STEP_SECONDS:
            size = max(2, size - 1)
        elif fruitless > 4 * size:
            size = min(size + 1, data.num_volunteers)
            fruitless = 0
    return current


def _neighbourhood(
    data: ProblemData,
    inc: Incidence,
    current: BoolArray,
    requests: IntArray,
    size: int,
    rng: np.random.Generator,
) -> IntArray:
    """About `size` volunteers around a random request: who holds it now, then its other
    candidates, nearest first with random skips, then the holders of their requests."""
    seed_request = int(rng.choice(requests))
    pairs = inc.pairs_of_request(seed_request)
    holders = data.pair_volunteer[pairs[current[pairs]]]
    others = data.pair_volunteer[pairs[~current[pairs]]]
    keep = rng.random(len(others)) < 0.5
    chosen = list(dict.fromkeys([*holders.tolist(), *others[keep].tolist(), *others.tolist()]))
    if len(chosen) < size:
        extra = rng.choice(data.num_volunteers, size=min(size, data.num_volunteers), replace=False)
        chosen.extend(v for v in extra.tolist() if v not in chosen)
    return np.asarray(chosen[:size], dtype=np.int64)


def _reoptimise(
    data: ProblemData, inc: Incidence, current: BoolArray, volunteers: IntArray, deadline: Deadline
) -> tuple[BoolArray | None, float]:
    """Free all pairs of `volunteers`, hold the rest, solve the freed part exactly."""
    free = np.concatenate([inc.pairs_of_volunteer(int(v)) for v in volunteers])
    held = current.copy()
    held[free] = False
    held_count = np.bincount(data.pair_request[held], minlength=data.num_requests)
    room = data.request_max - held_count
    free = free[(room[data.pair_request[free]] > 0) | current[free]]
    # Every request left has room: a free pair is either chosen now (so held pairs leave room
    # for it) or its request is below its maximum.
    if len(free) == 0:
        return None, 0.0
    if len(free) > _MAX_FREE_PAIRS:
        free = free[np.argsort(~current[free], kind="stable")[:_MAX_FREE_PAIRS]]
    free = np.sort(free)
    part = restrict(data, free, held)
    sub = net_of_held(part.data, held_count[part.requests])
    return _solve_sub(free, held, sub, deadline)


def _solve_sub(
    free: IntArray, held: BoolArray, sub: ProblemData, deadline: Deadline
) -> tuple[BoolArray | None, float]:
    form = formulate(sub)
    cost = sub.pair_cost.astype(float)
    bonus = sub.pair_bonus
    # Weights that keep the tier order inside this small problem: a unit of coverage outweighs
    # any travel difference, a metre outweighs any bonus difference.
    w_travel = float(np.abs(bonus).sum()) + 1.0
    w_cover = w_travel * (float(np.abs(cost).sum()) + 1.0) + w_travel
    objective = np.zeros(form.num_vars)
    objective[: sub.num_pairs] = (
        w_cover * sub.request_priority[sub.pair_request] - w_travel * cost + bonus
    )
    outcome = solve_milp(
        form,
        objective,
        maximize=True,
        time_limit_s=min(_STEP_SECONDS, deadline.remaining()),
        abs_gap=0.5,
    )
    if outcome.values is None:
        return None, outcome.seconds
    out = held.copy()
    out[free[outcome.values[: sub.num_pairs] > 0.5]] = True
    return out, outcome.seconds
