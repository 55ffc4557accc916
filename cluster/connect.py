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
# Clients by scheduler address (None: the embedded cluster, kept with its LocalCluster).
_clients: dict[str | None, tuple[Client, LocalCluster | None]] = {}


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
    `LocalCluster` (started once, with `workers` processes, on loopback only). Clients are
    kept for the life of the process, one per address."""
    with _lock:
        known = _clients.get(address or None)
        if known is not None and known[0].status not in ("closing", "closed"):
            return known[0]
        cluster: LocalCluster | None = None
        if address:
            client = Client(address, set_as_default=False)
        else:
            cluster = LocalCluster(
                n_workers=workers or local_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
            client = Client(cluster, set_as_default=False)
            log.info("embedded Dask cluster started: %s", cluster.scheduler_address)
        client.register_plugin(WarmUp(), name="volmatch-warm-up")
        _clients[address or None] = (client, cluster)
        return client


def close() -> None:
    """Close every client this process opened, and stop the embedded cluster if it started
    one."""
    with _lock:
        for client, cluster in _clients.values():
            client.close()
            if cluster is not None:
                cluster.close()
        _clients.clear()
