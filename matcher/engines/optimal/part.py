"""One independent part, tier by tier: staffing (tier 0) where the plan in hand leaves
mandatory requests short, coverage and travel (tiers 1 and 2, together where they can be), the
soft score (tier 3), then the improvement search with whatever time is left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ...objective import plan_coverage, understaffed_requests
from ...problem import BoolArray, IntArray, ProblemData
from ..base import Control, Deadline, SolveParams
from ..formulation import Formulation
from ..lns import improve
from ..milp import Heuristics, MilpOutcome, Solved
from .budget import COVERAGE_BOUND_SHARE, STARVED_CHECK_SHARE, PartBudget
from .columns import Priced, grow
from .face import solve_soft_tier
from .mip import SideMip, abs_gap, run_mip, two_cores
from .state import PartState
from .tier import solve_tier
from .tiers import (
    COVERAGE,
    TRAVEL,
    Tier,
    combined,
    combined_weight,
    coverage_bound,
    coverage_first,
    held_travel,
    on_vars,
    staffing,
)

__all__ = ["PartResult", "PartSolver", "replace_mandatory", "trivial_bound"]

# Parts with at most this many pairs are solved on all of them from the start.
FULL_COLUMNS = 15_000
# Reduced-cost fixing adds at most this many times the current columns in one step; beyond
# that the restricted MIP would be as hard as the whole problem and the tier stays unproven.
_CLOSURE_LIMIT = 2.0


@dataclass
class PartResult:
    selected: BoolArray
    bound: int
    proven: bool
    at_fault: IntArray
    stats: dict[str, float]
    starved: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cost_bound: float | None = None


class PartSolver:
    """The tiers of one independent part, on a growing set of columns."""

    def __init__(
        self,
        data: ProblemData,
        budget: Deadline,
        params: SolveParams,
        control: Control,
        *,
        started: float | None = None,
        report: Callable[[int, int | None], None] | None = None,
        start: BoolArray | None = None,
    ) -> None:
        has_soft_terms = data.has_soft_terms
        self.state = PartState(
            data,
            PartBudget(budget, has_soft_terms=has_soft_terms),
            params,
            control,
            full=data.num_pairs <= FULL_COLUMNS,
            started=time.perf_counter() if started is None else started,
            start=start,
        )
        if report is not None:
            self.state.report = report
        self.staffing_proven = True
        self.cost_bound: float | None = None  # on the optimal travel, once coverage is proven
        # A part on all its pairs weighs the soft score in its coverage-and-travel MIPs, which
        # then settle tier 3 too (`soft_proven`, for the plan they settle).
        self.fold_soft = has_soft_terms
        self.soft_proven = False

    def run(self) -> PartResult:
        s = self.state
        if s.data.violations(s.incumbent) != (0, 0) and not s.full:
            self._staff_mandatory()
        s.last_solution = None
        if s.may_hand_back() and not s.starved and s.data.request_dropped.any():
            # The caller would rather hear of starved requests before any real work: one
            # coverage LP, priced against the candidates left out, tells (its columns serve
            # the tiers below anyway).
            grow(s, Tier(1, COVERAGE, maximize=True), s.budget.share(STARVED_CHECK_SHARE))
        if s.hand_back():  # requests short of candidates
            return self._result(trivial_bound(s.data), proven=False)
        proven2, cov_now, bound, handed_back = self._coverage_and_travel()
        if handed_back:
            return self._result(bound, proven=False)
        proven1 = cov_now >= bound
        if proven1:
            s.stats["coverage_proven_at_s"] = s.elapsed()
        proven2 &= proven1
        proven3 = proven2 and self.soft_proven
        if proven2 and not proven3 and not s.stopped():
            travel = float(s.data.pair_cost[s.incumbent].sum())
            proven3 = solve_soft_tier(
                s, [(COVERAGE, cov_now - 0.5, np.inf), (TRAVEL, -np.inf, travel + 0.5)]
            )
        proven = proven1 and proven2 and proven3 and self.staffing_proven
        s.stats["travel_proven"] = float(proven2)
        s.stats["soft_proven"] = float(proven3)
        if not proven and not s.stopped():
            self._improve()
        return self._result(bound, proven=proven)

    def _coverage_and_travel(self) -> tuple[bool, int, int, bool]:
        """Tiers 1 and 2: whether travel is proven optimal for the plan's coverage, that
        coverage, the proven bound on coverage, and whether the part hands back early."""
        s = self.state
        weight = combined_weight(s.data)
        # The coverage LP first, priced against every pair, bounds tier 1 for the whole part
        # (with its cut rounds on restricted columns: their cuts serve the combined tier too).
        # After the combined tier it could find no time left: a MIP on closed columns may take
        # what the part has. Beside a coverage MIP, whose bound is as tight once it has solved
        # its root, it is solved only where the MIP ends without one, rather than holding back
        # both MIPs.
        side = self._coverage_alongside()
        lp1 = None if side is not None else self._coverage_lp()
        t12 = solve_tier(s, combined(s.data, soft=self.fold_soft), closure_limit=_CLOSURE_LIMIT)
        side_bound = self._coverage_bound_of(side)
        if t12 is None and s.full:  # proven: no plan staffs every mandatory request
            self._staff_mandatory()
            t12 = solve_tier(
                s, combined(s.data, soft=self.fold_soft), closure_limit=_CLOSURE_LIMIT
            )
            side_bound = None  # it held mandatory requests that are optional now
        if lp1 is None and side_bound is None and not s.stopped():
            lp1 = self._coverage_lp()
        self.soft_proven = t12 is not None and t12.soft_proven
        # W is above one pair's travel but not above every chain of swaps: the combined optimum
        # may give up coverage for travel. Then the (better) plan in hand's travel was never
        # optimised, and travel is settled under held coverage below.
        traded = s.last_solution is not None and plan_coverage(
            s.data, s.last_solution
        ) < plan_coverage(s.data, s.incumbent)
        bound = trivial_bound(s.data)
        if lp1 is not None:
            bound = min(bound, int(np.floor(lp1.bound + 1e-6)))
        if side_bound is not None:
            bound = min(bound, side_bound)
        s.proven_bound(bound)
        if s.hand_back():
            return False, plan_coverage(s.data, s.incumbent), bound, True
        cov_now = plan_coverage(s.data, s.incumbent)
        # A weighed soft score moves a tier's value by at most half a unit either way.
        soft = 0.5 if self.fold_soft else 0.0
        travel_bound = None if t12 is None else weight * cov_now - t12.bound - soft
        proven2 = t12 is not None and t12.proven
        if cov_now < bound and not s.stopped():
            # The combined plan fell short of the bound: settle coverage (travel breaking ties).
            tier1 = coverage_first(s.data)
            t1 = solve_tier(s, tier1, closure_limit=_CLOSURE_LIMIT)
            if t1 is not None and np.isfinite(t1.bound):
                bound = min(bound, coverage_bound(tier1, t1.bound))
                s.proven_bound(bound)
            traded |= plan_coverage(s.data, s.incumbent) > cov_now
            cov_now = plan_coverage(s.data, s.incumbent)
        if traded and not s.stopped():
            t2 = solve_tier(
                s, held_travel(s.data, cov_now, soft=self.fold_soft), closure_limit=_CLOSURE_LIMIT
            )
            proven2 = t2 is not None and t2.proven
            self.soft_proven = t2 is not None and t2.soft_proven
            travel_bound = None if t2 is None else t2.bound - soft
        elif traded:
            proven2, travel_bound = False, None
        if cov_now >= bound and travel_bound is not None and np.isfinite(travel_bound):
            self.cost_bound = float(travel_bound)
        return proven2, cov_now, bound, False

    def _coverage_lp(self) -> Priced | None:
        """The coverage LP over every pair (with cut rounds on restricted columns)."""
        s = self.state
        return grow(
            s, Tier(1, COVERAGE, maximize=True), s.budget.share(COVERAGE_BOUND_SHARE),
            cut=not s.whole,
        )  # fmt: skip

    def _coverage_alongside(self) -> tuple[SideMip, Formulation] | None:
        """With two workers, a part on all its pairs has its coverage MIP solved on the second
        worker while this one solves the combined tier: the combined plan's coverage is proven
        once the coverage MIP's bound meets it (which stops it), or its plan staffs more. Not
        where the plan in hand already attains the trivial bound, nor on GAP-shaped parts (every
        request mandatory, for one volunteer: coverage is fixed), where the second worker
        dives beside the MIP instead."""
        s = self.state
        if not (s.whole and two_cores(s)) or s.gap_shape() is not None:
            return None
        if plan_coverage(s.data, s.incumbent) >= trivial_bound(s.data):
            return None
        tier = Tier(1, COVERAGE, maximize=True)
        form = s.formulation([])
        objective = on_vars(form, COVERAGE.on_pairs(s.data))
        seconds = s.budget.tier(12).remaining()

        def solve() -> MilpOutcome:
            return run_mip(
                s, form, objective, maximize=True, seconds=seconds, gap=abs_gap(s, tier),
                stop_at=lambda: float(plan_coverage(s.data, s.incumbent)),
                heuristics=Heuristics(feasibility_jump=False),
            )  # fmt: skip

        s.side_busy = True
        return SideMip(solve), form

    def _coverage_bound_of(self, side: tuple[SideMip, Formulation] | None) -> int | None:
        """The coverage MIP's proven bound, once it has ended; its plan is kept if better."""
        if side is None:
            return None
        s = self.state
        mip, form = side
        try:
            outcome = mip.join()
        finally:
            s.side_busy = False
        if outcome.solved is Solved.INFEASIBLE:
            return None
        s.take(form, outcome)
        if outcome.solved is Solved.OPTIMAL and outcome.objective is not None:
            return int(np.floor(outcome.objective + 1e-6))
        if outcome.bound is not None:
            return int(np.floor(outcome.bound + 1e-6))
        return None

    def _improve(self) -> None:
        """The improvement search with the time left; mandatory requests the plan leaves short
        are staffed first if it can."""
        s = self.state
        started = s.elapsed()
        s.incumbent = improve(
            s.data, s.incumbent, s.budget.deadline, s.control, seed=s.params.seed,
            staff=s.short_mandatory(), hint=s.lp_values, alternative=self._runner_up(),
        )  # fmt: skip
        s.stats["lns_seconds"] = s.elapsed() - started

    def _runner_up(self) -> BoolArray | None:
        """The runner-up MIP plan, if the final search could still make it the better plan: the
        search keeps headcounts, so only one of the plan in hand's coverage can win."""
        s = self.state
        plan = s.runner_up
        if plan is None or plan_coverage(s.data, plan) != plan_coverage(s.data, s.incumbent):
            return None
        return plan

    def _staff_mandatory(self) -> None:
        """Tier 0, when the greedy plan leaves mandatory requests (or pinned pairs) short: staff
        as many as possible (then the most coverage); the ones left short are at fault, and
        optional from then on."""
        s = self.state
        d = s.data
        t0 = solve_tier(s, staffing(d), closure_limit=_CLOSURE_LIMIT)
        self.staffing_proven = t0 is not None and t0.proven
        s.data = replace_mandatory(d, understaffed_requests(d, s.incumbent))
        # The plan in hand keeps the pinned pairs of requests no longer at fault.
        s.incumbent |= s.data.pair_pinned

    def _result(self, bound: int, *, proven: bool) -> PartResult:
        """The part's result with the plan in hand as it is."""
        s = self.state
        s.stats["coverage_proven"] = float(plan_coverage(s.data, s.incumbent) >= bound)
        # At fault: the mandatory requests (and pinned pairs) the final plan leaves short; tier 0
        # proves that no plan does better when `staffing_proven`.
        original = s.original
        short = understaffed_requests(original, s.incumbent)
        s.stats["staffing_proven"] = float(self.staffing_proven)
        s.stats.setdefault("travel_proven", 0.0)
        s.stats.setdefault("soft_proven", 0.0)
        # Mandatory requests left short although candidates were left out: more could help.
        mask = np.zeros(original.num_requests, dtype=bool)
        mask[short] = True
        s.starved.update(np.flatnonzero(mask & (original.request_dropped > 0)).tolist())
        return PartResult(
            s.incumbent,
            bound,
            proven,
            short,
            s.stats,
            np.asarray(sorted(s.starved), dtype=np.int64),
            self.cost_bound,
        )


def replace_mandatory(data: ProblemData, not_mandatory: IntArray) -> ProblemData:
    """`data` with the given requests no longer mandatory (their pinned pairs unpinned)."""
    if len(not_mandatory) == 0:
        return data
    mandatory = data.request_mandatory.copy()
    mandatory[not_mandatory] = False
    pinned = data.pair_pinned & ~np.isin(data.pair_request, not_mandatory)
    return replace(data, request_mandatory=mandatory, pair_pinned=pinned)


def trivial_bound(data: ProblemData) -> int:
    """Coverage if every request got as many volunteers as it has candidates, up to its
    maximum (candidates compile left out included)."""
    per_request = np.bincount(data.pair_request, minlength=data.num_requests) + data.request_dropped
    return int((data.request_priority * np.minimum(per_request, data.request_max)).sum())
