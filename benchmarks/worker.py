"""The child side of `common.Worker`: read one JSON job per line on stdin, run it, answer one
line on stdout (prefixed, so that stray library output is never mistaken for an answer).

A job is `{"kind": "gap" | "city" | "peer" | "vrptw" | "families" | "scale", ...}`; the module
`benchmarks.<kind>` handles it with `run_job(job) -> dict` (a job may report partial results
on the way with `report_partial`). Every answer carries the process's peak resident set so far
(`peak_rss_mb`, the kernel's high-water mark, which counts memory allocated by C libraries
too). The first line, `READY_LINE`, says the compiled kernels are loaded: job time limits count
from there.
With VOLMATCH_BENCH_COLD=1 the process does not load them first: its first solve is a user's
first solve.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import traceback
from typing import Any

from .common import PARTIAL_PREFIX, READY_LINE, RESULT_PREFIX, peak_rss_mb

KINDS = {"gap", "city", "peer", "vrptw", "families", "scale"}
_COLD: bool | None = None  # whether this process skipped the warm-up (VOLMATCH_BENCH_COLD=1)


def report_partial(answer: dict[str, Any]) -> None:
    """What a job has so far: the parent keeps it if the job is killed."""
    sys.stdout.write(PARTIAL_PREFIX + json.dumps(answer) + "\n")
    sys.stdout.flush()


def handle(job: dict[str, Any]) -> dict[str, Any]:
    kind = job.get("kind")
    if kind not in KINDS:
        return {"error": f"unknown job kind {kind!r}"}
    module = importlib.import_module(f"benchmarks.{kind}" if kind != "peer" else "benchmarks.peers")
    try:
        answer: dict[str, Any] = module.run_job(job)
    except Exception:  # MemoryError included: reported to the parent, which decides
        return {"error": traceback.format_exc()}
    answer["peak_rss_mb"] = peak_rss_mb()
    answer["warmed_up"] = _COLD is False
    return answer


def _warm_up() -> None:
    """Load (or compile) the engine's numba kernels: `matcher.engines.kernels` since c5518c2,
    the local search's own `warm_up` before it (`--rev` may name an older engine)."""
    try:
        kernels = importlib.import_module("matcher.engines.kernels")
    except ModuleNotFoundError as exc:
        if exc.name != "matcher.engines.kernels":
            raise
        kernels = importlib.import_module("matcher.engines.local_search")
    kernels.warm_up()


def main() -> int:
    max_gb = os.environ.get("VOLMATCH_BENCH_MAX_GB")
    if max_gb:  # cap the address space: a runaway run fails alone, the machine stays up
        cap = int(float(max_gb) * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # As in the service's solving process: the compiled kernels are loaded before any timed run
    # (the engine would otherwise spend a fraction of a second of its budget on it).
    global _COLD
    _COLD = os.environ.get("VOLMATCH_BENCH_COLD") == "1"
    if not _COLD:
        _warm_up()
    sys.stdout.write(READY_LINE + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = handle(json.loads(line))
        sys.stdout.write(RESULT_PREFIX + json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
