"""Planners' scenario runs and sweeps: chosen from the catalog (`scenarios/catalog`), their
parameters checked here, queued, and executed by the solving process (never in a request) with
the same public API a planner's own script would use (`scenarios.runner`). The report (KPIs,
shortage diagnosis with verified remedies, or a sweep's rows) and its charts are kept with the
run: aggregates only, no person in them. Queueing and stopping are audited, like the solving
process's start and end of each run.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api.errors import Conflict, FieldError, InvalidInput, NotFound
from api.models import OrgKind, RunStatus, ScenarioRun, ScenarioRunKind, utc_now
from api.repositories import scenario_runs as repo
from api.services.audit import Actor, Change, record_one
from api.services.organizations import Caller
from scenarios.generate import counts
from scenarios.progress import ProgressBar
from scenarios.report import write_run_report, write_sweep_report
from scenarios.runner import check_engines, run, sweep, variants
from scenarios.spec import ScenarioError, catalog_names, load_scenario, parse_override

MAX_SCALE = 2.0
MAX_TIME_LIMIT_S = 60.0
MAX_VARIANTS = 12
MAX_REMEDIES = 3


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    description: str
    questions: tuple[str, ...]
    scale: float
    volunteers: int
    requests: int
    days: int
    time_limit_s: float


@cache
def catalog() -> tuple[CatalogEntry, ...]:
    """The catalog's scenarios at their default scale (read once: the files ship with the
    code)."""
    out = []
    for name in catalog_names():
        spec = load_scenario(name).spec
        c = counts(spec, scale=spec.scale)
        out.append(
            CatalogEntry(
                name,
                spec.title,
                " ".join(spec.description.split()),
                spec.questions,
                spec.scale,
                c.volunteers,
                c.requests,
                spec.horizon.days,
                spec.options.time_limit_s,
            )
        )
    return tuple(out)


def _invalid(name: str, msg: str) -> InvalidInput:
    return InvalidInput(msg, fields=[FieldError(loc=["body", name], msg=msg)])


def check_parameters(
    name: str,
    kind: ScenarioRunKind,
    scale: float | None,
    seed: int | None,
    time_limit_s: float | None,
    engines: list[str],
    overrides: list[str],
    zipped: bool,
    remedies: int,
) -> dict[str, Any]:
    """The run's parameters, checked as the command line would (every problem names its
    field); a scenario the overrides make invalid is refused before anything is queued."""
    if name not in catalog_names():
        raise _invalid("scenario", f"no scenario {name!r} in the catalog")
    if scale is not None and not 0 < scale <= MAX_SCALE:
        raise _invalid("scale", f"the scale is between 0 and {MAX_SCALE:g}")
    if time_limit_s is not None and not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        raise _invalid("time_limit_s", f"the time limit is between 0 and {MAX_TIME_LIMIT_S:g} s")
    if seed is not None and not 0 <= seed < 2**31:
        raise _invalid("seed", "the seed is a whole number from 0")
    try:
        check_engines(engines)
    except ValueError as exc:
        raise _invalid("engines", str(exc)) from None
    many = kind is ScenarioRunKind.SWEEP
    try:
        settings = [parse_override(text, many=many) for text in overrides if text.strip()]
    except ValueError as exc:
        raise _invalid("overrides", str(exc)) from None
    if many and not settings:
        raise _invalid("overrides", "a sweep varies at least one parameter: PATH=V1,V2")
    try:
        if many:
            combos = variants(settings, zipped=zipped)
            if len(combos) > MAX_VARIANTS:
                raise _invalid("overrides", f"at most {MAX_VARIANTS} variants in a sweep")
            paths = [path for path, _ in settings]
            for combo in combos:
                load_scenario(name, list(zip(paths, combo, strict=True)))
        else:
            load_scenario(name, [(p, v[0]) for p, v in settings])
    except (ScenarioError, ValueError) as exc:
        raise _invalid("overrides", str(exc)) from None
    return {
        "scale": scale,
        "seed": seed,
        "time_limit_s": time_limit_s,
        "engines": engines,
        "overrides": [[p, v] for p, v in settings],
        "zipped": zipped,
        "remedies": max(0, min(remedies, MAX_REMEDIES)),
    }


def queue(
    session: Session, caller: Caller, name: str, kind: ScenarioRunKind, parameters: dict[str, Any]
) -> ScenarioRun:
    run = repo.add_run(
        session,
        ScenarioRun(
            organization_id=caller.org_id,
            kind=kind,
            scenario=name,
            parameters=parameters,
            status=RunStatus.QUEUED,
        ),
    )
    record_one(
        session,
        Actor.of(caller),
        Change(
            "scenario_run",
            run.id,
            "queued",
            run.organization_id,
            after={"kind": str(kind), "scenario": name},
        ),
    )
    return run


def visible_run(session: Session, caller: Caller, run_id: int) -> ScenarioRun:
    found = repo.get_run(session, run_id)
    if found is None or not caller.reads(found.organization_id):
        raise NotFound(f"no scenario run {run_id}")
    return found


def list_runs(session: Session, caller: Caller, limit: int = 50) -> list[ScenarioRun]:
    return list(
        repo.list_runs(session, None if caller.kind is OrgKind.ADMIN else caller.org_id, limit)
    )


def stop(session: Session, caller: Caller, run_id: int) -> None:
    found = visible_run(session, caller, run_id)
    if not repo.request_stop(session, found.id, utc_now()):
        raise Conflict(f"the run is {found.status}; only queued or running runs can be stopped")
    record_one(
        session,
        Actor.of(caller),
        Change(
            "scenario_run",
            found.id,
            "stop_requested",
            found.organization_id,
            before={"status": found.status},
        ),
    )


class Stopped(Exception):
    """A planner stopped the run."""


def execute(
    name: str, kind: str, parameters: dict[str, Any], bar: ProgressBar
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Run or sweep the scenario (in the solving process); the report's data and its charts."""
    p = parameters
    common = {
        "engines": p["engines"],
        "scale": p["scale"],
        "seed": p["seed"],
        "time_limit_s": p["time_limit_s"],
        "bar": bar,
    }
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        if kind == ScenarioRunKind.SWEEP:
            loaded = load_scenario(name)
            settings = [(path, list(values)) for path, values in p["overrides"]]
            result = sweep(loaded, settings, zipped=p["zipped"], **common)
            write_sweep_report(result, out)
            report = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
            report["csv"] = (out / "sweep.csv").read_text(encoding="utf-8")
        else:
            loaded = load_scenario(name, [(path, values[0]) for path, values in p["overrides"]])
            outcome = run(loaded, remedy_groups=p["remedies"], **common)
            write_run_report(outcome, out)
            report = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
        charts = {png.name: png.read_bytes() for png in sorted(out.glob("*.png"))}
    return report, charts
