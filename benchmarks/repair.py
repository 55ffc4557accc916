"""Repair after one decline: how many assignments a repair changes on a published week.

A week is solved and its plan "published" (every pair proposed); then, for each trial, one
assignment drawn at random is declined and the week is repaired the way the service repairs it
(`api.worker.solve_run` on the instance the service builds: the other pairs `previous`, the
declined one `excluded`, the change budget `max_changes` and the price per change of
`api.services.instances`), beside a free re-solve that passes the published pairs as `previous`
only (what a repair did before the budget). Reported per trial: the changes each makes, the
coverage lost to the decline and won back, and what more changes would buy.

    python -m benchmarks.repair                          # the sample week, 5 declines, budget 3
    python -m benchmarks.repair --trials 10 --max-changes 3 --time-limit 10 --out DIR

Results: `benchmarks/results/repair/repair.{md,csv}`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from api.services.instances import REPAIR_CHANGE_COST_KM
from api.worker import solve_run
from matcher import Control, Plan, parse_instance, solve

from .common import DEFAULT_RESULTS, REPO_ROOT, Row, command_line, machine_info, write_results

SAMPLE = REPO_ROOT.parent / "shared" / "data" / "samples" / "city-2000-300.json"
COLUMNS = [
    "trial",
    "declined",
    "published",
    "coverage_before",
    "coverage_after",
    "changes",
    "max_changes",
    "more_changes",
    "more_coverage",
    "free_changes",
    "free_coverage",
    "repair_s",
]


def pairs_of(plan: Plan) -> list[tuple[str, str]]:
    return sorted((a.volunteer_id, a.request_id) for a in plan.assignments)


def as_pairs(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"volunteer_id": v, "request_id": r} for v, r in pairs]


def changes(held: list[tuple[str, str]], plan: Plan) -> int:
    planned, kept = set(pairs_of(plan)), set(held)
    return len(planned - kept) + len(kept - planned)


def trial(
    week: dict[str, Any],
    published: list[tuple[str, str]],
    declined: tuple[str, str],
    max_changes: int,
    time_limit_s: float,
    seed: int,
) -> Row:
    held = [p for p in published if p != declined]
    base = {**week, "previous": as_pairs(held), "excluded": as_pairs([declined])}
    options = {**week.get("options", {}), "time_limit_s": time_limit_s, "seed": seed}
    repair = {
        **base,
        "options": {
            **options, "max_changes": max_changes, "change_cost_km": REPAIR_CHANGE_COST_KM,
        },
    }  # fmt: skip
    started = time.monotonic()
    solved = solve_run(
        parse_instance(repair), repair, "repair", "optimal", time_limit_s, seed, Control()
    )
    repair_s = time.monotonic() - started
    free = solve(parse_instance({**base, "options": options}), time_limit_s=time_limit_s, seed=seed)
    more = solved.more
    return {
        "declined": f"{declined[0]} -> {declined[1]}",
        "coverage_after": solved.plan.objective.coverage,
        "changes": changes(held, solved.plan),
        "max_changes": max_changes,
        "more_changes": more.changes if more else None,
        "more_coverage": more.coverage_gain if more else None,
        "free_changes": changes(held, free),
        "free_coverage": free.objective.coverage,
        "repair_s": round(repair_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--week", type=Path, default=SAMPLE, help="an instance (FORMAT.md)")
    parser.add_argument("--trials", type=int, default=5, help="declines, one repair each")
    parser.add_argument("--max-changes", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per repair")
    parser.add_argument(
        "--publish-time-limit", type=float, default=60.0, help="seconds for the published plan"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS / "repair")
    args = parser.parse_args(argv)
    week = json.loads(args.week.read_text(encoding="utf-8"))
    first = solve(parse_instance(week), time_limit_s=args.publish_time_limit, seed=args.seed)
    published = pairs_of(first)
    print(
        f"published: {len(published)} assignments, coverage {first.objective.coverage} "
        f"({first.status})"
    )
    rng = random.Random(args.seed)
    rows: list[Row] = []
    for n, declined in enumerate(rng.sample(published, args.trials), start=1):
        row = {
            "trial": n,
            "published": len(published),
            "coverage_before": first.objective.coverage,
            **trial(week, published, declined, args.max_changes, args.time_limit, args.seed),
        }
        rows.append(row)
        print("  ".join(f"{k}={row[k]}" for k in COLUMNS), flush=True)
    md, _ = write_results(
        args.out,
        "repair",
        "Repair after one decline",
        rows,
        COLUMNS,
        info=machine_info(),
        preamble=(
            f"`{command_line('benchmarks.repair', argv)}` on `{args.week.name}`: "
            f"{len(published)} published assignments (plan {first.status}, coverage "
            f"{first.objective.coverage}). `changes`: the service's repair in "
            f"{args.time_limit:g} s "
            f"(budget `max_changes`, {REPAIR_CHANGE_COST_KM:g} km per change); `more_*`: the "
            "changes and coverage gained by what more changes would buy (`changes.more`); "
            f"`free_*`: a re-solve in {args.time_limit:g} s with the published pairs as "
            "`previous` only (no budget, no price: a repair before the budget). Load average "
            f"at the end: {os.getloadavg()[0]:.1f}."
        ),
    )
    print(f"results in {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
