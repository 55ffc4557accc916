"""Solving one tier on the columns: price them, dive for a plan, cut, then solve the MIP and add
every pair that a better plan could use (reduced-cost fixing), until the restricted MIP is
optimal for the whole part or the pairs to add grow too many (the tier then stays unproven)."""

from __future__ import annotations

import logging
import time

import numpy as np

from ..base import Deadline
from ..milp import MAX_COLUMNS, Solved
from .budget import CUT_SHARE, DIVE_SHARE, PRICING_SHARE, RESTRICTED_MIP_SHARE
from .columns import Priced, grow
from .mip import abs_gap, run_mip, tier_mip
from .state import PartState
from .tiers import Tier, TierOutcome, on_vars

__all__ = ["solve_tier"]

log = logging.getLogger(__name__)


def solve_tier(state: PartState, tier: Tier, *, closure_limit: float) -> TierOutcome | None:
    """Optimise one tier: on a part's every pair, one MIP; on restricted columns, closing them
    under reduced-cost fixing. None when the columns admit no plan."""
    deadline = state.budget.tier(tier.number)
    started = time.perf_counter()
    state.optimal_face = None
    priced = grow(state, tier, Deadline(deadline.remaining() * PRICING_SHARE), cut=False)
    if state.hand_back():
        bound = tier.sign * np.inf if priced is None else priced.bound
        return TierOutcome(state.value(tier), bound, False)
    if state.whole:
        outcome = _whole(state, tier, priced, deadline)
    else:
        outcome = _restricted(state, tier, priced, deadline, closure_limit)
    state.stats[f"tier{tier.number}_seconds"] = time.perf_counter() - started
    state.stats[f"tier{tier.number}_columns"] = float(state.columns.sum())
    return outcome


def _whole(
    state: PartState, tier: Tier, priced: Priced | None, deadline: Deadline
) -> TierOutcome | None:
    """A tier on a part's every pair: its MIP, straight away, from the plan in hand (HiGHS cuts
    for itself: on the independent family's 2,000-volunteer week the rounds of volunteer cuts
    took 4 s of 10 before a MIP that proves in under one), with the soft score folded in where
    the tier weighs it; the column dives or the search beside it on the second worker (`mip`)."""
    d = state.data
    sign = tier.sign
    if _attains(state, tier, priced):
        return TierOutcome(state.value(tier), state.value(tier), True)
    form, objective = state.mip(tier)
    # With the soft score weighed, the MIP proves tier 3 too, to a ten-thousandth (its range is
    # worth at most half a unit of the tier once weighed).
    gap = tier.soft_weight * 1e-4 if tier.soft_weight else abs_gap(state, tier)
    outcome, searched = tier_mip(state, form, objective, tier, deadline.remaining(), gap=gap)
    log.debug(
        "tier %d MIP %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
        outcome.objective, form.num_pairs, outcome.seconds,
    )  # fmt: skip
    if outcome.solved is Solved.INFEASIBLE:
        return None
    chosen = state.take(form, outcome)
    if chosen is not None and outcome.solved is Solved.OPTIMAL:
        state.last_solution = chosen
    if searched is not None and outcome.solved is not Solved.OPTIMAL and state.better(searched):
        state.count("beside_kept")
        if chosen is not None and d.violations(chosen) == (0, 0):
            state.runner_up = chosen
    value = state.value(tier)
    attained = outcome.objective is not None and sign * (outcome.objective - value) < 1e-6
    # The tier itself (its integral part) is proven once the bound is within half a unit.
    half = 0.5 if tier.soft_weight else max(tier.step / 2, 0.5)
    proven = attained and outcome.bound is not None and sign * (outcome.bound - value) < half
    proven |= attained and outcome.solved is Solved.OPTIMAL
    soft_proven = bool(tier.soft_weight) and attained and outcome.solved is Solved.OPTIMAL
    if proven and priced is not None:
        lp_bound = priced.bound
        state.optimal_face = (tier, priced.potential, max(sign * (lp_bound - value), 0.0))
    bound = value if proven else (sign * np.inf if outcome.bound is None else outcome.bound)
    return TierOutcome(value, bound, proven, soft_proven)


