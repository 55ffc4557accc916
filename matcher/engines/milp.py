"""One call of a MIP solver on a `Formulation`: HiGHS through `highspy`.

HiGHS was chosen by measurement (see docs/engines.md): OR-Tools' own HiGHS wrapper returns no
solution when its time limit strikes, and SCIP is slower on these models. `highspy` rather than
`scipy.optimize.milp`, because it takes a plan to start from (the engine always has one), stops
when asked (a callback polled inside the branch and bound and the simplex, so a cancelled run
does not wait for HiGHS's time limit), and reports each better plan as HiGHS finds it.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from highspy import _core as highs  # the bare solver class: `highspy.Highs` prints a banner
from highspy import cb

from ..problem import FloatArray
from .formulation import Formulation

__all__ = ["EVERY_HEURISTIC", "MAX_COLUMNS", "Heuristics", "MilpOutcome", "Solved", "solve_milp"]

log = logging.getLogger(__name__)

# HiGHS presolve grows superlinearly with clique rows (80 s on an 87,000-column model, measured)
# and checks for a stop only between its passes: only models up to this size get it.
_PRESOLVE_MAX_VARS = 20_000
_PROBING = 1 << 15  # HiGHS's presolve rule 15 (probing), for `presolve_rule_off`
# Larger models are not given to HiGHS at all: at the root it rounds along the line from the LP
# optimum to an analytic centre, propagating every rounded point, with no option to skip it and
# no check of the time limit (22 of the 24 s of a 24,908-column coverage MIP), and on city weeks
# of 21,000-32,000 columns and more it ran past 2 s limits (minutes past a 5 s one at 90,000
# columns), with presolve or without. Callers keep their MIPs within this (restricted columns,
# sub-MIPs).
MAX_COLUMNS = 20_000
_COLWISE = 1  # HiGHS's MatrixFormat.kColwise
# How far past its time limit a solve may run before the callbacks interrupt it, and then before
# it is abandoned.
_GRACE_S = 0.2
_ABANDON_S = 0.3
_INTERRUPTS = (
    cb.HighsCallbackType.kCallbackMipInterrupt,
    cb.HighsCallbackType.kCallbackSimplexInterrupt,
    cb.HighsCallbackType.kCallbackIpmInterrupt,
)
_IMPROVED = cb.HighsCallbackType.kCallbackMipImprovingSolution
_MIP_INTERRUPT = cb.HighsCallbackType.kCallbackMipInterrupt


class Solved(Enum):
    OPTIMAL = "optimal"  # proven within the requested gap
    FEASIBLE = "feasible"  # a solution, not proven (time limit or stop)
    INFEASIBLE = "infeasible"  # proven: no solution exists
    UNKNOWN = "unknown"  # no solution found in time


@dataclass(frozen=True)
class Heuristics:
    """Which of HiGHS's own heuristics a solve runs (the defaults: all of them).

    `feasibility_jump`: off, the feasibility jump is skipped where the start plan keeps every
    row. `root_reduced_cost`: off, the root's reduced-cost sub-MIP is skipped. Both cost the
    MIPs of whole parts time for nothing; on restricted columns the feasibility jump pays
    (docs/engines.md, "Whole parts")."""

    feasibility_jump: bool = True
    root_reduced_cost: bool = True


EVERY_HEURISTIC = Heuristics()


@dataclass(frozen=True, eq=False)
class MilpOutcome:
    solved: Solved
    values: FloatArray | None  # rounded to integers where integral
    objective: float | None  # in the caller's sense (maximise gives the maximum)
    bound: float | None  # proven bound in the caller's sense
    seconds: float


def solve_milp(
    form: Formulation,
    objective: FloatArray,
    *,
    maximize: bool,
    time_limit_s: float,
    abs_gap: float = 0.999,
    start: FloatArray | None = None,
    should_stop: Callable[[], bool] | None = None,
    stop_at: Callable[[], float] | None = None,
    on_improved: Callable[[float], None] | None = None,
    heuristics: Heuristics = EVERY_HEURISTIC,
) -> MilpOutcome:
    """Optimise `objective` over `form`. `abs_gap` is the absolute gap at which the solve may
    stop and call the result optimal (below 1 proves an integer objective exactly). `start` (a
    value per variable) is a plan HiGHS starts from if it keeps every row; `should_stop` is
    polled while HiGHS works (a stop returns the best plan so far); `stop_at` gives a value
    already attained elsewhere (another solve's plan): the solve stops once its proven bound
    shows that nothing beats it by `abs_gap`; `on_improved` hears the objective of each better
    plan HiGHS finds; `heuristics` says which of HiGHS's heuristics run."""
    if form.num_vars == 0:  # nothing to choose: the empty plan, if the rows allow it
        feasible = bool(np.all(form.row_lo <= 0) and np.all(form.row_hi >= 0))
        if not feasible:
            return MilpOutcome(Solved.INFEASIBLE, None, None, None, 0.0)
        return MilpOutcome(Solved.OPTIMAL, np.zeros(0), 0.0, 0.0, 0.0)
    if form.num_vars > MAX_COLUMNS:
        log.debug("a MIP of %d columns is too large to start", form.num_vars)
        return MilpOutcome(Solved.UNKNOWN, None, None, None, 0.0)
    started = time.perf_counter()
    # HiGHS checks its own time limit between steps; a step that runs long (a root LP on a
    # large model) is interrupted at the next callback past this deadline instead.
    deadline = time.monotonic() + max(float(time_limit_s), 0.01) + _GRACE_S
    h = _model(form, objective, maximize)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.setOptionValue("mip_abs_gap", float(abs_gap))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("presolve", "on" if form.num_vars <= _PRESOLVE_MAX_VARS else "off")
    if not heuristics.root_reduced_cost:
        h.setOptionValue("mip_heuristic_run_root_reduced_cost", False)
    if form.has_dense_rows:
        # Probing propagates each binary through every row it is in: through a row over every
        # pair (a quota, the change budget) it took 9-29 s on a 1,800-column repair whose LP
        # was already integral, 0.8 s without (the rest of presolve unchanged).
        h.setOptionValue("presolve_rule_off", _PROBING)
    if start is not None:
        index = np.arange(form.num_vars, dtype=np.int32)
        h.setSolution(form.num_vars, index, np.asarray(start, dtype=np.float64))
        if not heuristics.feasibility_jump and _keeps_rows(form, np.asarray(start, np.float64)):
            h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    seen = _Seen()
    _listen(h, maximize, abs_gap, deadline, should_stop, stop_at, on_improved, seen)
    if not _run_until(h, deadline + _ABANDON_S):
        log.warning(
            "HiGHS ran %.1f s past its time limit on %d columns: abandoned",
            _ABANDON_S + _GRACE_S, form.num_vars,
        )  # fmt: skip
        return _abandoned_outcome(form, objective, seen, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    status = h.getModelStatus()
    if status == highs.HighsModelStatus.kInfeasible:
        return MilpOutcome(Solved.INFEASIBLE, None, None, None, seconds)
    info = h.getInfo()
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if info.primal_solution_status != highs.SolutionStatus.kSolutionStatusFeasible:
        return MilpOutcome(Solved.UNKNOWN, None, None, bound, seconds)
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    values = np.where(form.integrality > 0, np.rint(values), values)
    value = float(objective @ values)
    # What the bound shows of the plan returned, not HiGHS's status alone: from a start plan,
    # HiGHS 1.16's presolve called optimal a plan whose objective in the original model lay
    # short of its bound (the soft score's excess variables reduced away in the start's image).
    if bound is None:
        proven = status == highs.HighsModelStatus.kOptimal
    else:
        shortfall = (bound - value) if maximize else (value - bound)
        proven = shortfall <= abs_gap + 1e-9 * (1.0 + abs(value))
    return MilpOutcome(Solved.OPTIMAL if proven else Solved.FEASIBLE, values, value, bound, seconds)


def _run_until(h: Any, deadline: float) -> bool:
    """Run `h` in a thread of its own and wait for it until `deadline` (monotonic); whether it
    ended. HiGHS checks its time limit and callbacks between steps, and some steps never check
    (the interior-point solve of its analytic centre ran minutes past a 5 s limit on a model of
    90,000 columns): such a solve is left to finish in the background, and the engine goes on
    without it, on time."""
    done = threading.Event()

    def run() -> None:
        try:
            h.run()
        finally:
            done.set()

    thread = threading.Thread(target=run, name="highs", daemon=True)
    thread.start()
    if done.wait(max(deadline - time.monotonic(), 0.0)):
        return True
    _abandoned.append(thread)
    return False


# Solves left to finish in the background. The process waits for them as it exits (the callbacks
# stop them as soon as HiGHS checks again): a HiGHS thread still running while the C++ runtime
# shuts down aborts the process.
_abandoned: list[threading.Thread] = []


@atexit.register
def _wait_for_abandoned() -> None:
    for thread in _abandoned:
        thread.join()


class _Seen:
    """What a running solve has reported through its callbacks: its last plan (the variables'
    values) and its last proven bound, kept for when the solve has to be abandoned."""

    def __init__(self) -> None:
        self.values: FloatArray | None = None
        self.bound: float | None = None


def _abandoned_outcome(
    form: Formulation, objective: FloatArray, seen: _Seen, seconds: float
) -> MilpOutcome:
    """The outcome of a solve abandoned past its limit: the last plan it reported, if that plan
    keeps every row (HiGHS runs some steps, a feasibility jump or a sub-MIP, without checking
    back: on a loaded machine, a coverage MIP of the mixed-city 2,000/300 week overran a 3 s
    limit in them, and the plan it had found was lost), with its last proven bound."""
    values = seen.values
    if values is None or len(values) != form.num_vars:
        return MilpOutcome(Solved.UNKNOWN, None, None, seen.bound, seconds)
    values = np.where(form.integrality > 0, np.rint(values), values)
    if not _keeps_rows(form, values):
        return MilpOutcome(Solved.UNKNOWN, None, None, seen.bound, seconds)
    return MilpOutcome(Solved.FEASIBLE, values, float(objective @ values), seen.bound, seconds)


def _keeps_rows(form: Formulation, values: FloatArray) -> bool:
    """Whether `values` keep every row and variable bound of `form` (to HiGHS's tolerance)."""
    tolerance = 1e-6
    activity = form.matrix @ values
    keeps_rows = bool(
        np.all(activity >= form.row_lo - tolerance) and np.all(activity <= form.row_hi + tolerance)
    )
    within = bool(
        np.all(values >= form.var_lo - tolerance) and np.all(values <= form.var_hi + tolerance)
    )
    return keeps_rows and within


def _reported_bound(out: Any) -> float | None:
    """The proven bound a MIP callback reports, if it has one yet."""
    bound = float(out.mip_dual_bound)
    return bound if np.isfinite(bound) else None


def _model(form: Formulation, objective: FloatArray, maximize: bool) -> Any:
    """A HiGHS instance holding `form` with `objective`, quiet."""
    h = highs._Highs()
    h.setOptionValue("output_flag", False)
    # One thread per solve (the engine runs its own solves side by side), and the same number
    # for every instance: HiGHS's scheduler is one per process, and an instance asking for
    # another count than the first fails to run.
    h.setOptionValue("threads", 1)
    a = form.matrix.tocsc()
    h.passModel(
        form.num_vars,
        a.shape[0],
        a.nnz,
        _COLWISE,
        -1 if maximize else 1,
        0.0,
        np.asarray(objective, dtype=np.float64),
        np.asarray(form.var_lo, dtype=np.float64),
        np.asarray(form.var_hi, dtype=np.float64),
        np.asarray(form.row_lo, dtype=np.float64),
        np.asarray(form.row_hi, dtype=np.float64),
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(np.float64),
        np.asarray(form.integrality, dtype=np.int32),
    )
    return h


def _listen(
    h: Any,
    maximize: bool,
    abs_gap: float,
    deadline: float,
    should_stop: Callable[[], bool] | None,
    stop_at: Callable[[], float] | None,
    on_improved: Callable[[float], None] | None,
    seen: _Seen,
) -> None:
    """Subscribe `h`'s callbacks: interrupts come past the deadline, when `should_stop` says so
    or when the proven bound meets `stop_at`; better plans are reported; `seen` keeps the last
    plan and bound."""
    sign = 1.0 if maximize else -1.0

    def enough(bound: float) -> bool:
        return stop_at is not None and sign * (bound - stop_at()) < abs_gap

    def callback(kind: int, _message: str, out: Any, into: Any, _data: object) -> None:
        if kind == _IMPROVED:
            seen.values = np.array(out.mip_solution, dtype=np.float64)
            if on_improved is not None:
                on_improved(float(out.objective_function_value))
            return
        bound = _reported_bound(out) if kind == _MIP_INTERRUPT else None
        if bound is not None:
            seen.bound = bound
        if (
            time.monotonic() > deadline
            or (should_stop is not None and should_stop())
            or (bound is not None and enough(bound))
        ):
            into.user_interrupt = True

    h.setCallback(callback, None)
    for kind in (*_INTERRUPTS, _IMPROVED):
        h.startCallback(kind)
