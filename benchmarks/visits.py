"""Flexible home visits against fixed mid-window slots (issue 18's target).

The target: "a 5,000-volunteer week with 600 flexible visits: a plan in 30 s that staffs at
least as many visits as the same week with fixed mid-window slots, and less travel". Per seed,
`scenarios.cityweek.visits_week` generates the week of flexible visits (windows: bathing help
by two certified helpers of the person's gender, smartphone lessons at home, Mid-Autumn
Festival visits) and the SAME week with every visit fixed in the middle of its window
(`mid_window=True`: same people, places, days, teams). Both go through `matcher.solve`
(`optimal`, workers=2) at the same time limit, back to back, `--repeats` times with engine
seeds 0, 1, ...; every plan goes through `matcher.check_plan`. The KPIs are the scenarios' own
(`scenarios.kpis.compute_kpis`): visits fully staffed, coverage, travel, volunteers used.

    python -m benchmarks.visits --tag head                     # 5,000/600, seeds 0-2, 3 runs, 30 s
    python -m benchmarks.visits --quick                        # 2,000/240, seed 0, one run, 10 s
    python -m benchmarks.visits --seeds 0 --repeats 1 --peer-week 1000/120   # + the CP-SAT peer

Writes `benchmarks/results/TAG/visits/` (or `--out`): `visits.md` (the table below, machine and
versions), `visits.csv` and `visits.json` (every run). One row per seed, medians over the runs:

- *fully staffed*: visits with all their helpers (fixed, flexible) and *Δ fully staffed*
  (flexible − fixed); *coverage* (priority × slots), the flexible plan's proven *bound*;
- *travel km*: the plans' summed `distance_km` (a flexible visit counts the leg from the helper's
  previous stop, a fixed one the way from home), *travel ratio* flexible / fixed, and *km per
  slot* (travel over filled slots: a plan that staffs more also travels more);
- *volunteers used*, *status*, *solve s* (parse, compile and engine: the plan's
  `solve_seconds`), *checked* (`ok`, or the number of violations and the first);
- *target*: `met` when the flexible plan staffs at least as many visits fully as the fixed one
  and travels less (medians), every plan checked.

With `--peer-week V/N` (default 0: none), the plain CP-SAT model of `benchmarks.visits_cpsat`
(coverage only, with its proven bound) solves a smaller flexible week of each seed at
`--peer-limit` seconds, beside the engine at the same limit on the same week, once each; both
plans checked. Table *CP-SAT peer*: coverage, bound, status, seconds and travel of each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_RESULTS,
    Row,
    command_line,
    machine_info,
    markdown_table,
    median,
    text_table,
    write_results,
)

__all__ = ["COLUMNS", "PEER_COLUMNS", "main", "peer_row", "run_week", "seed_row"]

WEEKS = ("fixed", "flexible")  # the same week with mid-window slots, and with windows
COLUMNS = [
    "seed", "volunteers", "visits", "runs",
    "fully staffed fixed", "fully staffed flexible", "Δ fully staffed",
    "coverage fixed", "coverage flexible", "bound flexible",
    "travel km fixed", "travel km flexible", "travel ratio",
    "km per slot fixed", "km per slot flexible",
    "volunteers used fixed", "volunteers used flexible",
    "status fixed", "status flexible", "solve s fixed", "solve s flexible",
    "checked", "target",
]  # fmt: skip


PEER_COLUMNS = [
    "seed", "volunteers", "visits", "limit s", "pairs",
    "engine coverage", "engine bound", "engine status", "engine travel km", "engine checked",
    "cp-sat coverage", "cp-sat bound", "cp-sat status", "cp-sat s", "cp-sat travel km",
    "cp-sat checked", "engine / cp-sat coverage",
]  # fmt: skip


def peer_row(seed: int, volunteers: int, visits: int, limit: float) -> Row:
    """The engine and the CP-SAT peer on one flexible week, at the same limit, both checked."""
    from matcher import Plan, check_plan, parse_instance
    from scenarios.cityweek import visits_week

    from .visits_cpsat import cpsat_visits

    week = parse_instance(visits_week(volunteers, visits, seed))
    engine = solve_once(week, limit, 0)
    peer = cpsat_visits(week, limit, seed=0)
    row: Row = {"seed": seed, "volunteers": volunteers, "visits": visits, "limit s": limit}
    row["pairs"] = peer["pairs"]
    row["engine coverage"], row["engine bound"] = engine["coverage"], engine["bound"]
    row["engine status"], row["engine travel km"] = engine["status"], engine["travel_km"]
    row["engine checked"] = "ok" if not engine["violations"] else engine["first_violation"]
    row["cp-sat coverage"], row["cp-sat bound"] = peer["coverage"], peer["bound"]
    row["cp-sat status"], row["cp-sat s"] = peer["status"], peer["seconds"]
    if peer["coverage"] is not None:
        plan = Plan.model_validate(
            {
                "status": "feasible",
                "assignments": peer["assignments"],
                "objective": {"coverage": peer["coverage"], "travel_km": 0.0},
            }
        )
        report = check_plan(week, plan)
        row["cp-sat travel km"] = report.travel_km
        row["cp-sat checked"] = "ok" if report.ok else str(report.violations[0])
        if peer["coverage"]:
            row["engine / cp-sat coverage"] = round(engine["coverage"] / peer["coverage"], 4)
    return row


def solve_once(instance: Any, time_limit_s: float, seed: int) -> dict[str, Any]:
    """One solve of a parsed instance, checked, with the scenarios' KPIs."""
    from matcher import check_plan, solve
    from scenarios.kpis import compute_kpis

    started = time.perf_counter()
    plan = solve(instance, engine="optimal", time_limit_s=time_limit_s, seed=seed, workers=2)
    wall = time.perf_counter() - started
    report = check_plan(instance, plan)
    kpis = compute_kpis(instance, plan, affiliations=())
    return {
        "status": plan.status,
        "coverage": kpis.coverage,
        "bound": kpis.bound,
        "fully_staffed": kpis.requests_fully_staffed,
        "slots_filled": kpis.slots_filled,
        "travel_km": round(kpis.travel_km_total, 3),
        "volunteers_used": kpis.volunteers_used,
        "solve_seconds": round(kpis.solve_seconds, 3),
        "wall_seconds": round(wall, 3),
        "violations": len(report.violations),
        "first_violation": str(report.violations[0]) if report.violations else None,
        "by_day": kpis.by_day,
    }


