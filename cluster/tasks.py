"""What a worker runs: module-level functions of (payload, seconds, control), sent to Dask
workers by name, so that they import the same code as the client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import matcher
from matcher import Control, Plan, ProblemData, SolveParams, check_plan, parse_instance
from matcher.engines.optimal import PartResult, solve_part
from matcher.problem import BoolArray

__all__ = ["TileOutcome", "solve_part_task", "solve_tile_task"]

# A solve's time limit must be positive: a tile that starts at its deadline gets this.
_LEAST_LIMIT_S = 0.01
# The tile's check, after its solve, walks the plan against the records the parse read: it is
# given this share of the parse's time out of the tile's seconds.
_CHECK_PER_PARSE = 0.5


def solve_part_task(
    payload: tuple[ProblemData, SolveParams, BoolArray | None], seconds: float, control: Control
) -> PartResult:
    """One part (or a district's sub-problem of a round, from the plan in hand) by the optimal
    engine."""
    data, params, start = payload
    return solve_part(data, seconds, params, control, start=start)


@dataclass(frozen=True)
class TileOutcome:
    """A tile's plan, and the hard rules it breaks (`check_plan` against the tile)."""

    plan: Plan
    violations: tuple[str, ...]


def solve_tile_task(
    payload: tuple[dict[str, Any], int, int, str], seconds: float, control: Control
) -> TileOutcome:
    """One tile (an independent sub-instance) parsed, solved end to end by `matcher.solve` and
    checked, within `seconds` in all: the solve (compiling included) gets what the parse leaves,
    less the check's share, so that the tiles after it start on time."""
    tile, seed, workers, engine = payload
    started = time.perf_counter()
    instance = parse_instance(tile)
    parse_s = time.perf_counter() - started
    limit = seconds - (1 + _CHECK_PER_PARSE) * parse_s
    plan = matcher.solve(
        instance, engine=engine, time_limit_s=max(limit, _LEAST_LIMIT_S), seed=seed,  # type: ignore[arg-type]
        workers=workers, control=control,
    )  # fmt: skip
    report = check_plan(instance, plan)
    return TileOutcome(plan, tuple(str(v) for v in report.violations))
