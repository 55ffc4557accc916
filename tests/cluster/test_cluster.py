"""Runs on a Dask cluster (`cluster`): the same plans as in this process where parts are
independent, progress as parts finish, a stop that reaches every part, a lost worker's part
recomputed, and small runs kept in this process."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

import cluster
from benchmarks.cityweek import city_week
from cluster import InProcess, OnDask, Thresholds
from cluster.executor import Job
from cluster.tasks import solve_tile_task
from matcher import Control, Progress, check_plan, parse_instance, solve
from scenarios.province import province

ALL_ON_DASK = Thresholds(min_volunteers=0)


def _checked(instance: Any, plan: Any) -> None:
    report = check_plan(parse_instance(instance), plan)
    assert report.ok, report.violations[:3]


def test_independent_parts_give_the_plan_solved_in_process(dask_client: Any) -> None:
    # Several cities, given parsed (so as parts of one compiled run rather than as tiles), with
    # many volunteers per request: each part is proven in about a second of CPU.
    instance = parse_instance(province(8000, 120, count=4, seed=4))
    seen: list[Progress] = []
    on_dask = cluster.solve(
        instance, OnDask(dask_client), time_limit_s=120, thresholds=ALL_ON_DASK,
        control=Control(on_progress=seen.append),
    )  # fmt: skip
    here = solve(instance, time_limit_s=120, workers=1)
    assert on_dask.stats["executor"] == "dask" and int(on_dask.stats["parts"]) >= 3
    assert on_dask.status == here.status == "optimal"
    assert on_dask.objective.coverage == here.objective.coverage
    assert on_dask.bound.coverage == here.bound.coverage
    assert on_dask.objective.travel_km == pytest.approx(here.objective.travel_km, abs=1e-3)
    _checked(instance, on_dask)
    fractions = [p.fraction for p in seen]
    assert len(seen) == on_dask.stats["parts"] and fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)


def test_tiles_give_the_plan_of_the_whole(dask_client: Any) -> None:
    data = province(900, 90, count=3, seed=7)
    tiled = cluster.solve(data, OnDask(dask_client), time_limit_s=60, thresholds=ALL_ON_DASK)
    whole = solve(data, time_limit_s=60, workers=1)
    assert tiled.stats["tiles"] == 3 and tiled.stats["check_violations"] == 0
    assert tiled.status == whole.status == "optimal"
    assert tiled.objective.coverage == whole.objective.coverage
    assert tiled.bound.coverage == whole.bound.coverage
    _checked(data, tiled)


def test_a_city_cut_into_districts_improves_on_greedy_within_its_bound() -> None:
    # One connected city (greedy's plan short of the optimum) cut into 5 districts, improved
    # round by round (in this process: the rounds are the same on Dask).
    instance = parse_instance(city_week(1500, 150, seed=2))
    plan = cluster.solve(
        instance, InProcess(), time_limit_s=20,
        thresholds=Thresholds(min_volunteers=0, district_pairs=3000, district_size=3000),
    )  # fmt: skip
    greedy = solve(instance, engine="greedy", time_limit_s=20)
    whole = solve(instance, time_limit_s=20, workers=1)
    assert plan.stats["districts"] == 5 and plan.stats["district_rounds"] == 3
    _checked(instance, plan)
    assert plan.stats["start_coverage"] == greedy.objective.coverage
    # What each round won: never less than the round before, more than greedy's in all, and
    # the last round's is the plan's.
    won = [float(plan.stats[k]) for k in ("start_coverage", *(f"round_{r}_coverage" for r in (1, 2, 3)))]
    assert won == sorted(won) and won[-1] > won[0]
    assert won[-1] == plan.objective.coverage
    # The bound holds for the whole city's best plan, and for the plan.
    bound = plan.bound.coverage
    assert bound is not None
    assert whole.objective.coverage <= bound and plan.objective.coverage <= bound


def test_a_stop_reaches_every_part(dask_client: Any) -> None:
    instance = parse_instance(city_week(3000, 300, seed=1))
    asked = threading.Event()
    plans: list[Any] = []
    runner = threading.Thread(
        target=lambda: plans.append(
            cluster.solve(
                instance,
                OnDask(dask_client),
                time_limit_s=300,
                control=Control(should_stop=asked.is_set),
                thresholds=Thresholds(min_volunteers=0, district_pairs=5000, district_size=5000),
            )
        )
    )
    runner.start()
    _wait_until_running(dask_client, "part-")
    asked.set()
    started = time.monotonic()
    runner.join(240)
    assert plans, "the run did not end"
    plan = plans[0]
    # The districts running when the stop came returned their own plans at once (a district's
    # share of 300 s is 37 s; one the stop did not reach would be replaced by its fallback).
    assert plan.stats["districts"] >= 2 and plan.stats["jobs_solved"] >= 1
    assert time.monotonic() - started < 30
    _checked(instance, plan)


def _slow_double(payload: int, seconds: float, control: Control) -> tuple[int, int]:
    """A job that takes its time (unless stopped) and says which process ran it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not control.should_stop():
        time.sleep(0.05)
    return 2 * payload, os.getpid()


def _wait_until_running(client: Any, label: str) -> str:
    """The address of a worker running a job whose key starts with `label`, once one does."""
    for _ in range(3000):
        for address, keys in client.processing().items():
            if any(str(k).startswith(label) for k in keys):
                return str(address)
        time.sleep(0.05)
    raise AssertionError(f"{label} never ran")


