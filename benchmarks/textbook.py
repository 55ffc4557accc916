"""The "textbook HiGHS" peer: the whole model of FORMAT.md as one MIP, solved tier by tier.

What a newcomer with an MIP solver would write, on the candidate pairs of the matcher's public
`compile_instance` (so that the engine and the peer see the same pairs):

- one binary x_p per candidate pair (volunteer, request); pinned pairs fixed to 1;
- per request r: sum x <= volunteers_needed_r, or, where r has a minimum above one (or is
  mandatory), a staffing switch y_r in {0, 1} with min_r * y_r <= sum x <= need_r * y_r
  (y_r fixed to 1 when r is mandatory and has enough candidates; mandatory requests with
  fewer candidates than their minimum cannot be staffed by anyone and drop their mandate, as
  in the engine's own pre-check);
- per volunteer: hours (sum of loads) and count caps, where they can bind;
- per volunteer and conflict set: sum x <= 1, where the conflict sets are the maximal cliques
  of time-overlapping requests and the pairs of requests too far apart to travel between
  (rule 6; `compile_instance` builds both);
- tier 1: maximise coverage (sum of priorities); tier 2: minimise travel (metres, the
  engine's `pair_cost`) with coverage held at tier 1's value, started from tier 1's plan.

Default HiGHS options except the stopping gaps: tier 1 is proven exactly (absolute gap below
one on an integer objective), tier 2 to the engine's relative travel gap (1e-6). Model
building counts in the peer's time. Candidates: `compile_instance` keeps each request's
nearest candidates (a cap that grows with its headcount and its rivals nearby, see
`matcher/compile.py`); `all_pairs` compiles with that cap lifted, for checking on small weeks
that the pruning loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from highspy import _core as highs  # the bare solver class: `highspy.Highs` prints a banner

from matcher import Compiled, EngineResult, Instance, ProblemData, Status, compile_instance

__all__ = [
    "TextbookResult",
    "Tier",
    "all_pairs",
    "conflict_groups",
    "engine_result",
    "solve_textbook",
]

# Tier 2 stops at this relative gap on travel: the engine's `SolveParams.travel_gap`.
TRAVEL_GAP = 1e-6


@dataclass(frozen=True)
class Tier:
    """One tier's solve: HiGHS's verdict, the objective reached, the proven bound, seconds."""

    status: str  # "optimal", "feasible" (time limit with a plan), "infeasible", "no plan"
    objective: float | None = None
    bound: float | None = None
    seconds: float = 0.0

    @property
    def proven(self) -> bool:
        return self.status == "optimal"


@dataclass(frozen=True, eq=False)
class TextbookResult:
    """The peer's plan and what it proved, tier by tier."""

    selected: np.ndarray | None
    tier1: Tier
    tier2: Tier | None
    build_seconds: float
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """`optimal` when both tiers are proven, `feasible` with a plan, else tier 1's."""
        if self.selected is None:
            return self.tier1.status
        if self.tier1.proven and self.tier2 is not None and self.tier2.proven:
            return "optimal"
        return "feasible"

    @property
    def seconds(self) -> float:
        """Build plus both tiers."""
        return self.build_seconds + self.tier1.seconds + (self.tier2.seconds if self.tier2 else 0)


@dataclass(frozen=True, eq=False)
class _Model:
    matrix: sp.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    var_lo: np.ndarray
    var_hi: np.ndarray
    coverage: np.ndarray
    travel: np.ndarray
    stats: dict[str, int]


