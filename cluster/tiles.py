"""A run cut into tiles (`matcher.tiles`: independent sub-instances, such as the cities of a
province), each parsed, solved and checked by a worker, their plans put side by side.

Tiles are jobs of the executor like parts: seconds in proportion to their requests, largest
first; a tile's time covers its parsing and compiling, done on the worker, so the client
never holds more than the raw records. A tile whose result never comes (stop, deadline, a
failure) is solved by greedy in this process instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import matcher
from matcher import Control, Progress, check_plan, parse_instance

from .executor import Executor, Job
from .plans import merge_plans
from .tasks import TileOutcome, solve_tile_task

__all__ = ["solve_tiles"]


# A tile solved in this process after its own result did not come: the optimal engine with no
# time to speak of gives greedy's plan per part, with each part's trivial bound.
_FALLBACK_LIMIT_S = 0.01


@dataclass(frozen=True, eq=False)
class _GreedyTile:
    """Greedy's plan (and the trivial bound) for a tile whose own result did not come."""

    tile: dict[str, Any]
    seed: int

    def __call__(self) -> TileOutcome:
        instance = parse_instance(self.tile)
        plan = matcher.solve(instance, time_limit_s=_FALLBACK_LIMIT_S, seed=self.seed, workers=1)
        return TileOutcome(plan, tuple(str(v) for v in check_plan(instance, plan).violations))


def solve_tiles(
    tiles: list[dict[str, Any]],
    executor: Executor,
    *,
    time_limit_s: float,
    seed: int,
    workers: int,
    control: Control,
    started: float,
) -> matcher.Plan:
    """The whole instance's plan from its tiles, within `time_limit_s` of `started`."""
    jobs: list[Job[Any, Any]] = [
        Job(
            f"tile-{k}",
            solve_tile_task,
            (tile, seed, workers, "optimal"),
            float(len(tile["requests"])),
            _GreedyTile(tile, seed),
        )
        for k, tile in enumerate(tiles)
    ]
    outcomes: dict[str, TileOutcome] = {}
    total = sum(j.weight for j in jobs) or 1.0
    done_weight = 0.0
    solved = 0

    def done(job: Job[Any, Any], outcome: TileOutcome, ok: bool) -> None:
        nonlocal done_weight, solved
        outcomes[job.label] = outcome
        done_weight += job.weight
        solved += ok
        control.on_progress(
            Progress(
                phase=f"tiles {len(outcomes)}/{len(jobs)}",
                fraction=done_weight / total,
                coverage=sum(o.plan.objective.coverage for o in outcomes.values()),
            )
        )

    # Merging the plans, and greedy for a tile whose result does not come, are left 5 %.
    seconds = max(0.95 * (time_limit_s - (time.perf_counter() - started)) - 0.2, 0.1 * time_limit_s)
    executor.run(jobs, seconds, control, done)
    ordered = [outcomes[j.label] for j in jobs]
    plan = merge_plans([o.plan for o in ordered], time.perf_counter() - started)
    violations = [v for o in ordered for v in o.violations]
    return plan.model_copy(
        update={
            "stats": {
                **plan.stats,
                "executor": executor.name,
                "cluster_workers": executor.workers,
                "jobs_solved": solved,
                "jobs_fallback": len(jobs) - solved,
                "check_violations": len(violations),
            }
        }
    )
