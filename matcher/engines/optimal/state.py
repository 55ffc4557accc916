"""What the tiers of one part share: the data (tier 0 may make unstaffable requests optional),
the plan in hand, the restricted columns and the cuts, and what the solve has learnt so far."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ...objective import lexicographic_key, plan_coverage, soft_score
from ...problem import BoolArray, FloatArray, IntArray, ProblemData
from ..base import Control, SolveParams
from ..column_dive import GapShape, gap_shape
from ..cuts import CutPool
from ..formulation import Formulation, formulate
from ..greedy import greedy_selection
from ..milp import MilpOutcome
from ..state import Incidence
from .budget import PartBudget
from .columns import initial_columns
from .rounding import rounded_plan
from .tiers import Row, Tier, on_vars

__all__ = ["PartState"]


class PartState:
    """One part's data, plan in hand and columns, shared by its tiers."""

    def __init__(
        self,
        data: ProblemData,
        budget: PartBudget,
        params: SolveParams,
        control: Control,
        *,
        full: bool,
        started: float,
        start: BoolArray | None = None,
    ) -> None:
        self.data = data
        self.original = data  # before tier 0 makes unstaffable requests optional
        self.budget = budget
        self.params = params
        self.control = control
        self.started = started  # the engine's start, for the moments reported in stats
        self.inc = Incidence.of(data)
        self.request_sets = data.request_sets()
        self.incumbent = greedy_selection(data, inc=self.inc).selected.copy()
        if start is not None and lexicographic_key(data, start) > lexicographic_key(
            data, self.incumbent
        ):  # a plan in hand (a district's last round) better than greedy's
            self.incumbent = start.copy()
        # Small parts use every pair from the start: their MIP is quick, and restricted columns
        # can hide the only feasible plans (cheap pairs that are also the heaviest).
        self.full = full
        # Solved by one MIP per tier on every pair (`tier`): where all pairs are columns and
        # no candidate was left out by compile (those need the LP's allowance for them).
        self.whole = full and not data.request_dropped.any()
        self.columns = (
            np.ones(data.num_pairs, dtype=bool)
            if full
            else initial_columns(data, self.inc, self.incumbent)
        )
        self.cuts = CutPool.empty()  # valid for every plan of the part, so shared by all tiers
        self.stats: dict[str, float] = {}
        self.last_solution: BoolArray | None = None  # the last MIP plan of the running tier
        self.runner_up: BoolArray | None = None  # a MIP's plan that the search beside it beat
        self.starved: set[int] = set()  # requests whose left-out candidates could do better
        # The combined tier's last LP solution over all pairs: the local search rounds it.
        self.lp_values: FloatArray | None = None
        # Of the last tier run, if proven: its pairs' potentials and its bound's gap to the
        # optimum (`face`).
        self.optimal_face: tuple[Tier, FloatArray, float] | None = None
        self._shape_of: tuple[ProblemData, GapShape | None] | None = None  # see gap_shape
        # Told the plan in hand's coverage and the part's proven bound (None until known)
        # whenever either improves, so that a long part reports progress as it goes.
        self.report: Callable[[int, int | None], None] = lambda coverage, bound: None
        self.bound: int | None = None
        self.side_busy = False  # a MIP runs on the second worker (`mip.SideMip`)

    def gap_shape(self) -> GapShape | None:
        """The part's arrays for the column dive, if GAP-shaped (for the data of the tier: tier
        0 may make requests optional)."""
        if self._shape_of is None or self._shape_of[0] is not self.data:
            self._shape_of = (self.data, gap_shape(self.data))
        return self._shape_of[1]

    def stopped(self) -> bool:
        return self.budget.expired() or self.control.should_stop()

    def may_hand_back(self) -> bool:
        """Whether the caller would still solve again with more candidates for starved
        requests (it says until when, `SolveParams.hand_back_within_s`)."""
        return self.elapsed() < self.params.hand_back_within_s

    def hand_back(self) -> bool:
        """Whether to return now: requests are starved and the caller would solve again."""
        if not (self.starved and self.may_hand_back()):
            return False
        self.stats["handed_back"] = 1.0
        return True

    def elapsed(self) -> float:
        """Seconds since the engine started."""
        return time.perf_counter() - self.started

    def count(self, key: str, amount: float = 1.0) -> None:
        self.stats[key] = self.stats.get(key, 0.0) + amount

    def better(self, candidate: BoolArray) -> bool:
        """Keep `candidate` as the plan in hand if it is lexicographically better."""
        if lexicographic_key(self.data, candidate) > lexicographic_key(self.data, self.incumbent):
            self.incumbent = candidate
            self.report(plan_coverage(self.data, candidate), self.bound)
            return True
        return False

    def proven_bound(self, bound: int) -> None:
        """A bound on the part's coverage, proven: kept and reported."""
        if self.bound is None or bound < self.bound:
            self.bound = bound
            self.report(plan_coverage(self.data, self.incumbent), bound)

    def round_lp(self, pairs: IntArray, x: FloatArray) -> None:
        """The plan rounded from an LP solution `x` on the columns `pairs` (`rounding`), kept as
        the plan in hand if better."""
        values = np.zeros(self.data.num_pairs)
        values[pairs] = x
        plan = rounded_plan(self.data, values, self.inc)
        if plan is not None and self.better(plan):
            self.count("rounded_kept")

    def take(self, form: Formulation, outcome: MilpOutcome) -> BoolArray | None:
        """A MIP's plan, if any, kept as the plan in hand if better."""
        if outcome.values is None:
            return None
        chosen = np.zeros(self.data.num_pairs, dtype=bool)
        chosen[form.pairs[outcome.values[: form.num_pairs] > 0.5]] = True
        self.better(chosen)
        return chosen

    def value(self, tier: Tier) -> float:
        """The plan in hand's value of a tier objective (with mandatory requests staffed)."""
        value = float(tier.objective.on_pairs(self.data)[self.incumbent].sum())
        if tier.soft_weight:
            value += tier.sign * tier.soft_weight * soft_score(self.data, self.incumbent)
        if tier.switch_weight:
            d = self.data
            filled = np.bincount(d.pair_request[self.incumbent], minlength=d.num_requests)
            value += tier.switch_weight * float(
                (d.request_mandatory & (filled >= d.request_min)).sum()
            )
        return value

    def short_mandatory(self) -> IntArray:
        """Mandatory requests the plan in hand staffs below their minimum."""
        d = self.original
        filled = np.bincount(d.pair_request[self.incumbent], minlength=d.num_requests)
        return np.flatnonzero(d.request_mandatory & (filled < d.request_min))

    def mip(self, tier: Tier, pairs: BoolArray | None = None) -> tuple[Formulation, FloatArray]:
        """A tier's MIP on the columns (or on `pairs`, some of them): its formulation and
        objective (with the soft score's excess variables where the tier weighs it)."""
        form = self.formulation(tier.rows, tier.relax, pairs=pairs)
        objective = on_vars(form, tier.objective.on_pairs(self.data), tier.switch_weight)
        if not tier.soft_weight:
            return form, objective
        extended, soft = form.with_soft_terms(self.data)
        padded = np.zeros(extended.num_vars)
        padded[: form.num_vars] = objective
        return extended, padded + tier.sign * tier.soft_weight * soft

    def formulation(
        self,
        extra: list[Row],
        relax: bool = False,
        *,
        lp: bool = False,
        pairs: BoolArray | None = None,
    ) -> Formulation:
        """The formulation over the columns (or `pairs`) with `extra` rows; an `lp` one has the
        cuts too. The MIPs go without: the cuts hold for every plan, so they change no MIP
        optimum, and HiGHS proves GAP instances up to twice as slowly with their dense
        fractional rows."""
        form = formulate(
            self.data,
            np.flatnonzero(self.columns if pairs is None else pairs),
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

