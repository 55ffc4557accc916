"""The routing kernel's allocation-free pieces (`matcher.engines.routing.kernel`): its stable
argsort orders like numpy's merge sort, ties included, so the recreate's orders are those of a
stable sort whatever the length."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.engines.routing.kernel import _stable_argsort


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.sampled_from([-2.0, -0.5, 0.0, 0.5, 1.0, 3.0, 1e18]), max_size=70),
    spare=st.integers(0, 3),
)
def test_stable_argsort_orders_like_numpy_mergesort(keys: list[float], spare: int) -> None:
    n = len(keys)
    key = np.array(keys + [-9.0] * spare)  # entries past n must be ignored
    out = np.full(n + spare, -1, dtype=np.int64)
    buf = np.zeros(n + spare, dtype=np.int64)
    _stable_argsort(key, n, out, buf)
    assert out[:n].tolist() == np.argsort(np.array(keys), kind="mergesort").tolist()
    assert (out[n:] == -1).all()
