"""The solving process: claims queued match runs (and planners' scenario runs) from the
database and solves them, and delivers the outbox's messages in a thread beside
(`api.notifications.dispatcher`).

In the embedded default the app starts one `WorkerProcess` beside itself (`volmatch serve`), so
the API stays responsive while the matcher works; `volmatch worker` runs one on its own. Any
number of workers may poll one PostgreSQL database: claims are atomic (`repositories.match_runs`).

While it solves, a heartbeat thread writes progress and reads whether a stop was asked (DELETE):
the solver then stops and the best plan found is kept. A run whose worker falls silent (killed,
machine lost) is re-queued, or failed with the reason after `max_attempts` claims; a worker on
the same host sees at once that the process holding a run is gone, others after `stale_after_s`.
Every change of a run's status is audited (actor: the system's worker). With a personal-data
retention period set, the worker also runs the retention sweep every `retention_sweep_s`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, make_sessionmaker, transaction
from api.models import MatchRun, RunStatus, utc_now
from api.notifications.dispatcher import Dispatcher
from api.processes import gone, process_name
from api.repositories import match_runs as repo
from api.repositories import scenario_runs as scenario_repo
from api.services import erasure, events, instances, scenario_runs
from api.services.audit import Actor, Change, record_one
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
from matcher.engines.kernels import prepare
from scenarios.progress import ProgressBar

log = logging.getLogger("volmatch.worker")
WORKER = Actor.system("worker")


def _audit_run(session: Session, run_id: int, action: str, **after: Any) -> None:
    """A run's status change by the solving process, in its transaction."""
    run = repo.get_run(session, run_id)
    owner = run.organization_id if run is not None else None
    record_one(session, WORKER, Change("match_run", run_id, action, owner, after=after or None))


