"""Running scenarios: generate, solve with each engine, compute KPIs, diagnose shortages; and
sweeps that vary scenario parameters and solve every variant.

Everything goes through the public matcher API (`matcher.solve`, `matcher.parse_instance`), as a
user's own script would.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from matcher import ENGINES, Control, Instance, Plan, parse_instance, solve
from matcher.solve import EngineName

from .diagnose import Diagnosis, Geography, diagnose
from .generate import Generated, build
from .kpis import Kpis, compute_kpis
from .progress import ProgressBar
from .spec import Loaded, Scenario

__all__ = [
    "EngineRun",
    "RunResult",
    "SweepResult",
    "SweepRow",
    "affiliations",
    "check_engines",
    "geography",
    "run",
    "sweep",
    "variants",
]


@dataclass(frozen=True)
class EngineRun:
    engine: str
    plan: Plan
    kpis: Kpis


@dataclass(frozen=True)
class RunResult:
    """One scenario solved by one or more engines, with its shortage diagnosis."""

    loaded: Loaded
    generated: Generated
    instance: Instance
    runs: tuple[EngineRun, ...]
    diagnosis: Diagnosis | None
    time_limit_s: float


@dataclass(frozen=True)
class SweepRow:
    values: tuple[Any, ...]  # one per varied parameter
    engine: str
    kpis: Kpis
    volunteers: int
    requests: int


@dataclass(frozen=True)
class SweepResult:
    loaded: Loaded
    parameters: tuple[str, ...]
    rows: tuple[SweepRow, ...]
    time_limit_s: float
    zipped: bool = False  # the parameters varied together


def geography(spec: Scenario) -> Geography:
    return Geography(
        tuple((d.name, d.lat, d.lon) for d in spec.area.districts),
        spec.horizon.tz,
        spec.horizon.kind_of,
    )


def affiliations(spec: Scenario) -> tuple[str, ...]:
    """The volunteer attribute keys that name an affiliation (university, firm...)."""
    return tuple(dict.fromkeys(p.affiliation for p in spec.pools.values() if p.affiliation))


def check_engines(engines: Sequence[str]) -> list[EngineName]:
    """The engine names, checked against the matcher's engines."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(
            f"unknown engine(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(ENGINES)}"
        )
    return list(engines)  # type: ignore[arg-type]


def _solve(
    instance: Instance,
    engine: EngineName,
    time_limit_s: float,
    seed: int,
    bar: ProgressBar,
) -> Plan:
    return solve(
        instance,
        engine=engine,
        time_limit_s=time_limit_s,
        seed=seed,
        control=Control(on_progress=bar.solver),
    )


def run(
    loaded: Loaded,
    *,
    engines: Sequence[str] = ("optimal", "greedy"),
    scale: float | None = None,
    seed: int | None = None,
    time_limit_s: float | None = None,
    remedy_groups: int = 3,
    bar: ProgressBar | None = None,
) -> RunResult:
    """Generate the scenario, solve it with each engine, compute KPIs and diagnose the first
    engine's shortages (verifying remedies for the `remedy_groups` largest)."""
    names = check_engines(engines)
    spec = loaded.spec
    limit = time_limit_s or spec.options.time_limit_s
    bar = bar or ProgressBar(1, enabled=False)
    bar.total = 1 + len(names) + 2 * remedy_groups
    bar.step("generating the instance")
    generated = build(loaded, seed=seed, scale=scale)
    instance = parse_instance(generated.instance)
    keys = affiliations(spec)
    runs = []
    for engine in names:
        bar.step(f"solving with {engine}")
        plan = _solve(instance, engine, limit, generated.seed, bar)
        runs.append(EngineRun(engine, plan, compute_kpis(instance, plan, affiliations=keys)))
    diagnosis = None
    if remedy_groups > 0:
        first = runs[0]
        diagnosis = diagnose(
            instance,
            first.plan,
            geography(spec),
            groups=remedy_groups,
            engine=names[0],
            time_limit_s=limit,
            seed=generated.seed,
            on_step=lambda remedy: bar.step(f"verifying: {remedy.text}"),
        )
    return RunResult(loaded, generated, instance, tuple(runs), diagnosis, limit)


def variants(
    settings: Sequence[tuple[str, Sequence[Any]]], *, zipped: bool = False
) -> list[tuple[Any, ...]]:
    """The value combinations of a sweep: every combination, or (zipped) the i-th values
    together, a single value going with every variant."""
    lists = [list(values) for _, values in settings]
    if zipped:
        lengths = {len(v) for v in lists} - {1}
        if len(lengths) > 1:
            raise ValueError("with --zip every --set needs the same number of values (or one)")
        n = lengths.pop() if lengths else 1
        return [tuple(v[i] if len(v) > 1 else v[0] for v in lists) for i in range(n)]
    return list(itertools.product(*lists))


def sweep(
    loaded: Loaded,
    settings: Sequence[tuple[str, Sequence[Any]]],
    *,
    zipped: bool = False,
    engines: Sequence[str] = ("optimal",),
    scale: float | None = None,
    seed: int | None = None,
    time_limit_s: float | None = None,
    bar: ProgressBar | None = None,
) -> SweepResult:
    """Solve every variant of the scenario: one row per variant and engine. Raises
    ScenarioError (before any solving) if any variant is invalid."""
    names = check_engines(engines)
    paths = tuple(path for path, _ in settings)
    combos = variants(settings, zipped=zipped)
    scenarios = [loaded.with_overrides(zip(paths, combo, strict=True)) for combo in combos]
    limit = time_limit_s or loaded.spec.options.time_limit_s
    bar = bar or ProgressBar(1, enabled=False)
    bar.total = len(combos) * (1 + len(names))
    rows: list[SweepRow] = []
    for combo, variant in zip(combos, scenarios, strict=True):
        shown = ", ".join(f"{p}={v}" for p, v in zip(paths, combo, strict=True))
        bar.step(f"generating {shown}")
        generated = build(variant, seed=seed, scale=scale)
        instance = parse_instance(generated.instance)
        keys = affiliations(variant.spec)
        for engine in names:
            bar.step(f"solving {shown} with {engine}")
            plan = _solve(instance, engine, limit, generated.seed, bar)
            rows.append(
                SweepRow(
                    values=tuple(combo),
                    engine=engine,
                    kpis=compute_kpis(instance, plan, affiliations=keys),
                    volunteers=len(instance.volunteers),
                    requests=len(instance.requests),
                )
            )
    return SweepResult(loaded, paths, tuple(rows), limit, zipped)


def overrides_text(pairs: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pairs) or "none"
