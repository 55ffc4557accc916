"""One call of a MIP solver on a `Formulation`: HiGHS through `scipy.optimize.milp`.

HiGHS was chosen by measurement (see docs/engines.md): OR-Tools' own HiGHS wrapper returns no
solution when its time limit strikes, and SCIP is slower on these models.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, OptimizeWarning, milp

from ..problem import FloatArray
from .formulation import Formulation

__all__ = ["MilpOutcome", "Solved", "solve_milp"]

_PRESOLVE_MAX_VARS = 20_000


class Solved(Enum):
    OPTIMAL = "optimal"  # proven within the requested gap
    FEASIBLE = "feasible"  # a solution, not proven (time limit)
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
) -> MilpOutcome:
    """Optimise `objective` over `form`. `abs_gap` is the absolute gap at which the solve may
    stop and call the result optimal (below 1 proves an integer objective exactly)."""
    if form.num_vars == 0:  # nothing to choose: the empty plan, if the rows allow it
        feasible = bool(np.all(form.row_lo <= 0) and np.all(form.row_hi >= 0))
        if not feasible:
            return MilpOutcome(Solved.INFEASIBLE, None, None, None, 0.0)
        return MilpOutcome(Solved.OPTIMAL, np.zeros(0), 0.0, 0.0, 0.0)
    sign = -1.0 if maximize else 1.0
    c = sign * objective
    # HiGHS stops on a relative gap; turn the absolute gap into one (objective bounded by sum|c|).
    scale = max(float(np.abs(c).sum()), 1.0)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        res = milp(
            c,
            integrality=form.integrality,
            bounds=Bounds(form.var_lo, form.var_hi),
            constraints=[LinearConstraint(form.matrix, form.row_lo, form.row_hi)]
            if form.matrix.shape[0]
            else None,
            options={
                "time_limit": max(time_limit_s, 0.01),
                "mip_rel_gap": min(abs_gap / scale, 1e-4),
                # HiGHS presolve ignores the time limit and grows superlinearly with clique
                # rows (80 s on 87k columns, measured): only small models get it.
                "presolve": form.num_vars <= _PRESOLVE_MAX_VARS,
            },
        )
    seconds = time.perf_counter() - started
    if res.status == 2:
        return MilpOutcome(Solved.INFEASIBLE, None, None, None, seconds)
    if res.x is None:
        return MilpOutcome(Solved.UNKNOWN, None, None, _bound(res, sign), seconds)
    values = np.where(form.integrality > 0, np.rint(res.x), res.x)
    obj = float(objective @ values)
    bound = _bound(res, sign)
    proven = res.status == 0
    if bound is not None and abs(bound - obj) <= abs_gap:
        proven = True
    return MilpOutcome(Solved.OPTIMAL if proven else Solved.FEASIBLE, values, obj, bound, seconds)


def _bound(res: object, sign: float) -> float | None:
    bound = getattr(res, "mip_dual_bound", None)
    if bound is None or not np.isfinite(bound):
        return None
    return float(sign * bound)