def run_week(
    volunteers: int,
    visits: int,
    seed: int,
    *,
    fixed_requests: int,
    repeats: int,
    time_limit_s: float,
    log: Any = None,
) -> dict[str, list[dict[str, Any]]]:
    """Both weeks of one seed, `repeats` times each (engine seeds 0..repeats-1), back to back."""
    from matcher import parse_instance
    from scenarios.cityweek import visits_week

    weeks = {
        name: parse_instance(
            visits_week(
                volunteers,
                visits,
                seed,
                fixed_requests=fixed_requests,
                mid_window=name == "fixed",
            )
        )
        for name in WEEKS
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in WEEKS}
    for repeat in range(repeats):
        for name in WEEKS:
            result = solve_once(weeks[name], time_limit_s, repeat)
            runs[name].append(result)
            if log is not None:
                print(
                    f"seed {seed} run {repeat} {name}: {result['status']}, fully staffed "
                    f"{result['fully_staffed']}, travel {result['travel_km']:.1f} km, "
                    f"{result['solve_seconds']:.1f} s, violations {result['violations']}",
                    file=log,
                    flush=True,
                )
    return runs


def _statuses(runs: Sequence[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in runs:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return ", ".join(f"{n}/{len(runs)} {s}" for s, n in sorted(counts.items()))


def seed_row(
    seed: int, volunteers: int, visits: int, runs: Mapping[str, Sequence[Mapping[str, Any]]]
) -> Row:
    """One seed's row: medians over the runs of each week, and whether the target is met."""

    def med(week: str, key: str) -> float | None:
        return median(float(r[key]) for r in runs[week] if r[key] is not None)

    row: Row = {"seed": seed, "volunteers": volunteers, "visits": visits}
    row["runs"] = min(len(runs[w]) for w in WEEKS)
    for week in WEEKS:
        row[f"fully staffed {week}"] = med(week, "fully_staffed")
        row[f"coverage {week}"] = med(week, "coverage")
        row[f"travel km {week}"] = med(week, "travel_km")
        row[f"km per slot {week}"] = median(
            r["travel_km"] / r["slots_filled"] for r in runs[week] if r["slots_filled"]
        )
        row[f"volunteers used {week}"] = med(week, "volunteers_used")
        row[f"status {week}"] = _statuses(runs[week])
        row[f"solve s {week}"] = med(week, "solve_seconds")
    row["bound flexible"] = med("flexible", "bound")
    fixed, flexible = row["fully staffed fixed"], row["fully staffed flexible"]
    row["Δ fully staffed"] = None if fixed is None or flexible is None else flexible - fixed
    travel_fixed, travel_flexible = row["travel km fixed"], row["travel km flexible"]
    row["travel ratio"] = (
        round(travel_flexible / travel_fixed, 4) if travel_fixed and travel_flexible else None
    )
    broken = [r for w in WEEKS for r in runs[w] if r["violations"]]
    row["checked"] = (
        "ok"
        if not broken
        else f"{len(broken)} plans broke rules, e.g. {broken[0]['first_violation']}"
    )
    met = (
        not broken
        and fixed is not None
        and flexible is not None
        and flexible >= fixed
        and travel_fixed is not None
        and travel_flexible is not None
        and travel_flexible < travel_fixed
    )
    row["target"] = "met" if met else "NOT met"
    return row


def _day_section(seed: int, runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """Seed's first run of each week, day by day (fully staffed, travel)."""
    first = {w: runs[w][0]["by_day"] for w in WEEKS}
    days = sorted({d for by_day in first.values() for d in by_day})
    lines = [
        "| day | visits | fully staffed fixed | fully staffed flexible | travel km fixed | "
        "travel km flexible |",
        "|---|---|---|---|---|---|",
    ]
    for d in days:
        f, x = first["fixed"].get(d, {}), first["flexible"].get(d, {})
        lines.append(
            f"| {d} | {int(f.get('requests', x.get('requests', 0)))} | "
            f"{int(f.get('fully_staffed', 0))} | {int(x.get('fully_staffed', 0))} | "
            f"{f.get('travel_km', 0.0):.1f} | {x.get('travel_km', 0.0):.1f} |"
        )
    return f"Seed {seed}, engine seed 0:\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Flexible home visits against the same week with fixed mid-window slots."
    )
    parser.add_argument("--volunteers", type=int, default=5000)
    parser.add_argument("--visits", type=int, default=600)
    parser.add_argument(
        "--fixed-requests", type=int, default=0, help="fixed-time requests mixed in (default 0)"
    )
    parser.add_argument("--seeds", default="0,1,2", help="week seeds, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs per week (engine seeds)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per solve")
    parser.add_argument("--tag", default="head", help="results go to benchmarks/results/TAG/")
    parser.add_argument("--out", type=Path, help="results directory (overrides --tag)")
    parser.add_argument(
        "--peer-week",
        default="0",
        help="VOLUNTEERS/VISITS of the week the CP-SAT peer solves beside the engine (0: none)",
    )
    parser.add_argument("--peer-limit", type=float, default=60.0, help="seconds per peer solve")
    parser.add_argument(
        "--quick", action="store_true", help="2,000/240, seed 0, one run at 10 s (tag quick)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.volunteers, args.visits, args.seeds = 2000, 240, "0"
        args.repeats, args.time_limit, args.tag = 1, 10.0, "quick"
    try:
        seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if not seeds or args.repeats < 1 or args.time_limit <= 0:
        parser.error("need at least one seed, --repeats >= 1 and --time-limit > 0")
    peer_size: tuple[int, int] | None = None
    if str(args.peer_week) != "0":
        try:
            peer_v, peer_n = (int(x) for x in str(args.peer_week).split("/"))
        except ValueError:
            parser.error(f"--peer-week: expected VOLUNTEERS/VISITS, got {args.peer_week!r}")
        peer_size = (peer_v, peer_n)
    out = args.out or DEFAULT_RESULTS / args.tag / "visits"
    info = machine_info()
    command = command_line("benchmarks.visits", argv)
    rows: list[Row] = []
    saved: dict[str, Any] = {"command": command, "machine": info, "weeks": []}
    sections: list[tuple[str, str]] = []
    for seed in seeds:
        runs = run_week(
            args.volunteers,
            args.visits,
            seed,
            fixed_requests=args.fixed_requests,
            repeats=args.repeats,
            time_limit_s=args.time_limit,
            log=sys.stderr,
        )
        rows.append(seed_row(seed, args.volunteers, args.visits, runs))
        saved["weeks"].append({"seed": seed, "row": rows[-1], "runs": runs})
        sections.append((f"By day, seed {seed}", _day_section(seed, runs)))
    peer_rows: list[Row] = []
    if peer_size is not None:
        for seed in seeds:
            peer_rows.append(peer_row(seed, *peer_size, args.peer_limit))
            print(f"seed {seed} CP-SAT peer: {peer_rows[-1]}", file=sys.stderr, flush=True)
        saved["peer"] = peer_rows
        sections.append(("CP-SAT peer", markdown_table(peer_rows, PEER_COLUMNS)))
    met = sum(row["target"] == "met" for row in rows)
    preamble = (
        f"`{command}`\n\n{args.volunteers:,} volunteers, {args.visits:,} flexible visits"
        + (f" and {args.fixed_requests:,} fixed requests" if args.fixed_requests else "")
        + f" per week; each week solved at {args.time_limit:g} s with its windows (flexible) "
        "and with every visit fixed mid-window (fixed), back to back, "
        f"{args.repeats} run(s) each; medians. Target met on {met} of {len(rows)} seeds "
        "(flexible staffs at least as many visits fully, with less travel; every plan checked)."
    )
    write_results(
        out,
        "visits",
        "Flexible home visits against fixed mid-window slots",
        rows,
        COLUMNS,
        info=info,
        preamble=preamble,
        sections=sections,
    )
    (out / "visits.json").write_text(
        json.dumps(saved, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(text_table(rows, COLUMNS))
    if peer_rows:
        print(text_table(peer_rows, PEER_COLUMNS))
    print(f"target met on {met} of {len(rows)} seeds; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
