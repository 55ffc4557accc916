"""Running a batch of jobs (a run's parts, its districts, the parts of their borders) within a
time budget: in this process one after another (`InProcess`), or in parallel on a Dask cluster
(`OnDask`). Both give jobs seconds in proportion to their weight (pairs), start the heaviest
first, and stand a job's fallback (greedy's plan) for any result that does not come: a stop,
the deadline, or a job that failed.

On Dask, a job is a future carrying its payload, submitted heaviest first through a window of
two jobs per worker (so that few payloads are in flight at once); a job whose worker is lost is
run again on another (Dask's own recomputation: the scheduler holds the job's payload, as one
pickled string: the scheduler unpickles a task's arguments, and a city's records as Python
objects take ten times their pickle's memory there); a job that starts late gets only the
time left before the run's deadline. A stop (the caller's `Control`, or the deadline) sets the
run's event, which running jobs poll (`stop`), and starts no more jobs; what has not come back
a moment later is replaced by its fallback.
"""

from __future__ import annotations

import logging
import pickle
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import dask
from distributed import Client, Future

from matcher import Control
from matcher.engines.base import Deadline

from .stop import POLL_S, RunStop, polled_control

__all__ = ["Executor", "InProcess", "Job", "OnDask", "shares"]

log = logging.getLogger("volmatch.cluster")

P = TypeVar("P")
R = TypeVar("R")

# Least seconds a job gets (time allowing), whatever its weight: a 2-pair part beside a
# 40,000-pair one would otherwise get a millisecond (as in `optimal`).
LEAST_SECONDS = 0.5
# How long after the deadline (or a stop) results are still awaited before fallbacks stand in:
# parts stop within their seconds, HiGHS at most half a second past; a tile's parse and
# compile cannot be interrupted. A share of the run's time, at least GRACE_S.
GRACE_S = 1.0
GRACE_SHARE = 0.03


@dataclass(frozen=True, eq=False)
class Job(Generic[P, R]):
    """One unit of work: `task(payload, seconds, control)`, a module-level function (Dask sends
    it by name), and what stands for its result if it never comes."""

    label: str
    task: Callable[[P, float, Control], R]
    payload: P
    weight: float
    fallback: Callable[[], R]


Done = Callable[[Job[Any, Any], Any, bool], None]


class Executor(Protocol):
    """Runs jobs within `seconds`, calling `done(job, result, solved)` as each ends (`solved`:
    the job's own result rather than its fallback)."""

    name: str

    @property
    def workers(self) -> int:
        """How many jobs run at once."""
        ...

    def run(
        self, jobs: Sequence[Job[Any, Any]], seconds: float, control: Control, done: Done
    ) -> None: ...


def shares(weights: Sequence[float], seconds: float, workers: int) -> list[float]:
    """Seconds per job when `workers` run them at once: in proportion to weight, as if the
    heaviest-first queue kept every worker busy to the end, never more than `seconds`."""
    total = max(sum(weights), 1e-9)
    least = min(LEAST_SECONDS, seconds)
    return [min(seconds, max(least, seconds * workers * w / total)) for w in weights]


class InProcess:
    """Jobs one after another in this process, each with its share of the time left."""

    workers = 1
    name = "in-process"

    def run(
        self, jobs: Sequence[Job[Any, Any]], seconds: float, control: Control, done: Done
    ) -> None:
        deadline = Deadline(seconds)
        queue = sorted(jobs, key=lambda j: -j.weight)
        left = sum(j.weight for j in queue)
        for job in queue:
            if control.should_stop() or deadline.expired():
                done(job, job.fallback(), False)
            else:
                remaining = deadline.remaining()
                share = max(min(LEAST_SECONDS, remaining), remaining * job.weight / max(left, 1e-9))
                done(job, job.task(job.payload, share, control), True)
            left -= job.weight


def _remote(
    task: Callable[[Any, float, Control], Any],
    pickled: bytes,
    seconds: float,
    stop_name: str,
    deadline_wall: float,
) -> Any:
    """A job on a worker (its payload pickled): its share of the time, never past the run's
    deadline."""
    seconds = max(0.0, min(seconds, deadline_wall - time.time()))
    with polled_control(stop_name, deadline_wall) as control:
        return task(pickle.loads(pickled), seconds, control)


class OnDask:
    """Jobs in parallel on a Dask cluster."""

    name = "dask"

    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def workers(self) -> int:
        """The cluster's worker threads now: workers may join or leave between runs (a solving
        process keeps its client), and each run is cut and paced for those it has."""
        info = self.client.scheduler_info(n_workers=-1)
        return max(1, sum(int(w.get("nthreads", 1)) for w in info["workers"].values()))

    def run(
        self, jobs: Sequence[Job[Any, Any]], seconds: float, control: Control, done: Done
    ) -> None:
        if not jobs:
            return
        deadline_wall = time.time() + seconds
        stop = RunStop(self.client)
        run_id = uuid.uuid4().hex[:8]
        workers = self.workers
        queue = sorted(jobs, key=lambda j: -j.weight)
        waiting = list(
            zip(queue, shares([j.weight for j in queue], seconds, workers), strict=True)
        )
        waiting.reverse()  # popped from the end: heaviest first
        pending: dict[Future[Any], Job[Any, Any]] = {}
        window = 2 * workers  # each worker has the next job at hand, no more
        grace = max(GRACE_S, GRACE_SHARE * seconds)
        give_up_at: float | None = None
        try:
            while pending or waiting:
                while waiting and len(pending) < window and give_up_at is None:
                    job, share = waiting.pop()
                    pending[self._submit(job, share, stop.name, deadline_wall, run_id)] = job
                for future in [f for f in pending if f.done()]:
                    job = pending.pop(future)
                    result, solved = self._outcome(future, job)
                    done(job, result, solved)
                now = time.time()
                if give_up_at is None and (control.should_stop() or now >= deadline_wall + grace):
                    # Running jobs stop at their next poll; waiting ones are not started.
                    stop.set()
                    give_up_at = now + grace + 2 * POLL_S
                if give_up_at is not None and (now >= give_up_at or not pending):
                    break
                time.sleep(0.05)
        finally:
            for future, job in pending.items():
                log.warning("%s: no result in time; its fallback stands in", job.label)
                future.cancel()
                done(job, job.fallback(), False)
            for job, _ in reversed(waiting):
                done(job, job.fallback(), False)
            stop.clear()

    def _submit(
        self, job: Job[Any, Any], seconds: float, stop_name: str, deadline_wall: float, run_id: str
    ) -> Future[Any]:
        # The payload travels in the task itself rather than scattered: the scheduler keeps it,
        # so a job whose worker is lost is run again elsewhere (scattered data would be lost
        # with its worker). The submission window keeps few payloads in flight at once.
        pickled = pickle.dumps(job.payload, protocol=pickle.HIGHEST_PROTOCOL)
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GB"}):
            return self.client.submit(
                _remote, job.task, pickled, seconds, stop_name, deadline_wall,
                key=f"{job.label}-{run_id}", priority=int(job.weight), pure=False,
            )  # fmt: skip

    @staticmethod
    def _outcome(future: Future[Any], job: Job[Any, Any]) -> tuple[Any, bool]:
        if future.status == "finished":
            return future.result(), True
        try:
            future.result()
        except Exception as exc:  # a lost worker beyond Dask's retries, or a failing job
            log.warning("%s failed on the cluster (%s: %s); its fallback stands in",
                        job.label, type(exc).__name__, exc)  # fmt: skip
        return job.fallback(), False
