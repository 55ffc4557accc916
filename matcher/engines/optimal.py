"""`optimal`: the lexicographic optimum of FORMAT.md, proven where the budget allows.

Per independent part of the problem (see `decompose`), starting from the greedy plan:
1. Columns: the nearest candidates of every request, the incumbent's pairs and pinned pairs.
2. Tier 1, coverage: the LP relaxation on those columns, priced against every other pair and
   grown until no pair left out could improve it (`pricing`), gives a proven bound; the MIP on
   the columns (HiGHS, clique formulation) gives the plan; reduced-cost fixing adds every pair
   that could still appear in a better plan, until the restricted MIP is provably optimal for
   the whole part.
3. Tier 2, travel, the same way with coverage held at its optimum.
4. Tier 3, the soft score (preferences, stability, fairness), with coverage and travel held.
5. While time remains and a tier is unproven: large-neighbourhood search (`lns`).
A mandatory request that no plan can staff makes the problem infeasible; the staffing-relaxed
model then finds the largest set of mandatory requests that can be staffed together and names
the others as at fault.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline, EngineResult, Progress, SolveParams, Status, plan_coverage
from .column_dive import GapShape, gap_shape
from .cuts import Cut, CutPool, separate
from .decompose import Part, split
from .formulation import Formulation, formulate
from .greedy import greedy_selection, short_requests
from .lns import improve
from .local_search import BackgroundSearch, searched_whole, warm_up
from .milp import MilpOutcome, Solved, solve_milp
from .pricing import PairLinear, bound_with, potentials, solve_lp
from .state import Incidence

__all__ = ["fairness_penalty", "lexicographic_key", "optimal", "soft_score"]

log = logging.getLogger(__name__)

# Nearest candidates per request slot in the first restricted problem.
_NEAREST_PER_SLOT = 3
_NEAREST_EXTRA = 2
# Pricing rounds per tier, and how many improving pairs one round may add per request.
_PRICING_ROUNDS = 12
_ADD_PER_REQUEST = 4
_ADD_PER_VOLUNTEER = 2
_PRICING_SHARE = 0.5
# Relative LP improvement below which pricing stops (1e-5 of the objective).
_PRICING_TOLERANCE = 1e-5
# Rounds of volunteer cuts per LP (`cuts`); they stop early once the last rounds (up to this
# many) closed less than a hundredth of the gap to the incumbent per round.
_CUT_ROUNDS = 60
# Share of a tier's remaining time for the rounds of cuts after the dive: they stop early where
# they stall, and where they do not, the restricted MIP they leave is quick.
_CUT_SHARE = 0.7
_CUT_STALL_ROUNDS = 4
# Reduced-cost fixing adds at most this many times the current columns in one step; beyond
# that the restricted MIP would be as hard as the whole problem and the tier stays unproven.
_CLOSURE_LIMIT = 2.0
# Parts with at most this many pairs are solved on all of them from the start.
_FULL_COLUMNS = 15_000
# Parts this small go straight to the MIP (no dive): HiGHS solves them in about a second.
_SMALL_PART = 2_000
# Share of the remaining budget for tightening the bound before tier 3 (`_on_optimal_face`).
_FACE_SHARE = 0.3
# Least budget of a part (time allowing), whatever its share of the pairs.
_PART_SECONDS = 0.5
# Share of the tier's time left that one MIP may take on a part above `_FULL_COLUMNS` pairs: one
# that has not proven its columns optimal by then rarely does (on the GAP of 1,600 jobs HiGHS
# spent 25 s for a plan worse than the dive's), and the local search makes better use of the
# rest. (The city's MIPs take a second each: they are not cut short. Smaller parts keep the whole
# time: there HiGHS proves GAPs of 4,000 pairs in 7-9 s.)
_MIP_SHARE = 0.5
# With two workers, a MIP given at least this many seconds on a part the local search takes whole
# has the search run beside it, from the plan in hand: on D-type GAPs HiGHS spent 7.8 s of 10
# finding a worse plan than the search's (`BackgroundSearch`; on a GAP-shaped part,
# column-generation dives come first: `column_dive`).
_BESIDE_MIN_S = 1.0
# Cores this process may run on: with one, a second worker would only slow HiGHS down.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
# Share of such a MIP's time for a first, short one when the plan in hand is no plan of the tier.
_FIRST_PLAN_SHARE = 0.05
# Share of a tier's budget for the MIP on the LP's support.
_DIVE_SHARE = 0.2
# Share of the remaining budget a tier may use before the next starts.
_SHARE = {0: 0.3, 1: 0.5, 12: 0.7, 2: 0.7, 3: 0.8}
# Without soft terms tier 3 is free, so the combined tier 12 and the held-travel tier 2 may take
# what it would have had.
_SHARE_WITHOUT_SOFT = {**_SHARE, 12: 0.9, 2: 0.9}


def lexicographic_key(data: ProblemData, selected: BoolArray) -> tuple[float, ...]:
    """A selection's objective as a key where larger is better: minus the hard rules it breaks
    (structural ones first: caps and conflicts are never traded for staffing), coverage, minus
    travel, soft score."""
    structural, staffing = data.violations(selected)
    return (
        -float(structural),
        -float(staffing),
        float(plan_coverage(data, selected)),
        -float(data.pair_cost[selected].sum()),
        soft_score(data, selected),
    )


def soft_score(data: ProblemData, selected: BoolArray) -> float:
    """Tier 3: bonuses of chosen pairs minus the fairness penalty."""
    return float(data.pair_bonus[selected].sum()) - fairness_penalty(data, selected)


def fairness_penalty(data: ProblemData, selected: BoolArray) -> float:
    """The convex penalty on each volunteer's load beyond the fairness breakpoints."""
    load = np.bincount(
        data.pair_volunteer[selected],
        weights=data.pair_load[selected],
        minlength=data.num_volunteers,
    )
    excess = np.maximum(load[:, None] - data.fairness_breakpoints[None, :], 0.0)
    return float((excess * data.fairness_slopes[None, :]).sum())


