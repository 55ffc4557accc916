"""The coverage LP bound of a generated week's largest part (mixed-city 5,000/600 unless told),
as the optimal engine computes it on restricted columns (priced against every pair), with rounds
of cuts until no cut is found (or 300): one line per LP, then the last bound, the cuts and the
CPU seconds.

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/results/cuts14/lp_bound.py SEED \
        [FAMILY VOLUNTEERS/REQUESTS]
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from typing import Any

import matcher
from matcher.engines.base import Control, Deadline, SolveParams
from matcher.engines.optimal import plan_parts
from matcher.engines.optimal.budget import PartBudget
from matcher.engines.optimal.state import PartState
from matcher.engines.optimal.tiers import COVERAGE, Tier
from scenarios.generate import build
from scenarios.spec import load_scenario

# The optimum of each week where known (textbook HiGHS, benchmarks/results/proofs13): the rounds
# go on while the bound is above it, as they would against an optimal plan in hand; elsewhere
# until no cut is found.
OPTIMUM = {1: 3115, 4: 3053}


class _Lines(logging.Handler):
    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started

    def emit(self, record: logging.LogRecord) -> None:
        if "tier 1 LP" in record.getMessage():
            print(f"{time.process_time() - self.started:7.1f} {record.getMessage()}", flush=True)


def main() -> None:
    seed = int(sys.argv[1])
    columns: Any = importlib.import_module("matcher.engines.optimal.columns")  # its round cap
    columns._CUT_ROUNDS = 300
    family = sys.argv[2] if len(sys.argv) > 2 else "mixed-city"
    volunteers, requests = (
        int(n) for n in (sys.argv[3] if len(sys.argv) > 3 else "5000/600").split("/")
    )
    started = time.process_time()
    week = build(load_scenario(family), seed=seed, volunteers=volunteers, requests=requests)
    compiled = matcher.compile_instance(matcher.parse_instance(week.instance))
    part = max(plan_parts(compiled.data).parts, key=lambda p: p.data.num_pairs)
    print(f"pairs {part.data.num_pairs}, requests {part.data.num_requests}")
    state = PartState(
        part.data,
        PartBudget(Deadline(10_000), has_soft_terms=False),
        SolveParams(),
        Control(),
        full=False,
        started=time.perf_counter(),
    )
    log = logging.getLogger(columns.__name__)
    log.setLevel(logging.DEBUG)
    log.addHandler(_Lines(started))
    priced = columns.grow(
        state,
        Tier(1, COVERAGE, maximize=True),
        Deadline(10_000),
        patient=True,
        best=lambda: float(OPTIMUM.get(seed, 0) if family == "mixed-city" else 0),
    )
    bound = None if priced is None else round(priced.bound, 3)
    print(f"bound {bound}, cuts {len(state.cuts)}, CPU {time.process_time() - started:.1f} s")


if __name__ == "__main__":
    main()
