"""Families of city weeks where optimization matters: greedy, the engine and the textbook
HiGHS peer, back to back, per family, size and seed.

A family is a scenario of the catalog (`scenarios/catalog/NAME.toml`) generated at fixed totals
of volunteers and requests (`scenarios.generate.build(..., volunteers=, requests=)`); each
file says what the family stresses and why first come, first served falls short there. The
independent generator's sample week (`../shared/data/samples/city-2000-300.json`) runs through
the same table.

For every week, in one worker process that has warmed the compiled code up (as the service's
solving process does): greedy once (deterministic); the engine (`matcher.solve`, workers=2) at
each time limit (10 s and 30 s), `--repeats` times with engine seeds 0, 1, ...; the textbook
peer (`benchmarks.textbook`, 60 s for both tiers), once, and `--repeats` times in all when it
proves both tiers (HiGHS is deterministic: only its time varies). Then the first solve after an
install: a fresh process with an empty NUMBA_CACHE_DIR and no warm-up (cold), and a fresh
process with the cache that run filled (warm first solve), both at the first time limit. The
30 s runs are skipped where every 10 s run proved optimality (they would stop at the same
point). Every plan, the engine's and the peer's, is checked by `matcher.check_plan`. On weeks
of at most 2,000 volunteers with seed 0, the peer is solved again on every candidate pair (no
nearest-first cap in compile: `textbook.all_pairs`) to check that the pruning loses nothing.

Reported per week: coverage of each, the optimum (proven by the peer or the engine; both must
agree), the best bound, travel and its gap to a proven travel bound, status, time to proof
(the engine's `coverage_proven_at_s` and total, the peer's per tier), greedy's gap to the
optimum, the share of that gap the engine closes, the engine/peer time ratio, and cold against
warm. Medians over the repeats. Results are written after every week (`families.json`,
`families.md`), and a run resumes where an earlier one into the same directory stopped
(`--fresh` starts over).

    python -m benchmarks.families --quick           # the sample and one family, 2,000/300, minutes
    python -m benchmarks.families --tag LABEL       # every family at 2,000/300 and 5,000/600, hours
    python -m benchmarks.families --tag LABEL --no-sample --sizes 20000/2000 --seeds 0 \
        --peer-limit 0 --cold-repeats 0             # the anytime targets, added to the same results

The exact commands of a measurement, their timings and every column: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_RESULTS,
    Row,
    Worker,
    command_line,
    machine_info,
    markdown_table,
    median,
    metadata_markdown,
    text_table,
)

__all__ = ["FAMILIES", "SIZES", "Week", "argument_parser", "main", "run", "run_job", "summarise"]

# The generated families (catalog scenarios), each with what it stresses.
FAMILIES = (
    "scarce-skills",
    "tight-hours",
    "min-headcounts",
    "same-gender-pairs",
    "dialect-visits",
    "dense-city",
    "sparse-city",
    "mixed-city",
)
SIZES = ((2000, 300), (5000, 600), (20000, 2000))
DEFAULT_SIZES = SIZES[:2]
LIMITS = (10.0, 30.0)
PEER_LIMIT = 60.0
# The pruning check solves the peer on every pair: only on weeks this small.
PRUNING_CHECK_MAX_VOLUNTEERS = 2000


@dataclass(frozen=True)
class Week:
    """One week: a family at a size and seed, or an instance file."""

    family: str
    volunteers: int = 0
    requests: int = 0
    seed: int = 0
    path: str | None = None

    @property
    def key(self) -> str:
        if self.path is not None:
            return f"file {Path(self.path).name}"
        return f"{self.family} {self.volunteers}/{self.requests} seed {self.seed}"

    @property
    def size(self) -> str:
        return f"{self.volunteers}/{self.requests}" if self.path is None else "file"


# ----------------------------------------------------------------------------------------------
# Worker side
# ----------------------------------------------------------------------------------------------

_LAST: dict[str, Any] = {}


def _week_data(week: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """(instance as JSON data, parsed Instance) of a week, cached for the last week."""
    import matcher

    key = json.dumps(week, sort_keys=True)
    if _LAST.get("key") != key:
        _LAST.clear()
        if week.get("path"):
            data = json.loads(Path(week["path"]).read_text(encoding="utf-8"))
        else:
            from scenarios.generate import build
            from scenarios.spec import load_scenario

            data = build(
                load_scenario(week["family"]),
                seed=week["seed"],
                volunteers=week["volunteers"],
                requests=week["requests"],
            ).instance
        _LAST.update(key=key, data=data, instance=matcher.parse_instance(data))
    return _LAST["data"], _LAST["instance"]


def _violations(report: Any) -> dict[str, Any]:
    return {
        "violations": len(report.violations),
        "first violation": str(report.violations[0]) if report.violations else None,
    }


def _engine_run(job: Mapping[str, Any]) -> dict[str, Any]:
    import matcher

    data, instance = _week_data(job["week"])
    started = time.perf_counter()
    plan = matcher.solve(
        data,
        engine=job["engine"],
        time_limit_s=job["time_limit"],
        seed=job["engine_seed"],
        workers=job.get("workers", 2),
    )
    seconds = time.perf_counter() - started
    stats = plan.stats
    proven = bool(stats.get("coverage_proven")) or plan.status == "optimal"
    return {
        "status": plan.status,
        "coverage": plan.objective.coverage,
        "bound": plan.bound.coverage,
        "travel_km": plan.objective.travel_km,
        "travel_bound_km": stats.get("travel_bound_km"),
        "seconds": round(seconds, 3),
        "solve_seconds": stats.get("solve_seconds"),
        "compile_seconds": stats.get("compile_seconds"),
        "engine_seconds": stats.get("engine_seconds"),
        "coverage_proven": proven,
        "coverage_proven_at_s": stats.get("coverage_proven_at_s") if proven else None,
        "widenings": stats.get("candidate_widenings"),
        "pairs": stats.get("candidate_pairs"),
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        **_violations(matcher.check_plan(instance, plan)),
    }


def _tier(tier: Any) -> dict[str, Any] | None:
    return None if tier is None else {**asdict(tier), "seconds": round(tier.seconds, 3)}


def _peer_answer(result: Any, compiled: Any, prep_s: float, check: bool) -> dict[str, Any]:
    import matcher

    from .textbook import engine_result

    answer: dict[str, Any] = {
        "status": result.status,
        "tier1": _tier(result.tier1),
        "tier2": _tier(result.tier2),
        "prep_seconds": round(prep_s, 3),
        "build_seconds": round(result.build_seconds, 3),
        "seconds": round(prep_s + result.seconds, 3),
        "model": result.stats,
    }
    if result.tier1.proven:
        answer["tier1_proof_s"] = round(prep_s + result.build_seconds + result.tier1.seconds, 3)
    if result.status == "optimal":
        answer["proof_s"] = answer["seconds"]
    if result.selected is not None:
        sel = result.selected
        data = compiled.data
        answer["coverage"] = int(data.request_priority[data.pair_request[sel]].sum())
        answer["travel_km"] = round(float(compiled.pair_distance_km[sel].sum()), 3)
        if check:
            plan = matcher.build_plan(
                compiled, engine_result(result, data), started=time.perf_counter()
            )
            answer.update(_violations(matcher.check_plan(compiled.instance, plan)))
    return answer


def _textbook_run(job: Mapping[str, Any]) -> dict[str, Any]:
    import matcher

    from .textbook import all_pairs, solve_textbook
    from .worker import report_partial

    data, _ = _week_data(job["week"])
    started = time.perf_counter()
    instance = matcher.parse_instance(data)  # parsing counts, as in the engine's solve
    compiled = all_pairs(instance) if job.get("all_pairs") else matcher.compile_instance(instance)
    prep_s = time.perf_counter() - started

    def tier1(result: Any) -> None:
        report_partial(_peer_answer(result, compiled, prep_s, check=False))

    result = solve_textbook(compiled.data, job["time_limit"] - prep_s, on_tier1=tier1)
    return _peer_answer(result, compiled, prep_s, check=True)


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Worker entry: one engine solve or one textbook solve of one week."""
    return _engine_run(job) if job["run"] == "engine" else _textbook_run(job)


