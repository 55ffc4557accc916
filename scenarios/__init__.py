"""volmatch's scenarios: named, seeded what-if studies for planners.

A scenario is one TOML file (`scenarios/catalog/*.toml`, or any path) describing an area,
volunteer pools, a request mix, a horizon and a scale (`spec`). The generator turns it into a
FORMAT.md instance, deterministically (`generate`); runs solve it with the matcher's engines and
compute KPIs (`kpis`, `runner`); the diagnosis groups unfilled demand and verifies remedies by
solving again (`diagnose`); reports are Markdown, HTML, JSON and matplotlib charts (`report`,
`charts`, imported on demand because they load matplotlib). `volmatch scenario ...` is `cli`.

    >>> from scenarios import load_scenario, generate
    >>> instance = generate(load_scenario("exam-water"), scale=0.1, seed=1)  # doctest: +SKIP

Docs: docs/scenarios.md.
"""

from .diagnose import Diagnosis, Remedy, Shortage, diagnose
from .generate import build, counts, dumps, generate
from .kpis import Kpis, compute_kpis
from .runner import RunResult, SweepResult, run, sweep
from .spec import Loaded, ScenarioError, catalog_names, load_scenario

__all__ = [
    "Diagnosis",
    "Kpis",
    "Loaded",
    "Remedy",
    "RunResult",
    "ScenarioError",
    "Shortage",
    "SweepResult",
    "build",
    "catalog_names",
    "compute_kpis",
    "counts",
    "diagnose",
    "dumps",
    "generate",
    "load_scenario",
    "run",
    "sweep",
]