_Row = tuple[PairLinear, float, float]  # coefficients, lower, upper
COVERAGE = PairLinear(coverage=1.0)
TRAVEL = PairLinear(cost=1.0)


@dataclass(frozen=True, eq=False)
class Tier:
    """One objective to optimise over the pairs, with rows holding earlier tiers."""

    number: int
    objective: PairLinear
    maximize: bool
    rows: list[_Row] = field(default_factory=list)
    step: float = 1.0  # smallest improvement that counts (objectives are integral)
    relax: bool = False  # mandatory requests and pinned pairs optional
    switch_weight: float = 0.0  # value of each mandatory request staffed, when relaxed

    @property
    def sign(self) -> float:
        """+1 when the tier maximises, -1 when it minimises: `sign * (a - b)` is how much better
        a is than b."""
        return 1.0 if self.maximize else -1.0


@dataclass
class _PartResult:
    selected: BoolArray
    bound: int
    proven: bool
    at_fault: IntArray
    stats: dict[str, float]
    starved: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cost_bound: float | None = None


def optimal(data: ProblemData, params: SolveParams, control: Control) -> EngineResult:
    deadline = Deadline(params.time_limit_s)
    started = time.perf_counter()
    # The local search's compiled loop, loaded now (a fraction of a second in a fresh process)
    # so that its time counts here, not after a tier's deadline.
    warm_up()
    selected = np.zeros(data.num_pairs, dtype=bool)
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    # Mandatory requests with fewer candidates than their minimum fail before any search.
    at_fault: list[IntArray] = [
        np.flatnonzero(
            data.request_mandatory & (per_request + data.request_dropped < data.request_min)
        )
    ]
    starved: list[IntArray] = []
    cost_bound: float | None = 0.0
    parts = split(replace_mandatory(data, at_fault[0]))
    total_pairs = max(sum(p.data.num_pairs for p in parts), 1)
    bound = 0
    proven = True
    done_pairs = 0
    stats_sum: dict[str, float] = {}
    handed_back = False
    for i, part in enumerate(parts):
        if control.should_stop() or handed_back:  # the caller will solve again anyway
            result = _fallback(part)
        else:
            share = part.data.num_pairs / max(total_pairs - done_pairs, 1)
            # Small parts take milliseconds, but a share by pairs could leave them none at all.
            seconds = max(deadline.remaining() * share, min(deadline.remaining(), _PART_SECONDS))
            budget = Deadline(max(seconds, 0.0))
            result = _PartSolver(part.data, budget, params, control, started=started).run()
        selected[part.pairs] = result.selected
        bound += result.bound
        proven &= result.proven
        # A bound on the whole plan's travel only if every part has one.
        cost_bound = (
            None
            if cost_bound is None or result.cost_bound is None
            else cost_bound + result.cost_bound
        )
        at_fault.append(part.requests[result.at_fault])
        starved.append(part.requests[result.starved])
        handed_back |= bool(result.stats.get("handed_back"))
        for key, value in result.stats.items():
            # Flags hold for the whole problem when they hold for every part; timings add up.
            if key not in stats_sum:
                stats_sum[key] = value
            elif key.endswith("_proven"):
                stats_sum[key] = min(stats_sum[key], value)
            elif key.endswith(("_at_s", "_slack")):  # moments since the start, worst gaps
                stats_sum[key] = max(stats_sum[key], value)
            else:
                stats_sum[key] += value
        done_pairs += part.data.num_pairs
        control.on_progress(
            Progress(
                phase=f"part {i + 1}/{len(parts)}",
                fraction=done_pairs / total_pairs,
                coverage=plan_coverage(data, selected),
            )
        )
    faults = np.unique(np.concatenate(at_fault)).astype(np.int64)
    status = Status.INFEASIBLE if len(faults) else Status.OPTIMAL if proven else Status.FEASIBLE
    stats: dict[str, float | int | str | bool] = {
        "engine": "optimal",
        "parts": len(parts),
        "largest_part_pairs": max((p.data.num_pairs for p in parts), default=0),
        "engine_seconds": round(time.perf_counter() - started, 3),
        **{k: (bool(v) if k.endswith("_proven") else round(v, 3)) for k, v in stats_sum.items()},
    }
    if cost_bound is not None and parts:
        stats["travel_bound_km"] = math.floor(cost_bound) / 1000.0  # floored: stays a bound
    return EngineResult(
        selected=selected,
        status=status,
        coverage_bound=bound,
        at_fault=faults,
        stats=stats,
        cost_bound=cost_bound if parts else None,
        starved=np.unique(np.concatenate(starved)).astype(np.int64)
        if starved
        else np.zeros(0, np.int64),
    )