# ----------------------------------------------------------------------------------------------
# Parent side: the runs of one week
# ----------------------------------------------------------------------------------------------


def _hard_timeout(limit: float, week: Week) -> float:
    """Generation, parsing and compiling are outside a solve's limit; allow for them and for an
    overrun, which is then reported as such."""
    return 2 * limit + 90 + week.volunteers / 200


def _job(week: Week, **fields: Any) -> dict[str, Any]:
    return {"kind": "families", "week": asdict(week), **fields}


def _log(week: Week, what: str, answer: Mapping[str, Any]) -> None:
    parts = [f"{week.key:<36} {what:<16} {answer.get('status')!s:<10}"]
    for key in ("coverage", "bound", "travel_km", "seconds"):
        if answer.get(key) is not None:
            parts.append(f"{key} {answer[key]}")
    print("  ".join(parts), file=sys.stderr, flush=True)


def run_week(
    week: Week,
    worker: Worker,
    *,
    limits: Sequence[float],
    peer_limit: float,
    repeats: int,
    cold_repeats: int,
    pruning_check: bool,
) -> dict[str, Any]:
    """Every run of one week, back to back."""
    runs: dict[str, Any] = {}

    def engine(name: str, limit: float, k: int) -> dict[str, Any]:
        job = _job(week, run="engine", engine=name, time_limit=limit, engine_seed=k)
        answer = worker.attempt(job, _hard_timeout(limit, week))
        _log(week, f"{name} {limit:g} s #{k + 1}", answer)
        return answer

    runs["greedy"] = engine("greedy", limits[0], 0)
    for limit in limits:
        earlier = [runs[f"engine {x:g}"] for x in limits if x < limit]
        if earlier and all(r.get("status") == "optimal" for e in earlier for r in e):
            runs[f"engine {limit:g}"] = "as at a shorter limit: every run there proved optimality"
            continue
        runs[f"engine {limit:g}"] = [engine("optimal", limit, k) for k in range(repeats)]
    peer: list[dict[str, Any]] = []
    # A peer limit of 0: no peer (at 20,000/2,000 it finds no plan; the engine's own bounds
    # are all there is).
    for k in range(repeats if peer_limit > 0 else 0):
        job = _job(week, run="textbook", time_limit=peer_limit)
        answer = worker.attempt(job, _hard_timeout(peer_limit, week))
        _log(week, f"textbook #{k + 1}", answer)
        peer.append(answer)
        if answer.get("status") != "optimal":
            break  # deterministic: a repeat would reach the same point, only its time varies
    runs["textbook"] = peer
    if pruning_check and peer_limit > 0:
        job = _job(week, run="textbook", time_limit=peer_limit, all_pairs=True)
        answer = worker.attempt(job, _hard_timeout(peer_limit, week))
        _log(week, "textbook, all", answer)
        runs["textbook all pairs"] = answer
    runs["cold"], runs["warm first"] = [], []
    for k in range(cold_repeats):
        cache = tempfile.mkdtemp(prefix="volmatch-numba-")
        try:
            env = {"NUMBA_CACHE_DIR": cache, "VOLMATCH_BENCH_COLD": "1"}
            for label in ("cold", "warm first"):
                job = _job(
                    week, run="engine", engine="optimal", time_limit=limits[0], engine_seed=k
                )
                with Worker(fresh=True, max_memory_gb=worker.max_memory_gb, env=env) as fresh:
                    answer = fresh.attempt(job, _hard_timeout(limits[0], week) + 120)
                _log(week, f"{label} #{k + 1}", answer)
                runs[label].append(answer)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return runs


