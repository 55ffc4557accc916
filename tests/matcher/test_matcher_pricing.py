"""LP relaxations (`matcher.engines.pricing.solve_lp`): an LP started from the basis of an
earlier LP of fewer columns and rows (the restricted path's rounds of pricing and cuts) reaches
the same optimum as one solved from scratch, with the duals that price pairs."""

from __future__ import annotations

import numpy as np

from matcher import ProblemData
from matcher.engines.cuts import Cut, CutPool
from matcher.engines.formulation import formulate
from matcher.engines.pricing import solve_lp


def _week(seed: int) -> ProblemData:
    """Twenty volunteers with 4-unit caps, thirty requests of loads 1-3 needing 1-3, priorities
    1-4, random costs; requests in threes overlap."""
    rng = np.random.default_rng(seed)
    nv, nr = 20, 30
    pv, pr = np.divmod(np.arange(nv * nr), nr)
    keep = rng.random(nv * nr) < 0.4
    return ProblemData.build(
        num_volunteers=nv,
        num_requests=nr,
        pair_volunteer=pv[keep],
        pair_request=pr[keep],
        pair_cost=rng.integers(1, 100, int(keep.sum())),
        pair_load=(pr[keep] % 3) + 1,
        volunteer_capacity=np.full(nv, 4),
        request_max=(np.arange(nr) % 3) + 1,
        request_priority=(np.arange(nr) % 4) + 1,
        conflict_sets=[[r, r + 1, r + 2] for r in range(0, nr, 3)],
    )


def test_an_lp_from_an_earlier_basis_reaches_the_same_optimum() -> None:
    for seed in range(4):
        d = _week(seed)
        weight = 2 * float(d.pair_cost.max()) + 1
        first = np.flatnonzero(np.random.default_rng(seed).random(d.num_pairs) < 0.5)
        small = formulate(d, first)
        objective = (weight * d.request_priority[d.pair_request] - d.pair_cost).astype(np.float64)
        lp_small = solve_lp(small, objective[small.pairs], maximize=True, time_limit_s=10)
        assert lp_small is not None and lp_small.basis is not None
        # Every pair now, and a cut on the first volunteer's pairs.
        pairs = np.flatnonzero(d.pair_volunteer == 0)
        pool = CutPool.empty().with_cuts([Cut(pairs, np.ones(len(pairs)), 1.0)])
        full = formulate(d).with_cuts(pool)
        on_vars = np.zeros(full.num_vars)
        on_vars[: full.num_pairs] = objective[full.pairs]
        warm = solve_lp(full, on_vars, maximize=True, time_limit_s=10, warm=lp_small.basis)
        cold = solve_lp(full, on_vars, maximize=True, time_limit_s=10)
        assert warm is not None and cold is not None
        assert warm.value == np.float64(cold.value) or abs(warm.value - cold.value) < 1e-6
        # Its duals price its own columns (in the minimisation form, d = f - A^T duals with
        # f = -objective): reduced costs of columns strictly between their bounds are zero.
        reduced = -on_vars - full.matrix.T @ warm.duals
        basic = (warm.x > 1e-6) & (warm.x < 1 - 1e-6)
        assert np.allclose(reduced[basic], 0.0, atol=1e-6)
