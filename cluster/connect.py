"""Where a run's parts are solved: an embedded Dask `LocalCluster` (worker processes on this
machine, one thread each), or a cluster already running at a scheduler's address (`dask
scheduler` and `dask worker` processes, on any number of machines). The same code drives both.

The embedded cluster is started on first use and kept for the life of the process (a solving
process reuses it from run to run); `close` stops it. Workers are warmed up as they start
(`WarmUp`: matcher imported, the local search's compiled kernels loading), including the
worker a nanny starts again after one was lost.
"""

from __future__ import annotations

import logging
import os
import threading

from distributed import Client, LocalCluster, WorkerPlugin

__all__ = ["WarmUp", "close", "connect", "local_workers"]

log = logging.getLogger("volmatch.cluster")

_lock = threading.Lock()
_embedded: tuple[LocalCluster, Client] | None = None


class WarmUp(WorkerPlugin):
    """Run on every worker as it starts: import the engines and start loading the compiled
    kernels, so that the first part a worker solves does not pay for them."""

    def setup(self, worker: object) -> None:
        from matcher.engines.kernels import prepare

        prepare()


def local_workers() -> int:
    """Worker processes of an embedded cluster: one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def connect(address: str | None = None, *, workers: int | None = None) -> Client:
    """A client of the cluster at `address` (`tcp://host:port`), or of the embedded
    `LocalCluster` (started once, with `workers` processes, on loopback only)."""
    global _embedded
    if address:
        client = Client(address, set_as_default=False)
        client.register_plugin(WarmUp(), name="volmatch-warm-up")
        return client
    with _lock:
        if _embedded is None or _embedded[1].status == "closed":
            cluster = LocalCluster(
                n_workers=workers or local_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
            client = Client(cluster, set_as_default=False)
            client.register_plugin(WarmUp(), name="volmatch-warm-up")
            _embedded = (cluster, client)
            log.info("embedded Dask cluster started: %s", cluster.scheduler_address)
        return _embedded[1]


def close() -> None:
    """Stop the embedded cluster, if one was started."""
    global _embedded
    with _lock:
        if _embedded is not None:
            cluster, client = _embedded
            _embedded = None
            client.close()
            cluster.close()
