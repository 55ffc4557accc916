"""The restricted columns of a part, and how they grow: a tier's LP is solved on the columns,
every other pair is priced with its duals (`pricing`), improving pairs are added until none is
left (so the LP bound holds for the whole part), and volunteer cuts (`cuts`) cut off fractional
volunteers while they close the gap to the plan in hand."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...problem import BoolArray, FloatArray, IntArray, ProblemData
from ..base import Deadline
from ..cuts import Cut, separate
from ..pricing import bound_with, potentials, solve_lp
from ..state import Incidence
from .tiers import Tier, on_vars

if TYPE_CHECKING:
    from .state import PartState

__all__ = ["Priced", "best_per_owner", "grow", "initial_columns"]

log = logging.getLogger(__name__)

# Nearest candidates per request slot in the first restricted problem.
_NEAREST_PER_SLOT = 3
_NEAREST_EXTRA = 2
# Pricing rounds per tier, and how many improving pairs one round may add per request.
_PRICING_ROUNDS = 12
_ADD_PER_REQUEST = 4
_ADD_PER_VOLUNTEER = 2
# Relative LP improvement below which pricing stops (1e-5 of the objective).
_PRICING_TOLERANCE = 1e-5
# Rounds of volunteer cuts per LP; they stop early once the last rounds (up to this many)
# closed less than a hundredth of the gap to the plan in hand per round.
_CUT_ROUNDS = 60
_CUT_STALL_ROUNDS = 4


@dataclass(frozen=True, eq=False)
class Priced:
    """A tier's LP on the columns, priced against everything else."""

    bound: float  # on the whole part's tier optimum (its LP with cuts, priced)
    potential: FloatArray  # per pair
    left_out: FloatArray  # per request, for candidates the data left out
    support: BoolArray  # pairs the LP uses