def _restricted(
    state: PartState,
    tier: Tier,
    priced: Priced | None,
    deadline: Deadline,
    closure_limit: float,
) -> TierOutcome | None:
    """A tier on restricted columns: a dive on the LP's support for a first plan, cut rounds
    that tighten the bound, then the MIP on the columns and reduced-cost fixing, until the
    restricted MIP is optimal for the whole part or the pairs to add grow too many."""
    d = state.data
    sign = tier.sign
    unbounded = sign * np.inf
    if priced is not None:
        dive(state, tier, priced.support, Deadline(deadline.remaining() * DIVE_SHARE))
        if tier.number != 0:
            # (Tier 0 counts staffed requests: its LP bound is as good as the optimum there,
            # and cut rounds on a large part cost seconds for nothing.)
            priced = grow(state, tier, Deadline(deadline.remaining() * CUT_SHARE)) or priced
    lp_bound = unbounded if priced is None else priced.bound
    proven = _attains(state, tier, priced)
    form, objective = state.mip(tier)
    while not proven and not deadline.expired() and not state.control.should_stop():
        outcome, searched = tier_mip(
            state, form, objective, tier, deadline.remaining() * RESTRICTED_MIP_SHARE,
            gap=abs_gap(state, tier),
        )  # fmt: skip
        log.debug(
            "tier %d MIP %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
            outcome.objective, form.num_pairs, outcome.seconds,
        )  # fmt: skip
        if outcome.solved is Solved.INFEASIBLE:
            return None
        chosen = state.take(form, outcome)
        # Only an optimal combined plan tells whether the tier traded coverage away.
        if chosen is not None and outcome.solved is Solved.OPTIMAL:
            state.last_solution = chosen
        # The search's plan counts only where HiGHS ran out of time: a proven MIP's plan is
        # kept as it is, so the result does not depend on how far the search got.
        timed_out = outcome.solved is not Solved.OPTIMAL
        if searched is not None and timed_out and state.better(searched):
            state.count("beside_kept")
            # The final search also tries the MIP's plan: it may lie in a better basin (on
            # e20200, the MIP's plan and one second of search beat 8 s of search alone).
            if chosen is not None and d.violations(chosen) == (0, 0):
                state.runner_up = chosen
        if priced is None:
            break
        value = state.value(tier)
        allowed = sign * (lp_bound - value) - tier.step + 1e-6
        needed = (priced.potential >= -allowed) & ~state.columns
        if (priced.left_out >= -allowed).any():
            break  # a candidate the data left out could be part of a better plan
        if not needed.any():
            # Proven only if the plan in hand itself attains the optimum: a lexicographically
            # better plan kept instead of the MIP's (higher coverage, worse tier value) proves
            # nothing about this tier.
            attained = (
                outcome.objective is not None
                and sign * (outcome.objective - value) < 1e-6 + tier.step / 2
            )
            proven = (outcome.solved is Solved.OPTIMAL and attained) or sign * (
                lp_bound - value
            ) < tier.step
            break
        grown = int(state.columns.sum() + needed.sum())
        if (
            needed.sum() > closure_limit * state.columns.sum()
            or grown > MAX_COLUMNS  # a MIP HiGHS could not be trusted to stop on time
            or deadline.remaining() < 1.0
        ):
            break
        state.columns |= needed
        form, objective = state.mip(tier)
    value = state.value(tier)
    if proven and priced is not None:
        state.optimal_face = (tier, priced.potential, max(sign * (lp_bound - value), 0.0))
    return TierOutcome(value, value if proven else lp_bound, proven)


def _attains(state: PartState, tier: Tier, priced: Priced | None) -> bool:
    """Whether the plan in hand (the dive's, or the greedy plan) attains the tier's LP bound
    over all pairs: then no MIP can do better (on the GAP, tier 0's MIP took 16 s to find a
    worse plan than the dive's, which staffed every job). Only a plan of the tier counts: one
    that keeps every rule (a pinned pair may break a cap), with mandatory requests staffed
    unless the tier relaxes them. (A tier weighing the soft score has no such LP bound.)"""
    if priced is None or tier.soft_weight:
        return False
    structural, staffing = state.data.violations(state.incumbent)
    return (
        structural == 0
        and (tier.relax or staffing == 0)
        and tier.sign * (priced.bound - state.value(tier)) < tier.step
    )


def dive(state: PartState, tier: Tier, support: np.ndarray, deadline: Deadline) -> None:
    """A quick plan from the LP: the MIP on the pairs the LP uses (and the plan in hand's). The
    LP optimum is nearly integral here, so this small MIP is fast and close to it."""
    saved = state.columns
    state.columns = support | state.incumbent
    try:
        form = state.formulation(tier.rows, tier.relax)
        outcome = run_mip(
            state, form, on_vars(form, tier.objective.on_pairs(state.data), tier.switch_weight),
            maximize=tier.maximize, seconds=deadline.remaining(), gap=abs_gap(state, tier),
        )  # fmt: skip
        log.debug(
            "tier %d dive %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
            outcome.objective, form.num_pairs, outcome.seconds,
        )  # fmt: skip
        state.take(form, outcome)
    finally:
        state.columns = saved | state.incumbent