def _audit_scenario(session: Session, run_id: int, action: str, **after: Any) -> None:
    """A scenario run's status change by the solving process, in its transaction."""
    run = scenario_repo.get_run(session, run_id)
    owner = run.organization_id if run is not None else None
    record_one(
        session, WORKER, Change("scenario_run", run_id, action, owner, after=after or None)
    )


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
        self.name = name or process_name()
        self.should_exit = should_exit
        # In a process of its own, a solve stuck past its deadline ends the process (the
        # supervisor starts another); in-process, the run is only failed and its result dropped.
        self.own_process = own_process
        self._next_sweep = 0.0

    def step(self) -> bool:
        """Recover orphaned runs, sweep expired personal data when due, then claim and solve
        one run (match runs first, then scenario runs); whether there was one."""
        self.recover()
        self.sweep_when_due()
        with transaction(self.sessions) as session:
            run_id = repo.claim_next(session, self.name, utc_now())
            if run_id is not None:
                _audit_run(session, run_id, "started", worker=self.name)
        if run_id is not None:
            self.execute(run_id)
            return True
        with transaction(self.sessions) as session:
            scenario_id = scenario_repo.claim_next(session, self.name, utc_now())
            if scenario_id is not None:
                _audit_scenario(session, scenario_id, "started", worker=self.name)
        if scenario_id is None:
            return False
        self.execute_scenario(scenario_id)
        return True

    def sweep_when_due(self) -> list[int]:
        """The retention sweep, at most every `retention_sweep_s` (off without a retention
        period): the ids of the volunteers it erased."""
        days = self.settings.personal_data_retention_days
        if days is None or time.monotonic() < self._next_sweep:
            return []
        self._next_sweep = time.monotonic() + self.settings.retention_sweep_s
        with transaction(self.sessions) as session:
            erased = erasure.purge_inactive(session, self.settings, days)
        if erased:
            log.info("retention: erased the personal data of %d inactive volunteer(s)", len(erased))
        return erased

    def run_until_idle(self) -> int:
        """Solve queued runs until none is left; how many (tests and `volmatch worker --once`)."""
        done = 0
        while self.step():
            done += 1
        return done

    def recover(self) -> None:
        """Re-queue (or fail, after `max_attempts`) runs whose worker stopped reporting; a
        scenario run whose worker stopped ends with the reason (the planner starts it again)."""
        now = utc_now()
        silent_since = now - timedelta(seconds=self.settings.stale_after_s)
        with transaction(self.sessions) as session:
            for scenario in scenario_repo.running(session):
                if (
                    scenario.heartbeat_at is not None
                    and scenario.heartbeat_at > silent_since
                    and not gone(scenario.worker)
                ):
                    continue
                status = RunStatus.CANCELLED if scenario.cancel_requested else RunStatus.FAILED
                error = f"its solving process ({scenario.worker or '?'}) stopped; start it again"
                if scenario_repo.finish(
                    session,
                    scenario.id,
                    scenario.worker or "",
                    status=status,
                    error=error,
                    finished_at=now,
                ):
                    _audit_scenario(session, scenario.id, str(status), error=error)
        with transaction(self.sessions) as session:
            for run in repo.silent_runs(session, now):
                if (
                    run.heartbeat_at is not None
                    and run.heartbeat_at > silent_since
                    and not gone(run.worker)
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
            _audit_run(
                session,
                run.id,
                str(values["status"]),
                reason=values.get("error") or values.get("phase"),
            )
            log.warning("run %s: solving process %s gone; now %s", run.id, holder, values["status"])
            self._tell(session, run.id, values)

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

    def execute_scenario(self, run_id: int) -> None:
        """Run a planner's scenario or sweep and keep its report and charts."""
        with transaction(self.sessions) as session:
            found = scenario_repo.get_run(session, run_id)
            assert found is not None
            name, kind, parameters = found.scenario, found.kind, dict(found.parameters)
        bar = _ScenarioProgress(self, run_id)
        try:
            report, charts = scenario_runs.execute(name, kind, parameters, bar)
        except scenario_runs.Stopped:
            self._finish_scenario(
                run_id,
                status=RunStatus.CANCELLED,
                phase="stopped on request",
                finished_at=utc_now(),
            )
            return
        except Exception as exc:
            log.error(
                "scenario run %s failed: %s\n%s",
                run_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            self._finish_scenario(
                run_id,
                status=RunStatus.FAILED,
                error=f"the scenario could not be run ({type(exc).__name__}: {exc})"[:2000],
                finished_at=utc_now(),
            )
            return
        with transaction(self.sessions) as session:
            if scenario_repo.finish(
                session,
                run_id,
                self.name,
                status=RunStatus.SUCCEEDED,
                report=report,
                progress=1.0,
                phase="done",
                finished_at=utc_now(),
            ):
                scenario_repo.add_charts(session, run_id, charts)
                _audit_scenario(session, run_id, str(RunStatus.SUCCEEDED))

    def _finish_scenario(self, run_id: int, **values: Any) -> None:
        with transaction(self.sessions) as session:
            if scenario_repo.finish(session, run_id, self.name, **values):
                _audit_scenario(session, run_id, str(values["status"]), error=values.get("error"))

    def _finish(self, run_id: int, **values: Any) -> None:
        """Write the run's outcome and, in the same transaction, its event."""
        with transaction(self.sessions) as session:
            if repo.finish(session, run_id, self.name, finished_at=utc_now(), **values):
                _audit_run(
                    session,
                    run_id,
                    str(values["status"]),
                    coverage=values.get("coverage"),
                    bound=values.get("bound"),
                    error=values.get("error"),
                )
                self._tell(session, run_id, values)

    def _tell(self, session: Session, run_id: int, values: dict[str, Any]) -> None:
        status = values["status"]
        if status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            return
        run = repo.get_run(session, run_id)
        assert run is not None
        plan = values.get("plan") or {}
        extra = (
            {"coverage": values.get("coverage"), "unfilled": len(plan.get("unfilled", ()))}
            if status == RunStatus.SUCCEEDED
            else {"error": values.get("error")}
        )
        events.record(session, self.settings, [events.run_event(run, str(status), **extra)])

    def _hand_back(self, run_id: int) -> None:
        """Shutting down mid-solve: queue the run again for the next worker (not an attempt)."""
        with transaction(self.sessions) as session:
            run = repo.get_run(session, run_id)
            attempts = max((run.attempts if run else 1) - 1, 0)
            if repo.release(
                session,
                run_id,
                self.name,
                status=RunStatus.QUEUED,
                worker=None,
                attempts=attempts,
                phase="re-queued: the service was stopped",
                progress=0.0,
            ):
                _audit_run(session, run_id, "queued", reason="the service was stopped")


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
) -> Plan:
    """Solve a run's instance (`workers`: threads the solve may keep busy).

    A repair changes only what it must: the matcher ranks travel above stability, so a free
    re-solve may move volunteers to save kilometres. A repair therefore first refills only the
    holes (every held assignment pinned) and keeps that plan unless a free re-solve (held
    proposals passed as `previous`) staffs more."""

    def run(problem: Instance, budget: float) -> Plan:
        return solve(
            problem, engine=engine, time_limit_s=budget, seed=seed,  # type: ignore[arg-type]
            workers=workers, control=control,
        )  # fmt: skip

    if kind != "repair" or not instance.previous:
        return run(instance, time_limit_s)
    try:
        holes_only = parse_instance({**data, "pinned": [*data["pinned"], *data["previous"]]})
    except InstanceError:  # a held proposal no longer fits (data changed): re-plan freely
        return run(instance, time_limit_s)
    kept = run(holes_only, time_limit_s / 2)
    if control.should_stop():
        return _tagged(kept, "holes_only")
    free = run(instance, time_limit_s / 2)
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


class _ScenarioProgress(ProgressBar):
    """A scenario run's steps written to its row (at most once per heartbeat), and a planner's
    stop honoured at the next step."""

    def __init__(self, worker: Worker, run_id: int) -> None:
        super().__init__(1, enabled=False)
        self.worker = worker
        self.run_id = run_id
        self._written = 0.0

    def step(self, label: str) -> None:
        super().step(label)
        self._report(force=True)

    def solver(self, progress: Progress) -> None:
        super().solver(progress)
        self._report(force=False)

    def _report(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._written < self.worker.settings.heartbeat_s:
            return
        self._written = now
        fraction = min((self.done + self.within) / max(self.total, 1), 1.0)
        with transaction(self.worker.sessions) as session:
            stop = scenario_repo.heartbeat(
                session,
                self.run_id,
                self.worker.name,
                utc_now(),
                phase=self.label[:300],
                progress=round(fraction, 4),
            )
        # Raised between steps only: a solver's progress callback is no place to unwind from.
        if force and (stop is None or stop or self.worker.should_exit()):
            raise scenario_runs.Stopped()


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
    """Poll, claim and solve until `stop` is set; deliver the outbox beside it (a thread with
    its own loop and connections, so that a long solve never holds a message back)."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    worker = Worker(settings, sessions, should_exit=stop.is_set, own_process=True)
    delivering = None
    if settings.embedded_dispatcher:
        delivering = threading.Thread(
            target=Dispatcher(settings, sessions).serve, args=(stop,), name="dispatcher"
        )
        delivering.start()
    # The local search's compiled loop starts loading now (or compiling apart, on a cold cache):
    # the first run does not wait for it.
    prepare()
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
        stop.set()
        if delivering is not None:
            delivering.join()
        engine.dispose()
        log.info("solving process %s stopped", worker.name)


class WorkerProcess:
    """A solving process started beside the API (spawned, so it shares nothing by accident),
    restarted by `ensure_alive` if it dies. Stopped with SIGTERM: no lock is shared with it, so
    a process killed at any moment cannot block the API's shutdown."""

    def __init__(self, settings: Settings) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._settings = settings.model_dump()
        self._process = self._new_process()

    def _new_process(self) -> multiprocessing.process.BaseProcess:
        return self._context.Process(
            target=run_worker, args=(self._settings,), name="volmatch-worker", daemon=True
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
