"""Engines: functions from `ProblemData` to chosen pairs. `ENGINES` maps the public names."""

from __future__ import annotations

from .base import Control, Engine, EngineResult, Progress, SolveParams, Status
from .greedy import greedy
from .optimal import optimal

ENGINES: dict[str, Engine] = {"optimal": optimal, "greedy": greedy}

__all__ = [
    "ENGINES",
    "Control",
    "Engine",
    "EngineResult",
    "Progress",
    "SolveParams",
    "Status",
    "greedy",
    "optimal",
]
