"""The solving process: claims queued match runs from the database and solves them.

In the embedded default the app starts one `WorkerProcess` beside itself (`volmatch serve`), so
the API stays responsive while the matcher works; `volmatch worker` runs one on its own. Any
number of workers may poll one PostgreSQL database: claims are atomic (`repositories.match_runs`).

While it solves, a heartbeat thread writes progress and reads whether a stop was asked (DELETE):
the solver then stops and the best plan found is kept. A run whose worker falls silent (killed,
machine lost) is re-queued, or failed with the reason after `max_attempts` claims; a worker on
the same host sees at once that the process holding a run is gone, others after `stale_after_s`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, make_sessionmaker, transaction
from api.models import MatchRun, RunStatus, utc_now
from api.repositories import match_runs as repo
from api.services import instances
from api.services.match_runs import count_changes, plan_pairs
from api.settings import Settings
from matcher import (
    Control,
    Instance,
    InstanceError,
    Plan,
    Progress,
    check_plan,
    parse_instance,
    solve,
)
from matcher.engines.kernels import warm_up

if TYPE_CHECKING:  # the cluster package (and Dask) is imported by the first large run only
    from cluster import Executor

log = logging.getLogger("volmatch.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(name: str | None) -> bool:
    """Whether `name` is a worker on this host whose process no longer exists."""
    if not name:
        return True
    host, _, pid = name.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Worker:
    """Claims and solves runs, one at a time."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        name: str | None = None,
        should_exit: Callable[[], bool] = lambda: False,
        own_process: bool = False,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.name = name or worker_name()
        self.should_exit = should_exit
        # In a process of its own, a solve stuck past its deadline ends the process (the
        # supervisor starts another); in-process, the run is only failed and its result dropped.
        self.own_process = own_process
        self._cluster: Executor | None = None

    def cluster(self) -> Executor | None:
        """The Dask cluster that solves large runs, connected on first need (None when it
        cannot be reached: runs are then solved here)."""
        if self._cluster is None:
            from cluster import OnDask, connect

            try:
                client = connect(self.settings.dask_scheduler, workers=self.settings.dask_workers)
                self._cluster = OnDask(client)
            except Exception as exc:
                log.warning(
                    "Dask cluster unavailable (%s); large runs solved here", type(exc).__name__
                )
                return None
        return self._cluster

    @property
    def has_cluster(self) -> bool:
        return self._cluster is not None

    def executor_for(self, volunteers: int) -> Executor | None:
        """Where a run of `volunteers` volunteers is solved: on Dask from
        `dask_min_volunteers` on, else here (None)."""
        if volunteers < self.settings.dask_min_volunteers:
            return None
        return self.cluster()

    def step(self) -> bool:
        """Recover orphaned runs, then claim and solve one run; whether there was one."""
        self.recover()
        with transaction(self.sessions) as session:
            run_id = repo.claim_next(session, self.name, utc_now())
        if run_id is None:
            return False
        self.execute(run_id)
        return True

    def run_until_idle(self) -> int:
        """Solve queued runs until none is left; how many (tests and `volmatch worker --once`)."""
        done = 0
        while self.step():
            done += 1
        return done

    def recover(self) -> None:
        """Re-queue (or fail, after `max_attempts`) runs whose worker stopped reporting."""
        now = utc_now()
        silent_since = now - timedelta(seconds=self.settings.stale_after_s)
        with transaction(self.sessions) as session:
            for run in repo.silent_runs(session, now):
                if (
                    run.heartbeat_at is not None
                    and run.heartbeat_at > silent_since
                    and not _gone(run.worker)
                ):
                    continue
                self._release_orphan(session, run, now)

    def _release_orphan(self, session: Session, run: MatchRun, now: Any) -> None:
        holder = run.worker or "?"
        if run.cancel_requested:
            values: dict[str, Any] = {
                "status": RunStatus.CANCELLED,
                "error": f"stopped on request; its solving process ({holder}) ended before a plan",
                "finished_at": now,
            }
        elif run.attempts >= self.settings.max_attempts:
            values = {
                "status": RunStatus.FAILED,
                "error": f"its solving process stopped {run.attempts} time(s) (last {holder}); "
                "the run was given up",
                "finished_at": now,
            }
        else:
            values = {
                "status": RunStatus.QUEUED,
                "worker": None,
                "phase": f"re-queued: its solving process ({holder}) stopped",
                "progress": 0.0,
            }
        if repo.release(session, run.id, holder if run.worker else "", **values):
            log.warning("run %s: solving process %s gone; now %s", run.id, holder, values["status"])

    def execute(self, run_id: int) -> None:
        """Solve one claimed run and write its outcome (if this worker still holds it)."""
        try:
            with transaction(self.sessions) as session:
                run = repo.get_run(session, run_id)
                assert run is not None
                data = instances.build_instance(session, run)
                held = instances.held_pairs(session, run)
                kind, engine, time_limit, seed = run.kind, run.engine, run.time_limit_s, run.seed
                repo.heartbeat(
                    session, run_id, self.name, utc_now(), instance=data, phase="compiling"
                )
            try:
                instance = parse_instance(data)
            except InstanceError as exc:
                self._finish(
                    run_id, status=RunStatus.FAILED, error=f"the run's data is not solvable: {exc}"
                )
                return
            beat = _Heartbeat(self, run_id, time_limit)
            with beat:
                control = Control(should_stop=beat.should_stop, on_progress=beat.progress)
                plan = solve_run(
                    instance, data, kind, engine, time_limit, seed, control,
                    workers=self.settings.solve_workers,
                    executor=self.executor_for(len(instance.volunteers)),
                )  # fmt: skip
            if beat.lost:
                return
            if beat.exiting and not beat.cancelled:
                self._hand_back(run_id)
                return
            report = check_plan(instance, plan)
            if not report.ok:
                shown = "; ".join(str(v) for v in report.violations[:3])
                self._finish(
                    run_id, status=RunStatus.FAILED, error=f"the plan breaks hard rules: {shown}"
                )
                return
            self._finish(
                run_id,
                status=RunStatus.CANCELLED if beat.cancelled else RunStatus.SUCCEEDED,
                plan=plan.model_dump(mode="json"),
                objective=plan.objective.model_dump(mode="json"),
                changes=count_changes(held, plan_pairs(plan)).model_dump(),
                coverage=plan.objective.coverage,
                bound=plan.bound.coverage,
                progress=1.0,
                phase="stopped on request" if beat.cancelled else "done",
            )
        except Exception as exc:
            log.error(
                "run %s failed: %s\n%s",
                run_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            self._finish(
                run_id, status=RunStatus.FAILED, error=f"internal error ({type(exc).__name__})"
            )

    def _finish(self, run_id: int, **values: Any) -> None:
        with transaction(self.sessions) as session:
            repo.finish(session, run_id, self.name, finished_at=utc_now(), **values)

    def _hand_back(self, run_id: int) -> None:
        """Shutting down mid-solve: queue the run again for the next worker (not an attempt)."""
        with transaction(self.sessions) as session:
            run = repo.get_run(session, run_id)
            attempts = max((run.attempts if run else 1) - 1, 0)
            repo.release(
                session,
                run_id,
                self.name,
                status=RunStatus.QUEUED,
                worker=None,
                attempts=attempts,
                phase="re-queued: the service was stopped",
                progress=0.0,
            )


def solve_run(
    instance: Instance,
    data: dict[str, Any],
    kind: str,
    engine: str,
    time_limit_s: float,
    seed: int,
    control: Control,
    *,
    workers: int = 2,
    executor: Executor | None = None,
) -> Plan:
    """Solve a run's instance (`workers`: threads the solve may keep busy; `executor`: the
    Dask cluster for a large run, whose parts it solves in parallel).

    A repair changes only what it must: the matcher ranks travel above stability, so a free
    re-solve may move volunteers to save kilometres. A repair therefore first refills only the
    holes (every held assignment pinned) and keeps that plan unless a free re-solve (held
    proposals passed as `previous`) staffs more."""

    def run(problem: Instance, problem_data: dict[str, Any], budget: float) -> Plan:
        if executor is not None and engine == "optimal":
            from cluster import Thresholds
            from cluster import solve as solve_on_cluster

            # Each of the cluster's worker processes has a core of its own. The run was sent
            # here by its size (`dask_min_volunteers`): no second threshold applies.
            return solve_on_cluster(
                problem_data, executor, time_limit_s=budget, seed=seed, workers=1,
                control=control, thresholds=Thresholds(min_volunteers=0),
            )  # fmt: skip
        return solve(
            problem, engine=engine, time_limit_s=budget, seed=seed,  # type: ignore[arg-type]
            workers=workers, control=control,
        )  # fmt: skip

    if kind != "repair" or not instance.previous:
        return run(instance, data, time_limit_s)
    holes_data = {**data, "pinned": [*data["pinned"], *data["previous"]]}
    try:
        holes_only = parse_instance(holes_data)
    except InstanceError:  # a held proposal no longer fits (data changed): re-plan freely
        return run(instance, data, time_limit_s)
    kept = run(holes_only, holes_data, time_limit_s / 2)
    if control.should_stop():
        return _tagged(kept, "holes_only")
    free = run(instance, data, time_limit_s / 2)
    if free.objective.coverage > kept.objective.coverage:
        return _tagged(free, "replanned")
    return _tagged(kept, "holes_only")


def _tagged(plan: Plan, repair: str) -> Plan:
    return plan.model_copy(update={"stats": {**plan.stats, "repair": repair}})


class _Heartbeat:
    """Writes a running solve's progress every `heartbeat_s` and relays stop requests."""

    def __init__(self, worker: Worker, run_id: int, time_limit_s: float) -> None:
        self.worker = worker
        self.run_id = run_id
        settings = worker.settings
        self.allowed_s = time_limit_s * settings.overrun_factor + settings.overrun_grace_s
        self.started = time.monotonic()
        self.latest: Progress | None = None
        self.cancelled = False
        self.lost = False
        self.exiting = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def progress(self, progress: Progress) -> None:
        self.latest = progress

    def should_stop(self) -> bool:
        if self.worker.should_exit():
            self.exiting = True
        return self.cancelled or self.lost or self.exiting

    def __enter__(self) -> _Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(self.worker.settings.heartbeat_s):
            self._beat()
            if time.monotonic() - self.started > self.allowed_s and not self.lost:
                self._abandon()

    def _abandon(self) -> None:
        """The solver ignores its time limit (stuck in a MIP call, say): fail the run with the
        reason rather than leave it running for ever."""
        elapsed = time.monotonic() - self.started
        self.worker._finish(
            self.run_id,
            status=RunStatus.FAILED,
            error=f"the solver did not stop within {self.allowed_s:.0f} s and was abandoned "
            f"after {elapsed:.0f} s; try a shorter time limit or the greedy engine",
        )
        self.lost = True
        log.error("run %s: solver overran its deadline; abandoned", self.run_id)
        if self.worker.own_process:
            os._exit(70)  # the supervisor (or the service manager) starts a fresh process

    def _beat(self) -> None:
        p = self.latest
        values: dict[str, Any] = {}
        if p is not None:
            values = {
                "phase": p.phase,
                "progress": round(p.fraction, 4),
                "coverage": p.coverage,
                "bound": p.bound,
            }
        try:
            with transaction(self.worker.sessions) as session:
                stop = repo.heartbeat(session, self.run_id, self.worker.name, utc_now(), **values)
        except Exception as exc:  # a missed beat is not fatal; the next one may pass
            log.warning("run %s: heartbeat failed (%s)", self.run_id, type(exc).__name__)
            return
        if stop is None:
            self.lost = True
        elif stop:
            self.cancelled = True


def run_worker(settings_data: dict[str, Any]) -> None:
    """Entry point of the solving process: poll, claim and solve until SIGTERM.

    SIGTERM asks for a graceful stop (a run being solved is handed back to the queue); SIGINT is
    ignored, so that Ctrl-C in a terminal reaches the API process, which then stops this one."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve_queue(Settings(**settings_data), stop)


def serve_queue(settings: Settings, stop: threading.Event) -> None:
    """Poll, claim and solve until `stop` is set."""
    engine = make_engine(settings.database_url)
    worker = Worker(settings, make_sessionmaker(engine), should_exit=stop.is_set, own_process=True)
    # The local search's compiled loop, before the first run's time limit starts counting.
    warm_up()
    log.info("solving process %s started", worker.name)
    try:
        while not stop.is_set():
            try:
                busy = worker.step()
            except Exception as exc:  # the database may be away for a moment: try again later
                log.warning("worker step failed (%s); retrying", type(exc).__name__)
                busy = False
            if not busy:
                stop.wait(settings.worker_poll_s)
    finally:
        engine.dispose()
        if worker.has_cluster:  # its Dask client, and the embedded cluster if it started one
            from cluster import close

            close()
        log.info("solving process %s stopped", worker.name)


class WorkerProcess:
    """A solving process started beside the API (spawned, so it shares nothing by accident),
    restarted by `ensure_alive` if it dies. Stopped with SIGTERM: no lock is shared with it, so
    a process killed at any moment cannot block the API's shutdown. Not daemonic: it may start
    the embedded Dask cluster's worker processes (a daemonic process may have no children);
    `stop` ends it with the API."""

    def __init__(self, settings: Settings) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._settings = settings.model_dump()
        self._process = self._new_process()

    def _new_process(self) -> multiprocessing.process.BaseProcess:
        return self._context.Process(
            target=run_worker, args=(self._settings,), name="volmatch-worker", daemon=False
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        self._process.start()

    def ensure_alive(self) -> bool:
        """Start a new solving process if the last one died; whether one was started."""
        if self._process.is_alive():
            return False
        log.warning(
            "solving process %s ended (exit code %s); starting another",
            self._process.pid,
            self._process.exitcode,
        )
        self._process.join(0)
        self._process = self._new_process()
        self._process.start()
        return True

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5)