# ----------------------------------------------------------------------------------------------
# Summaries
# ----------------------------------------------------------------------------------------------


def _engine_runs(runs: Mapping[str, Any], limit: float) -> list[dict[str, Any]]:
    """The engine's runs at a limit (those of the shorter limit where they were skipped)."""
    got = runs.get(f"engine {limit:g}")
    if isinstance(got, str):
        shorter = [k for k in runs if k.startswith("engine ") and isinstance(runs[k], list)]
        return list(runs[shorter[-1]]) if shorter else []
    return list(got or [])


def _proven_count(rows: Sequence[Mapping[str, Any]], status: str = "optimal") -> str:
    return f"{sum(r.get('status') == status for r in rows)}/{len(rows)}"


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def summarise(week: Week, runs: Mapping[str, Any], limits: Sequence[float]) -> Row:
    """One table row of a week from its runs."""
    greedy = runs["greedy"].get("coverage")
    peer = [r for r in runs.get("textbook", []) if "tier1" in r or "partial" in r]
    peer = [r if "tier1" in r else {**r["partial"], "status": r["status"]} for r in peer]
    first = peer[0] if peer else {}
    tier1 = first.get("tier1") or {}
    tier2 = first.get("tier2") or {}
    engines = {limit: _engine_runs(runs, limit) for limit in limits}
    all_engine = [r for rs in engines.values() for r in rs]
    # The optimum: proven by the peer (tier 1) or by an engine run; all proofs must agree.
    proofs = {int(r["coverage"]) for r in all_engine if r.get("coverage_proven")}
    if tier1.get("status") == "optimal":
        proofs.add(int(tier1["objective"]))
    optimum = min(proofs) if proofs else None
    bounds = [r["bound"] for r in all_engine if r.get("bound") is not None]
    if tier1.get("bound") is not None:
        bounds.append(math.floor(tier1["bound"] + 1e-6))
    bound = min(bounds) if bounds else None
    reference = optimum if optimum is not None else bound
    # Travel's proven lower bound at the optimal coverage: the peer's tier 2 bound (metres),
    # which holds where its tier 1 proved the optimum (tier 2 keeps coverage at that value), or
    # the engine's (`travel_bound_km`, reported once it proved coverage), whichever is higher:
    # at 20,000 volunteers the peer proves nothing within its limit.
    peer_travel_bound = (
        tier2["bound"] / 1000
        if tier1.get("status") == "optimal" and tier2.get("bound") is not None
        else None
    )
    engine_travel_bounds = [
        r["travel_bound_km"]
        for r in all_engine
        if r.get("travel_bound_km") is not None and r.get("coverage") == optimum
    ]
    travel_bound = max(
        [b for b in (peer_travel_bound, *engine_travel_bounds) if b is not None], default=None
    )
    # An engine's travel bound above the peer's proven travel optimum is a false proof.
    peer_travel = tier2.get("objective") if tier2.get("status") == "optimal" else None
    false_travel = [
        b for b in engine_travel_bounds if peer_travel is not None and b > peer_travel / 1000 + 0.01
    ]
    row: Row = {
        "family": week.family,
        "size": week.size,
        "seed": week.seed if week.path is None else None,
        "pairs": first.get("model", {}).get("pairs") or runs["greedy"].get("pairs"),
        "greedy": greedy,
        "optimum": optimum,
        "proofs agree": "; ".join(
            [
                *(["NO: " + ", ".join(map(str, sorted(proofs)))] if len(proofs) > 1 else []),
                *(
                    [f"NO: engine travel bound {max(false_travel)} km above the peer's optimum"]
                    if false_travel
                    else []
                ),
            ]
        )
        or None,
        "bound": bound,
        "greedy gap %": None
        if reference is None or greedy is None or not reference
        else _r(100.0 * (reference - greedy) / reference, 3),
        "gap to": None if reference is None else ("optimum" if optimum is not None else "bound"),
    }
    checks = [r for r in [runs["greedy"], *all_engine, *peer] if r.get("violations")]
    row["plans checked"] = (
        "ok"
        if not checks
        else f"{len(checks)} broke rules: " + str(checks[0].get("first violation"))
    )
    for limit, rs in engines.items():
        tag = f"{limit:g} s"
        done = [r for r in rs if r.get("coverage") is not None]
        proven = [r for r in rs if r.get("status") == "optimal"]
        cov_proven = [r for r in rs if r.get("coverage_proven_at_s") is not None]
        cov = median(r.get("coverage") for r in done)
        row[f"engine {tag}"] = cov
        row[f"status {tag}"] = f"{_proven_count(rs)} optimal" if rs else None
        if isinstance(runs.get(f"engine {tag}"), str):
            row[f"status {tag}"] = f"{row[f'status {tag}']} (the shorter limit's runs)"
        row[f"travel {tag}"] = median(r.get("travel_km") for r in done)
        # Travel of the runs that reached the optimal coverage, above its proven lower bound.
        at_optimum = median(r["travel_km"] for r in done if r["coverage"] == optimum)
        row[f"travel gap % {tag}"] = (
            None
            if at_optimum is None or not travel_bound
            else _r(100.0 * at_optimum / travel_bound - 100.0, 3)
        )
        row[f"seconds {tag}"] = median(r.get("seconds") for r in rs)
        row[f"overrun {tag}"] = (
            _r(max((r.get("solve_seconds") or r.get("seconds") or 0.0) for r in rs) / limit, 3)
            if rs
            else None
        )
        row[f"proof s {tag}"] = median(r.get("solve_seconds") for r in proven)
        row[f"coverage proof s {tag}"] = median(
            (r.get("compile_seconds") or 0.0) + r["coverage_proven_at_s"] for r in cov_proven
        )
        row[f"closed {tag}"] = (
            None
            if cov is None or reference is None or greedy is None or reference <= greedy
            else _r((cov - greedy) / (reference - greedy), 3)
        )
    proved = [r for r in peer if r.get("status") == "optimal"]
    row["peer"] = first.get("coverage")
    row["peer status"] = (
        (
            f"{first.get('status')}: tier 1 {tier1.get('status')}, "
            f"tier 2 {tier2.get('status', 'not run')}"
        )
        if first
        else None
    )
    row["peer travel"] = first.get("travel_km")
    row["travel bound"] = _r(travel_bound, 3)
    row["travel bound by"] = (
        None
        if travel_bound is None
        else ("peer" if travel_bound == peer_travel_bound else "engine")
    )
    row["peer tier 1 s"] = median(r.get("tier1_proof_s") for r in peer)
    row["peer tier 2 s"] = median((r.get("tier2") or {}).get("seconds") for r in proved)
    row["peer proof s"] = median(r.get("proof_s") for r in proved)
    # The engine's time to proof at the shortest limit where it proved.
    tags = [f"{x:g} s" for x in limits]
    proof = next((row[f"proof s {t}"] for t in tags if row[f"proof s {t}"] is not None), None)
    cov_proof = next(
        (row[f"coverage proof s {t}"] for t in tags if row[f"coverage proof s {t}"] is not None),
        None,
    )
    row["time ratio"] = (
        None if row["peer proof s"] is None or proof is None else _r(proof / row["peer proof s"], 3)
    )
    row["tier 1 time ratio"] = (
        None
        if row["peer tier 1 s"] is None or cov_proof is None
        else _r(cov_proof / row["peer tier 1 s"], 3)
    )
    pruned = runs.get("textbook all pairs")
    if pruned:
        row["all pairs"] = _pruning_verdict(pruned, tier1, tier2)
    for label in ("cold", "warm first"):
        rs = runs.get(label) or []
        row[f"{label}"] = median(r.get("coverage") for r in rs)
        row[f"{label} status"] = "/".join(sorted({str(r.get("status")) for r in rs})) or None
        row[f"{label} s"] = median(r.get("solve_seconds") or r.get("seconds") for r in rs)
    if runs.get("cold"):
        row["cold = warm"] = "yes" if row["cold"] == row["warm first"] else "no"
    return row