def initial_columns(data: ProblemData, inc: Incidence, incumbent: BoolArray) -> BoolArray:
    """The first restricted columns: the nearest candidates of each request, the plan in hand's
    pairs and the pinned ones."""
    d = data
    keep = incumbent | d.pair_pinned
    per_request = np.diff(inc.request_ptr)
    rank = np.arange(d.num_pairs) - np.repeat(inc.request_ptr[:-1], per_request)
    owner = np.repeat(np.arange(d.num_requests), per_request)
    limit = _NEAREST_PER_SLOT * d.request_max + _NEAREST_EXTRA
    keep[inc.request_pairs[rank < limit[owner]]] = True
    # Co-located requests (exam sites) all list the same nearest people: add the nearest
    # request of volunteers in no column yet, closest first, up to half as many again.
    absent = np.ones(d.num_volunteers, dtype=bool)
    absent[d.pair_volunteer[keep]] = False
    nearest = best_per_owner(
        d.pair_volunteer, absent[d.pair_volunteer], -d.pair_cost.astype(float), 1
    )
    extra = np.flatnonzero(nearest)
    extra = extra[np.argsort(d.pair_cost[extra], kind="stable")[: int(keep.sum()) // 2]]
    keep[extra] = True
    return keep


def grow(
    state: PartState,
    tier: Tier,
    deadline: Deadline,
    *,
    cut: bool = True,
    patient: bool = False,
    best: Callable[[], float] | None = None,
) -> Priced | None:
    """Column generation and cuts: solve the tier's LP on the columns, add pairs that improve
    it until none is left, then (with `cut`) cut off its fractional volunteers (`cuts`) and
    go on while the cuts close the gap to the best plan known (the plan in hand's, or what
    `best` says a MIP running beside has found) (`patient`: until it is closed, no cut is left
    or time is up). Returns the last pricing, or None when the LP has no solution on the
    columns or time ran out before one."""
    d = state.data
    result: Priced | None = None
    form = state.formulation(tier.rows, tier.relax, lp=True)
    pricing_rounds = cut_rounds = 0
    cut_values: list[float] = []
    basis = None  # each round's LP starts from the last one's basis
    # Restricted parts round the LP into a plan once, when pricing stops (or time runs out
    # first): a plan better than greedy's before the cuts, dives and MIPs take their time. Only
    # an LP that weighs travel: the coverage LP's optimum is degenerate in travel, and a plan
    # rounded from it, far longer in travel, would be the plan the later tiers start from
    # (docs/engines.md, "Large weeks under load").
    to_round = not state.whole and bool(tier.objective.cost)
    last: tuple[IntArray, FloatArray] | None = None  # the last LP's columns and solution
    while True:
        objective = on_vars(form, tier.objective.on_pairs(d), tier.switch_weight)
        lp = solve_lp(
            form, objective, maximize=tier.maximize, time_limit_s=deadline.remaining(), warm=basis
        )
        if lp is None or lp.infeasible:
            break
        basis = lp.basis
        last = (form.pairs, lp.x[: form.num_pairs])
        potential, left_out = potentials(
            d, form, lp, tier.objective, [row for row, _, _ in tier.rows], state.request_sets,
            state.cuts,
        )  # fmt: skip
        x = lp.x[: form.num_pairs]
        support = np.zeros(d.num_pairs, dtype=bool)
        support[form.pairs[x > 1e-6]] = True
        if tier.number == 12:
            state.lp_values = np.zeros(d.num_pairs)
            state.lp_values[form.pairs] = x
        state.starved.update(np.flatnonzero(left_out > 1e-7).tolist())
        result = Priced(
            bound_with(d, lp, potential, left_out, state.columns), potential, left_out, support
        )
        log.debug(
            "tier %d LP %.1f bound %.1f on %d columns, %d cuts (%.2fs)",
            tier.number, lp.value, result.bound, form.num_pairs, len(state.cuts), lp.seconds,
        )  # fmt: skip
        if deadline.expired():
            break
        improving = (potential > 1e-7) & ~state.columns
        # Pricing stops when nothing improves, or when what is left is a sliver of the
        # objective (rounds then creep: each costs a full LP and a pass over every pair).
        # The combined tier's scale is its travel: W * coverage is a constant there.
        scale = abs(float(tier.objective.cost * (d.pair_cost[form.pairs] @ x)))
        scale = scale if tier.objective.cost else abs(lp.value)
        sliver = abs(result.bound - lp.value) <= _PRICING_TOLERANCE * max(scale, 1.0)
        # Each cut round may also add columns (pairs the cuts' duals left attractive), so
        # that one LP serves both.
        grows = improving.any() and not sliver and pricing_rounds < _PRICING_ROUNDS + cut_rounds
        if not grows and to_round:
            to_round = False
            state.round_lp(form.pairs, x)
        new: list[Cut] = []
        if (cut and not grows) or cut_rounds:
            cut_values.append(result.bound)
            reference = state.value(tier)
            if best is not None:
                reference = tier.sign * max(tier.sign * reference, tier.sign * best())
            if (
                cut
                and cut_rounds < _CUT_ROUNDS
                and not _stalled(tier, reference, cut_values, patient)
            ):
                new = separate(d, state.inc, form.pairs, x, deadline)
        if not grows and not new:
            break
        first = len(state.cuts)
        state.cuts = state.cuts.with_cuts(new)
        cut_rounds += bool(new)
        if grows:
            pricing_rounds += 1
            # The best of each request, and of each volunteer: requests that all want the
            # same few free people would otherwise keep adding those same people.
            state.columns |= best_per_owner(
                d.pair_request, improving, potential, _ADD_PER_REQUEST
            )
            state.columns |= best_per_owner(
                d.pair_volunteer, improving, potential, _ADD_PER_VOLUNTEER
            )
            form = state.formulation(tier.rows, tier.relax, lp=True)
        else:
            form = form.with_cuts(state.cuts, first)
    if to_round and last is not None:
        state.round_lp(*last)
    state.stats["cuts"] = float(len(state.cuts))
    return result


def _stalled(tier: Tier, reference: float, values: list[float], patient: bool = False) -> bool:
    """Whether the LP has closed the gap to the best plan's value `reference`, or the last cut
    rounds closed less than a hundredth of what is left per round: cuts then tighten a bound
    that stays short (as on hard GAP instances) and the time is better spent searching."""
    sign = tier.sign
    gap = sign * (values[-1] - reference)
    # Proven once the gap is under one step; a face is as tight as it gets at half a unit
    # (the fixing's own tolerance).
    if gap < max(tier.step, 1e-6) or (patient and gap <= 0.5):
        return True
    rounds = min(len(values) - 1, _CUT_STALL_ROUNDS)
    if rounds < 2 or patient:  # one round can close little where the next close much
        return False
    return sign * (values[-1 - rounds] - values[-1]) < 0.01 * rounds * gap


def best_per_owner(owner: IntArray, mask: BoolArray, score: FloatArray, k: int) -> BoolArray:
    """Among the pairs in `mask`, the `k` highest-scoring of each owner (request or volunteer)."""
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((-score[idx], owner[idx]))]
    group = owner[order]
    rank = np.arange(len(order)) - np.searchsorted(group, group, side="left")
    out = np.zeros(len(mask), dtype=bool)
    out[order[rank < k]] = True
    return out