def replace_mandatory(data: ProblemData, not_mandatory: IntArray) -> ProblemData:
    """`data` with the given requests no longer mandatory (their pinned pairs unpinned)."""
    if len(not_mandatory) == 0:
        return data
    mandatory = data.request_mandatory.copy()
    mandatory[not_mandatory] = False
    pinned = data.pair_pinned & ~np.isin(data.pair_request, not_mandatory)
    return replace(data, request_mandatory=mandatory, pair_pinned=pinned)


def _trivial_bound(data: ProblemData) -> int:
    """Coverage if every request got as many volunteers as it has candidates, up to its
    maximum (candidates compile left out included)."""
    per_request = np.bincount(data.pair_request, minlength=data.num_requests) + data.request_dropped
    return int((data.request_priority * np.minimum(per_request, data.request_max)).sum())


def _fallback(part: Part) -> _PartResult:
    """A part left to greedy (a stop came first): nothing proven; its short requests named."""
    sel = greedy_selection(part.data)
    proven = float(plan_coverage(part.data, sel.selected) >= _trivial_bound(part.data))
    return _PartResult(
        sel.selected.copy(),
        _trivial_bound(part.data),
        False,
        short_requests(sel),
        {
            "coverage_proven": proven,
            "staffing_proven": 0.0,
            "travel_proven": 0.0,
            "soft_proven": 0.0,
        },
    )


@dataclass(frozen=True, eq=False)
class _Priced:
    """A tier's LP on the columns, priced against everything else."""

    bound: float  # on the whole part's tier optimum (its LP with cuts, priced)
    potential: FloatArray  # per pair
    left_out: FloatArray  # per request, for candidates the data left out
    support: BoolArray  # pairs the LP uses


@dataclass
class _TierOutcome:
    value: float
    bound: float
    proven: bool