def _pruning_verdict(
    every: Mapping[str, Any], tier1: Mapping[str, Any], tier2: Mapping[str, Any]
) -> str:
    """Whether the peer's optimum on compile's (pruned) candidates is the optimum on every pair:
    the all-pairs solve proves the same values, or its bounds show that nothing better exists
    (its coverage bound is no higher, its travel bound no lower, within the proven gap)."""
    every1, every2 = every.get("tier1") or {}, every.get("tier2") or {}
    pairs = (every.get("model") or {}).get("pairs")
    if tier1.get("status") != "optimal" or tier2.get("status") != "optimal":
        return f"{pairs} pairs: unproven on compile's pairs"
    coverage, travel = tier1["objective"], tier2["objective"]
    cov_bound, travel_bound = every1.get("bound"), every2.get("bound")
    if every1.get("objective") is not None and every1["objective"] > coverage + 0.5:
        return f"{pairs} pairs: DIFFERENT, coverage {every1['objective']:g} > {coverage:g}"
    if cov_bound is None or cov_bound > coverage + 0.5:
        return f"{pairs} pairs: coverage bound {cov_bound} above {coverage:g}: not shown"
    # Travel is proven to a relative gap of 1e-6 (textbook.TRAVEL_GAP) on either side.
    if travel_bound is None or travel_bound < travel - (2e-6 * travel + 1):
        return f"{pairs} pairs: travel bound {travel_bound} below {travel:g} m: not shown"
    how = "proven" if every.get("status") == "optimal" else "by its bounds"
    return (
        f"{pairs} pairs: same optimum ({how}), coverage {coverage:g}, travel {travel / 1000:g} km"
    )


