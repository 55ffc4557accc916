"""`volmatch scenario ...`: list, show, generate, run and sweep catalog scenarios.

Registered with the `volmatch` command through the `volmatch.commands` entry point (see
pyproject.toml), so the matcher never imports this package. NAME is a catalog name (`volmatch
scenario list`) or the path of a scenario file. Exit status: 0 done, 2 bad input (an invalid
scenario or override names the file, key and problem).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from .generate import build, counts, dumps
from .progress import ProgressBar
from .report import Table, kpi_table, sweep_table, text_table, write_run_report, write_sweep_report
from .runner import run, sweep
from .spec import Loaded, ScenarioError, catalog_names, load_scenario, parse_override

__all__ = ["register"]

EXIT_OK, EXIT_BAD_INPUT = 0, 2
DEFAULT_OUT = Path("var") / "scenarios"


def register(commands: Any) -> None:
    """Add `scenario` and its sub-commands to the `volmatch` sub-parsers."""
    p = commands.add_parser(
        "scenario",
        help="named, seeded what-if scenarios: list, show, generate, run, sweep",
        description="Named, seeded what-if scenarios (scenarios/catalog/*.toml, or any scenario "
        "file): generate instances, solve them, and write planners' reports. "
        "Keys of scenario files: docs/scenarios.md.",
    )
    p.set_defaults(run=lambda args: _usage(p))
    sub = p.add_subparsers(title="scenario commands", metavar="COMMAND")

    q = sub.add_parser("list", help="the catalog's scenarios")
    q.set_defaults(run=_list)

    q = sub.add_parser(
        "show",
        help="describe a scenario",
        description="Describe a scenario: "
        "questions, horizon, area, pools, services and the counts at its scale.",
    )
    _common(q, solve=False)
    q.add_argument("--toml", action="store_true", help="print the scenario file itself")
    q.set_defaults(run=_show)

    q = sub.add_parser(
        "generate",
        help="write a scenario's instance (FORMAT.md JSON)",
        description="Generate the scenario's instance. Same scenario, seed and scale: "
        "byte-identical JSON.",
    )
    _common(q, solve=False)
    q.add_argument("-o", "--output", type=Path, help="write here (default stdout)")
    q.set_defaults(run=_generate)

    q = sub.add_parser(
        "run",
        help="solve a scenario with each engine and write a report",
        description="Generate, solve with each engine, print a KPI table per engine, diagnose "
        "the first engine's shortages (re-solving to verify each remedy) and write a report "
        "folder: report.md, report.html, kpis.json and PNG charts.",
    )
    _common(q, solve=True)
    q.add_argument(
        "--engines", default="optimal,greedy", help="comma-separated (default optimal,greedy)"
    )
    q.add_argument(
        "--remedies",
        type=int,
        default=3,
        metavar="K",
        help="verify remedies for the K largest shortage groups (default 3; 0: diagnosis without remedies)",
    )
    q.add_argument("--out", type=Path, help=f"report folder (default {DEFAULT_OUT}/NAME)")
    q.set_defaults(run=_run)

    q = sub.add_parser(
        "sweep",
        help="vary scenario parameters, solve every variant, tabulate and chart the KPIs",
        description="Vary parameters by dotted path (--set pools.students.max_travel_km=10,5); "
        "several --set give every combination (or, with --zip, the i-th values together). "
        "Writes sweep.md/.html/.csv/.json and sweep.png (each KPI against the first parameter).",
    )
    _common(q, solve=True, many=True)
    q.add_argument("--zip", action="store_true", help="vary the --set lists together")
    q.add_argument("--engines", default="optimal", help="comma-separated (default optimal)")
    q.add_argument("--out", type=Path, help=f"folder (default {DEFAULT_OUT}/NAME-sweep)")
    q.set_defaults(run=_sweep)


def _common(p: argparse.ArgumentParser, *, solve: bool, many: bool = False) -> None:
    p.add_argument("name", metavar="NAME", help="catalog name or scenario file")
    p.add_argument("--scale", type=float, help="scale factor (default: the scenario's)")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=V1,V2" if many else "PATH=VALUE",
        required=many,
        help="set a scenario parameter by dotted path"
        + (" to each of the values" if many else " (repeatable)"),
    )
    if solve:
        p.add_argument(
            "--time-limit",
            type=float,
            metavar="S",
            help="seconds per solve (default: the scenario's)",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return EXIT_BAD_INPUT


def _fail(command: str, error: Exception) -> int:
    text = str(error)
    if isinstance(error, ScenarioError):
        text = "invalid scenario:\n" + textwrap.indent(text, "  ")
    print(f"volmatch scenario {command}: {text}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(
    args: argparse.Namespace, *, many: bool = False
) -> tuple[Loaded, list[tuple[str, list[Any]]]]:
    settings = [parse_override(text, many=many) for text in args.sets]
    if many:
        return load_scenario(args.name), settings
    return load_scenario(args.name, [(path, values[0]) for path, values in settings]), settings


def _list(args: argparse.Namespace) -> int:
    rows = []
    for name in catalog_names():
        spec = load_scenario(name).spec
        c = counts(spec, scale=spec.scale)
        rows.append(
            (
                name,
                f"{spec.scale:g}",
                f"{c.volunteers}",
                f"{c.requests}",
                f"{spec.horizon.days}",
                spec.title,
            )
        )
    header = ("name", "scale", "volunteers", "requests", "days", "title")
    print(text_table(Table(header, tuple(rows))))
    print(
        "\nAt each scenario's default scale (--scale changes it); `volmatch scenario show NAME` for more."
    )
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    try:
        loaded, _ = _load(args)
    except (ScenarioError, ValueError) as exc:
        return _fail("show", exc)
    if args.toml:
        print(loaded.path.read_text(encoding="utf-8"), end="")
        return EXIT_OK
    spec = loaded.spec
    scale = spec.scale if args.scale is None else args.scale
    c = counts(spec, scale=scale)
    h = spec.horizon
    out = [
        f"{loaded.name}: {spec.title}",
        f"file: {loaded.path}",
        "",
        textwrap.fill(" ".join(spec.description.split()), 96),
        "",
        *(f"question: {q}" for q in spec.questions),
        f"horizon: {h.start.isoformat()}, {h.days} days, UTC{h.utc_offset}"
        + (f", {len(h.holidays)} holiday(s)" if h.holidays else ""),
        f"districts: {', '.join(d.name for d in spec.area.districts)}",
        "sites: " + ", ".join(f"{k} {v}" for k, v in c.sites.items() if k != "districts"),
        f"seed {spec.seed}, scale {scale:g}: {c.volunteers} volunteers, {c.requests} requests",
        "",
        "pools:",
    ]
    for name, pool in spec.pools.items():
        skills = ", ".join(f"{s} {p:.0%}" for s, p in pool.skills.items()) or "no skills"
        group = f"; group {pool.group}" if pool.group else ""
        out.append(f"  {name:22s} {c.pools[name]:7d}  home {pool.home}; {skills}{group}")
    out.append("services:")
    for name, s in spec.services.items():
        need = ", ".join(s.required_skills) or "no skill"
        extra = []
        if s.same_gender:
            extra.append("same gender")
        if s.dialect:
            extra.append(f"dialect {s.dialect.share:.0%}")
        if s.mandatory_share:
            extra.append(f"mandatory {s.mandatory_share:.0%}")
        out.append(
            f"  {name:26s} {c.services[name]:6d}  {s.pattern}, priority {s.priority}, "
            f"headcount {s.headcount[0]}-{s.headcount[1]}, {need}"
            + (f"; {', '.join(extra)}" if extra else "")
        )
    for quota in spec.options.quotas:
        bound = (
            f"at least {quota.min_share:.0%}"
            if quota.min_share is not None
            else f"at most {quota.max_share:.0%}"
        )
        out.append(f"quota: {quota.group} {bound} of {quota.of}{'' if quota.hard else ' (soft)'}")
    if spec.variants:
        out.append("variants (--set variant=NAME): " + ", ".join(spec.variants))
    print("\n".join(out))
    return EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    try:
        loaded, _ = _load(args)
        generated = build(loaded, seed=args.seed, scale=args.scale)
    except (ScenarioError, ValueError) as exc:
        return _fail("generate", exc)
    text = dumps(generated.instance)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(
            f"{args.output}: {len(generated.instance['volunteers'])} volunteers, "
            f"{len(generated.instance['requests'])} requests (seed {generated.seed}, scale {generated.scale:g})",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text + "\n")
    return EXIT_OK


def _engines(text: str) -> list[str]:
    return [e.strip() for e in text.split(",") if e.strip()]


def _run(args: argparse.Namespace) -> int:
    try:
        loaded, _ = _load(args)
        with ProgressBar(1, enabled=not args.quiet) as bar:
            result = run(
                loaded,
                engines=_engines(args.engines),
                scale=args.scale,
                seed=args.seed,
                time_limit_s=args.time_limit,
                remedy_groups=max(args.remedies, 0),
                bar=bar,
            )
    except (ScenarioError, ValueError) as exc:
        return _fail("run", exc)
    folder = args.out or DEFAULT_OUT / loaded.name
    write_run_report(result, folder)
    kpis = {r.engine: r.kpis for r in result.runs}
    print(f"{loaded.name}: {loaded.spec.title}")
    print(
        f"seed {result.generated.seed}, scale {result.generated.scale:g}: "
        f"{len(result.instance.volunteers)} volunteers, {len(result.instance.requests)} requests\n"
    )
    print(text_table(kpi_table(kpis)))
    if result.diagnosis and result.diagnosis.remedies:
        print("\nremedies (verified by re-solving):")
        for v in result.diagnosis.remedies:
            print(f"  {v.gain:+5d} coverage  {v.remedy.text}  [for {v.remedy.shortage.label()}]")
    print(f"\nreport: {folder / 'report.md'} (and report.html, kpis.json, charts)")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    try:
        loaded, settings = _load(args, many=True)
        with ProgressBar(1, enabled=not args.quiet) as bar:
            result = sweep(
                loaded,
                settings,
                zipped=args.zip,
                engines=_engines(args.engines),
                scale=args.scale,
                seed=args.seed,
                time_limit_s=args.time_limit,
                bar=bar,
            )
    except (ScenarioError, ValueError) as exc:
        return _fail("sweep", exc)
    folder = args.out or DEFAULT_OUT / f"{loaded.name}-sweep"
    write_sweep_report(result, folder)
    print(text_table(sweep_table(result)))
    print(f"\nsweep: {folder / 'sweep.md'} (and sweep.html, sweep.csv, sweep.json, sweep.png)")
    return EXIT_OK
