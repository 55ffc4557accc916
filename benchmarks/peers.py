"""Peers side by side, in one run, on the same compiled model (`ProblemData`).

For each instance (city weeks compiled by `matcher.compile_instance`, GAP instances mapped by
`benchmarks.gap.to_problem`) four solvers get the same arrays and the same time limit:

- `optimal` and `greedy`: the project's engines (`matcher.ENGINES`);
- `cpsat`: a plain CP-SAT model (OR-Tools `cp_model`, 2 workers): one Boolean per pair,
  headcount rows with a staffing switch where a minimum or a mandate needs one, capacity rows,
  `add_at_most_one` per conflict set; lexicographic by two solves (coverage, then travel with
  coverage held, hinted with the first solution);
- `textbook`: the textbook HiGHS model (`benchmarks.textbook`): the same variables, one row per
  volunteer and conflict set (maximal time clique or travel-infeasible pair), the
  min-headcount switch; lexicographic by two solves, the second started from the first's plan.

CP-SAT's tier 1 gets at most half of the limit, tier 2 the rest; the textbook model's tier 1
may take all of it. Model building counts in a peer's time.
Mandatory requests with fewer candidates than their minimum cannot be staffed by anyone; like
the engine's own pre-check, the plain models drop their mandate rather than return nothing.
Every plan is checked against the arrays' hard constraints by `check_selection`, independently
of the engine. Each solve runs in a worker process that is killed if it overruns by far.

    python -m benchmarks.peers --quick
    python -m benchmarks.peers --out benchmarks/results --repeats 3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .common import (
    DEFAULT_RESULTS,
    Row,
    Worker,
    command_line,
    machine_info,
    median,
    pyplot,
    text_table,
    write_results,
)
from .textbook import conflict_groups, solve_textbook

__all__ = [
    "PEERS",
    "Case",
    "check_selection",
    "conflict_groups",
    "cpsat_peer",
    "run_job",
    "textbook_peer",
]

PEERS = ("optimal", "greedy", "cpsat", "textbook")
_TIER1_SHARE = 0.5


@dataclass(frozen=True)
class Case:
    """One instance to compare on: a city week or a GAP instance, with its time limit."""

    kind: str  # "city" or "gap"
    name: str
    time_limit: float
    volunteers: int = 0
    requests: int = 0
    seed: int = 0

    @property
    def label(self) -> str:
        return f"city {self.name}" if self.kind == "city" else f"GAP {self.name}"


QUICK = [Case("city", "1000/100", 10.0, 1000, 100), Case("gap", "gap12-1", 2.0)]
FULL = [
    Case("city", "1000/100", 10.0, 1000, 100),
    Case("city", "5000/600", 10.0, 5000, 600),
    Case("city", "20000/2000", 30.0, 20000, 2000),
    Case("gap", "gap1-1", 2.0),
    Case("gap", "gap12-1", 2.0),
    Case("gap", "c10200", 10.0),
    Case("gap", "d20200", 10.0),
    Case("gap", "e10400", 60.0),
    Case("gap", "e801600", 60.0),
]


# ----------------------------------------------------------------------------------------------
# The compiled model, shared by every peer
# ----------------------------------------------------------------------------------------------

_CACHE: dict[tuple[Any, ...], Any] = {}


def problem_of(case: Mapping[str, Any]) -> tuple[Any, Any]:
    """(ProblemData, GapInstance or None) for a case; cached per worker process."""
    key = (case["kind"], case["name"], case.get("seed", 0))
    if key not in _CACHE:
        if case["kind"] == "city":
            import matcher

            from .cityweek import city_week

            instance = city_week(case["volunteers"], case["requests"], case.get("seed", 0))
            data = matcher.compile_instance(matcher.parse_instance(instance)).data
            _CACHE[key] = (data, None)
        else:
            from . import gap

            inst = gap.load(gap.catalogue()[case["name"]])
            _CACHE[key] = (gap.to_problem(inst), inst)
    return _CACHE[key]  # type: ignore[no-any-return]


def _staffable_mandatory(data: Any) -> np.ndarray:
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    return np.asarray(data.request_mandatory & (per_request >= data.request_min))


def _binding(totals: np.ndarray, caps: np.ndarray) -> np.ndarray:
    return np.flatnonzero(totals > caps)


def check_selection(data: Any, selected: np.ndarray) -> list[str]:
    """Hard constraints of the array form, checked directly (empty list: feasible).
    Mandatory requests that no plan can staff (fewer candidates than their minimum) are not
    counted against a plan."""
    problems: list[str] = []
    sel = np.asarray(selected, dtype=bool)
    pv, pr = data.pair_volunteer[sel], data.pair_request[sel]
    filled = np.bincount(pr, minlength=data.num_requests)
    over = np.flatnonzero(filled > data.request_max)
    problems += [f"request {r}: {filled[r]} > max {data.request_max[r]}" for r in over[:5]]
    short = np.flatnonzero((filled > 0) & (filled < data.request_min))
    problems += [f"request {r}: {filled[r]} < min {data.request_min[r]}" for r in short[:5]]
    unstaffed = np.flatnonzero(_staffable_mandatory(data) & (filled < data.request_min))
    problems += [f"mandatory request {r} unstaffed" for r in unstaffed[:5]]
    load = np.bincount(pv, weights=data.pair_load[sel], minlength=data.num_volunteers)
    problems += [f"volunteer {v}: load above capacity" for v in
                 np.flatnonzero(load > data.volunteer_capacity)[:5]]  # fmt: skip
    count = np.bincount(pv, minlength=data.num_volunteers)
    problems += [f"volunteer {v}: too many pairs" for v in
                 np.flatnonzero(count > data.volunteer_max_pairs)[:5]]  # fmt: skip
    indptr, members = conflict_groups(data)
    if len(indptr) > 1:
        owner = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        used = np.bincount(owner[sel[members]], minlength=len(indptr) - 1)
        problems += [f"conflict group {g}: {used[g]} pairs" for g in np.flatnonzero(used > 1)[:5]]
    missing = np.flatnonzero(data.pair_pinned & ~sel)
    problems += [f"pinned pair {p} not chosen" for p in missing[:5]]
    return problems


def _switches(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Requests that need a staffing switch y (minimum above one, or a mandate), and the
    mandatory ones among them (y fixed to 1)."""
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    mandatory = _staffable_mandatory(data)
    need = ((data.request_min > 1) | mandatory) & (per_request > 0)
    return np.flatnonzero(need), mandatory