def columns(limits: Sequence[float]) -> list[str]:
    """The columns of the table of every week, for these engine time limits."""
    per_limit = []
    for x in limits:
        tag = f"{x:g} s"
        per_limit += [
            f"engine {tag}",
            f"status {tag}",
            f"proof s {tag}",
            f"coverage proof s {tag}",
            f"closed {tag}",
            f"travel gap % {tag}",
        ]
    return [
        *["family", "size", "seed", "pairs", "greedy", "optimum", "bound", "greedy gap %"],
        *per_limit,
        *["peer status", "peer tier 1 s", "peer tier 2 s", "peer proof s", "time ratio"],
        *["tier 1 time ratio", f"travel {limits[0]:g} s", "peer travel", "travel bound"],
        *["travel bound by", "cold", "cold status"],
        *["cold s", "warm first", "cold = warm"],
    ]


def _all_optimal(status: Any) -> bool:
    """Whether a status cell `k/n optimal` says every run proved optimality."""
    text = str(status or "")
    if "/" not in text:
        return False
    k, n = text.split()[0].split("/")
    return k == n and int(n) > 0


def family_summary(rows: Sequence[Row], limits: Sequence[float]) -> list[Row]:
    """Per family and size: medians over its weeks, and how many were proven by whom."""
    out: list[Row] = []
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row["family"], row["size"]), []).append(row)
    for (family, size), rs in groups.items():
        n = len(rs)
        out.append(
            {
                "family": family,
                "size": size,
                "weeks": n,
                "greedy gap %": median(r.get("greedy gap %") for r in rs),
                "engine proves": ", ".join(
                    f"{sum(_all_optimal(r.get(f'status {x:g} s')) for r in rs)}/{n} at {x:g} s"
                    for x in limits
                ),
                "peer proves": f"{sum(_peer_proved(r) for r in rs)}/{n}",
                **{f"closed {x:g} s": median(r.get(f"closed {x:g} s") for r in rs) for x in limits},
                **{
                    f"travel gap % {x:g} s": median(r.get(f"travel gap % {x:g} s") for r in rs)
                    for x in limits
                },
                "time ratio": median(r.get("time ratio") for r in rs),
                "tier 1 time ratio": median(r.get("tier 1 time ratio") for r in rs),
                "cold = warm": f"{sum(r.get('cold = warm') == 'yes' for r in rs)}/"
                f"{sum(r.get('cold = warm') is not None for r in rs)}",
            }
        )
    return out


