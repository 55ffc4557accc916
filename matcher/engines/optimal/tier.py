"""Solving one tier on the columns: price them, dive for a plan, cut, then solve the MIP and add
every pair that a better plan could use (reduced-cost fixing), until the restricted MIP is
optimal for the whole part or the pairs to add grow too many (the tier then stays unproven)."""

from __future__ import annotations

import logging
import time

import numpy as np

from ..base import Deadline
from ..milp import Solved
from .budget import CUT_SHARE, DIVE_SHARE, PRICING_SHARE, RESTRICTED_MIP_SHARE
from .columns import grow
from .mip import abs_gap, has_search_beside, run_mip, tier_mip
from .state import PartState
from .tiers import Tier, TierOutcome, on_vars

__all__ = ["solve_tier"]

log = logging.getLogger(__name__)

# Parts this small go straight to the MIP (no dive): HiGHS solves them in about a second.
SMALL_PART = 2_000


def solve_tier(state: PartState, tier: Tier, *, closure_limit: float) -> TierOutcome | None:
    """Optimise one tier on the columns, closing them under reduced-cost fixing. None when the
    columns admit no plan."""
    d = state.data
    deadline = state.budget.tier(tier.number)
    sign = tier.sign
    started = time.perf_counter()
    state.optimal_face = None
    priced = grow(state, tier, Deadline(deadline.remaining() * PRICING_SHARE), cut=False)
    unbounded = sign * np.inf
    if state.hand_back():
        return TierOutcome(state.value(tier), unbounded if priced is None else priced.bound, False)
    # Where column dives will run beside the MIP, they are the better dive: on d20200 the 1.7 s
    # the MIP on the LP's support took gave them 12243 instead of 12253 (3 runs each). (Not in
    # tier 0, whose proof may rest on that MIP's plan alone, as on d60900; and only where the
    # MIP will have its second: it gets what the cut rounds leave.)
    column_dives = (
        tier.number != 0
        and state.full
        and has_search_beside(state, deadline.remaining() * (1 - CUT_SHARE))
        and state.gap_shape() is not None
    )
    if priced is not None and d.num_pairs > SMALL_PART and not column_dives:
        # A small part's MIP finds a plan as fast as the dive would: only large ones dive.
        dive(state, tier, priced.support, Deadline(deadline.remaining() * DIVE_SHARE))
    if priced is not None and tier.number != 0:
        # (Tier 0 counts staffed requests: its LP bound is as good as the optimum there, and
        # cut rounds on a large part cost seconds for nothing.)
        priced = grow(state, tier, Deadline(deadline.remaining() * CUT_SHARE)) or priced
    lp_bound = unbounded if priced is None else priced.bound
    # The plan in hand (the dive's, or the greedy plan) may already attain the bound, over all
    # pairs: then no MIP can do better (on the GAP, tier 0's MIP took 16 s to find a worse plan
    # than the dive's, which staffed every job). Only a plan of the tier counts: one that keeps
    # every rule (a pinned pair may break a cap), with mandatory requests staffed unless the tier
    # relaxes them.
    structural, staffing = d.violations(state.incumbent)
    proven = (
        priced is not None
        and structural == 0
        and (tier.relax or staffing == 0)
        and sign * (lp_bound - state.value(tier)) < tier.step
    )
    form = state.formulation(tier.rows, tier.relax)
    mip_share = 1.0 if state.full else RESTRICTED_MIP_SHARE
    while not proven and not deadline.expired() and not state.control.should_stop():
        objective = on_vars(form, tier.objective.on_pairs(d), tier.switch_weight)
        outcome, searched = tier_mip(state, form, objective, tier, deadline.remaining() * mip_share)
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
        if needed.sum() > closure_limit * state.columns.sum() or deadline.remaining() < 1.0:
            break
        state.columns |= needed
        form = state.formulation(tier.rows, tier.relax)
    state.stats[f"tier{tier.number}_seconds"] = time.perf_counter() - started
    state.stats[f"tier{tier.number}_columns"] = float(state.columns.sum())
    value = state.value(tier)
    if proven and priced is not None:
        state.optimal_face = (tier, priced.potential, max(sign * (lp_bound - value), 0.0))
    return TierOutcome(value, value if proven else lp_bound, proven)


def dive(state: PartState, tier: Tier, support: np.ndarray, deadline: Deadline) -> None:
    """A quick plan from the LP: the MIP on the pairs the LP uses (and the plan in hand's). The
    LP optimum is nearly integral here, so this small MIP is fast and close to it."""
    saved = state.columns
    state.columns = support | state.incumbent
    try:
        form = state.formulation(tier.rows, tier.relax)
        outcome = run_mip(
            form, on_vars(form, tier.objective.on_pairs(state.data), tier.switch_weight),
            maximize=tier.maximize, seconds=deadline.remaining(), gap=abs_gap(state, tier),
        )  # fmt: skip
        log.debug(
            "tier %d dive %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
            outcome.objective, form.num_pairs, outcome.seconds,
        )  # fmt: skip
        state.take(form, outcome)
    finally:
        state.columns = saved | state.incumbent
