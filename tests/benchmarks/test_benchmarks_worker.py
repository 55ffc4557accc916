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