# ----------------------------------------------------------------------------------------------
# CP-SAT
# ----------------------------------------------------------------------------------------------


def cpsat_peer(data: Any, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """The plain CP-SAT model, two solves (coverage, then travel with coverage held)."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    deadline = started + time_limit_s
    model = cp_model.CpModel()
    npairs = data.num_pairs
    x = [model.new_bool_var(f"x{p}") for p in range(npairs)]
    for p in np.flatnonzero(data.pair_pinned).tolist():
        model.add(x[p] == 1)
    by_request = _groups(data.pair_request, data.num_requests)
    switch, mandatory = _switches(data)
    has_switch = np.zeros(data.num_requests, dtype=bool)
    has_switch[switch] = True
    for r in range(data.num_requests):
        pairs = by_request[r]
        if len(pairs) == 0:
            continue
        total = sum(x[p] for p in pairs.tolist())
        lo, hi = int(data.request_min[r]), int(data.request_max[r])
        if has_switch[r]:
            if mandatory[r]:
                model.add_linear_constraint(total, lo, hi)
            else:
                y = model.new_bool_var(f"y{r}")
                model.add(total >= lo * y)
                model.add(total <= hi * y)
        elif len(pairs) > hi:
            model.add(total <= hi)
    by_volunteer = _groups(data.pair_volunteer, data.num_volunteers)
    loads = np.bincount(data.pair_volunteer, weights=data.pair_load, minlength=data.num_volunteers)
    counts = np.bincount(data.pair_volunteer, minlength=data.num_volunteers)
    for v in _binding(loads, data.volunteer_capacity).tolist():
        pairs = by_volunteer[v].tolist()
        model.add(
            cp_model.LinearExpr.weighted_sum([x[p] for p in pairs], data.pair_load[pairs].tolist())
            <= int(data.volunteer_capacity[v])
        )
    for v in _binding(counts, data.volunteer_max_pairs).tolist():
        model.add(sum(x[p] for p in by_volunteer[v].tolist()) <= int(data.volunteer_max_pairs[v]))
    ptr, members = conflict_groups(data)
    for g in range(len(ptr) - 1):
        model.add_at_most_one([x[p] for p in members[ptr[g] : ptr[g + 1]].tolist()])
    priority = data.request_priority[data.pair_request].tolist()
    coverage = cp_model.LinearExpr.weighted_sum(x, priority)
    travel = cp_model.LinearExpr.weighted_sum(x, data.pair_cost.tolist())
    build_s = time.perf_counter() - started

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    model.maximize(coverage)
    solver.parameters.max_time_in_seconds = max(
        min(time_limit_s * _TIER1_SHARE, deadline - time.perf_counter()), 0.01
    )
    status1 = solver.solve(model)
    if status1 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {"selected": None, "status": solver.status_name(status1), "build_seconds": build_s}
    chosen = np.array([solver.boolean_value(v) for v in x], dtype=bool)
    best_cov = round(solver.objective_value)
    cov_bound = float(solver.best_objective_bound)
    tier1 = "optimal" if status1 == cp_model.OPTIMAL else "feasible"
    status = f"coverage {tier1}"
    travel_bound: float | None = None
    left = deadline - time.perf_counter()
    if left > 0.01:
        model.add(coverage >= best_cov)
        model.minimize(travel)
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var, val in zip(x, chosen.tolist(), strict=True):
            model.add_hint(var, val)
        solver.parameters.max_time_in_seconds = left
        status2 = solver.solve(model)
        if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            chosen = np.array([solver.boolean_value(v) for v in x], dtype=bool)
            travel_bound = float(solver.best_objective_bound)
            tier2 = "optimal" if status2 == cp_model.OPTIMAL else "feasible"
            status = f"coverage {tier1}, travel {tier2}"
    return {
        "selected": chosen,
        "status": status,
        "coverage_bound": cov_bound,
        "travel_bound": travel_bound,
        "build_seconds": build_s,
    }


def _groups(keys: np.ndarray, size: int) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(size + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(size)]


# ----------------------------------------------------------------------------------------------
# The textbook HiGHS model
# ----------------------------------------------------------------------------------------------


def textbook_peer(data: Any, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """The textbook HiGHS model (`benchmarks.textbook`), both tiers; `seed` is unused (HiGHS
    runs deterministically with its defaults)."""
    result = solve_textbook(data, time_limit_s)
    tier2 = result.tier2
    return {
        "selected": result.selected,
        "status": f"coverage {result.tier1.status}"
        + ("" if tier2 is None else f", travel {tier2.status}"),
        "coverage_bound": result.tier1.bound,
        "travel_bound": None if tier2 is None else tier2.bound,
        "build_seconds": result.build_seconds,
        "rows": result.stats.get("rows"),
        "conflict_rows": result.stats.get("clique_rows"),
    }


# ----------------------------------------------------------------------------------------------
# Worker entry and the harness
# ----------------------------------------------------------------------------------------------


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Worker entry: one peer on one case."""
    import matcher

    data, inst = problem_of(job["case"])
    limit, seed, peer = job["time_limit"], job.get("seed", 0), job["peer"]
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if peer in ("optimal", "greedy"):
        result = matcher.ENGINES[peer](
            data, matcher.SolveParams(time_limit_s=limit, seed=seed), matcher.Control()
        )
        selected = result.selected
        status = result.status.value
        extra["coverage_bound"] = result.coverage_bound
    else:
        out = (cpsat_peer if peer == "cpsat" else textbook_peer)(data, limit, seed)
        selected, status = out.pop("selected"), out.pop("status")
        extra.update(out)
    seconds = time.perf_counter() - started
    answer: dict[str, Any] = {"status": status, "seconds": round(seconds, 3), **extra}
    answer["pairs"] = int(data.num_pairs)
    if selected is None:
        return answer
    selected = np.asarray(selected, dtype=bool)
    answer["violations"] = "; ".join(check_selection(data, selected))
    answer["coverage"] = int(data.request_priority[data.pair_request[selected]].sum())
    answer["cost"] = int(data.pair_cost[selected].sum())
    if inst is not None:  # GAP: the value in the instance's own sense
        from .gap import agents_of_selection, check_solution, solution_value

        agents = agents_of_selection(inst, selected)
        bad = check_solution(inst, agents)
        answer["value"] = None if bad else solution_value(inst, agents)
    else:
        answer["value"] = round(answer["cost"] / 1000.0, 3)  # travel in km
    return answer


COLUMNS = [
    "instance", "peer", "status", "coverage", "value", "seconds", "time ratio",
    "coverage ratio", "value ratio", "feasible", "time limit",
]  # fmt: skip


def run(cases: Sequence[Case], peers: Sequence[str], *, repeats: int, seed: int) -> list[Row]:
    rows: list[Row] = []
    with Worker(max_memory_gb=14.0) as worker:
        for case in cases:
            mine: list[Row] = []
            for peer in peers:
                runs: list[dict[str, Any]] = []
                for k in range(repeats):
                    job = {"kind": "peer", "case": case.__dict__, "peer": peer,
                           "time_limit": case.time_limit, "seed": seed + k}  # fmt: skip
                    hard = 3 * case.time_limit + 120
                    runs.append(worker.attempt(job, timeout_s=hard))
                row = _median_row(case, peer, runs)
                mine.append(row)
                print(
                    f"{case.label:<18} {peer:<8} {row['status']:<32} coverage {row['coverage']} "
                    f"value {row['value']}  {row['seconds']} s",
                    file=sys.stderr,
                    flush=True,
                )
            _ratios(mine)
            rows.extend(mine)
    return rows


def _median_row(case: Case, peer: str, runs: Sequence[dict[str, Any]]) -> Row:
    def med(key: str) -> Any:
        return median(r.get(key) for r in runs)

    violations = sorted({r.get("violations", "") for r in runs if r.get("violations")})
    return {
        "instance": case.label,
        "kind": case.kind,
        "peer": peer,
        "runs": len(runs),
        "status": "/".join(sorted({str(r.get("status")) for r in runs})),
        "coverage": med("coverage"),
        "value": med("value"),
        "value sense": "travel km (min)" if case.kind == "city" else _gap_sense(case.name),
        "seconds": med("seconds"),
        "build seconds": med("build_seconds"),
        "coverage bound": med("coverage_bound"),
        "pairs": med("pairs"),
        "conflict rows": med("conflict_rows"),
        "feasible": _feasible(violations, med("coverage")),
        "time limit": case.time_limit,
    }


def _feasible(violations: Sequence[str], coverage: Any) -> str:
    if violations:
        first = violations[0].split("; ")
        return f"no: {first[0]}" + (f" (+{len(first) - 1} more)" if len(first) > 1 else "")
    return "yes" if coverage is not None else "no plan"


def _gap_sense(name: str) -> str:
    from .gap import catalogue

    return "GAP value (max)" if catalogue()[name].maximize else "GAP value (min)"


def _ratios(rows: Sequence[Row]) -> None:
    """Each peer against the project's `optimal` engine on the same case."""
    ref = next((r for r in rows if r["peer"] == "optimal"), None)
    for row in rows:
        for key, out in (("seconds", "time ratio"), ("coverage", "coverage ratio"),
                         ("value", "value ratio")):  # fmt: skip
            a = row.get(key)
            b = None if ref is None else ref.get(key)
            row[out] = round(a / b, 4) if a is not None and b else None


def chart(rows: Sequence[Row], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    cases = list(dict.fromkeys(r["instance"] for r in rows))
    peers = list(dict.fromkeys(r["peer"] for r in rows))
    fig, (ax_t, ax_v) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(len(peers), 1)
    xs = np.arange(len(cases))
    for k, peer in enumerate(peers):
        t = [next((r["time ratio"] for r in rows if r["instance"] == c and r["peer"] == peer), None)
             for c in cases]  # fmt: skip
        v = [next((r["value ratio"] for r in rows if r["instance"] == c and r["peer"] == peer), None)
             for c in cases]  # fmt: skip
        ax_t.bar(xs + k * width, [x or 0 for x in t], width, label=peer)
        ax_v.bar(xs + k * width, [x or 0 for x in v], width, label=peer)
    for ax, title in ((ax_t, "time / optimal's time"), (ax_v, "value / optimal's value")):
        ax.set_xticks(xs + 0.4 - width / 2)
        ax.set_xticklabels(cases, rotation=30, ha="right", fontsize=8)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_title(title)
        ax.legend(fontsize=8)
    ax_t.set_yscale("log")
    ax_v.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(rows: Sequence[Row], out_dir: Path, command: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    has_chart = chart(rows, out_dir / "peers.png")
    preamble = (
        f"Command: `{command}`\n\n"
        "Same compiled `ProblemData`, same time limit, one run. *value*: travel in km for city "
        "weeks (minimised after coverage), the GAP objective for GAP instances (its own sense). "
        "Ratios are against the project's `optimal` engine on the same instance: time ratio > 1 "
        "is slower; for coverage higher is better; for travel and min-GAP lower is better, for "
        "max-GAP higher is better. *feasible*: checked against the arrays' hard constraints "
        "independently of the engines. CP-SAT gives tier 1 (coverage) at most half the limit, "
        "the textbook HiGHS model all of it; both stop with *no plan* if tier 1 finds none; "
        "model building counts in their time; CP-SAT's `UNKNOWN` means no solution within its "
        "share. In GAP coverage is "
        "constant, so tier 1 is a pure feasibility search."
    )
    sections = [("Chart", "![peers](peers.png)")] if has_chart else []
    write_results(out_dir, "peers", "Peers on the same compiled model", rows, COLUMNS,
                  info=machine_info(), preamble=preamble, sections=sections)  # fmt: skip


def parse_cases(text: str) -> list[Case]:
    """Named cases: the predefined ones, any city size `V/R` (10 s, or 30 s from 20,000
    volunteers), and GAP instances by name (their target time: 2, 10 or 60 s)."""
    from . import gap

    known = {c.name: c for c in [*QUICK, *FULL]}
    refs = gap.catalogue()
    cases: list[Case] = []
    for name in text.split(","):
        if name in known:
            cases.append(known[name])
        elif "/" in name:
            v, r = (int(x) for x in name.split("/"))
            cases.append(Case("city", name, 10.0 if v < 20000 else 30.0, v, r))
        else:
            cases.extend(
                Case("gap", ref.name, ref.target[1]) for ref in gap.select(refs, "", [name])
            )
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Project engines against plain CP-SAT and MIP.")
    parser.add_argument("--quick", action="store_true", help="three small cases")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument(
        "--cases",
        help="comma-separated cases: city VOLUNTEERS/REQUESTS, GAP instances or whole files "
        "(gap12-1, gap7, d20200)",
    )
    parser.add_argument("--time-limit", type=float, help="seconds (default: per case)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help=f"results directory (e.g. {DEFAULT_RESULTS})")
    args = parser.parse_args(argv)
    cases = parse_cases(args.cases) if args.cases else (QUICK if args.quick else FULL)
    if args.time_limit:
        cases = [replace(c, time_limit=args.time_limit) for c in cases]
    rows = run(cases, args.peers.split(","), repeats=args.repeats, seed=args.seed)
    print()
    print(text_table(rows, COLUMNS))
    if args.out:
        command = command_line("benchmarks.peers", argv)
        write(rows, args.out, command)
        print(f"\nresults: {args.out / 'peers.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
