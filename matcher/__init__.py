"""volmatch's optimization core: assign volunteers to service requests.

Pure: a domain model (`model`), validation (`validate`), the hard rules (`rules`), compilation to
arrays (`compile`, `problem`), engines on arrays (`engines`), explanations (`explain`) and the plan
checker (`check`). No I/O outside `cli`, no database, no clock.

    >>> from matcher import solve
    >>> plan = solve(instance_json)        # doctest: +SKIP
"""

from .check import CheckReport, check_plan
from .compile import Compiled, compile_instance
from .engines import ENGINES, Control, EngineResult, Progress, SolveParams, Status
from .model import Instance, Plan
from .problem import ProblemData
from .solve import build_plan, solve
from .validate import InstanceError, Problem, parse_instance

__all__ = [
    "ENGINES",
    "CheckReport",
    "Compiled",
    "Control",
    "EngineResult",
    "Instance",
    "InstanceError",
    "Plan",
    "Problem",
    "ProblemData",
    "Progress",
    "SolveParams",
    "Status",
    "build_plan",
    "check_plan",
    "compile_instance",
    "parse_instance",
    "solve",
]
