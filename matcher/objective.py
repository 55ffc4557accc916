"""The objective in one place: how one selection of pairs compares with another.

Lexicographic, as FORMAT.md orders it: first the hard rules a selection breaks (structural ones,
caps and conflicts, before staffing ones), then coverage (tier 1), travel (tier 2) and the soft
score (tier 3: preference and stability bonuses minus the fairness penalty and what soft quotas
fall short, weighed). Every engine and
every improvement step compares plans with `lexicographic_key`, so that none can trade a higher
tier for a lower one.
"""

from __future__ import annotations

import numpy as np

from .problem import BoolArray, FloatArray, IntArray, ProblemData

__all__ = [
    "fairness_of_loads",
    "fairness_penalty",
    "lexicographic_key",
    "plan_coverage",
    "quota_shortfall",
    "soft_range",
    "soft_score",
    "understaffed_requests",
]


def understaffed_requests(data: ProblemData, selected: BoolArray) -> IntArray:
    """Requests a plan leaves breaking a staffing rule: mandatory (or partly staffed) requests
    below their minimum, and requests whose pinned pairs it drops."""
    filled = np.bincount(data.pair_request[selected], minlength=data.num_requests)
    below = filled < data.request_min
    short = (data.request_mandatory | (filled > 0)) & below
    short[np.unique(data.pair_request[data.pair_pinned & ~selected])] = True
    return np.flatnonzero(short).astype(np.int64)


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
    """Tier 3: bonuses of chosen pairs minus the fairness penalty and the soft quotas'
    weighed shortfall."""
    return (
        float(data.pair_bonus[selected].sum())
        - fairness_penalty(data, selected)
        - quota_shortfall(data, selected)
    )


def fairness_penalty(data: ProblemData, selected: BoolArray) -> float:
    """The convex penalty on each volunteer's load beyond the fairness breakpoints, counted
    from the load the volunteer already has (`volunteer_fairness_offset`: hours served in the
    target period, net of the target): F(offset + load) - F(offset), so that a volunteer
    without assignments costs nothing and one far behind a target costs nothing for longer."""
    load = np.bincount(
        data.pair_volunteer[selected],
        weights=data.pair_load[selected],
        minlength=data.num_volunteers,
    ).astype(np.float64)
    return float(fairness_of_loads(data, load).sum())


def fairness_of_loads(data: ProblemData, load: FloatArray) -> FloatArray:
    """Each volunteer's fairness penalty at the given loads (see `fairness_penalty`)."""
    offset = data.volunteer_fairness_offset[:, None]
    bp = data.fairness_breakpoints[None, :]
    excess = np.maximum(offset + load[:, None] - bp, 0.0) - np.maximum(offset - bp, 0.0)
    return np.asarray((excess * data.fairness_slopes[None, :]).sum(axis=1), dtype=np.float64)


def soft_range(data: ProblemData) -> float:
    """A bound on how far apart any two plans' soft scores are: every bonus, each volunteer's
    fairness penalty at the most load its pairs and caps allow, and each soft quota's
    shortfall at its largest."""
    reach = np.minimum(
        np.bincount(
            data.pair_volunteer, weights=data.pair_load.astype(float), minlength=data.num_volunteers
        ),
        data.volunteer_capacity,
    )
    spread = float(np.abs(data.pair_bonus).sum()) + float(fairness_of_loads(data, reach).sum())
    soft = ~data.quota_hard
    if soft.any():
        largest = np.abs(data.quota_base[soft]) + np.abs(data.quota_amounts()[soft]).sum(axis=1)
        spread += float((data.quota_weight[soft] * largest).sum())
    return spread


def quota_shortfall(data: ProblemData, selected: BoolArray) -> float:
    """The soft quotas' cost: each one's weight times how far the selection falls short of it
    (in pairs or load). Hard quotas are rules (`ProblemData.violations`), not costs."""
    if not len(data.quota_group):
        return 0.0
    short = np.maximum(-data.quota_slack(selected), 0.0)
    return float((short * data.quota_weight)[~data.quota_hard].sum())