class _PartSolver:
    """The tiers of one independent part, on a growing set of columns."""

    def __init__(
        self,
        data: ProblemData,
        budget: Deadline,
        params: SolveParams,
        control: Control,
        *,
        started: float | None = None,
    ) -> None:
        self.started = time.perf_counter() if started is None else started  # the engine's start
        self.data = data
        self.original = data  # before tier 0 makes unstaffable requests optional
        self.budget = budget
        self.params = params
        self.control = control
        self.inc = Incidence.of(data)
        self.request_sets = data.request_sets()
        self.incumbent = greedy_selection(data, inc=self.inc).selected.copy()
        # Small parts use every pair from the start: their MIP is quick, and restricted columns
        # can hide the only feasible plans (cheap pairs that are also the heaviest).
        self.full = data.num_pairs <= _FULL_COLUMNS
        self.small = data.num_pairs <= _SMALL_PART
        # Tier 3 has nothing to weigh without bonuses or fairness steps: any plan ties there.
        self.has_soft_terms = bool(data.pair_bonus.any()) or bool(data.fairness_slopes.any())
        self.columns = np.ones(data.num_pairs, dtype=bool) if self.full else self._initial_columns()
        self.cuts = CutPool.empty()  # valid for every plan of the part, so shared by all tiers
        self.stats: dict[str, float] = {}
        self.at_fault = np.zeros(0, dtype=np.int64)
        self.staffing_proven = True
        self.last_solution: BoolArray | None = None  # the last MIP plan of the running tier
        self.runner_up: BoolArray | None = None  # a MIP's plan that the search beside it beat
        self._shape_of: tuple[ProblemData, GapShape | None] | None = None  # see _gap_shape
        self.starved: set[int] = set()  # requests whose left-out candidates could do better
        self.cost_bound: float | None = None  # on the optimal travel, once coverage is proven
        # The combined tier's last LP solution over all pairs: the local search rounds it.
        self.lp_values: FloatArray | None = None
        # Of the last tier run, if proven: its pairs' potentials and its bound's gap to the
        # optimum (`_fixed_by_potential`).
        self.optimal_face: tuple[Tier, FloatArray, float] | None = None

    def _initial_columns(self) -> BoolArray:
        d, inc = self.data, self.inc
        keep = self.incumbent | d.pair_pinned
        per_request = np.diff(inc.request_ptr)
        rank = np.arange(d.num_pairs) - np.repeat(inc.request_ptr[:-1], per_request)
        owner = np.repeat(np.arange(d.num_requests), per_request)
        limit = _NEAREST_PER_SLOT * d.request_max + _NEAREST_EXTRA
        keep[inc.request_pairs[rank < limit[owner]]] = True
        # Co-located requests (exam sites) all list the same nearest people: add the nearest
        # request of volunteers in no column yet, closest first, up to half as many again.
        absent = np.ones(d.num_volunteers, dtype=bool)
        absent[d.pair_volunteer[keep]] = False
        nearest = _best_per_owner(
            d.pair_volunteer, absent[d.pair_volunteer], -d.pair_cost.astype(float), 1
        )
        extra = np.flatnonzero(nearest)
        extra = extra[np.argsort(d.pair_cost[extra], kind="stable")[: int(keep.sum()) // 2]]
        keep[extra] = True
        return keep

    def _stopped(self) -> bool:
        return self.budget.expired() or self.control.should_stop()

    def _better(self, candidate: BoolArray) -> bool:
        if lexicographic_key(self.data, candidate) > lexicographic_key(self.data, self.incumbent):
            self.incumbent = candidate
            return True
        return False

    def _take(self, form: Formulation, outcome: MilpOutcome) -> BoolArray | None:
        """The MIP's plan, if any, kept as the incumbent if better."""
        if outcome.values is None:
            return None
        chosen = np.zeros(self.data.num_pairs, dtype=bool)
        chosen[form.pairs[outcome.values[: form.num_pairs] > 0.5]] = True
        self._better(chosen)
        return chosen

    def _mip(
        self, form: Formulation, objective: FloatArray, tier: Tier, seconds: float
    ) -> tuple[MilpOutcome, BoolArray | None]:
        """A tier's MIP for at most `seconds`, and the plan of the local search run beside it
        on the second worker (None without one). The search runs from the plan in hand where
        the part is searched whole (it starts at once and stops within milliseconds of the
        MIP) and the MIP has a second or more; on a GAP-shaped part, column-generation dives
        come first (`column_dive`: they need no plan to start from). Elsewhere a plan in hand
        that breaks a rule or leaves a mandatory request short is first replaced by a short
        MIP's (HiGHS found one in a tenth of a second on the D-type GAPs, where the search
        spent seconds repairing the greedy plan); without one, the MIP runs alone."""

        def solve(limit: float) -> MilpOutcome:
            return solve_milp(
                form, objective, maximize=tier.maximize, time_limit_s=limit,
                abs_gap=self._abs_gap(tier),
            )  # fmt: skip

        if not self._beside(seconds):
            return solve(seconds), None
        started = time.perf_counter()
        shape = self._gap_shape()
        if shape is None and self.data.violations(self.incumbent) != (0, 0):
            first = solve(_FIRST_PLAN_SHARE * seconds)
            if first.solved in (Solved.OPTIMAL, Solved.INFEASIBLE):
                return first, None
            self._take(form, first)
            if self.data.violations(self.incumbent) != (0, 0):  # no plan yet: the MIP alone
                return solve(seconds - (time.perf_counter() - started)), None
        search = BackgroundSearch(
            self.data, self.incumbent, seconds, self.control, seed=self.params.seed,
            gap=shape,
        )  # fmt: skip
        try:
            outcome = solve(seconds - (time.perf_counter() - started))
        except BaseException:
            search.stop(raise_error=False)  # never leave the search running past its MIP
            raise
        searched = search.stop()
        for key, value in (
            ("beside_iterations", search.stats.iterations),
            ("beside_dives", search.dive_stats.dives),
            ("beside_dive_lp_solves", search.dive_stats.lp_solves),
        ):
            self.stats[key] = self.stats.get(key, 0.0) + value
        return outcome, searched

    def _beside(self, seconds: float) -> bool:
        """Whether a MIP of `seconds` has the search (or the column dive) run beside it."""
        return (
            self.params.workers >= 2
            and _CORES >= 2
            and seconds >= _BESIDE_MIN_S
            and searched_whole(self.data, self.incumbent)
        )

    def _gap_shape(self) -> GapShape | None:
        """The part's arrays for the column dive, if GAP-shaped (for the data of the tier: tier
        0 may make requests optional)."""
        if self._shape_of is None or self._shape_of[0] is not self.data:
            self._shape_of = (self.data, gap_shape(self.data))
        return self._shape_of[1]

    def _runner_up(self) -> BoolArray | None:
        """The runner-up MIP plan, if the final search could still make it the better plan: the
        search keeps headcounts, so only one of the incumbent's coverage can win."""
        plan = self.runner_up
        if plan is None or plan_coverage(self.data, plan) != plan_coverage(
            self.data, self.incumbent
        ):
            return None
        return plan

    def _short_mandatory(self) -> IntArray:
        """Mandatory requests the plan in hand staffs below their minimum."""
        d = self.original
        filled = np.bincount(d.pair_request[self.incumbent], minlength=d.num_requests)
        return np.flatnonzero(d.request_mandatory & (filled < d.request_min))

    def _formulation(
        self, extra: list[_Row], relax: bool = False, *, lp: bool = False
    ) -> Formulation:
        """The columns' formulation with `extra` rows; an `lp` one has the cuts too. The MIPs
        go without: the cuts hold for every plan, so they change no MIP optimum, and HiGHS
        proves GAP instances up to twice as slowly with their dense fractional rows."""
        form = formulate(
            self.data,
            np.flatnonzero(self.columns),
            relax_staffing=relax,
            request_sets=self.request_sets,
        )
        if lp:
            form = form.with_cuts(self.cuts)
        for linear, lo, hi in extra:
            row = np.zeros(form.num_vars)
            row[: form.num_pairs] = linear.on_pairs(self.data)[form.pairs]
            form = form.with_row(row, lo, hi)
        return form

    def run(self) -> _PartResult:
        d = self.data
        cost = d.pair_cost.astype(float)
        if d.violations(self.incumbent) != (0, 0) and not self.full:
            self._staff_mandatory()
        # Tiers 1 and 2 at once: maximise W * coverage - travel, with W above any one pair's
        # travel. A plan that maximises it and reaches the coverage bound is lexicographically
        # optimal in both tiers; it solves several times faster than travel under a held
        # coverage row (a hard knapsack equality for branch and bound).
        weight = 2.0 * float(cost.max(initial=0.0)) + 1.0
        # step 0: closing the columns under ties keeps every pair of any optimal plan, so that
        # tier 3 on them is exact.
        combined = Tier(12, PairLinear(coverage=weight, cost=-1.0), maximize=True, step=0.0)
        self.last_solution = None
        if self.params.stop_when_starved and not self.starved:
            # The caller would rather hear of starved requests before any real work: one
            # coverage LP, priced against the candidates left out, tells (its columns serve
            # the tiers below anyway).
            self._grow(Tier(1, COVERAGE, maximize=True), Deadline(self.budget.remaining() * 0.2))
        if self._hand_back():  # requests short of candidates
            return self._result(_trivial_bound(self.data), proven=False)
        t12 = self._tier(combined, closure_limit=_CLOSURE_LIMIT)
        if t12 is None and self.full:  # proven: no plan staffs every mandatory request
            self._staff_mandatory()
            t12 = self._tier(combined, closure_limit=_CLOSURE_LIMIT)
        # W is above one pair's travel but not above every chain of swaps: the combined optimum
        # may give up coverage for travel. Then the (better) incumbent's travel was never
        # optimised, and travel is settled under held coverage below.
        traded = self.last_solution is not None and plan_coverage(
            self.data, self.last_solution
        ) < plan_coverage(self.data, self.incumbent)
        # The coverage LP, grown by pricing from the combined tier's columns (so it settles in a
        # round or two), bounds tier 1 for the whole part.
        lp1 = self._grow(Tier(1, COVERAGE, maximize=True), Deadline(self.budget.remaining() * 0.3))
        bound = _trivial_bound(self.data)
        if lp1 is not None:
            bound = min(bound, int(np.floor(lp1.bound + 1e-6)))
        if self._hand_back():
            return self._result(bound, proven=False)
        cov_now = plan_coverage(self.data, self.incumbent)
        travel_bound = None if t12 is None else weight * cov_now - t12.bound
        proven2 = t12 is not None and t12.proven
        if cov_now < bound and not self._stopped():
            # The combined plan fell short of the bound: settle coverage alone.
            t1 = self._tier(Tier(1, COVERAGE, maximize=True), closure_limit=_CLOSURE_LIMIT)
            if t1 is not None and np.isfinite(t1.bound):
                bound = min(bound, int(np.floor(t1.bound + 1e-6)))
            traded |= plan_coverage(self.data, self.incumbent) > cov_now
            cov_now = plan_coverage(self.data, self.incumbent)
        if traded and not self._stopped():
            # Travel under held coverage (a knapsack row: slower, but what is left to settle).
            held = Tier(
                2, TRAVEL, maximize=False, rows=[(COVERAGE, cov_now - 0.5, np.inf)], step=0.0
            )
            t2 = self._tier(held, closure_limit=_CLOSURE_LIMIT)
            proven2 = t2 is not None and t2.proven
            travel_bound = None if t2 is None else t2.bound
        elif traded:
            proven2, travel_bound = False, None
        proven1 = cov_now >= bound
        if proven1:
            self.stats["coverage_proven_at_s"] = time.perf_counter() - self.started
        proven2 &= proven1
        if proven1 and travel_bound is not None and np.isfinite(travel_bound):
            self.cost_bound = float(travel_bound)
        proven3 = False
        if proven2 and not self._stopped():
            travel = float(cost[self.incumbent].sum())
            proven3 = self._tier3(
                [(COVERAGE, cov_now - 0.5, np.inf), (TRAVEL, -np.inf, travel + 0.5)]
            )
        proven = proven1 and proven2 and proven3 and self.staffing_proven
        self.stats["travel_proven"] = float(proven2)
        self.stats["soft_proven"] = float(proven3)
        if not proven and not self._stopped():
            started = time.perf_counter()
            # Mandatory requests the plan leaves short: the search tries to staff them.
            self.incumbent = improve(
                self.data, self.incumbent, self.budget, self.control, seed=self.params.seed,
                staff=self._short_mandatory(), hint=self.lp_values, alternative=self._runner_up(),
            )  # fmt: skip
            self.stats["lns_seconds"] = time.perf_counter() - started
        return self._result(bound, proven=proven)

    def _hand_back(self) -> bool:
        """Whether to return now: the caller asked to hear of starved requests first, and
        enough of the budget is left for it to solve again with more candidates."""
        if not (self.params.stop_when_starved and self.starved):
            return False
        if self.budget.remaining() < 0.5 * self.budget.seconds:
            return False
        self.stats["handed_back"] = 1.0
        return True

    def _result(self, bound: int, *, proven: bool) -> _PartResult:
        """The part's result with the incumbent as it is."""
        self.stats["coverage_proven"] = float(plan_coverage(self.data, self.incumbent) >= bound)
        # At fault: the mandatory requests (and pinned pairs) the final plan leaves short; tier 0
        # proves that no plan does better when `staffing_proven`.
        original = self.original
        filled = np.bincount(original.pair_request[self.incumbent], minlength=original.num_requests)
        below = filled < original.request_min
        short = (original.request_mandatory | (filled > 0)) & below
        short[np.unique(original.pair_request[original.pair_pinned & ~self.incumbent])] = True
        self.at_fault = np.flatnonzero(short).astype(np.int64)
        self.stats["staffing_proven"] = float(self.staffing_proven)
        self.stats.setdefault("travel_proven", 0.0)
        self.stats.setdefault("soft_proven", 0.0)
        # Mandatory requests left short although candidates were left out: more could help.
        self.starved.update(np.flatnonzero(short & (self.original.request_dropped > 0)).tolist())
        return _PartResult(
            self.incumbent,
            bound,
            proven,
            self.at_fault,
            self.stats,
            np.asarray(sorted(self.starved), dtype=np.int64),
            self.cost_bound,
        )

    def _staff_mandatory(self) -> None:
        """Tier 0, when the greedy plan leaves mandatory requests (or pinned pairs) short: staff
        as many as possible (then the most coverage); the ones left short are at fault, and
        optional from then on."""
        d = self.data
        weight = float(d.request_priority[d.pair_request].sum()) + 1.0
        objective = PairLinear(coverage=1.0, extra=weight * d.pair_pinned.astype(np.float64))
        tier = Tier(0, objective, maximize=True, relax=True, switch_weight=weight)
        t0 = self._tier(tier, closure_limit=_CLOSURE_LIMIT)
        self.staffing_proven = t0 is not None and t0.proven
        filled = np.bincount(d.pair_request[self.incumbent], minlength=d.num_requests)
        below = filled < d.request_min
        short = (d.request_mandatory | (filled > 0)) & below
        short[np.unique(d.pair_request[d.pair_pinned & ~self.incumbent])] = True
        self.data = replace_mandatory(d, np.flatnonzero(short))
        # The incumbent keeps the pinned pairs of requests no longer at fault.
        self.incumbent |= self.data.pair_pinned

    def _grow(
        self, tier: Tier, deadline: Deadline, *, cut: bool = True, patient: bool = False
    ) -> _Priced | None:
        """Column generation and cuts: solve the tier's LP on the columns, add pairs that improve
        it until none is left, then (with `cut`) cut off its fractional volunteers (`cuts`) and
        go on while the cuts close the gap to the incumbent (`patient`: until it is closed, no
        cut is left or time is up). Returns the last pricing, or None when the LP has no
        solution on the columns or time ran out before one."""
        d = self.data
        result: _Priced | None = None
        form = self._formulation(tier.rows, tier.relax, lp=True)
        pricing_rounds = cut_rounds = 0
        cut_values: list[float] = []
        while True:
            objective = _on_vars(form, tier.objective.on_pairs(d), tier.switch_weight)
            lp = solve_lp(
                form, objective, maximize=tier.maximize, time_limit_s=deadline.remaining()
            )
            if lp is None or lp.infeasible:
                break
            potential, left_out = potentials(
                d, form, lp, tier.objective, [row for row, _, _ in tier.rows], self.request_sets,
                self.cuts,
            )  # fmt: skip
            x = lp.x[: form.num_pairs]
            support = np.zeros(d.num_pairs, dtype=bool)
            support[form.pairs[x > 1e-6]] = True
            if tier.number == 12:
                self.lp_values = np.zeros(d.num_pairs)
                self.lp_values[form.pairs] = x
            self.starved.update(np.flatnonzero(left_out > 1e-7).tolist())
            result = _Priced(
                bound_with(d, lp, potential, left_out, self.columns), potential, left_out, support
            )
            log.debug(
                "tier %d LP %.1f bound %.1f on %d columns, %d cuts (%.2fs)",
                tier.number, lp.value, result.bound, form.num_pairs, len(self.cuts), lp.seconds,
            )  # fmt: skip
            if deadline.expired():
                break
            improving = (potential > 1e-7) & ~self.columns
            # Pricing stops when nothing improves, or when what is left is a sliver of the
            # objective (rounds then creep: each costs a full LP and a pass over every pair).
            # The combined tier's scale is its travel: W * coverage is a constant there.
            scale = abs(float(tier.objective.cost * (d.pair_cost[form.pairs] @ x)))
            scale = scale if tier.objective.cost else abs(lp.value)
            sliver = abs(result.bound - lp.value) <= _PRICING_TOLERANCE * max(scale, 1.0)
            # Each cut round may also add columns (pairs the cuts' duals left attractive), so
            # that one LP serves both.
            grow = improving.any() and not sliver and pricing_rounds < _PRICING_ROUNDS + cut_rounds
            new: list[Cut] = []
            if (cut and not grow) or cut_rounds:
                cut_values.append(result.bound)
                if (
                    cut
                    and cut_rounds < _CUT_ROUNDS
                    and not self._stalled(tier, cut_values, patient)
                ):
                    new = separate(d, self.inc, form.pairs, x, deadline)
            if not grow and not new:
                break
            first = len(self.cuts)
            self.cuts = self.cuts.with_cuts(new)
            cut_rounds += bool(new)
            if grow:
                pricing_rounds += 1
                # The best of each request, and of each volunteer: requests that all want the
                # same few free people would otherwise keep adding those same people.
                self.columns |= _best_per_owner(
                    d.pair_request, improving, potential, _ADD_PER_REQUEST
                )
                self.columns |= _best_per_owner(
                    d.pair_volunteer, improving, potential, _ADD_PER_VOLUNTEER
                )
                form = self._formulation(tier.rows, tier.relax, lp=True)
            else:
                form = form.with_cuts(self.cuts, first)
        self.stats["cuts"] = float(len(self.cuts))
        return result

    def _stalled(self, tier: Tier, values: list[float], patient: bool = False) -> bool:
        """Whether the LP has closed the gap to the incumbent, or the last cut rounds closed
        less than a hundredth of what is left per round: cuts then tighten a bound that stays
        short (as on hard GAP instances) and the time is better spent searching."""
        sign = tier.sign
        gap = sign * (values[-1] - self._value(tier))
        # Proven once the gap is under one step; a face is as tight as it gets at half a unit
        # (the fixing's own tolerance).
        if gap < max(tier.step, 1e-6) or (patient and gap <= 0.5):
            return True
        rounds = min(len(values) - 1, _CUT_STALL_ROUNDS)
        if rounds < 2 or patient:  # one round can close little where the next close much
            return False
        return sign * (values[-1 - rounds] - values[-1]) < 0.01 * rounds * gap

    def _tier(self, tier: Tier, *, closure_limit: float) -> _TierOutcome | None:
        """Optimise one tier on the columns: grow them by pricing, solve the MIP, then add every
        pair that a better plan could use (reduced-cost fixing) and solve again, until the MIP
        is optimal for the whole part, or the pairs to add exceed `closure_limit` times the
        columns (then the tier stays unproven). None when the columns admit no plan."""
        d = self.data
        share = _SHARE[tier.number] if self.has_soft_terms else _SHARE_WITHOUT_SOFT[tier.number]
        deadline = Deadline(self.budget.remaining() * share)
        sign = tier.sign
        started = time.perf_counter()
        self.optimal_face = None
        # Pricing may take half of the tier's time; the integer solves need the rest. Cuts come
        # once the dive has given an incumbent to measure their progress against.
        priced = self._grow(tier, Deadline(deadline.remaining() * _PRICING_SHARE), cut=False)
        unbounded = sign * np.inf
        if self._hand_back():
            return _TierOutcome(
                self._value(tier), unbounded if priced is None else priced.bound, False
            )
        # Where column dives will run beside the MIP, they are the better dive: on d20200 the
        # 1.7 s the MIP on the LP's support took gave them 12243 instead of 12253 (3 runs each).
        # (Not in tier 0, whose proof may rest on that MIP's plan alone, as on d60900; and only
        # where the MIP will have its second: it gets what the cut rounds leave.)
        column_dives = (
            tier.number != 0
            and self.full
            and self._beside(deadline.remaining() * (1 - _CUT_SHARE))
            and self._gap_shape() is not None
        )
        if priced is not None and not self.small and not column_dives:
            # A small part's MIP finds a plan as fast as the dive would: only large ones dive.
            self._dive(tier, priced.support, Deadline(deadline.remaining() * _DIVE_SHARE))
        if priced is not None and tier.number != 0:
            # (Tier 0 counts staffed requests: its LP bound is as good as the optimum there, and
            # cut rounds on a large part cost seconds for nothing.)
            priced = self._grow(tier, Deadline(deadline.remaining() * _CUT_SHARE)) or priced
        lp_bound = unbounded if priced is None else priced.bound
        # The incumbent (the dive's, or the greedy plan) may already attain the bound, over all
        # pairs: then no MIP can do better (on the GAP, tier 0's MIP took 16 s to find a worse
        # plan than the dive's, which staffed every job). Only a plan of the tier counts: one
        # that keeps every rule (a pinned pair may break a cap), with mandatory requests staffed
        # unless the tier relaxes them.
        structural, staffing = self.data.violations(self.incumbent)
        proven = (
            priced is not None
            and structural == 0
            and (tier.relax or staffing == 0)
            and sign * (lp_bound - self._value(tier)) < tier.step
        )
        form = self._formulation(tier.rows, tier.relax)
        mip_share = 1.0 if self.full else _MIP_SHARE
        while not proven and not deadline.expired() and not self.control.should_stop():
            objective = _on_vars(form, tier.objective.on_pairs(d), tier.switch_weight)
            outcome, searched = self._mip(form, objective, tier, deadline.remaining() * mip_share)
            log.debug(
                "tier %d MIP %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
                outcome.objective, form.num_pairs, outcome.seconds,
            )  # fmt: skip
            if outcome.solved is Solved.INFEASIBLE:
                return None
            chosen = self._take(form, outcome)
            # Only an optimal combined plan tells whether the tier traded coverage away.
            if chosen is not None and outcome.solved is Solved.OPTIMAL:
                self.last_solution = chosen
            # The search's plan counts only where HiGHS ran out of time: a proven MIP's plan is
            # kept as it is, so the result does not depend on how far the search got.
            timed_out = outcome.solved is not Solved.OPTIMAL
            if searched is not None and timed_out and self._better(searched):
                self.stats["beside_kept"] = self.stats.get("beside_kept", 0.0) + 1
                # The final search also tries the MIP's plan: it may lie in a better basin (on
                # e20200, the MIP's plan and one second of search beat 8 s of search alone).
                if chosen is not None and d.violations(chosen) == (0, 0):
                    self.runner_up = chosen
            if priced is None:
                break
            value = self._value(tier)
            allowed = sign * (lp_bound - value) - tier.step + 1e-6
            needed = (priced.potential >= -allowed) & ~self.columns
            if (priced.left_out >= -allowed).any():
                break  # a candidate the data left out could be part of a better plan
            if not needed.any():
                # Proven only if the incumbent itself attains the optimum: a lexicographically
                # better plan kept instead of the MIP's (higher coverage, worse tier value)
                # proves nothing about this tier.
                attained = (
                    outcome.objective is not None
                    and sign * (outcome.objective - value) < 1e-6 + tier.step / 2
                )
                proven = (outcome.solved is Solved.OPTIMAL and attained) or sign * (
                    lp_bound - value
                ) < tier.step
                break
            if needed.sum() > closure_limit * self.columns.sum() or deadline.remaining() < 1.0:
                break
            self.columns |= needed
            form = self._formulation(tier.rows, tier.relax)
        self.stats[f"tier{tier.number}_seconds"] = time.perf_counter() - started
        self.stats[f"tier{tier.number}_columns"] = float(self.columns.sum())
        value = self._value(tier)
        if proven and priced is not None:
            self.optimal_face = (tier, priced.potential, max(sign * (lp_bound - value), 0.0))
        return _TierOutcome(value, value if proven else lp_bound, proven)

    def _dive(self, tier: Tier, support: BoolArray, deadline: Deadline) -> None:
        """A quick plan from the LP: the MIP on the pairs the LP uses (and the incumbent's).
        The LP optimum is nearly integral here, so this small MIP is fast and close to it."""
        saved = self.columns
        self.columns = support | self.incumbent
        try:
            form = self._formulation(tier.rows, tier.relax)
            outcome = solve_milp(
                form, _on_vars(form, tier.objective.on_pairs(self.data), tier.switch_weight),
                maximize=tier.maximize,
                time_limit_s=deadline.remaining(), abs_gap=self._abs_gap(tier),
            )  # fmt: skip
            log.debug(
                "tier %d dive %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
                outcome.objective, form.num_pairs, outcome.seconds,
            )  # fmt: skip
            self._take(form, outcome)
        finally:
            self.columns = saved | self.incumbent

    def _value(self, tier: Tier) -> float:
        """The incumbent's value of a tier objective (with mandatory requests staffed)."""
        value = float(tier.objective.on_pairs(self.data)[self.incumbent].sum())
        if tier.switch_weight:
            d = self.data
            filled = np.bincount(d.pair_request[self.incumbent], minlength=d.num_requests)
            value += tier.switch_weight * float(
                (d.request_mandatory & (filled >= d.request_min)).sum()
            )
        return value

    def _abs_gap(self, tier: Tier) -> float:
        if tier.number == 2:
            return max(self.params.travel_gap * self._value(tier), 0.999)
        return 0.999

    def _on_optimal_face(self, form: Formulation, deadline: Deadline) -> Formulation:
        """`form` restricted to what the last proven tier's plans can be (`_fixed_by_potential`):
        with an LP bound that meets the optimum, the held tiers leave few pairs free. A bound
        still short of it is first tightened by more cuts (the optimum is known now, so they
        run while they close the gap to it)."""
        if self.optimal_face is None:
            return form
        tier, potential, slack = self.optimal_face
        if slack > 0.5:
            priced = self._grow(tier, deadline, patient=True)
            if priced is not None:
                sign = tier.sign
                tighter = max(sign * (priced.bound - self._value(tier)), 0.0)
                if tighter < slack:
                    potential, slack = priced.potential, tighter
        self.stats["face_slack"] = slack
        return _fixed_by_potential(form, potential, slack)

    def _tier3(self, extra: list[_Row]) -> bool:
        """Soft score with coverage and travel held, on the proven tier's optimal face (pairs
        fixed by potential); exact because the tier-2 columns are closed under reduced-cost
        fixing (every travel-optimal plan lives in them)."""
        d = self.data
        if not self.has_soft_terms:
            return True
        started = time.perf_counter()
        face = self._on_optimal_face(
            self._formulation(extra), Deadline(self.budget.remaining() * _FACE_SHARE)
        )
        form, soft = face.with_soft_terms(d)
        outcome = solve_milp(
            form,
            soft,
            maximize=True,
            time_limit_s=self.budget.remaining() * _SHARE[3],
            abs_gap=1e-6,
        )
        self._take(form, outcome)
        self.stats["tier3_seconds"] = time.perf_counter() - started
        return outcome.solved is Solved.OPTIMAL


def _fixed_by_potential(form: Formulation, potential: FloatArray, slack: float) -> Formulation:
    """`form` with its pairs fixed where no plan within `slack` of the LP bound can move them:
    a pair moved off its bound costs its potential (reduced cost), so beyond `slack` it stays
    out (potential below) or in (above). Half a unit more as a tolerance: the duals carry
    rounding. Pairs already fixed (pinned ones) are left as they are: a pair that cannot move
    costs nothing, whatever its potential."""
    n = form.num_pairs
    p = potential[form.pairs]
    margin = slack + 0.5
    var_lo, var_hi = form.var_lo.copy(), form.var_hi.copy()
    free = (var_lo[:n] == 0.0) & (var_hi[:n] == 1.0)
    var_hi[:n][free & (p < -margin)] = 0.0
    var_lo[:n][free & (p > margin)] = 1.0
    return replace(form, var_lo=var_lo, var_hi=var_hi)


def _on_vars(form: Formulation, objective: FloatArray, switch_weight: float = 0.0) -> FloatArray:
    """An objective over all pairs (plus `switch_weight` per mandatory request staffed), as a
    vector over the formulation's variables."""
    out = np.zeros(form.num_vars)
    out[: form.num_pairs] = objective[form.pairs]
    out[form.num_pairs :] += switch_weight * form.staffing[form.num_pairs :]
    return out


def _best_per_owner(owner: IntArray, mask: BoolArray, score: FloatArray, k: int) -> BoolArray:
    """Among the pairs in `mask`, the `k` highest-scoring of each owner (request or volunteer)."""
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((-score[idx], owner[idx]))]
    group = owner[order]
    rank = np.arange(len(order)) - np.searchsorted(group, group, side="left")
    out = np.zeros(len(mask), dtype=bool)
    out[order[rank < k]] = True
    return out
