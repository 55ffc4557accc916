"""One call of a MIP solver on a `Formulation`: HiGHS through `highspy`.

HiGHS was chosen by measurement (see docs/engines.md): OR-Tools' own HiGHS wrapper returns no
solution when its time limit strikes, and SCIP is slower on these models. `highspy` rather than
`scipy.optimize.milp`, because it takes a plan to start from (the engine always has one), stops
when asked (a callback polled inside the branch and bound and the simplex, so a cancelled run
does not wait for HiGHS's time limit), and reports each better plan as HiGHS finds it.
"""

from __future__ import annotations

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

__all__ = ["MilpOutcome", "Solved", "solve_milp"]

# HiGHS presolve grows superlinearly with clique rows (80 s on an 87,000-column model, measured)
# and checks for a stop only between its passes: only models up to this size get it.
_PRESOLVE_MAX_VARS = 20_000
_COLWISE = 1  # HiGHS's MatrixFormat.kColwise
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
) -> MilpOutcome:
    """Optimise `objective` over `form`. `abs_gap` is the absolute gap at which the solve may
    stop and call the result optimal (below 1 proves an integer objective exactly). `start` (a
    value per variable) is a plan HiGHS starts from if it keeps every row; `should_stop` is
    polled while HiGHS works (a stop returns the best plan so far); `stop_at` gives a value
    already attained elsewhere (another solve's plan): the solve stops once its proven bound
    shows that nothing beats it by `abs_gap`; `on_improved` hears the objective of each better
    plan HiGHS finds."""
    if form.num_vars == 0:  # nothing to choose: the empty plan, if the rows allow it
        feasible = bool(np.all(form.row_lo <= 0) and np.all(form.row_hi >= 0))
        if not feasible:
            return MilpOutcome(Solved.INFEASIBLE, None, None, None, 0.0)
        return MilpOutcome(Solved.OPTIMAL, np.zeros(0), 0.0, 0.0, 0.0)
    started = time.perf_counter()
    h = _model(form, objective, maximize)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.setOptionValue("mip_abs_gap", float(abs_gap))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("presolve", "on" if form.num_vars <= _PRESOLVE_MAX_VARS else "off")
    if start is not None:
        index = np.arange(form.num_vars, dtype=np.int32)
        h.setSolution(form.num_vars, index, np.asarray(start, dtype=np.float64))
    if should_stop is not None or stop_at is not None or on_improved is not None:
        _listen(h, maximize, abs_gap, should_stop, stop_at, on_improved)
    h.run()
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
    proven = status == highs.HighsModelStatus.kOptimal
    if bound is not None and abs(bound - value) <= abs_gap:
        proven = True
    return MilpOutcome(Solved.OPTIMAL if proven else Solved.FEASIBLE, values, value, bound, seconds)


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
    should_stop: Callable[[], bool] | None,
    stop_at: Callable[[], float] | None,
    on_improved: Callable[[float], None] | None,
) -> None:
    """Subscribe `h`'s callbacks: interrupts poll `should_stop` and compare the proven bound
    with `stop_at`; better plans are reported."""
    sign = 1.0 if maximize else -1.0

    def enough(out: Any) -> bool:
        bound = _reported_bound(out)
        if stop_at is None or bound is None:
            return False
        return sign * (bound - stop_at()) < abs_gap

    def callback(kind: int, _message: str, out: Any, into: Any, _data: object) -> None:
        if kind == _IMPROVED:
            if on_improved is not None:
                on_improved(float(out.objective_function_value))
        elif (should_stop is not None and should_stop()) or (
            kind == _MIP_INTERRUPT and enough(out)
        ):
            into.user_interrupt = True

    h.setCallback(callback, None)
    if should_stop is not None or stop_at is not None:
        for kind in _INTERRUPTS:
            h.startCallback(kind)
    if on_improved is not None:
        h.startCallback(_IMPROVED)