def conflict_groups(data: ProblemData) -> tuple[np.ndarray, np.ndarray]:
    """Per volunteer and conflict set, its pairs on the set's requests (groups of two or more),
    as CSR (indptr, pairs)."""
    nv, nr = data.num_volunteers, data.num_requests
    ptr, reqs = np.asarray(data.conflict_indptr), np.asarray(data.conflict_requests)
    owner = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
    order = np.argsort(reqs, kind="stable")
    req_ptr = np.searchsorted(reqs[order], np.arange(nr + 1))
    req_sets = owner[order]
    pr = data.pair_request
    count = req_ptr[pr + 1] - req_ptr[pr]
    pairs = np.repeat(np.arange(data.num_pairs, dtype=np.int64), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    sets = req_sets[np.repeat(req_ptr[pr], count) + offset]
    key = sets * nv + data.pair_volunteer[pairs]
    order = np.lexsort((pairs, key))
    key, pairs = key[order], pairs[order]
    _, sizes = np.unique(key, return_counts=True)
    keep = sizes >= 2
    members = pairs[np.repeat(keep, sizes)]
    indptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(sizes[keep], out=indptr[1:])
    return indptr, members


def _model(data: ProblemData) -> _Model:
    npairs, nreq, nvol = data.num_pairs, data.num_requests, data.num_volunteers
    pr, pv = data.pair_request, data.pair_volunteer
    per_request = np.bincount(pr, minlength=nreq)
    mandatory = data.request_mandatory & (per_request >= data.request_min)
    switch = np.flatnonzero(((data.request_min > 1) | mandatory) & (per_request > 0))
    ny = len(switch)
    nvars = npairs + ny
    y_of = np.full(nreq, -1, dtype=np.int64)
    y_of[switch] = npairs + np.arange(ny)
    blocks: list[sp.coo_matrix] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, n: int, a: Any, b: Any) -> None:
        blocks.append(sp.coo_matrix((v, (r, c)), shape=(n, nvars)))
        lo.append(np.broadcast_to(np.asarray(a, dtype=float), (n,)).copy())
        hi.append(np.broadcast_to(np.asarray(b, dtype=float), (n,)).copy())

    # Headcount without a switch: sum x <= need (only where more candidates than need).
    plain = np.flatnonzero((y_of < 0) & (per_request > data.request_max))
    row_of = np.full(nreq, -1, dtype=np.int64)
    row_of[plain] = np.arange(len(plain))
    p = np.flatnonzero(row_of[pr] >= 0)
    add(row_of[pr[p]], p, np.ones(len(p)), len(plain), -np.inf, data.request_max[plain])
    # The switch: sum x - need * y <= 0 and sum x - min * y >= 0.
    row_of[:] = -1
    row_of[switch] = np.arange(ny)
    p = np.flatnonzero(row_of[pr] >= 0)
    rows = np.concatenate([row_of[pr[p]], np.arange(ny)])
    cols = np.concatenate([p, y_of[switch]])
    ones = np.ones(len(p))
    add(rows, cols, np.concatenate([ones, -data.request_max[switch]]), ny, -np.inf, 0)
    add(rows, cols, np.concatenate([ones, -data.request_min[switch]]), ny, 0, np.inf)
    # Caps: hours (loads) and number of pairs, per volunteer, where they can bind.
    cap_rows = 0
    for weights, caps in (
        (data.pair_load.astype(float), data.volunteer_capacity),
        (np.ones(npairs), data.volunteer_max_pairs),
    ):
        totals = np.bincount(pv, weights=weights, minlength=nvol)
        binding = np.flatnonzero(totals > caps)
        row_v = np.full(nvol, -1, dtype=np.int64)
        row_v[binding] = np.arange(len(binding))
        p = np.flatnonzero(row_v[pv] >= 0)
        add(row_v[pv[p]], p, weights[p], len(binding), -np.inf, caps[binding].astype(float))
        cap_rows += len(binding)
    # One row per volunteer and conflict set (maximal time clique or travel-infeasible pair).
    indptr, members = conflict_groups(data)
    ng = len(indptr) - 1
    add(np.repeat(np.arange(ng), np.diff(indptr)), members, np.ones(len(members)), ng, -np.inf, 1)
    matrix = sp.vstack(blocks, format="csc")
    var_lo, var_hi = np.zeros(nvars), np.ones(nvars)
    var_lo[:npairs][data.pair_pinned] = 1
    var_lo[y_of[np.flatnonzero(mandatory & (y_of >= 0))]] = 1
    coverage = np.zeros(nvars)
    coverage[:npairs] = data.request_priority[pr]
    travel = np.zeros(nvars)
    travel[:npairs] = data.pair_cost
    stats = {
        "pairs": npairs,
        "switches": ny,
        "rows": int(matrix.shape[0]),
        "clique_rows": ng,
        "cap_rows": cap_rows,
    }
    return _Model(
        matrix, np.concatenate(lo), np.concatenate(hi), var_lo, var_hi, coverage, travel, stats
    )


