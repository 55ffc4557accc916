"""The objective in one place: how one selection of pairs compares with another.

Lexicographic, as FORMAT.md orders it: first the hard rules a selection breaks (structural ones,
caps and conflicts, before staffing ones), then coverage (tier 1), travel (tier 2) and the soft
score (tier 3: preference and stability bonuses minus the fairness penalty). Every engine and
every improvement step compares plans with `lexicographic_key`, so that none can trade a higher
tier for a lower one.
"""

from __future__ import annotations

import numpy as np

from .problem import BoolArray, ProblemData

__all__ = ["fairness_penalty", "lexicographic_key", "plan_coverage", "soft_score"]


def plan_coverage(data: ProblemData, selected: BoolArray) -> int:
    """Tier 1 of a selection: the sum of the priorities of the chosen pairs' requests."""
    return int(data.request_priority[data.pair_request[selected]].sum())


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
