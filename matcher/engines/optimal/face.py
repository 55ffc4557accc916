"""Tier 3, the soft score (preferences, stability, fairness), with coverage and travel held, on
the optimal face of the proven tier: a pair whose potential (exact reduced cost) exceeds the LP
bound's gap to the optimum plus half a unit is fixed at its bound, for moving it would cost more
than the gap. Exact because the tier-2 columns are closed under reduced-cost fixing (every
travel-optimal plan lives in them)."""

from __future__ import annotations

import time
from dataclasses import replace

from ...problem import FloatArray
from ..base import Deadline
from ..formulation import Formulation
from ..milp import Solved
from .budget import FACE_SHARE
from .columns import grow
from .mip import run_mip
from .state import PartState
from .tiers import Row

__all__ = ["fixed_by_potential", "solve_soft_tier"]


def solve_soft_tier(state: PartState, extra: list[Row]) -> bool:
    """The soft tier under the `extra` rows that hold coverage and travel; whether it is
    proven. Free (every plan ties) where there is nothing to weigh."""
    d = state.data
    if not (bool(d.pair_bonus.any()) or bool(d.fairness_slopes.any())):
        return True
    started = time.perf_counter()
    face = _on_optimal_face(state, state.formulation(extra), state.budget.share(FACE_SHARE))
    form, soft = face.with_soft_terms(d)
    outcome = run_mip(
        state, form, soft, maximize=True, seconds=state.budget.tier(3).remaining(), gap=1e-6
    )
    state.take(form, outcome)
    state.stats["tier3_seconds"] = time.perf_counter() - started
    return outcome.solved is Solved.OPTIMAL


def _on_optimal_face(state: PartState, form: Formulation, deadline: Deadline) -> Formulation:
    """`form` restricted to what the last proven tier's plans can be (`fixed_by_potential`):
    with an LP bound that meets the optimum, the held tiers leave few pairs free. A bound still
    short of it is first tightened by more cuts (the optimum is known now, so they run while
    they close the gap to it)."""
    if state.optimal_face is None:
        return form
    tier, potential, slack = state.optimal_face
    if slack > 0.5:
        priced = grow(state, tier, deadline, patient=True)
        if priced is not None:
            tighter = max(tier.sign * (priced.bound - state.value(tier)), 0.0)
            if tighter < slack:
                potential, slack = priced.potential, tighter
    state.stats["face_slack"] = slack
    return fixed_by_potential(form, potential, slack)


def fixed_by_potential(form: Formulation, potential: FloatArray, slack: float) -> Formulation:
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
