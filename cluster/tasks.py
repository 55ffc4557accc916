"""What a worker runs: module-level functions of (payload, seconds, control), sent to Dask
workers by name, so that they import the same code as the client."""

from __future__ import annotations

from matcher import Control, ProblemData, SolveParams
from matcher.engines.optimal import PartResult, solve_part

__all__ = ["solve_part_task"]


def solve_part_task(
    payload: tuple[ProblemData, SolveParams], seconds: float, control: Control
) -> PartResult:
    """One part (or district, or a border's part) by the optimal engine."""
    data, params = payload
    return solve_part(data, seconds, params, control)
