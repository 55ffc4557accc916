"""The scale-out benchmark (`benchmarks/scale.py`): its arguments, its summary, and a run on a
scheduler with a worker started apart as processes of their own (stopped after)."""

from __future__ import annotations

import argparse
import subprocess

import psutil
import pytest

from benchmarks import scale
from benchmarks.scale import Case, Mode, parse_cases, parse_modes, summarise


def test_cases_and_modes_are_parsed_and_bad_ones_named() -> None:
    assert parse_cases("city:5000:500,province:20000:2000:30") == [
        Case("city", 5000, 500, 60.0),
        Case("province", 20000, 2000, 30.0),
    ]
    assert parse_modes("in-process,local-2,scheduler-3") == [
        Mode("in-process"), Mode("local", 2), Mode("scheduler", 3)
    ]  # fmt: skip
    with pytest.raises(argparse.ArgumentTypeError, match="'town:5:1'"):
        parse_cases("town:5:1")
    with pytest.raises(argparse.ArgumentTypeError, match="'local'"):
        parse_modes("local")


def test_summary_takes_medians_and_ratios_to_the_in_process_run() -> None:
    def row(mode: str, run: int, seconds: float, peak: float) -> dict[str, object]:
        return {"case": "city 100000/10000", "mode": mode, "run": run, "time limit": 60,
                "status": "feasible", "checked": "ok", "coverage": 57961, "bound": 57997,
                "gap %": 0.0621, "seconds": seconds, "total peak MB": peak}  # fmt: skip

    runs = [row("in-process", 1, 300.0, 6000.0), row("in-process", 2, 280.0, 6200.0),
            row("local-2", 1, 80.0, 2500.0), row("local-2", 2, 88.0, 2900.0),
            row("local-2", 3, 85.0, 2800.0)]  # fmt: skip
    alone, local = summarise(runs)
    assert (alone["runs"], alone["seconds"], alone["time vs in-process"]) == (2, 290.0, 1.0)
    assert (local["runs"], local["seconds"], local["total peak MB"]) == (3, 85.0, 2800.0)
    assert local["time vs in-process"] == round(85.0 / 290.0, 2)
    # The target is judged on the slowest run, not the median.
    assert local["issue 19 target"].endswith("met")
    assert "NOT met" in alone["issue 19 target"] and "300 s" in alone["issue 19 target"]


def test_a_run_on_a_scheduler_and_worker_started_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    spawn = scale._spawn

    def recording(args: list[str]) -> subprocess.Popen[bytes]:
        started.append(spawn(args))
        return started[-1]

    monkeypatch.setattr(scale, "_spawn", recording)
    answer = scale.run_job({
        "case": "province", "volunteers": 3000, "requests": 60, "seed": 1, "time_limit": 20,
        "where": "scheduler", "workers": 1,
    })  # fmt: skip
    assert answer["executor"] == "dask" and answer["checked"] == "ok"
    assert answer["coverage"] > 0 and answer["gap %"] is not None
    assert answer["scheduler peak MB"] > 0 and answer["worker peak MB"] > 0
    assert answer["total peak MB"] > answer["client peak MB"]
    # A scheduler and one worker, each a process of its own, stopped after the run.
    assert len(started) == 2 and all(p.poll() is not None for p in started)


def test_a_scheduler_and_worker_started_apart_listen_on_loopback_only() -> None:
    """Every socket the scheduler and the worker (and its nanny) listen on is on loopback,
    their HTTP servers too (Dask's scheduler serves one on every interface by default, even
    without a dashboard)."""
    with scale._cluster("scheduler", 1) as (_, procs):
        listening = [
            conn.laddr
            for proc in procs
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            for conn in p.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        ]
    assert len(listening) >= 4  # scheduler, its HTTP; nanny, worker (and theirs)
    assert {address.ip for address in listening} == {"127.0.0.1"}
