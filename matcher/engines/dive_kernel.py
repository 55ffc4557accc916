"""The column dive's pricing, compiled by numba: an exact 0/1 knapsack per volunteer on the
master LP's duals (`column_dive`). Imported only where dives run, so that importing the matcher
does not load numba."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..problem import BoolArray, FloatArray, IntArray

__all__ = ["knapsack", "price"]


@njit(cache=True, nogil=True)
def knapsack(profit: FloatArray, load: IntArray, capacity: int, allowed: BoolArray,
              out: BoolArray) -> float:  # fmt: skip
    """Max of profit . x over the 0/1 x within `capacity` on the allowed requests of positive
    profit; the set goes to `out`."""
    n = profit.shape[0]
    out[:] = False
    items = np.empty(n, dtype=np.int64)
    q = 0
    for j in range(n):
        if allowed[j] and profit[j] > 1e-9 and load[j] <= capacity:
            items[q] = j
            q += 1
    if q == 0:
        return 0.0
    best = np.zeros(capacity + 1)
    take = np.zeros((q, capacity + 1), dtype=np.bool_)
    for t in range(q):
        w, v = load[items[t]], profit[items[t]]
        for c in range(capacity, w - 1, -1):
            if best[c - w] + v > best[c]:
                best[c] = best[c - w] + v
                take[t, c] = True
    c = capacity
    for t in range(q - 1, -1, -1):
        if take[t, c]:
            out[items[t]] = True
            c -= load[items[t]]
    return float(best[capacity])


@njit(cache=True, nogil=True)
def price(cost: FloatArray, load: IntArray, capacity: IntArray, allowed: BoolArray,
           dual: FloatArray, free: BoolArray, open_: BoolArray, sets: BoolArray,
           value: FloatArray) -> None:  # fmt: skip
    """For each free volunteer i, the set of open requests maximising the sum of dual[j] -
    cost[i, j] within its cap (into sets[i]) and that maximum (value[i]); others get nothing."""
    m, n = cost.shape
    profit = np.empty(n)
    mask = np.empty(n, dtype=np.bool_)
    for i in range(m):
        if not free[i]:
            value[i] = 0.0
            sets[i, :] = False
            continue
        for j in range(n):
            profit[j] = dual[j] - cost[i, j]
            mask[j] = allowed[i, j] and open_[j]
        value[i] = knapsack(profit, load[i], capacity[i], mask, sets[i])
