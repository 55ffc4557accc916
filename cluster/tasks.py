"""What a worker runs: module-level functions of (payload, seconds, control), sent to Dask
workers by name, so that they import the same code as the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matcher
from matcher import Control, Plan, ProblemData, SolveParams, check_plan, parse_instance
from matcher.engines.optimal import PartResult, solve_part
from matcher.problem import BoolArray

__all__ = ["TileOutcome", "solve_part_task", "solve_tile_task"]

# A solve's time limit must be positive: a tile that starts at its deadline gets this.
_LEAST_LIMIT_S = 0.01


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
    """One tile (an independent sub-instance) parsed, solved end to end by `matcher.solve`
    within `seconds` (parsing and compiling included) and checked."""
    tile, seed, workers, engine = payload
    instance = parse_instance(tile)
    plan = matcher.solve(
        instance, engine=engine, time_limit_s=max(seconds, _LEAST_LIMIT_S), seed=seed,  # type: ignore[arg-type]
        workers=workers, control=control,
    )  # fmt: skip
    report = check_plan(instance, plan)
    return TileOutcome(plan, tuple(str(v) for v in report.violations))
