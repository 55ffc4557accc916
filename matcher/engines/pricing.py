"""LP relaxations over a subset of pairs, and pricing of the pairs left out.

The optimal engine solves each tier on a restricted set of columns (the nearest candidates of
every request plus the incumbent's pairs). The LP duals of that restricted problem price every
other pair: `potential[p]` is how much adding pair p could improve the LP objective (its reduced
cost, signed so that positive means improving). Two facts make the restricted problem exact:
- LP bound: the full problem's LP optimum is at most the restricted LP value plus the sum of the
  positive potentials of the pairs left out (dual feasibility with bound duals); pairs with a
  positive potential are added until none is left, and the restricted LP value is the full one.
- Reduced-cost fixing: a plan better than the incumbent by at least `step` can only use pairs
  whose potential is at least -(bound - incumbent - step); every other pair is left out safely.
  A restricted MIP that holds all remaining pairs and is solved to optimality is therefore
  optimal for the whole problem.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeWarning, linprog

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .cuts import CutPool
from .formulation import Formulation, RowKind

__all__ = ["LpSolution", "PairLinear", "bound_with", "potentials", "solve_lp"]


@dataclass(frozen=True, eq=False)
class LpSolution:
    value: float  # optimum in the caller's sense
    x: FloatArray
    duals: FloatArray  # per row, for the minimisation form: d = f - A^T duals
    maximize: bool
    seconds: float
    infeasible: bool = False


def solve_lp(
    form: Formulation, objective: FloatArray, *, maximize: bool, time_limit_s: float
) -> LpSolution | None:
    """The LP relaxation of `form` (HiGHS dual simplex); `infeasible` set when it has no
    solution; None when it did not finish in time."""
    started = time.perf_counter()
    if form.num_vars == 0:
        feasible = bool(np.all(form.row_lo <= 0) and np.all(form.row_hi >= 0))
        return LpSolution(
            0.0, np.zeros(0), np.zeros(form.matrix.shape[0]), maximize, 0.0, infeasible=not feasible
        )
    f = -objective if maximize else objective
    a = form.matrix
    eq = np.isfinite(form.row_lo) & (form.row_lo == form.row_hi)
    up = np.isfinite(form.row_hi) & ~eq
    dn = np.isfinite(form.row_lo) & ~eq
    a_ub = sp.vstack([a[up], -a[dn]], format="csr")
    b_ub = np.concatenate([form.row_hi[up], -form.row_lo[dn]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        res = linprog(
            f,
            A_ub=a_ub if a_ub.shape[0] else None,
            b_ub=b_ub if a_ub.shape[0] else None,
            A_eq=a[eq] if eq.any() else None,
            b_eq=form.row_lo[eq] if eq.any() else None,
            bounds=np.column_stack([form.var_lo, form.var_hi]),
            method="highs-ds",
            options={"time_limit": max(time_limit_s, 0.01), "presolve": True},
        )
    seconds = time.perf_counter() - started
    if res.status == 2:
        return LpSolution(np.nan, np.zeros(0), np.zeros(0), maximize, seconds, infeasible=True)
    if res.status != 0 or res.x is None:
        return None
    duals = np.zeros(a.shape[0])
    marg_ub = np.asarray(res.ineqlin.marginals) if a_ub.shape[0] else np.zeros(0)
    n_up = int(up.sum())
    duals[up] += marg_ub[:n_up]
    duals[dn] -= marg_ub[n_up:]
    if eq.any():
        duals[eq] = np.asarray(res.eqlin.marginals)
    value = float(objective @ res.x)
    return LpSolution(value, res.x, duals, maximize, seconds)


@dataclass(frozen=True, eq=False)
class PairLinear:
    """A linear function of a pair: `coverage` times its request's priority, plus `cost` times
    its cost, plus an optional per-pair `extra` (zero on pairs the data left out)."""

    coverage: float = 0.0
    cost: float = 0.0
    extra: FloatArray | None = None

    def on_pairs(self, data: ProblemData) -> FloatArray:
        out = self.coverage * data.request_priority[data.pair_request] + self.cost * data.pair_cost
        return out if self.extra is None else out + self.extra

    def left_out(self, data: ProblemData) -> FloatArray:
        """Per request, the value for a left-out candidate at the least cost it could have."""
        return np.asarray(
            self.coverage * data.request_priority + self.cost * data.request_dropped_cost,
            dtype=np.float64,
        )


def potentials(
    data: ProblemData,
    form: Formulation,
    lp: LpSolution,
    objective: PairLinear,
    extra_rows: list[PairLinear],
    request_sets: tuple[IntArray, IntArray],
    cuts: CutPool | None = None,
) -> tuple[FloatArray, FloatArray]:
    """How much adding each pair of `data` could improve the LP (positive: improving; in the
    caller's sense), and per request, the most that one of its left-out candidates
    (`ProblemData.request_dropped`) could. `extra_rows` are the formulation's EXTRA rows, in
    order. Duals of volunteer rows only lower a potential, so left-out candidates (whose
    volunteers are unknown) are bounded without them. A pair outside the formulation prices
    with its coefficients in `cuts` (the pool whose rows the formulation holds): it would enter
    them with those."""
    mu = lp.duals
    kind, owner = form.row_kind, form.row_owner
    pr, pv = data.pair_request, data.pair_volunteer

    def by_owner(k: RowKind, size: int) -> FloatArray:
        out = np.zeros(size)
        rows = kind == k
        out[owner[rows]] = mu[rows]
        return out

    upper = by_owner(RowKind.REQUEST_UPPER, data.num_requests)
    lower = by_owner(RowKind.REQUEST_LOWER, data.num_requests)
    load = by_owner(RowKind.LOAD, data.num_volunteers)
    count = by_owner(RowKind.COUNT, data.num_volunteers)
    sign = -1.0 if lp.maximize else 1.0
    extra_duals = mu[kind == RowKind.EXTRA]
    d = (
        sign * objective.on_pairs(data)
        - upper[pr]
        - lower[pr]
        - load[pv] * data.pair_load
        - count[pv]
    )
    left = sign * objective.left_out(data) - upper - lower
    slope = sign * objective.cost  # d(d)/d(cost) for a left-out candidate
    for row, dual in zip(extra_rows, extra_duals, strict=False):
        d -= row.on_pairs(data) * dual
        left -= row.left_out(data) * dual
        slope -= row.cost * dual
    rounded = np.flatnonzero(kind == RowKind.LOAD_ROUNDED)
    for divisor in np.unique(form.row_param[rounded]):
        rows = rounded[form.row_param[rounded] == divisor]
        per_volunteer = np.zeros(data.num_volunteers)
        per_volunteer[owner[rows]] = mu[rows]
        d -= per_volunteer[pv] * np.floor(data.pair_load / divisor)
    # x[p] <= y[r] rows exist only for pairs in the formulation: a pair outside would enter a
    # row of its own (dual 0), a pair inside pays its row's dual (exact reduced costs there,
    # which fixing by potential needs).
    link_rows = np.flatnonzero(kind == RowKind.LINK)
    np.subtract.at(d, owner[link_rows], mu[link_rows])
    cut_rows = np.flatnonzero(kind == RowKind.CUT)
    if cuts is not None and len(cut_rows):
        per_cut = np.zeros(len(cuts))
        per_cut[owner[cut_rows]] = mu[cut_rows]
        d -= cuts.matrix(data.num_pairs).T @ per_cut
    # Conflict rows only ever make a pair less attractive: price them where it matters.
    look = np.flatnonzero(d < -1e-9)
    conflict_rows = np.flatnonzero(kind == RowKind.CONFLICT)
    if len(look) and len(conflict_rows):
        set_ptr, set_of = request_sets
        keys = owner[conflict_rows]  # ascending by construction
        r = pr[look]
        n = set_ptr[r + 1] - set_ptr[r]
        row_of = np.repeat(np.arange(len(look)), n)
        ranks = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        query = (
            pv[look][row_of] * max(data.num_conflict_sets, 1) + set_of[set_ptr[r].repeat(n) + ranks]
        )
        pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        hit = keys[pos] == query
        d[look] -= np.bincount(
            row_of[hit], weights=mu[conflict_rows[pos[hit]]], minlength=len(look)
        )
    left_potential = -left if slope >= -1e-12 else np.full(data.num_requests, np.inf)
    left_potential = np.where(data.request_dropped > 0, left_potential, -np.inf)
    return np.asarray(-d, dtype=np.float64), np.asarray(left_potential, dtype=np.float64)


def bound_with(
    data: ProblemData,
    lp: LpSolution,
    potential: FloatArray,
    left_out: FloatArray,
    inside: BoolArray,
) -> float:
    """A bound on the whole problem's LP optimum (caller's sense) from a restricted LP, the
    potentials of the pairs outside it, and those of the candidates the data left out."""
    extra = float(np.maximum(potential[~inside], 0.0).sum())
    gain = np.maximum(left_out, 0.0)
    counted = data.request_dropped > 0
    extra += float((data.request_dropped[counted] * gain[counted]).sum())
    return lp.value + extra if lp.maximize else lp.value - extra
