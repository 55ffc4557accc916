"""The tiers the optimal engine solves, as objectives over pairs with rows holding earlier tiers.

- Tier 0 (`staffing`): when no plan in hand staffs every mandatory request, as many of them as
  possible (pinned pairs kept), then the most coverage; the ones left short are at fault.
- Tier 12 (`combined`): tiers 1 and 2 at once, `W * coverage - travel` with W above any one
  pair's travel. A plan that maximises it and reaches the coverage bound is lexicographically
  optimal in both; it solves several times faster than travel under a held coverage row.
- Tier 1 (`coverage_first`), when the combined plan falls short of the coverage bound: coverage,
  with travel as a tie-breaker worth under a quarter of a unit in all (`Tier.tie`), so that the
  plan of more coverage it finds is not one of needless travel (pure coverage takes any such
  plan, and tier 2 may have no time left to bring its travel down).
- Tier 2 (`held_travel`): travel with coverage held, when the combined optimum traded coverage
  for travel.
- Tier 3, the soft score, is solved on the optimal face of the proven tiers (`face`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...objective import soft_range
from ...problem import FloatArray, ProblemData
from ..formulation import Formulation
from ..pricing import PairLinear

__all__ = [
    "COVERAGE",
    "TRAVEL",
    "Row",
    "Tier",
    "TierOutcome",
    "combined",
    "coverage_first",
    "held_travel",
    "on_vars",
    "staffing",
]

Row = tuple[PairLinear, float, float]  # coefficients, lower, upper
COVERAGE = PairLinear(coverage=1.0)
TRAVEL = PairLinear(cost=1.0)


@dataclass(frozen=True, eq=False)
class Tier:
    """One objective to optimise over the pairs, with rows holding earlier tiers."""

    number: int
    objective: PairLinear
    maximize: bool
    rows: list[Row] = field(default_factory=list)
    step: float = 1.0  # smallest improvement that counts (objectives are integral)
    # The most a tie-breaker folded into the objective moves any plan's value (under a quarter
    # of a unit): a plan one unit better in the tier is then better by `1 - tie` at least.
    tie: float = 0.0
    relax: bool = False  # mandatory requests and pinned pairs optional
    switch_weight: float = 0.0  # value of each mandatory request staffed, when relaxed
    # Weight of the soft score folded into the objective as a tie-breaker (a part on all its
    # pairs settles tier 3 in the same MIP): small enough that the whole soft range is worth
    # less than half a unit of the tier (`soft_weight`).
    soft_weight: float = 0.0

    @property
    def sign(self) -> float:
        """+1 when the tier maximises, -1 when it minimises: `sign * (a - b)` is how much better
        a is than b."""
        return 1.0 if self.maximize else -1.0


@dataclass
class TierOutcome:
    value: float
    bound: float
    proven: bool
    soft_proven: bool = False  # the soft score too, where the tier weighs it


def combined(data: ProblemData, *, soft: bool = False) -> Tier:
    """Tiers 1 and 2 at once (with `soft`, tier 3 as a tie-breaker). Step 0: closing the columns
    under ties keeps every pair of any optimal plan, so that tier 3 on them is exact."""
    weight = combined_weight(data)
    return Tier(
        12, PairLinear(coverage=weight, cost=-1.0), maximize=True, step=0.0,
        soft_weight=soft_weight(data) if soft else 0.0,
    )  # fmt: skip


# What travel as tier 1's tie-breaker may weigh in all.
_TRAVEL_TIE = 0.25


def coverage_first(data: ProblemData) -> Tier:
    """Tier 1 with travel as a tie-breaker: `coverage - e * travel`, with e such that no plan's
    travel weighs more than `_TRAVEL_TIE` either way (a ceiling on any plan's travel: each
    request staffed to its maximum by its dearest candidates; costs priced for changes may be
    negative). A coverage unit more is then worth at least 1 - 2 tie = `step` in value, and the
    coverage bound is `floor(bound + tie)` (`coverage_bound`). Pure coverage where compile
    left candidates out: nothing bounds their travel, so no e keeps plans with them in line."""
    if data.request_dropped.any():
        return Tier(1, COVERAGE, maximize=True)
    per_request = np.zeros(data.num_requests)
    np.maximum.at(per_request, data.pair_request, np.abs(data.pair_cost.astype(np.float64)))
    counts = np.bincount(data.pair_request, minlength=data.num_requests)
    ceiling = float((per_request * np.minimum(counts, data.request_max)).sum())
    if ceiling <= 0:
        return Tier(1, COVERAGE, maximize=True)
    weight = _TRAVEL_TIE / ceiling
    return Tier(
        1, PairLinear(coverage=1.0, cost=-weight), maximize=True, step=1.0 - 2 * _TRAVEL_TIE,
        tie=_TRAVEL_TIE,
    )  # fmt: skip


def coverage_bound(tier: Tier, bound: float) -> int:
    """The bound on coverage that a bound on tier 1's value (tie-breaker included) proves."""
    return int(np.floor(bound + tier.tie + 1e-6))


def soft_weight(data: ProblemData) -> float:
    """A weight for the soft score small enough that no two plans' soft scores differ by more
    than half a unit of travel (a metre) once weighed: half over a bound on the soft range
    (`objective.soft_range`). 0 where there is nothing to weigh."""
    spread = soft_range(data)
    return 0.5 / spread if spread > 0 else 0.0


def combined_weight(data: ProblemData) -> float:
    """W of the combined tier: above any one pair's travel."""
    return 2.0 * float(data.pair_cost.astype(float).max(initial=0.0)) + 1.0


def held_travel(data: ProblemData, coverage: int, *, soft: bool = False) -> Tier:
    """Travel under held coverage (a knapsack row: slower than the combined tier, but what is
    left to settle when the combined optimum traded coverage away); with `soft`, tier 3 as a
    tie-breaker."""
    return Tier(
        2, TRAVEL, maximize=False, rows=[(COVERAGE, coverage - 0.5, np.inf)], step=0.0,
        soft_weight=soft_weight(data) if soft else 0.0,
    )  # fmt: skip


def staffing(data: ProblemData) -> Tier:
    """Tier 0: each mandatory request staffed (and each pinned pair kept) outweighs all coverage."""
    weight = float(data.request_priority[data.pair_request].sum()) + 1.0
    objective = PairLinear(coverage=1.0, extra=weight * data.pair_pinned.astype(np.float64))
    return Tier(0, objective, maximize=True, relax=True, switch_weight=weight)


def on_vars(form: Formulation, objective: FloatArray, switch_weight: float = 0.0) -> FloatArray:
    """An objective over all pairs (plus `switch_weight` per mandatory request staffed), as a
    vector over the formulation's variables."""
    out = np.zeros(form.num_vars)
    out[: form.num_pairs] = objective[form.pairs]
    out[form.num_pairs :] += switch_weight * form.staffing[form.num_pairs :]
    return out