def _highs(model: _Model) -> Any:
    h = highs._Highs()
    h.setOptionValue("output_flag", False)
    lp = highs.HighsLp()
    n, m = model.matrix.shape[1], model.matrix.shape[0]
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = model.coverage
    lp.col_lower_, lp.col_upper_ = model.var_lo, model.var_hi
    lp.row_lower_, lp.row_upper_ = model.row_lo, model.row_hi
    lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
    lp.a_matrix_.start_ = model.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.data.astype(np.float64)
    lp.integrality_ = [highs.HighsVarType.kInteger] * n
    lp.sense_ = highs.ObjSense.kMaximize
    h.passModel(lp)
    return h


def _run(h: Any, seconds: float) -> tuple[Tier, np.ndarray | None]:
    """One MIP solve within `seconds` (HiGHS counts its time limit over all runs of an
    instance, hence the offset)."""
    started = time.perf_counter()
    h.setOptionValue("time_limit", h.getRunTime() + max(seconds, 0.01))
    h.run()
    elapsed = time.perf_counter() - started
    status = h.getModelStatus()
    info = h.getInfo()
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if status == highs.HighsModelStatus.kInfeasible:
        return Tier("infeasible", seconds=elapsed), None
    if info.primal_solution_status != highs.kSolutionStatusFeasible:
        return Tier("no plan", bound=bound, seconds=elapsed), None
    values = np.rint(np.asarray(h.getSolution().col_value))
    verdict = "optimal" if status == highs.HighsModelStatus.kOptimal else "feasible"
    return Tier(verdict, float(info.objective_function_value), bound, elapsed), values


def solve_textbook(
    data: ProblemData,
    time_limit_s: float,
    on_tier1: Callable[[TextbookResult], None] | None = None,
) -> TextbookResult:
    """Both tiers within `time_limit_s` in all (building included): tier 1 may take all of it,
    tier 2 what is left. `on_tier1` hears tier 1's result before tier 2 starts (HiGHS does not
    always keep its time limit: a caller that must kill a solve keeps tier 1)."""
    started = time.perf_counter()
    model = _model(data)
    npairs = data.num_pairs
    if model.matrix.shape[1] == 0:
        empty = np.zeros(0, dtype=bool)
        return TextbookResult(
            empty,
            Tier("optimal", 0.0, 0.0),
            Tier("optimal", 0.0, 0.0),
            time.perf_counter() - started,
            model.stats,
        )
    h = _highs(model)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.999)  # coverage is an integer: proven exactly
    build_s = time.perf_counter() - started
    tier1, values = _run(h, time_limit_s - build_s)
    if values is None:
        return TextbookResult(None, tier1, None, build_s, model.stats)
    selected = values[:npairs] > 0.5
    if on_tier1 is not None:
        on_tier1(TextbookResult(selected, tier1, None, build_s, model.stats))
    left = time_limit_s - (time.perf_counter() - started)
    if left <= 0.01:
        return TextbookResult(selected, tier1, None, build_s, model.stats)
    held = float(model.coverage @ values)
    cols = np.flatnonzero(model.coverage).astype(np.int32)
    h.addRow(held - 0.5, highs.kHighsInf, len(cols), cols, model.coverage[cols])
    h.changeObjectiveSense(highs.ObjSense.kMinimize)
    every = np.arange(len(model.travel), dtype=np.int32)
    h.changeColsCost(len(every), every, model.travel)
    h.setOptionValue("mip_rel_gap", TRAVEL_GAP)
    start = highs.HighsSolution()
    start.col_value = values
    h.setSolution(start)
    tier2, values2 = _run(h, left)
    if values2 is not None:
        selected = values2[:npairs] > 0.5
    return TextbookResult(selected, tier1, tier2, build_s, model.stats)


def engine_result(result: TextbookResult, data: ProblemData) -> EngineResult:
    """The peer's plan as an `EngineResult`, for `matcher.build_plan` and `check_plan`."""
    selected = result.selected if result.selected is not None else np.zeros(data.num_pairs, bool)
    bound = result.tier1.bound
    proven = result.status == "optimal"
    return EngineResult(
        selected=selected,
        status=Status.OPTIMAL if proven else Status.FEASIBLE,
        coverage_bound=None if bound is None else int(np.floor(bound + 1e-6)),
        stats={"engine": "textbook HiGHS"},
    )


def all_pairs(instance: Instance) -> Compiled:
    """The instance compiled with every candidate pair that meets the hard rules (no
    nearest-first cap): for checking on small weeks that the cap loses nothing."""
    return compile_instance(
        instance, cap_factor=np.full(len(instance.requests), max(len(instance.volunteers), 1))
    )