def _kill_the_worker_running(client: Any, label: str) -> int:
    """SIGKILL the worker process that is running a job whose key starts with `label`."""
    address = _wait_until_running(client, label)
    pid = int(client.run(os.getpid, workers=[address])[address])
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_lost_workers_job_is_recomputed(dask_client: Any) -> None:
    results: list[tuple[Any, bool]] = []
    job = Job("slow", _slow_double, 21, 1.0, lambda: (0, 0))
    runner = threading.Thread(
        target=OnDask(dask_client).run,
        args=(
            [job],
            20.0,
            Control(),
            lambda _job, result, solved: results.append((result, solved)),
        ),
    )
    runner.start()
    killed = _kill_the_worker_running(dask_client, "slow")
    runner.join(120)
    assert results, "the run did not end"
    (value, pid), solved = results[0]
    assert solved and value == 42 and pid != killed  # run again on another worker
    dask_client.wait_for_workers(2, timeout=120)  # the nanny started a new worker


def _argument_types(dask_scheduler: Any, label: str) -> list[str]:
    """On the scheduler: the types of what it holds as the arguments of a job's task."""
    for key, task in dask_scheduler.tasks.items():
        if str(key).startswith(label):
            return [type(getattr(a, "value", a)).__name__ for a in task.run_spec.args]
    return []


def _slow_count(payload: dict[str, Any], seconds: float, control: Control) -> int:
    _slow_double(0, seconds, control)
    return len(payload["volunteers"])


def test_the_scheduler_holds_a_jobs_payload_as_one_pickled_string(dask_client: Any) -> None:
    # Unpickled, a city's records take ten times their pickle's memory in the scheduler.
    payload = {"volunteers": [{"id": f"v-{i}", "max_hours": 8.0} for i in range(1000)]}
    results: list[tuple[Any, bool]] = []
    job = Job("held", _slow_count, payload, 1.0, lambda: 0)
    runner = threading.Thread(
        target=OnDask(dask_client).run,
        args=([job], 3.0, Control(), lambda _job, result, solved: results.append((result, solved))),
    )
    runner.start()
    _wait_until_running(dask_client, "held")
    held = dask_client.run_on_scheduler(_argument_types, label="held")
    runner.join(60)
    assert "bytes" in held and "dict" not in held, held
    assert results == [(1000, True)]


def _failing(payload: dict[str, Any], seconds: float, control: Control) -> None:
    raise ValueError("this job fails")


def test_a_failing_jobs_payload_stays_out_of_the_workers_logs(dask_client: Any) -> None:
    # A worker logs a failing task (its key and function, not its arguments, in this version
    # of distributed); a payload holds home locations.
    payload = {"volunteers": [{"id": "v-1", "location": {"lat": 34.2617123, "lon": 108.9421456}}]}
    results: list[tuple[Any, bool]] = []
    job = Job("failing", _failing, payload, 1.0, lambda: "greedy")
    OnDask(dask_client).run(
        [job], 20.0, Control(), lambda _job, result, solved: results.append((result, solved))
    )
    assert results == [("greedy", False)]  # the fallback stood in
    logged = "\n".join(
        message for lines in dask_client.get_worker_logs().values() for _, message in lines
    )
    assert "Compute Failed" in logged and "this job fails" in logged
    assert "34.2617123" not in logged and "108.9421456" not in logged


def test_a_run_survives_a_lost_worker(dask_client: Any) -> None:
    instance = parse_instance(city_week(1500, 150, seed=2))
    plans: list[Any] = []
    runner = threading.Thread(
        target=lambda: plans.append(
            cluster.solve(
                instance,
                OnDask(dask_client),
                time_limit_s=60,
                thresholds=Thresholds(min_volunteers=0, district_pairs=4000, district_size=4000),
            )
        )
    )
    runner.start()
    _kill_the_worker_running(dask_client, "part-")
    runner.join(240)
    assert plans, "the run did not end"
    _checked(instance, plans[0])
    dask_client.wait_for_workers(2, timeout=120)


def test_runs_are_cut_for_the_workers_the_cluster_has_now(dask_client: Any) -> None:
    on_dask = OnDask(dask_client)  # kept from run to run, as by a solving process
    assert on_dask.workers == 2
    dask_client.cluster.scale(3)
    try:
        dask_client.wait_for_workers(3, timeout=120)
        assert on_dask.workers == 3
    finally:
        dask_client.cluster.scale(2)
        for _ in range(1200):
            if len(dask_client.scheduler_info(n_workers=-1)["workers"]) == 2:
                break
            time.sleep(0.1)
    assert on_dask.workers == 2


def test_a_tiles_solve_gets_the_seconds_its_parse_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    # Parsing happens before the solve's clock starts: counted out of the tile's seconds, or
    # the tiles after it start late and the last ones miss the run's deadline.
    limits: list[float] = []

    def slow_parse(data: Any) -> Any:
        time.sleep(0.4)
        return parse_instance(data)

    def spy(instance: Any, **options: Any) -> Any:
        limits.append(options["time_limit_s"])
        return solve(instance, **options)

    monkeypatch.setattr("cluster.tasks.parse_instance", slow_parse)
    monkeypatch.setattr("matcher.solve", spy)
    outcome = solve_tile_task((city_week(80, 8, seed=1), 0, 1, "optimal"), 5.0, Control())
    assert outcome.violations == () and outcome.plan.assignments
    assert limits and limits[0] <= 5.0 - 0.4  # the parse's time, and the check's share of it


def test_small_runs_stay_in_this_process() -> None:
    instance = parse_instance(city_week(300, 30, seed=1))

    class Unused(InProcess):
        name = "never"

        def run(self, *args: Any) -> None:
            raise AssertionError("a small run went to the cluster")

    plan = cluster.solve(
        instance, Unused(), time_limit_s=10, thresholds=Thresholds(min_volunteers=301)
    )
    assert plan.stats["executor"] == "in-process"
    _checked(instance, plan)
