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
from dataclasses import dataclass
from typing import Any

import numpy as np
from highspy import _core as highs  # the bare solver class: `highspy.Highs` prints a banner

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .cuts import CutPool
from .formulation import Formulation, RowKind

__all__ = ["LpBasis", "LpSolution", "PairLinear", "bound_with", "potentials", "solve_lp"]


@dataclass(frozen=True, eq=False)
class LpBasis:
    """An LP's final basis, keyed by what its columns and rows stand for (pairs and switches;
    row kinds and owners), so that the next LP of a growing formulation (more columns, more
    cuts) starts from it: rows and columns both have are given their old status, new ones
    start nonbasic (columns) or basic (rows), and HiGHS completes what does not add up."""

    col_keys: IntArray
    col_status: IntArray
    row_keys: IntArray
    row_status: IntArray


@dataclass(frozen=True, eq=False)
class LpSolution:
    value: float  # optimum in the caller's sense
    x: FloatArray
    duals: FloatArray  # per row, for the minimisation form: d = f - A^T duals
    maximize: bool
    seconds: float
    infeasible: bool = False
    basis: LpBasis | None = None


_BASIC = int(highs.HighsBasisStatus.kBasic)
_LOWER = int(highs.HighsBasisStatus.kLower)
_STATUS = {int(s): s for s in highs.HighsBasisStatus.__members__.values()}


def solve_lp(
    form: Formulation,
    objective: FloatArray,
    *,
    maximize: bool,
    time_limit_s: float,
    warm: LpBasis | None = None,
) -> LpSolution | None:
    """The LP relaxation of `form` (HiGHS dual simplex, from the `warm` basis of an earlier LP
    of the same columns and rows where given); `infeasible` set when it has no solution; None
    when it did not finish in time."""
    started = time.perf_counter()
    if form.num_vars == 0:
        feasible = bool(np.all(form.row_lo <= 0) and np.all(form.row_hi >= 0))
        return LpSolution(
            0.0, np.zeros(0), np.zeros(form.matrix.shape[0]), maximize, 0.0, infeasible=not feasible
        )
    h = highs._Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)  # as every HiGHS instance of the process (see `milp`)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    a = form.matrix.tocsc()
    minimised = -objective if maximize else objective
    h.passModel(
        form.num_vars, a.shape[0], a.nnz, 1, 1, 0.0,
        np.asarray(minimised, dtype=np.float64),
        np.asarray(form.var_lo, dtype=np.float64), np.asarray(form.var_hi, dtype=np.float64),
        np.asarray(form.row_lo, dtype=np.float64), np.asarray(form.row_hi, dtype=np.float64),
        a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data.astype(np.float64),
        np.zeros(form.num_vars, dtype=np.int32),  # every variable continuous: the relaxation
    )  # fmt: skip
    col_keys, row_keys = _col_keys(form), _row_keys(form)
    if warm is not None:
        h.setOptionValue("presolve", "off")  # the basis is of the model as it stands
        h.setBasis(_basis(warm, col_keys, row_keys))
    h.run()
    seconds = time.perf_counter() - started
    status = h.getModelStatus()
    if status == highs.HighsModelStatus.kInfeasible:
        return LpSolution(np.nan, np.zeros(0), np.zeros(0), maximize, seconds, infeasible=True)
    if status != highs.HighsModelStatus.kOptimal:
        return None
    solution = h.getSolution()
    x = np.asarray(solution.col_value, dtype=np.float64)
    duals = np.asarray(solution.row_dual, dtype=np.float64)
    final = h.getBasis()
    basis = LpBasis(
        col_keys,
        np.fromiter((int(s) for s in final.col_status), np.int64, form.num_vars),
        row_keys,
        np.fromiter((int(s) for s in final.row_status), np.int64, len(row_keys)),
    )
    return LpSolution(float(objective @ x), x, duals, maximize, seconds, basis=basis)


def _col_keys(form: Formulation) -> IntArray:
    """What each column stands for: its pair, or (after every pair) its request's switch."""
    offset = int(form.pairs.max(initial=-1)) + 1 + (1 << 40)
    keys: IntArray = np.concatenate([form.pairs, offset + form.switch_request]).astype(np.int64)
    return keys


def _row_keys(form: Formulation) -> IntArray:
    """What each row stands for: its kind, owner and parameter (rows without an owner of their
    own, such as held tiers, get keys of their own: they start basic)."""
    kind = form.row_kind.astype(np.int64)
    param = np.minimum(np.abs(form.row_param), (1 << 20) - 1).astype(np.int64)
    keys: IntArray = ((form.row_owner + 1) * (1 << 20) + param) * 16 + kind
    anonymous = form.row_owner < 0
    keys[anonymous] = -1 - np.arange(int(anonymous.sum()))
    return keys


def _basis(warm: LpBasis, col_keys: IntArray, row_keys: IntArray) -> Any:
    """`warm` carried over to columns and rows keyed as given (an alien basis: HiGHS completes
    it where the counts do not add up)."""
    basis = highs.HighsBasis()
    basis.col_status = [_STATUS[s] for s in _carried(warm.col_keys, warm.col_status, col_keys, _LOWER)]
    basis.row_status = [_STATUS[s] for s in _carried(warm.row_keys, warm.row_status, row_keys, _BASIC)]
    basis.alien = True
    basis.valid = True
    return basis


def _carried(old_keys: IntArray, old_status: IntArray, keys: IntArray, fresh: int) -> IntArray:
    """Each key's old status where it had one, else `fresh`."""
    order = np.argsort(old_keys, kind="stable")
    sorted_keys = old_keys[order]
    pos = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
    known = (len(sorted_keys) > 0) & (sorted_keys[pos] == keys) & (keys >= 0)
    out: IntArray = np.where(known, old_status[order][pos], fresh).astype(np.int64)
    return out


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
