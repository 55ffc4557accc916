"""The benchmark worker process (`benchmarks.common.Worker`, `benchmarks.worker`): it says when
its compiled kernels are loaded, and a job's time limit counts from there, not from its start
(a fresh code snapshot compiles the kernels first: the GAP harness's first jobs were killed at
66 s while they compiled on a busy machine)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks import common


def test_worker_announces_it_is_ready_before_any_job() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=common.REPO_ROOT,
        timeout=1800, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines() == [common.READY_LINE]


def test_a_worker_that_never_gets_ready_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "READY_LINE", "@@never-printed")
    monkeypatch.setattr(common, "START_TIMEOUT_S", 0.5)
    worker = common.Worker()
    with pytest.raises(RuntimeError, match="worker not ready in 0 s") as raised:
        worker.run({"kind": "gap"}, timeout_s=3600)
    assert not isinstance(raised.value, common.WorkerTimeout)  # the job itself never ran
    assert worker._proc is None  # killed, nothing left running
    answer = worker.attempt({"kind": "gap"}, timeout_s=3600)
    assert answer["status"] == "error: benchmark worker not ready in 0 s"


def test_a_process_started_by_a_larger_one_reports_its_own_peak() -> None:
    # The scheduler and the workers of a scale run are started by a client holding the
    # instance; getrusage's maxrss would give them the client's peak (Linux keeps it across
    # exec).
    held = bytearray(400 * 1024 * 1024)
    held[:: 4096] = b"\x01" * len(held[:: 4096])  # resident, not just reserved
    code = "from benchmarks.common import peak_rss_mb; print(peak_rss_mb())"
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=common.REPO_ROOT,
        timeout=120, check=True,
    )  # fmt: skip
    assert common.peak_rss_mb() > 400
    assert float(child.stdout) < 200, child.stdout
