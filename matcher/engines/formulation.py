"""The mixed-integer formulation of a `ProblemData` over a chosen subset of its pairs, as sparse
arrays (scipy's `milp` form), with each row labelled so that LP duals can price pairs left out.

Variables: x[p] in {0,1} per pair in the subset (columns 0..len(pairs)-1); y[r] in {0,1} per
request that needs a switch (minimum above one, or mandatory): y[r] = 1 when r is staffed. Rows:
- headcount: sum_p x[p] <= max[r] (or <= max[r] * y[r]) and >= min[r] * y[r]; x[p] <= y[r]
  for requests with a switch (keeps the LP relaxation tight);
- volunteer caps: sum load[p] x[p] <= capacity[v]; sum x[p] <= max_pairs[v] (only where binding);
  and for each distinct load d among the volunteer's pairs, the Chvatal-Gomory rounding
  sum floor(load[p]/d) x[p] <= floor(capacity[v]/d): with few distinct durations these close the
  knapsack's integrality gap (on the 5,000-volunteer week the LP bound drops from 3202 to the
  integer optimum 3199);
- conflicts: for each volunteer and conflict set, sum of x over its pairs on the set's requests
  <= 1 (cliques of overlapping requests, so the LP relaxation is tight);
- cuts over one volunteer's pairs (`cuts`), valid for every plan;
- rows over every pair (`ProblemData.has_global_rows`): each hard quota,
  `sum_p amount[p] * (in_group[p] - share) x[p] >= -base` (a minimum; `<=` a maximum: the share
  of the plan's own total is linear), and the change budget,
  `sum_{added} x - sum_{previous} x <= max_changes - base - #previous` (pairs left out of the
  columns count as not chosen);
- extra rows added by the caller (a tier held at its optimum).
Objectives per tier: coverage (maximise), travel cost (minimise), soft score (maximise), where
the soft score adds continuous excess-load variables for the convex fairness penalty (from each
volunteer's offset: breakpoints already passed are linear per pair) and a shortfall variable
per soft quota.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np
import scipy.sparse as sp

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .cuts import CutPool

__all__ = ["Formulation", "RowKind", "conflict_groups", "formulate"]


class RowKind(IntEnum):
    """What a row constrains; its owner is a request, pair, volunteer, group key or -1."""

    REQUEST_UPPER = 0  # owner: request
    REQUEST_LOWER = 1  # owner: request
    LINK = 2  # owner: pair
    LOAD = 3  # owner: volunteer
    COUNT = 4  # owner: volunteer
    CONFLICT = 5  # owner: volunteer * num_conflict_sets + set
    EXTRA = 6  # owner: -1
    LOAD_ROUNDED = 7  # owner: volunteer; row_param: the divisor d
    CUT = 8  # owner: the cut's index in its `CutPool`
    QUOTA = 9  # owner: the quota's index (soft ones, with their shortfall, in tier 3 only)
    CHANGES = 10  # owner: 0


@dataclass(frozen=True, eq=False)
class Formulation:
    """min/max c @ z subject to row_lo <= A @ z <= row_hi, var_lo <= z <= var_hi."""

    pairs: IntArray  # column j < len(pairs) is pair pairs[j] of the data
    switch_request: IntArray  # request of each y variable
    matrix: sp.csr_matrix
    row_lo: FloatArray
    row_hi: FloatArray
    row_kind: IntArray
    row_owner: IntArray
    row_param: FloatArray
    var_lo: FloatArray
    var_hi: FloatArray
    integrality: IntArray
    coverage: FloatArray  # per variable, tier 1 (maximise)
    cost: FloatArray  # per variable, tier 2 (minimise)
    staffing: FloatArray  # per variable: 1 on mandatory switches and pinned pairs

    @property
    def num_pairs(self) -> int:
        return len(self.pairs)

    @property
    def num_vars(self) -> int:
        return len(self.var_lo)

    @property
    def has_dense_rows(self) -> bool:
        """Whether rows over every pair (quotas, the change budget) are in it."""
        kinds = self.row_kind
        return bool(np.any((kinds == RowKind.QUOTA) | (kinds == RowKind.CHANGES)))

    def start(self, data: ProblemData, selected: BoolArray) -> FloatArray:
        """A selection of `data`'s pairs as values of this formulation's variables (a MIP
        start): its pairs among the columns, and each switch on where its request is staffed.
        Continuous variables (fairness excess, a soft quota's shortfall: each in a row of its
        own, `with_soft_terms`) take the least value their row allows, so that a plan that
        keeps every rule is a start that keeps every row (HiGHS then needs no repair LP and no
        feasibility jump, `milp`)."""
        values = np.zeros(self.num_vars)
        values[: self.num_pairs] = selected[self.pairs]
        filled = np.bincount(data.pair_request[selected], minlength=data.num_requests)
        ny = len(self.switch_request)
        values[self.num_pairs : self.num_pairs + ny] = filled[self.switch_request] > 0
        continuous = np.flatnonzero(self.integrality == 0)
        if len(continuous):
            activity = self.matrix @ values
            rows = self.matrix.tocsc()[:, continuous].tocoo()
            coef = rows.data
            with np.errstate(invalid="ignore"):
                # coef * z within [lo, hi] - activity, z >= 0: the lower end where coef > 0.
                least = np.where(
                    coef > 0,
                    (self.row_lo[rows.row] - activity[rows.row]) / coef,
                    (self.row_hi[rows.row] - activity[rows.row]) / coef,
                )
            np.maximum.at(values, continuous[rows.col], np.nan_to_num(least, nan=0.0, neginf=0.0))
            values[continuous] = np.maximum(values[continuous], self.var_lo[continuous])
        return values

    def with_row(self, coefficients: FloatArray, lo: float, hi: float) -> Formulation:
        """This formulation plus one dense row over the existing variables."""
        row = sp.csr_matrix(coefficients.reshape(1, -1))
        return replace(
            self,
            matrix=sp.vstack([self.matrix, row], format="csr"),
            row_lo=np.append(self.row_lo, lo),
            row_hi=np.append(self.row_hi, hi),
            row_kind=np.append(self.row_kind, RowKind.EXTRA),
            row_owner=np.append(self.row_owner, -1),
            row_param=np.append(self.row_param, 0.0),
        )

    def with_cuts(self, pool: CutPool, first: int = 0) -> Formulation:
        """This formulation plus the cuts `first:` of `pool`, on the pairs it has (a cut left
        with fewer pairs holds for every plan on these columns, whose other pairs are 0; the
        pricing charges those with their coefficients, of either sign)."""
        if first >= len(pool):
            return self
        entries = np.arange(pool.ptr[first], pool.ptr[-1])
        pos = np.minimum(np.searchsorted(self.pairs, pool.pairs[entries]), self.num_pairs - 1)
        present = (
            self.pairs[pos] == pool.pairs[entries]
            if self.num_pairs
            else np.zeros(len(entries), dtype=bool)
        )
        owner = pool.owners()[entries][present]
        cuts = np.unique(owner)
        if not len(cuts):
            return self
        block = sp.csr_matrix(
            (pool.coef[entries][present], (np.searchsorted(cuts, owner), pos[present])),
            shape=(len(cuts), self.num_vars),
        )
        return replace(
            self,
            matrix=sp.vstack([self.matrix, block], format="csr"),
            row_lo=np.concatenate([self.row_lo, np.full(len(cuts), -np.inf)]),
            row_hi=np.concatenate([self.row_hi, pool.rhs[cuts]]),
            row_kind=np.concatenate([self.row_kind, np.full(len(cuts), RowKind.CUT)]),
            row_owner=np.concatenate([self.row_owner, cuts]),
            row_param=np.concatenate([self.row_param, np.zeros(len(cuts))]),
        )

    def with_soft_terms(self, data: ProblemData) -> tuple[Formulation, FloatArray]:
        """Add the soft score's continuous variables and return the extended formulation with
        its tier-3 objective (maximise): fairness excess e[v,k] >= offset[v] + load[v] -
        breakpoint[k] where the volunteer's columns can reach past a breakpoint its offset has
        not (breakpoints the offset has passed cost slope[k] per unit of load: linear per
        pair), and a shortfall u[q] >= 0 per soft quota (its row relaxed by u)."""
        pv = data.pair_volunteer[self.pairs]
        load = data.pair_load[self.pairs].astype(float)
        max_load = np.minimum(
            np.bincount(pv, weights=load, minlength=data.num_volunteers), data.volunteer_capacity
        )
        # Breakpoints relative to each volunteer's offset: passed (<= 0) or ahead of it.
        relative = (
            data.fairness_breakpoints[None, :] - data.volunteer_fairness_offset[:, None]
        )
        passed_slope = ((relative <= 0) * data.fairness_slopes[None, :]).sum(axis=1)
        vols, steps = np.nonzero((relative > 0) & (max_load[:, None] > relative))
        n_e, base = len(vols), self.num_vars
        # Row (v, k): sum over v's columns of load x - e[v,k] <= breakpoint[k] - offset[v].
        by_vol = np.argsort(pv, kind="stable")
        vol_ptr = np.searchsorted(pv[by_vol], np.arange(data.num_volunteers + 1))
        count = vol_ptr[vols + 1] - vol_ptr[vols]
        cols = by_vol[vol_ptr[vols].repeat(count) + _ranks_within(count)]
        rows = np.concatenate([np.repeat(np.arange(n_e), count), np.arange(n_e)])
        vals = np.concatenate([load[cols], -np.ones(n_e)])
        cols = np.concatenate([cols, base + np.arange(n_e)])
        rhs = relative[vols, steps]
        # Soft quotas: sum amount x + u >= -base (a minimum), sum amount x - u <= -base.
        soft = np.flatnonzero(~data.quota_hard)
        n_u = len(soft)
        if n_u:
            amounts = data.quota_amounts()[soft][:, self.pairs]
            q_row, q_col = np.nonzero(amounts)
            sign = np.where(data.quota_minimum[soft], 1.0, -1.0)
            rows = np.concatenate([rows, n_e + q_row, n_e + np.arange(n_u)])
            cols = np.concatenate([cols, q_col, base + n_e + np.arange(n_u)])
            vals = np.concatenate([vals, amounts[q_row, q_col], sign])
        n_new = n_e + n_u
        block = sp.csr_matrix((vals, (rows, cols)), shape=(n_new, base + n_new))
        padded = sp.hstack(
            [self.matrix, sp.csr_matrix((self.matrix.shape[0], n_new))], format="csr"
        )
        zeros = np.zeros(n_new)
        q_base = -data.quota_base[soft]
        minimum = data.quota_minimum[soft]
        extended = replace(
            self,
            matrix=sp.vstack([padded, block], format="csr"),
            row_lo=np.concatenate([self.row_lo, np.full(n_e, -np.inf),
                                   np.where(minimum, q_base, -np.inf)]),
            row_hi=np.concatenate([self.row_hi, rhs.astype(float),
                                   np.where(minimum, np.inf, q_base)]),
            row_kind=np.concatenate(
                [self.row_kind, np.full(n_e, RowKind.EXTRA), np.full(n_u, RowKind.QUOTA)]
            ),
            row_owner=np.concatenate([self.row_owner, np.full(n_e, -1), soft]),
            row_param=np.concatenate([self.row_param, zeros]),
            var_lo=np.concatenate([self.var_lo, zeros]),
            var_hi=np.concatenate([self.var_hi, np.full(n_new, np.inf)]),
            integrality=np.concatenate([self.integrality, np.zeros(n_new, dtype=np.int64)]),
            coverage=np.concatenate([self.coverage, zeros]),
            cost=np.concatenate([self.cost, zeros]),
            staffing=np.concatenate([self.staffing, zeros]),
        )  # fmt: skip
        objective = np.zeros(extended.num_vars)
        objective[: self.num_pairs] = data.pair_bonus[self.pairs] - passed_slope[pv] * load
        objective[base : base + n_e] = -data.fairness_slopes[steps]
        objective[base + n_e :] = -data.quota_weight[soft]
        return extended, objective


def _ranks_within(counts: IntArray) -> IntArray:
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )


def conflict_groups(
    data: ProblemData, pairs: IntArray, request_sets: tuple[IntArray, IntArray] | None = None
) -> tuple[IntArray, IntArray, IntArray]:
    """Per volunteer and conflict set, the given pairs of that volunteer on the set's requests,
    where there are two or more; repeated groups of one volunteer are kept once.
    Returns (keys = volunteer * num_conflict_sets + set, sizes, members as positions in `pairs`)."""
    set_ptr, set_of = request_sets if request_sets is not None else data.request_sets()
    pr = data.pair_request[pairs]
    count = set_ptr[pr + 1] - set_ptr[pr]
    col = np.repeat(np.arange(len(pairs), dtype=np.int64), count)
    key = (
        data.pair_volunteer[pairs][col] * max(data.num_conflict_sets, 1)
        + set_of[set_ptr[pr].repeat(count) + _ranks_within(count)]
    )
    order = np.lexsort((col, key))
    key, col = key[order], col[order]
    if len(key) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    # Neighbouring cliques often cut down to the same group: keep one copy, recognised by
    # (volunteer, size, sum of random labels of its columns).
    labels = np.random.default_rng(12345).integers(1, 2**40, size=len(pairs), dtype=np.int64)
    digest = np.add.reduceat(labels[col], starts)
    volunteer = key[starts] // max(data.num_conflict_sets, 1)
    order = np.lexsort((digest, sizes, volunteer))  # equal groups side by side
    same = (
        (volunteer[order][1:] == volunteer[order][:-1])
        & (sizes[order][1:] == sizes[order][:-1])
        & (digest[order][1:] == digest[order][:-1])
    )
    keep = np.ones(len(starts), dtype=bool)
    keep[order[1:][same]] = False
    keep &= sizes >= 2
    return key[starts][keep], sizes[keep], col[np.repeat(keep, sizes)]


def formulate(
    data: ProblemData,
    pairs: IntArray | None = None,
    *,
    relax_staffing: bool = False,
    request_sets: tuple[IntArray, IntArray] | None = None,
) -> Formulation:
    """The formulation of `data` over `pairs` (sorted pair indices; all pairs if None). With
    `relax_staffing`, mandatory requests and pinned pairs become optional; `staffing` then scores
    how many of them a plan honours."""
    cols_pairs = (
        np.arange(data.num_pairs, dtype=np.int64) if pairs is None else np.asarray(pairs, np.int64)
    )
    npairs, nreq, nvol = len(cols_pairs), data.num_requests, data.num_volunteers
    pr, pv = data.pair_request[cols_pairs], data.pair_volunteer[cols_pairs]
    pinned = data.pair_pinned[cols_pairs]
    per_request = np.bincount(pr, minlength=nreq)
    # A switch y[r] where "0 or at least min" needs one; mandatory requests with a minimum of
    # one need only a lower bound on their row, except when staffing is relaxed and counted.
    has_switch = (data.request_min > 1) | (data.request_mandatory & relax_staffing)
    switch_request = np.flatnonzero(has_switch & (per_request > 0))
    ny = len(switch_request)
    y_of = np.full(nreq, -1, dtype=np.int64)
    y_of[switch_request] = npairs + np.arange(ny)

    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    kinds: list[IntArray] = []
    owners: list[IntArray] = []
    params: list[FloatArray] = []

    def add_rows(
        kind: RowKind,
        owner: IntArray,
        r: IntArray,
        c: IntArray,
        v: FloatArray,
        row_lo: FloatArray,
        row_hi: FloatArray,
        param: FloatArray | None = None,
    ) -> None:
        offset = sum(len(x) for x in lo)
        rows.append(r + offset)
        cols.append(c)
        vals.append(v)
        lo.append(row_lo)
        hi.append(row_hi)
        kinds.append(np.full(len(row_lo), kind, dtype=np.int64))
        owners.append(owner)
        params.append(np.zeros(len(row_lo)) if param is None else param)

    def rows_by(
        owner_of_col: IntArray, owners_with_row: IntArray, size: int
    ) -> tuple[IntArray, IntArray]:
        """(row index, column) for columns whose owner has a row; rows numbered in owner order."""
        row_of = np.full(size, -1, dtype=np.int64)
        row_of[owners_with_row] = np.arange(len(owners_with_row))
        c = np.flatnonzero(row_of[owner_of_col] >= 0)
        return row_of[owner_of_col[c]], c

    # Headcount of requests without a switch: sum x <= max where it can bind, >= 1 if mandatory.
    must = data.request_mandatory & ~relax_staffing
    plain = np.flatnonzero(
        ~has_switch & (per_request > 0) & ((per_request > data.request_max) | must)
    )
    r_idx, c_idx = rows_by(pr, plain, nreq)
    add_rows(
        RowKind.REQUEST_UPPER, plain, r_idx, c_idx, np.ones(len(c_idx)),
        np.where(must[plain], data.request_min[plain], -np.inf).astype(float),
        data.request_max[plain].astype(float),
    )  # fmt: skip

    # Requests with a switch y: min*y <= sum x <= max*y, and x <= y.
    if ny:
        r_idx, c_idx = rows_by(pr, switch_request, nreq)
        ys = y_of[switch_request]
        row = np.concatenate([r_idx, np.arange(ny)])
        col = np.concatenate([c_idx, ys])
        upper = np.concatenate(
            [np.ones(len(c_idx)), -data.request_max[switch_request].astype(float)]
        )
        lower = np.concatenate(
            [np.ones(len(c_idx)), -data.request_min[switch_request].astype(float)]
        )
        add_rows(
            RowKind.REQUEST_UPPER,
            switch_request,
            row,
            col,
            upper,
            np.full(ny, -np.inf),
            np.zeros(ny),
        )
        add_rows(
            RowKind.REQUEST_LOWER,
            switch_request,
            row,
            col,
            lower,
            np.zeros(ny),
            np.full(ny, np.inf),
        )
        n_link = len(c_idx)
        add_rows(
            RowKind.LINK, cols_pairs[c_idx],
            np.concatenate([np.arange(n_link), np.arange(n_link)]),
            np.concatenate([c_idx, y_of[pr[c_idx]]]),
            np.concatenate([np.ones(n_link), -np.ones(n_link)]),
            np.full(n_link, -np.inf), np.zeros(n_link),
        )  # fmt: skip

    # Volunteer caps, where they can bind.
    load = data.pair_load[cols_pairs].astype(float)
    for kind, per_col, cap in (
        (RowKind.LOAD, load, data.volunteer_capacity),
        (RowKind.COUNT, np.ones(npairs), data.volunteer_max_pairs),
    ):
        binding = np.flatnonzero(np.bincount(pv, weights=per_col, minlength=nvol) > cap)
        r_idx, c_idx = rows_by(pv, binding, nvol)
        add_rows(
            kind, binding, r_idx, c_idx, per_col[c_idx],
            np.full(len(binding), -np.inf), cap[binding].astype(float),
        )  # fmt: skip

    # Rounded capacity rows: for each volunteer with a binding load row and each distinct load d
    # among its columns, sum floor(load/d) x <= floor(capacity/d).
    binding = np.flatnonzero(
        np.bincount(pv, weights=load, minlength=nvol) > data.volunteer_capacity
    )
    c_all = np.flatnonzero(np.isin(pv, binding) & (load > 0))  # divisors are positive loads
    if len(c_all):
        combos = np.unique(np.stack([pv[c_all], load[c_all].astype(np.int64)], axis=1), axis=0)
        # Each column enters every row of its volunteer: expand columns by their volunteer's rows.
        row_ptr = np.searchsorted(combos[:, 0], np.arange(nvol + 1))
        n_rows_v = row_ptr[pv[c_all] + 1] - row_ptr[pv[c_all]]
        col = np.repeat(c_all, n_rows_v)
        row = row_ptr[pv[col]] + _ranks_within(n_rows_v)
        divisor = combos[:, 1].astype(float)
        coef = np.floor(load[col] / divisor[row])
        keep = coef > 0
        rhs = np.floor(data.volunteer_capacity[combos[:, 0]] / divisor)
        add_rows(
            RowKind.LOAD_ROUNDED, combos[:, 0], row[keep], col[keep], coef[keep],
            np.full(len(combos), -np.inf), rhs, divisor,
        )  # fmt: skip

    # Conflicts, per volunteer and conflict set.
    keys, sizes, members = conflict_groups(data, cols_pairs, request_sets)
    add_rows(
        RowKind.CONFLICT, keys, np.repeat(np.arange(len(keys)), sizes), members,
        np.ones(len(members)), np.full(len(keys), -np.inf), np.ones(len(keys)),
    )  # fmt: skip

    # Rows over every pair: hard quotas and the change budget.
    hard = np.flatnonzero(data.quota_hard)
    if len(hard):
        amounts = data.quota_amounts()[hard][:, cols_pairs]
        q_row, q_col = np.nonzero(amounts)
        rhs = -data.quota_base[hard]
        minimum = data.quota_minimum[hard]
        add_rows(
            RowKind.QUOTA, hard, q_row, q_col, amounts[q_row, q_col],
            np.where(minimum, rhs, -np.inf), np.where(minimum, np.inf, rhs),
        )  # fmt: skip
    if data.limits_changes:
        coef = data.change_coefficients()[cols_pairs]
        c_idx = np.flatnonzero(coef)
        room = data.max_changes - data.changes_base - int(data.pair_previous.sum())
        add_rows(
            RowKind.CHANGES, np.zeros(1, dtype=np.int64), np.zeros(len(c_idx), dtype=np.int64),
            c_idx, coef[c_idx], np.full(1, -np.inf), np.full(1, float(room)),
        )  # fmt: skip

    nvars = npairs + ny
    nrows = sum(len(x) for x in lo)
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrows, nvars)
    )
    var_lo = np.zeros(nvars)
    staffing = np.zeros(nvars)
    staffing[:npairs][pinned] = 1
    mandatory_y = y_of[np.flatnonzero(data.request_mandatory & (y_of >= 0))]
    staffing[mandatory_y] = 1
    if not relax_staffing:
        var_lo[:npairs][pinned] = 1
        var_lo[mandatory_y] = 1
        # A request holding a pinned volunteer is staffed.
        pinned_requests = np.unique(pr[pinned])
        var_lo[y_of[pinned_requests[y_of[pinned_requests] >= 0]]] = 1
    coverage = np.zeros(nvars)
    coverage[:npairs] = data.request_priority[pr]
    cost = np.zeros(nvars)
    cost[:npairs] = data.pair_cost[cols_pairs]
    return Formulation(
        pairs=cols_pairs,
        switch_request=switch_request,
        matrix=matrix,
        row_lo=np.concatenate(lo),
        row_hi=np.concatenate(hi),
        row_kind=np.concatenate(kinds),
        row_owner=np.concatenate(owners).astype(np.int64),
        row_param=np.concatenate(params),
        var_lo=var_lo,
        var_hi=np.ones(nvars),
        integrality=np.ones(nvars, dtype=np.int64),
        coverage=coverage,
        cost=cost,
        staffing=staffing,
    )
