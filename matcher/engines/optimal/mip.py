"""One MIP of a tier, with the second worker's search beside it.

HiGHS runs on one core and releases the GIL, so with two workers a MIP of a second or more on a
part the local search takes whole has the search run beside it in a second thread, from the plan
in hand (on D-type GAPs HiGHS spent 7.8 s of 10 finding a worse plan than the search's). On a
GAP-shaped part, column-generation dives come first (`column_dive`: they need no plan to start
from). Elsewhere a plan in hand that breaks a rule or leaves a mandatory request short is first
replaced by a short MIP's (HiGHS found one in a tenth of a second on the D-type GAPs, where the
search spent seconds repairing the greedy plan); without one, the MIP runs alone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ...problem import BoolArray, FloatArray
from ..formulation import Formulation
from ..kernels import ready
from ..local_search import BackgroundSearch, searched_whole
from ..milp import EVERY_HEURISTIC, Heuristics, MilpOutcome, Solved, solve_milp
from .budget import FIRST_PLAN_SHARE
from .state import PartState
from .tiers import Tier

__all__ = ["SideMip", "abs_gap", "has_search_beside", "run_mip", "tier_mip", "two_cores"]

# With two workers, a MIP given at least this many seconds on a part the local search takes whole
# has the search run beside it, from the plan in hand.
_BESIDE_MIN_S = 1.0
# Cores this process may run on: with one, a second worker would only slow HiGHS down.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tier_mip(
    state: PartState,
    form: Formulation,
    objective: FloatArray,
    tier: Tier,
    seconds: float,
    *,
    gap: float,
    heuristics: Heuristics = EVERY_HEURISTIC,
) -> tuple[MilpOutcome, BoolArray | None]:
    """A tier's MIP for at most `seconds` (stopping within `gap` of the optimum), and the plan
    of the local search run beside it on the second worker (None without one);
    `heuristics` as in `milp.solve_milp`."""

    def solve(limit: float) -> MilpOutcome:
        return run_mip(
            state, form, objective, maximize=tier.maximize, seconds=limit, gap=gap,
            heuristics=heuristics,
        )  # fmt: skip

    if not has_search_beside(state, seconds):
        return solve(seconds), None
    started = time.perf_counter()
    shape = state.gap_shape()
    if shape is None and state.data.violations(state.incumbent) != (0, 0):
        first = solve(FIRST_PLAN_SHARE * seconds)
        if first.solved in (Solved.OPTIMAL, Solved.INFEASIBLE):
            return first, None
        state.take(form, first)
        if state.data.violations(state.incumbent) != (0, 0):  # no plan yet: the MIP alone
            return solve(seconds - (time.perf_counter() - started)), None
    search = BackgroundSearch(
        state.data, state.incumbent, seconds, state.control, seed=state.params.seed, gap=shape,
    )  # fmt: skip
    try:
        outcome = solve(seconds - (time.perf_counter() - started))
    except BaseException:
        search.stop(raise_error=False)  # never leave the search running past its MIP
        raise
    searched = search.stop()
    state.count("beside_iterations", search.stats.iterations)
    state.count("beside_dives", search.dive_stats.dives)
    state.count("beside_dive_lp_solves", search.dive_stats.lp_solves)
    return outcome, searched


def run_mip(
    state: PartState,
    form: Formulation,
    objective: FloatArray,
    *,
    maximize: bool,
    seconds: float,
    gap: float,
    stop_at: Callable[[], float] | None = None,
    on_improved: Callable[[float], None] | None = None,
    heuristics: Heuristics = EVERY_HEURISTIC,
) -> MilpOutcome:
    """One MIP, started from the plan in hand and stopped on request: every MIP of the optimal
    engine goes through here."""
    return solve_milp(
        form, objective, maximize=maximize, time_limit_s=seconds, abs_gap=gap,
        start=form.start(state.data, state.incumbent), should_stop=state.control.should_stop,
        stop_at=stop_at, on_improved=on_improved, heuristics=heuristics,
    )  # fmt: skip


class SideMip:
    """A MIP on the second worker while this thread solves another (HiGHS releases the GIL, so
    both use a core). `join()` waits for it and returns its outcome, or raises its error."""

    def __init__(self, solve: Callable[[], MilpOutcome]) -> None:
        self._outcome: MilpOutcome | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._outcome = solve()
            except BaseException as exc:  # handed to the caller by join()
                self._error = exc

        self._thread = threading.Thread(target=run, name="side-mip", daemon=True)
        self._thread.start()

    def join(self) -> MilpOutcome:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome


def two_cores(state: PartState) -> bool:
    """Whether this solve may keep two threads busy."""
    return state.params.workers >= 2 and _CORES >= 2


def has_search_beside(state: PartState, seconds: float) -> bool:
    """Whether a MIP of `seconds` has the search (or the column dive) run beside it."""
    return (
        two_cores(state)
        and not state.side_busy
        and seconds >= _BESIDE_MIN_S
        and searched_whole(state.data, state.incumbent)
        and ready()
    )


def abs_gap(state: PartState, tier: Tier) -> float:
    """The absolute gap at which a tier's MIP may stop: under one unit proves an integral
    objective (under `step` with a tie-breaker); travel (tier 2) stops at the engine's relative
    travel gap."""
    if tier.number == 2:
        return max(state.params.travel_gap * state.value(tier), 0.999)
    return tier.step - 0.001 if tier.tie else 0.999
