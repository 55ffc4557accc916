"""What every engine takes and returns.

An engine is a function `(ProblemData, SolveParams, Control) -> EngineResult`. It works on arrays
only, honours `SolveParams.time_limit_s` (measured with a monotonic timer, never the date), checks
`Control.should_stop` between steps, and reports `Progress` through `Control.on_progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from ..problem import BoolArray, IntArray, ProblemData

__all__ = [
    "Control",
    "Deadline",
    "Engine",
    "EngineResult",
    "Progress",
    "SolveParams",
    "Status",
]


class Status(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True, slots=True)
class SolveParams:
    """Budget and randomness of one solve."""

    time_limit_s: float = 10.0
    seed: int = 0
    # Relative optimality gap accepted on travel (tier 2) before calling a plan optimal.
    travel_gap: float = 1e-6
    # Return early, within this many seconds of the engine's start, when candidates the data
    # left out could improve the plan (`starved`), so that the caller can compile more
    # candidates for those requests and solve again (0: never).
    hand_back_within_s: float = 0.0
    # Threads a solve may keep busy: with 2, the local search runs beside a MIP that HiGHS
    # has not finished (HiGHS runs on one core and releases the GIL while it does).
    workers: int = 2

    def __post_init__(self) -> None:
        if not (self.time_limit_s > 0 and np.isfinite(self.time_limit_s)):
            raise ValueError(f"time_limit_s must be a positive number, got {self.time_limit_s}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not 0 <= self.travel_gap < 1:
            raise ValueError(f"travel_gap must lie in [0, 1), got {self.travel_gap}")
        if self.workers not in (1, 2):
            raise ValueError(f"workers must be 1 or 2, got {self.workers}")


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a running solve."""

    phase: str
    fraction: float
    coverage: int | None = None
    bound: int | None = None


def _never() -> bool:
    return False


def _ignore(_: Progress) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Control:
    """How a caller steers a running solve: ask it to stop, and hear how it goes."""

    should_stop: Callable[[], bool] = _never
    on_progress: Callable[[Progress], None] = _ignore


@dataclass(frozen=True, eq=False)
class EngineResult:
    """Chosen pairs and what is proven about them."""

    selected: BoolArray
    status: Status
    coverage_bound: int | None = None
    # A proven lower bound on the travel cost (pair_cost units) of a plan with optimal
    # coverage, when coverage is proven.
    cost_bound: float | None = None
    # Mandatory requests (indices) that no plan can staff, when status is infeasible.
    at_fault: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Requests whose left-out candidates (ProblemData.request_dropped) could improve the plan.
    starved: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stats: dict[str, float | int | str | bool] = field(default_factory=dict)


class Engine(Protocol):
    def __call__(
        self, data: ProblemData, params: SolveParams, control: Control
    ) -> EngineResult: ...


class Deadline:
    """A monotonic-clock budget."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self._end

