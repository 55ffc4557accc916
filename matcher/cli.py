"""The `volmatch` command line.

`volmatch solve` and `volmatch check` live here; other packages add command groups (scenarios,
the service's admin commands) through the `volmatch.commands` entry-point group, each entry a
function that receives the sub-parsers object and registers its commands, so that this package
never imports them.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import ValidationError

from .check import check_plan
from .engines import ENGINES, Control, Progress
from .model import Instance, Plan
from .solve import DEFAULT_TIME_LIMIT_S, solve
from .validate import InstanceError, parse_instance

__all__ = ["main"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2


CORE_COMMANDS = ("solve", "check", "schema", "warm-up")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The other command groups import the service and the report charts (seconds): a solve or
    # a check does not need them.
    parser = build_parser(plugins=not (argv and argv[0] in CORE_COMMANDS))
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_BAD_INPUT
    code: int = args.run(args)
    return code


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The `volmatch` parser; with `plugins`, also the command groups other packages register."""
    parser = argparse.ArgumentParser(
        prog="volmatch",
        description=(
            "Match registered volunteers to service requests by skill, place and time.\n"
            "Instances and plans are JSON files in the format of docs/format.md."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = commands.add_parser(
        "solve",
        help="solve an instance and write the plan",
        description="Solve INSTANCE.json. The plan goes to -o PLAN.json (a summary to stdout), or, "
        "without -o, to stdout as JSON (the summary to stderr). Progress is shown on stderr for "
        "solves longer than a second. Exit status: 0 solved (any plan status), 2 bad input.",
    )
    p.add_argument("instance", type=Path, help="instance JSON file ('-' for stdin)")
    p.add_argument("-o", "--output", type=Path, help="write the plan JSON here")
    p.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default="optimal",
        help="optimal (default): lexicographic optimum with proven bound; "
        "greedy: first-come-first-served baseline",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="S",
        help=f"seconds of solving (default: the instance's options.time_limit_s, else {DEFAULT_TIME_LIMIT_S:g})",
    )
    p.add_argument(
        "--seed", type=int, help="random seed (default: the instance's options.seed, else 0)"
    )
    p.add_argument(
        "--workers",
        type=int,
        choices=[1, 2],
        default=2,
        help="threads the solve may keep busy (default 2: the local search runs beside HiGHS)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(run=_solve)

    p = commands.add_parser(
        "check",
        help="check a plan against every hard rule",
        description="Check PLAN.json against every hard rule (1-14, and 3b, 4b, 6b for flexible "
        "visits) for INSTANCE.json; print each violation, then coverage and travel. Exit status: "
        "0 no violation, 1 violations, 2 bad input.",
    )
    p.add_argument("instance", type=Path)
    p.add_argument("plan", type=Path)
    p.set_defaults(run=_check)

    p = commands.add_parser(
        "schema",
        help="print the JSON Schema of instances or plans",
        description="Print the JSON Schema generated from the format's models.",
    )
    p.add_argument("which", choices=["instance", "plan"])
    p.set_defaults(run=_schema)

    p = commands.add_parser(
        "warm-up",
        help="compile the local search and the routing search into numba's cache (done by "
        "`make` at install)",
        description="Compile the optimal engine's local search and the routing engine's search "
        "(numba) into their on-disk cache, so that no solve starts without them. A solve never "
        "waits for the local search: on a cold cache it compiles it apart and goes on without "
        "it meanwhile; a solve with flexible visits compiles the routing search in its limit.",
    )
    p.set_defaults(run=_warm_up)

    if plugins:
        for entry in sorted(entry_points(group="volmatch.commands"), key=lambda e: e.name):
            entry.load()(commands)
    return parser


def _warm_up(_: argparse.Namespace) -> int:
    from .engines import kernels, routing

    kernels.warm_up()
    routing.warm_up()
    return 0


def _read(path: Path) -> str:
    return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")


def _solve(args: argparse.Namespace) -> int:
    try:
        instance = parse_instance(_read(args.instance))
    except (InstanceError, OSError) as exc:
        print(f"volmatch solve: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    reporter = _ProgressReporter(enabled=not args.quiet)
    try:
        with reporter:
            plan = solve(
                instance,
                engine=args.engine,
                time_limit_s=args.time_limit,
                seed=args.seed,
                workers=args.workers,
                control=Control(on_progress=reporter.update),
            )
    except ValueError as exc:  # bad --time-limit or --seed: nothing was solved
        print(f"volmatch solve: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = plan.model_dump_json(indent=2)
    summary = _summary(plan)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
        if not args.quiet:
            print(summary)
    else:
        print(text)
        if not args.quiet:
            print(summary, file=sys.stderr)
    return EXIT_OK


def _summary(plan: Plan) -> str:
    o, s = plan.objective, plan.stats
    bound = plan.bound.coverage
    gap = f" (gap {100 * (bound - o.coverage) / bound:.2f}%)" if bound else ""
    lines = [
        f"status      {plan.status}",
        f"coverage    {o.coverage}  bound {bound if bound is not None else '-'}{gap}",
        f"travel      {o.travel_km:.1f} km over {len(plan.assignments)} assignments",
        f"unfilled    {len(plan.unfilled)} request(s), {sum(u.missing for u in plan.unfilled)} slot(s)",
        f"soft        preference {o.preference:g}, fairness penalty {o.fairness_penalty:g}, "
        f"previous kept {o.stability}",
        f"time        {s.get('solve_seconds')} s ({s.get('engine')}, {s.get('candidate_pairs')} candidate pairs)",
    ]
    lines.extend(
        f"at fault    {f.request_id}: rules {list(f.rules)}: {f.reason}" for f in plan.at_fault
    )
    return "\n".join(lines)


def _check(args: argparse.Namespace) -> int:
    try:
        instance = parse_instance(_read(args.instance))
        plan = Plan.model_validate_json(_read(args.plan))
    except (InstanceError, OSError) as exc:
        print(f"volmatch check: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValidationError as exc:
        print(f"volmatch check: {args.plan}: not a valid plan:\n{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    report = check_plan(instance, plan)
    for violation in report.violations:
        print(f"VIOLATION {violation}")
    print(f"coverage {report.coverage}")
    print(f"travel_km {report.travel_km:.3f}")
    print(f"assignments {report.assignments}")
    print("ok" if report.ok else f"{len(report.violations)} violation(s)")
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


def _schema(args: argparse.Namespace) -> int:
    model = Instance if args.which == "instance" else Plan
    print(json.dumps(model.model_json_schema(), indent=2))
    return EXIT_OK


class _ProgressReporter:
    """Reports the latest progress on stderr after the first second: one refreshed line on a
    terminal, one line every ten seconds otherwise (logs stay readable)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._latest: Progress | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()
        self._tty = sys.stderr.isatty()
        self._printed = False

    def update(self, progress: Progress) -> None:
        self._latest = progress

    def __enter__(self) -> _ProgressReporter:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join()
            if self._printed and self._tty:
                print(file=sys.stderr)

    def _run(self) -> None:
        period = 1.0 if self._tty else 10.0
        while not self._stop.wait(period):
            p = self._latest
            where = f"{p.phase}, {100 * p.fraction:.0f}%" if p else "compiling"
            cov = f", coverage {p.coverage}" if p and p.coverage is not None else ""
            line = f"solving... {time.monotonic() - self._started:.0f}s ({where}{cov})"
            if self._tty:
                print(f"\r  {line}   ", end="", file=sys.stderr, flush=True)
            else:
                print(line, file=sys.stderr, flush=True)
            self._printed = True
