"""Solving one tier on the columns: price them, dive for a plan, cut, then solve the MIP and add
every pair that a better plan could use (reduced-cost fixing), until the restricted MIP is
optimal for the whole part or the pairs to add grow too many (the tier then stays unproven)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from ...problem import BoolArray, FloatArray
from ..base import Deadline
from ..formulation import Formulation
from ..milp import MAX_COLUMNS, Heuristics, MilpOutcome, Solved
from .budget import (
    CLOSED_MIP_SHARE,
    CUT_SHARE,
    DIVE_SHARE,
    FIRST_MIP_SHARE,
    LONE_DIVE_SHARE,
    PRICING_SHARE,
    RESTRICTED_MIP_SHARE,
)
from .columns import Priced, grow
from .mip import abs_gap, run_mip, tier_mip
from .state import PartState
from .tiers import Tier, TierOutcome, on_vars

__all__ = ["solve_tier"]

log = logging.getLogger(__name__)

# Where the cut rounds priced in pairs the last MIP never saw, and the closure from its plan is
# at most this share of the columns, one MIP takes both: a MIP on a few more columns costs
# about as much as one without them (docs/engines.md, step 6).
UNSEEN_CLOSURE_SHARE = 0.1


def solve_tier(state: PartState, tier: Tier, *, closure_limit: float) -> TierOutcome | None:
    """Optimise one tier: on a part's every pair, one MIP; on restricted columns, closing them
    under reduced-cost fixing. None when the columns admit no plan."""
    deadline = state.budget.tier(tier.number)
    started = time.perf_counter()
    state.optimal_face = None
    priced = (
        None
        if _straight_to_mip(state, tier)
        else grow(state, tier, Deadline(deadline.remaining() * PRICING_SHARE), cut=False)
    )
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


def _straight_to_mip(state: PartState, tier: Tier) -> bool:
    """Whether a tier goes to its MIP without its LP first: on a part's every pair, with the
    soft score weighed, the LP neither proves the plan in hand (`_attains` needs a tier without
    it) nor adds columns, and the MIP settles tier 3 itself, so the LP would only hold the MIP
    back. It is solved after the MIP where tier 3 needs the optimal face."""
    return state.whole and bool(tier.soft_weight)


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
    # No feasibility jump from a plan in hand that keeps every row, and no root reduced-cost
    # heuristic where travel is weighed: the combined MIPs prove faster without it; the
    # coverage MIPs, where it costs nothing, keep it (docs/engines.md, "Whole parts").
    heuristics = Heuristics(feasibility_jump=False, root_reduced_cost=not tier.objective.cost)
    outcome, searched = tier_mip(
        state, form, objective, tier, deadline.remaining(), gap=gap, heuristics=heuristics
    )
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
    if proven and not soft_proven and priced is None and tier.soft_weight:
        priced = grow(state, tier, Deadline(deadline.remaining() * PRICING_SHARE), cut=False)
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
    """A tier on restricted columns: a dive on the LP's support for a first plan; the MIP on the
    columns, with rounds of cuts that tighten the bound (beside it, on two workers), their
    progress measured against the MIP's plan (against the dive's, they looked stalled while
    still closing a hundredth of the true gap a round); then reduced-cost fixing and the MIP
    again, until the restricted MIP is optimal for the whole part or the pairs to add grow too
    many."""
    sign = tier.sign
    # Where no MIP on the columns can run (too many of them), the dive is the tier's one MIP.
    lone = state.columns.sum() > MAX_COLUMNS
    if priced is not None:
        share = LONE_DIVE_SHARE if lone else DIVE_SHARE
        dive(state, tier, priced.support, Deadline(deadline.remaining() * share))
    lp_bound = sign * np.inf if priced is None else priced.bound
    proven = _attains(state, tier, priced)
    if lone:
        # No MIP on these columns could be trusted to stop on time (`milp`), nor on their
        # closure: the dive's plan goes to the improvement search, which gets the time.
        return TierOutcome(state.value(tier), state.value(tier) if proven else lp_bound, proven)
    # (Tier 0 counts staffed requests: its LP bound is as good as the optimum there, and cut
    # rounds on a large part cost seconds for nothing.)
    cut = priced is not None and tier.number != 0 and not proven
    form, objective = state.mip(tier)
    closed = False  # the columns hold every pair a better plan could use: this MIP may prove it
    patient = False  # cut rounds run until they stop closing the gap (once, when needed)
    soft_proven = False
    # With the soft score weighed, MIPs stop only within a ten-thousandth of a soft unit.
    gap = tier.soft_weight * 1e-4 if tier.soft_weight else abs_gap(state, tier)
    # The first MIP, before the cut rounds, need not settle the soft score: within half a
    # unit it still settles the tier's own, integral part (a weighed soft range is worth less).
    first_gap = min(abs_gap(state, tier), 0.499) if tier.soft_weight else gap
    outcome: MilpOutcome | None = None  # the last MIP's, on the columns as they are
    settles_soft = False  # whether that MIP ran to the soft score's gap
    unseen = False  # the cut rounds after that MIP priced in pairs it never saw
    while not proven and _time_left(state, deadline, closed) and not state.control.should_stop():
        if outcome is None:
            solved = state.columns.copy()
            if cut:
                assert priced is not None
                outcome, searched, priced = _mip_and_cuts(
                    state, tier, form, objective, priced, deadline, first_gap
                )
                lp_bound, cut, settles_soft = priced.bound, False, False
            else:
                # A MIP on closed columns proves the tier if it ends: it may run into the time
                # the part kept for after the tier (on the mixed-city 5,000/600 week it needed
                # 3.5 s and the tier had 2 left).
                seconds = (
                    _closed_mip_left(state) if closed else deadline.remaining() * RESTRICTED_MIP_SHARE
                )
                outcome, searched = tier_mip(state, form, objective, tier, seconds, gap=gap)
                settles_soft = True
            if not _took(state, tier, form, outcome, searched):
                return None
            if priced is None:
                break
            if _attains(state, tier, priced):
                proven = True
                break
            unseen = bool((state.columns & ~solved).any())
        assert priced is not None
        value = state.value(tier)
        # The LP bounds the tier's own, integral part of the objective. Without a soft score a
        # better plan gains a whole step in it; with one, a plan equal in it may still be better
        # once weighed (the soft range is worth less than half a step), so its pairs count too.
        own = state.value(replace(tier, soft_weight=0.0))
        step = 0.0 if tier.soft_weight else tier.step
        allowed = sign * (lp_bound - own) - step + 1e-6
        could_improve = priced.potential >= -allowed  # pairs a better plan could use
        needed = could_improve & ~state.columns
        if (priced.left_out >= -allowed).any():
            break  # a candidate the data left out could be part of a better plan
        log.debug(
            "tier %d closure: %d pairs could improve on %d columns (bound gap %.1f)%s",
            tier.number, int(needed.sum()), int(state.columns.sum()), allowed,
            ", beside pairs the MIP never saw" if unseen else "",
        )  # fmt: skip
        if unseen and needed.sum() > UNSEEN_CLOSURE_SHARE * state.columns.sum():
            # From a plan the new pairs may improve much, the closure is large: the MIP on
            # them comes first (on a 5,000-volunteer week 36 such pairs moved its optimum by
            # 55,000, and the closure from the better plan was a tenth the size).
            form, objective = state.mip(tier)
            outcome = None
            continue
        if not needed.any() and not unseen:
            # Proven only if the plan in hand itself attains the optimum: a lexicographically
            # better plan kept instead of the MIP's (higher coverage, worse tier value) proves
            # nothing about this tier.
            attained = (
                outcome.objective is not None
                and sign * (outcome.objective - value) < 1e-6 + tier.step / 2
            )
            settled = outcome.solved is Solved.OPTIMAL and attained
            proven = (
                settled
                or sign * (lp_bound - value) < tier.step
                or _lp_settles(state, tier, lp_bound)
            )
            # The weighed soft score too, where the MIP settled it over every column a
            # better plan could use.
            soft_proven = bool(tier.soft_weight) and settled and settles_soft
            break
        too_many = (
            needed.sum() > closure_limit * state.columns.sum()
            or state.columns.sum() + needed.sum() > MAX_COLUMNS  # no MIP to trust on time
        )
        if too_many and not patient and tier.number != 0 and deadline.remaining() >= 1.0:
            # The bound is too far from the plan to close the columns: cut on, now that the
            # plan is the restricted optimum, until the rounds stop closing the gap (on the
            # scarce-skills 5,000/600 week the first rounds stopped 4,263 above it, leaving
            # 48,000 pairs to add), and close again.
            patient = True
            columns = state.columns.copy()
            rounds = Deadline(deadline.remaining() * CUT_SHARE)
            priced = grow(state, tier, rounds, patient=True) or priced
            lp_bound = priced.bound
            if _attains(state, tier, priced):
                proven = True
                break
            if (state.columns & ~columns).any() and not _lp_settles(state, tier, lp_bound):
                form, objective = state.mip(tier)
                outcome = None
            continue
        if too_many or (max(deadline.remaining(), _closed_mip_left(state)) < 1.0 and not unseen):
            break
        state.columns |= needed
        closed = True
        form, objective = state.mip(tier, _closed_mip_pairs(state, could_improve))
        outcome = None
    value = state.value(tier)
    if proven and priced is not None:
        state.optimal_face = (tier, priced.potential, max(sign * (lp_bound - value), 0.0))
    return TierOutcome(value, value if proven else lp_bound, proven, soft_proven)


def _closed_mip_pairs(state: PartState, could_improve: BoolArray) -> BoolArray:
    """The columns the MIP that proves a tier on closed columns needs: those a plan better than
    the one in hand could use (`could_improve`: reduced cost within the LP's gap), with that
    plan's own (its start) and the pinned pairs; every column where the plan in hand breaks a rule
    (a MIP without them could find no plan and seem to prove that none exists). HiGHS does the
    same at its root, but only after presolving and solving the larger model (docs/engines.md,
    sweep17)."""
    d = state.data
    if d.violations(state.incumbent) != (0, 0):
        return state.columns
    return state.columns & (could_improve | state.incumbent | d.pair_pinned)


def _lp_settles(state: PartState, tier: Tier, lp_bound: float) -> bool:
    """Whether the LP bound over all pairs is within half a unit of the plan in hand's own
    value (the tier's integral objective, without the soft score it may weigh): no plan
    better by a unit exists. Where the columns are also closed (every plan as good lies in
    them), the tier is proven and tier 3 on them exact: a soft-weighted MIP, which stops only
    within a ten-thousandth of a soft unit, is not needed for that. Not for a tier with a
    tie-breaker, whose values are not integral."""
    if tier.tie:
        return False
    own = state.value(replace(tier, soft_weight=0.0))
    return tier.sign * (lp_bound - own) < 0.5


def _closed_mip_left(state: PartState) -> float:
    """Seconds a MIP on closed columns may take: what the part has left, beyond the tier."""
    return state.budget.share(CLOSED_MIP_SHARE).remaining()


def _time_left(state: PartState, deadline: Deadline, closed: bool) -> bool:
    """Whether the tier goes on: within its own time, or, once its columns are closed (a MIP
    on them proves the tier if it ends), within what the part has left."""
    return not deadline.expired() or (closed and _closed_mip_left(state) > 0)


def _took(
    state: PartState,
    tier: Tier,
    form: Formulation,
    outcome: MilpOutcome,
    searched: BoolArray | None,
) -> bool:
    """Keep what a MIP (and the search beside it) found; False when the columns admit no
    plan."""
    log.debug(
        "tier %d MIP %s %s on %d columns (%.2fs)", tier.number, outcome.solved.value,
        outcome.objective, form.num_pairs, outcome.seconds,
    )  # fmt: skip
    if outcome.solved is Solved.INFEASIBLE:
        return False
    chosen = state.take(form, outcome)
    # Only an optimal combined plan tells whether the tier traded coverage away.
    if chosen is not None and outcome.solved is Solved.OPTIMAL:
        state.last_solution = chosen
    # The search's plan counts only where HiGHS ran out of time: a proven MIP's plan is kept as
    # it is, so the result does not depend on how far the search got.
    if searched is not None and outcome.solved is not Solved.OPTIMAL and state.better(searched):
        state.count("beside_kept")
        # The final search also tries the MIP's plan: it may lie in a better basin (on e20200,
        # the MIP's plan and one second of search beat 8 s of search alone).
        if chosen is not None and state.data.violations(chosen) == (0, 0):
            state.runner_up = chosen
    return True


def _mip_and_cuts(
    state: PartState,
    tier: Tier,
    form: Formulation,
    objective: FloatArray,
    priced: Priced,
    deadline: Deadline,
    gap: float,
) -> tuple[MilpOutcome, BoolArray | None, Priced]:
    """The first MIP on the columns (stopping within `gap`), then the cut rounds (their
    progress measured against its plan). The MIP's outcome, the search's plan beside it, the
    last pricing. (Side by side on two workers, the MIP slowed down by half and ran out of its
    time.)"""
    seconds = deadline.remaining() * FIRST_MIP_SHARE
    outcome, searched = tier_mip(state, form, objective, tier, seconds, gap=gap)
    rounds = Deadline(deadline.remaining() * CUT_SHARE)
    return outcome, searched, grow(state, tier, rounds) or priced


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