def _peer_proved(row: Row) -> bool:
    return str(row.get("peer status") or "").startswith("optimal")


def unproven_by_engine(rows: Sequence[Row], limits: Sequence[float]) -> list[Row]:
    """Weeks the peer proves (both tiers) and the engine does not prove in every run at any
    limit."""
    out = []
    for r in rows:
        statuses = {f"engine {x:g} s": r.get(f"status {x:g} s") for x in limits}
        if _peer_proved(r) and not any(_all_optimal(s) for s in statuses.values()):
            out.append(
                {
                    "family": r["family"],
                    "size": r["size"],
                    "seed": r["seed"],
                    "peer proof s": r["peer proof s"],
                    **statuses,
                }
            )
    return out


def family_columns(limits: Sequence[float]) -> list[str]:
    """The columns of the table per family and size."""
    return [
        *["family", "size", "weeks", "greedy gap %", "engine proves", "peer proves"],
        *(f"closed {x:g} s" for x in limits),
        *(f"travel gap % {x:g} s" for x in limits),
        *["time ratio", "tier 1 time ratio", "cold = warm"],
    ]


def write(
    out_dir: Path,
    weeks: Sequence[Mapping[str, Any]],
    info: Mapping[str, Any],
    command: str,
    limits: Sequence[float],
) -> None:
    """families.json (every run) and families.md (the tables)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [w["row"] for w in weeks]
    # A resumed run may add weeks with other options: every command that wrote some is shown.
    commands = list(dict.fromkeys([*(w.get("command", command) for w in weeks), command]))
    (out_dir / "families.json").write_text(
        json.dumps(
            {
                "command": command,
                "machine": dict(info),
                "limits": list(limits),
                "weeks": list(weeks),
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    lines = [
        "# Families of city weeks: greedy, the engine and the textbook HiGHS peer",
        "",
        f"Command{'s' if len(commands) > 1 else ''}: " + ", then ".join(f"`{c}`" for c in commands),
        "",
        "What each column means: "
        "[benchmarks/README.md](../../../README.md#families-of-city-weeks-issue-14). "
        "*optimum*: coverage proven by the peer (tier 1) or by an engine run (all proofs agree "
        "unless a row says otherwise); *greedy gap %*: greedy's coverage below the optimum (or "
        "the best bound, where nothing proved it); *closed*: the share of that gap the engine "
        "closes (median of its runs); *status*: engine runs that ended `optimal` (both tiers); "
        "*proof s*: median total seconds (parse, compile, engine) of the runs that proved; "
        "*coverage proof s*: compile plus the engine's `coverage_proven_at_s`; *peer tier 1 s*: "
        "parse, compile, model and tier 1 to its proof; *peer proof s*: both tiers; *time "
        "ratio*: engine proof s (at the shortest limit where it proved) over peer proof s "
        "(tier 1 alike); *travel gap %*: the median travel of the engine's runs that reached "
        "the optimal coverage above *travel bound*, the highest proven lower bound on travel at "
        "that coverage (the peer's tier 2 or the engine's own, *travel bound by*); *cold*: the first solve after an install (empty numba cache, no warm-up) at the first limit, "
        "against *warm first* (a fresh process with that cache filled).",
        "",
        "## Weeks the peer proves and the engine does not",
        "",
        markdown_table(
            unproven_by_engine(rows, limits),
            ["family", "size", "seed", "peer proof s", *(f"engine {x:g} s" for x in limits)],
        ),
        "",
        "## Per family and size (medians over the weeks)",
        "",
        markdown_table(family_summary(rows, limits), family_columns(limits)),
        "",
        "## Every week",
        "",
        markdown_table(rows, columns(limits)),
        "",
        "## Checks",
        "",
        markdown_table(
            rows,
            [
                "family",
                "size",
                "seed",
                "plans checked",
                "proofs agree",
                "all pairs",
                *(f"overrun {x:g} s" for x in limits),
                "warm first s",
                "cold s",
                "warm first status",
            ],
        ),
        "",
        "## Machine and versions",
        "",
        metadata_markdown(info),
        "",
    ]
    (out_dir / "families.md").write_text("\n".join(lines), encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------


def run(
    weeks: Sequence[Week],
    out_dir: Path,
    *,
    limits: Sequence[float],
    peer_limit: float,
    repeats: int,
    cold_repeats: int,
    cold_seeds: Sequence[int],
    command: str,
    fresh: bool = False,
    log: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> list[dict[str, Any]]:
    """Run the weeks (skipping those already in `out_dir`'s families.json unless `fresh`),
    writing the results after each."""
    done: list[dict[str, Any]] = []
    saved = out_dir / "families.json"
    if saved.exists() and not fresh:
        done = json.loads(saved.read_text(encoding="utf-8"))["weeks"]
        log(f"resuming: {len(done)} week(s) already in {saved}")
    keys = {w["key"] for w in done}
    todo = [week for week in weeks if week.key not in keys]
    info = machine_info()
    began = time.monotonic()
    with Worker(max_memory_gb=14.0) as worker:
        for k, week in enumerate(todo, 1):
            started = time.monotonic()
            runs = run_week(
                week,
                worker,
                limits=limits,
                peer_limit=peer_limit,
                repeats=repeats,
                cold_repeats=cold_repeats if week.seed in cold_seeds else 0,
                pruning_check=week.seed == 0
                and 0 < week.volunteers <= PRUNING_CHECK_MAX_VOLUNTEERS,
            )
            done.append({"key": week.key, "week": asdict(week), "command": command, "runs": runs})
            _write_all(out_dir, done, info, command, limits)
            log(
                f"{week.key}: {time.monotonic() - started:.0f} s (week {k} of {len(todo)}, "
                f"{(time.monotonic() - began) / 60:.0f} min so far)"
            )
    _write_all(out_dir, done, info, command, limits)
    return done


def _write_all(
    out_dir: Path,
    done: list[dict[str, Any]],
    info: Mapping[str, Any],
    command: str,
    limits: Sequence[float],
) -> None:
    """Every row summarised again from its runs (so that the tables follow this code, also for
    the weeks of an earlier run), then written."""
    for w in done:
        w["row"] = summarise(Week(**w["week"]), w["runs"], limits)
    write(out_dir, done, info, command, limits)


def weeks_of(
    families: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    seeds: Sequence[int],
    sample: Path | None,
) -> list[Week]:
    weeks = [Week(f, v, r, s) for v, r in sizes for f in families for s in seeds]
    if sample is not None:
        weeks.insert(0, Week("sample", 2000, 300, 0, str(sample)))
    return weeks


def argument_parser() -> argparse.ArgumentParser:
    """The command line (benchmarks/README.md shows the commands of a measurement)."""
    from .sample_stats import SAMPLE

    parser = argparse.ArgumentParser(
        description="Greedy, the engine and the textbook HiGHS peer on families of city weeks."
    )
    parser.add_argument(
        "--quick", action="store_true", help="the sample and mixed-city 2000/300, one run each"
    )
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument(
        "--sizes",
        default=",".join(f"{v}/{r}" for v, r in DEFAULT_SIZES),
        help="VOLUNTEERS/REQUESTS, comma-separated (also 20000/2000)",
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=3, help="runs per limit (medians)")
    parser.add_argument(
        "--limits", default=",".join(f"{x:g}" for x in LIMITS), help="engine time limits, seconds"
    )
    parser.add_argument(
        "--peer-limit", type=float, default=PEER_LIMIT, help="seconds; 0: no peer runs"
    )
    parser.add_argument("--cold-repeats", type=int, default=1, help="cold starts per week")
    parser.add_argument("--cold-seeds", default="0", help="the weeks (seeds) with cold starts")
    parser.add_argument(
        "--sample", type=Path, default=SAMPLE, help="an instance file run through the same table"
    )
    parser.add_argument("--no-sample", action="store_true")
    parser.add_argument("--tag", default="head", help="results in benchmarks/results/TAG/families")
    parser.add_argument("--out", type=Path, help="results directory (overrides --tag)")
    parser.add_argument("--fresh", action="store_true", help="ignore earlier results in --out")
    parser.add_argument(
        "--rev", help="benchmark matcher/ as of this git revision (default: the working tree)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    command = command_line("benchmarks.families", argv)
    if args.rev:
        os.environ["VOLMATCH_BENCH_REV"] = args.rev
    if args.quick:
        args.families, args.sizes, args.seeds, args.repeats = "mixed-city", "2000/300", "0", 1
        args.limits, args.tag = "10", "quick"
    families = [f for f in args.families.split(",") if f]
    sizes = [(int(v), int(r)) for v, r in (s.split("/") for s in args.sizes.split(",") if s)]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    limits = [float(x) for x in args.limits.split(",") if x]
    sample: Path | None = None if args.no_sample else args.sample
    if sample is not None and not sample.is_file():
        print(f"sample {sample} not found (set VOLMATCH_SHARED_DATA): skipped", file=sys.stderr)
        sample = None
    out = args.out or DEFAULT_RESULTS / args.tag / "families"
    done = run(
        weeks_of(families, sizes, seeds, sample),
        out,
        limits=limits,
        peer_limit=args.peer_limit,
        repeats=args.repeats,
        cold_repeats=args.cold_repeats,
        cold_seeds=[int(x) for x in args.cold_seeds.split(",") if x],
        command=command,
        fresh=args.fresh,
    )
    rows = [w["row"] for w in done]
    print()
    print(text_table(family_summary(rows, limits), family_columns(limits)))
    print(f"\nresults: {out / 'families.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
