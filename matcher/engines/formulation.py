"""The mixed-integer formulation of a `ProblemData`, as sparse arrays (scipy's `milp` form).

Variables: x[p] in {0,1} per candidate pair; y[r] in {0,1} per request that needs a switch
(minimum above one, or mandatory): y[r] = 1 when r is staffed. Rows:
- headcount: sum_p x[p] <= max[r] (or <= max[r] * y[r]), and >= min[r] * y[r];
  x[p] <= y[r] for requests with a switch (keeps the LP relaxation tight);
- volunteer caps: sum load[p] x[p] <= capacity[v]; sum x[p] <= max_pairs[v] (only where binding);
- conflict sets: sum over the set of x[p] <= 1 (cliques of overlapping requests: a tight LP).
Objectives per tier: coverage (maximise), travel cost (minimise), soft score (maximise), where
the soft score adds continuous excess-load variables for the convex fairness penalty.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ..problem import FloatArray, IntArray, ProblemData

__all__ = ["Formulation", "formulate"]


@dataclass(frozen=True, eq=False)
class Formulation:
    """min/max c @ z subject to row_lo <= A @ z <= row_hi, var_lo <= z <= var_hi."""

    num_pairs: int
    switch_request: IntArray  # request of each y variable
    matrix: sp.csr_matrix
    row_lo: FloatArray
    row_hi: FloatArray
    var_lo: FloatArray
    var_hi: FloatArray
    integrality: IntArray
    coverage: FloatArray  # per variable, tier 1 (maximise)
    cost: FloatArray  # per variable, tier 2 (minimise)
    staffing: FloatArray  # per variable: 1 on mandatory switches and pinned pairs

    @property
    def num_vars(self) -> int:
        return len(self.var_lo)

    def with_row(self, coefficients: FloatArray, lo: float, hi: float) -> Formulation:
        """This formulation plus one dense row over the existing variables."""
        row = sp.csr_matrix(coefficients.reshape(1, -1))
        return replace(
            self,
            matrix=sp.vstack([self.matrix, row], format="csr"),
            row_lo=np.append(self.row_lo, lo),
            row_hi=np.append(self.row_hi, hi),
        )

    def with_soft_terms(self, data: ProblemData) -> tuple[Formulation, FloatArray]:
        """Add fairness excess variables e[v,k] >= load[v] - breakpoint[k]; return the
        extended formulation and its tier-3 objective (maximise)."""
        pv = data.pair_volunteer
        max_load = np.minimum(
            np.bincount(pv, weights=data.pair_load, minlength=data.num_volunteers),
            data.volunteer_capacity,
        )
        vols, steps = np.nonzero(max_load[:, None] > data.fairness_breakpoints[None, :])
        n_e = len(vols)
        base_vars = self.num_vars
        # Row for (v, k): sum_p load[p] x[p] - e[v,k] <= breakpoint[k].
        pairs_by_vol = np.argsort(pv, kind="stable")
        vol_ptr = np.searchsorted(pv[pairs_by_vol], np.arange(data.num_volunteers + 1))
        counts = vol_ptr[vols + 1] - vol_ptr[vols]
        row_of = np.repeat(np.arange(n_e), counts)
        first = np.repeat(vol_ptr[vols], counts)
        ranks = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cols = pairs_by_vol[first + ranks]
        rows = np.concatenate([row_of, np.arange(n_e)])
        cols = np.concatenate([cols, base_vars + np.arange(n_e)])
        vals = np.concatenate([data.pair_load[cols[: len(row_of)]].astype(float), -np.ones(n_e)])
        block = sp.csr_matrix((vals, (rows, cols)), shape=(n_e, base_vars + n_e))
        padded = sp.hstack([self.matrix, sp.csr_matrix((self.matrix.shape[0], n_e))], format="csr")
        extended = replace(
            self,
            matrix=sp.vstack([padded, block], format="csr"),
            row_lo=np.concatenate([self.row_lo, np.full(n_e, -np.inf)]),
            row_hi=np.concatenate([self.row_hi, data.fairness_breakpoints[steps].astype(float)]),
            var_lo=np.concatenate([self.var_lo, np.zeros(n_e)]),
            var_hi=np.concatenate([self.var_hi, np.full(n_e, np.inf)]),
            integrality=np.concatenate([self.integrality, np.zeros(n_e, dtype=np.int64)]),
            coverage=np.concatenate([self.coverage, np.zeros(n_e)]),
            cost=np.concatenate([self.cost, np.zeros(n_e)]),
            staffing=np.concatenate([self.staffing, np.zeros(n_e)]),
        )
        soft = np.zeros(extended.num_vars)
        soft[: data.num_pairs] = data.pair_bonus
        soft[base_vars:] = -data.fairness_slopes[steps]
        return extended, soft


def formulate(data: ProblemData, *, relax_staffing: bool = False) -> Formulation:
    """The formulation of `data`. With `relax_staffing`, mandatory requests and pinned pairs
    become optional; `Formulation.staffing` then scores how many of them a plan honours."""
    npairs, nreq = data.num_pairs, data.num_requests
    pr, pv = data.pair_request, data.pair_volunteer
    per_request = np.bincount(pr, minlength=nreq)
    pinned_per_request = np.bincount(pr[data.pair_pinned], minlength=nreq)
    has_switch = (data.request_min > 1) | data.request_mandatory
    switch_request = np.flatnonzero(has_switch & (per_request > 0))
    ny = len(switch_request)
    y_of = np.full(nreq, -1, dtype=np.int64)
    y_of[switch_request] = npairs + np.arange(ny)

    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    next_row = 0

    def add_rows(
        r: IntArray, c: IntArray, v: FloatArray, row_lo: FloatArray, row_hi: FloatArray
    ) -> None:
        nonlocal next_row
        rows.append(r + next_row)
        cols.append(c)
        vals.append(v)
        lo.append(row_lo)
        hi.append(row_hi)
        next_row += len(row_lo)

    # Headcount of requests without a switch: sum x <= max, only where it can bind.
    plain = np.flatnonzero(~has_switch & (per_request > data.request_max))
    row_of_request = np.full(nreq, -1, dtype=np.int64)
    row_of_request[plain] = np.arange(len(plain))
    mask = row_of_request[pr] >= 0
    p_idx = np.flatnonzero(mask)
    add_rows(
        row_of_request[pr[p_idx]], p_idx, np.ones(len(p_idx)),
        np.full(len(plain), -np.inf), data.request_max[plain].astype(float),
    )  # fmt: skip

    # Requests with a switch y: min*y <= sum x <= max*y, and x <= y.
    if ny:
        row_of_request[:] = -1
        row_of_request[switch_request] = np.arange(ny)
        p_idx = np.flatnonzero(row_of_request[pr] >= 0)
        r_rows = row_of_request[pr[p_idx]]
        ys = y_of[switch_request]
        upper_c = np.concatenate([p_idx, ys])
        upper_v = np.concatenate(
            [np.ones(len(p_idx)), -data.request_max[switch_request].astype(float)]
        )
        upper_r = np.concatenate([r_rows, np.arange(ny)])
        add_rows(upper_r, upper_c, upper_v, np.full(ny, -np.inf), np.zeros(ny))
        lower_v = np.concatenate(
            [np.ones(len(p_idx)), -data.request_min[switch_request].astype(float)]
        )
        add_rows(upper_r, upper_c, lower_v, np.zeros(ny), np.full(ny, np.inf))
        n_link = len(p_idx)
        add_rows(
            np.concatenate([np.arange(n_link), np.arange(n_link)]),
            np.concatenate([p_idx, y_of[pr[p_idx]]]),
            np.concatenate([np.ones(n_link), -np.ones(n_link)]),
            np.full(n_link, -np.inf), np.zeros(n_link),
        )  # fmt: skip

    # Volunteer caps, where they can bind.
    nvol = data.num_volunteers
    total_load = np.bincount(pv, weights=data.pair_load, minlength=nvol)
    for per_pair, totals, cap in (
        (data.pair_load.astype(float), total_load, data.volunteer_capacity),
        (np.ones(npairs), np.bincount(pv, minlength=nvol).astype(float), data.volunteer_max_pairs),
    ):
        binding = np.flatnonzero(totals > cap)
        row_of_vol = np.full(nvol, -1, dtype=np.int64)
        row_of_vol[binding] = np.arange(len(binding))
        p_idx = np.flatnonzero(row_of_vol[pv] >= 0)
        add_rows(
            row_of_vol[pv[p_idx]], p_idx, per_pair[p_idx],
            np.full(len(binding), -np.inf), cap[binding].astype(float),
        )  # fmt: skip

    # Conflict sets.
    nsets = data.num_conflict_sets
    sizes = np.diff(data.conflict_indptr)
    add_rows(
        np.repeat(np.arange(nsets), sizes), data.conflict_pairs, np.ones(len(data.conflict_pairs)),
        np.full(nsets, -np.inf), np.ones(nsets),
    )  # fmt: skip

    nvars = npairs + ny
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(next_row, nvars),
    )
    var_lo = np.zeros(nvars)
    var_hi = np.ones(nvars)
    staffing = np.zeros(nvars)
    staffing[:npairs][data.pair_pinned] = 1
    mandatory_y = y_of[np.flatnonzero(data.request_mandatory & (per_request > 0))]
    staffing[mandatory_y] = 1
    if not relax_staffing:
        var_lo[:npairs][data.pair_pinned] = 1
        var_lo[mandatory_y] = 1
        # A request holding a pinned volunteer is staffed.
        var_lo[y_of[np.flatnonzero((pinned_per_request > 0) & (y_of >= 0))]] = 1
    coverage = np.zeros(nvars)
    coverage[:npairs] = data.request_priority[pr]
    cost = np.zeros(nvars)
    cost[:npairs] = data.pair_cost
    return Formulation(
        num_pairs=npairs,
        switch_request=switch_request,
        matrix=matrix,
        row_lo=np.concatenate(lo),
        row_hi=np.concatenate(hi),
        var_lo=var_lo,
        var_hi=var_hi,
        integrality=np.ones(nvars, dtype=np.int64),
        coverage=coverage,
        cost=cost,
        staffing=staffing,
    )
