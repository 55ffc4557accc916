"""Fixtures shared by the test packages."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """A Dask cluster of two worker processes (one thread each) on loopback, started for the
    module whose tests need it and stopped after them (not kept idle through the rest of the
    suite)."""
    from distributed import Client, LocalCluster

    from cluster.connect import WarmUp

    # distributed has no type hints: its calls are untyped.
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster, set_as_default=False)  # type: ignore[no-untyped-call]
    client.register_plugin(WarmUp(), name="volmatch-warm-up")
    client.wait_for_workers(2)
    yield client
    client.close()  # type: ignore[no-untyped-call]
    cluster.close()
