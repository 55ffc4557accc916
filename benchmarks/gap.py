"""Generalized Assignment Problem benchmarks, solved through the engine the service uses.

GAP maps onto the engine core's array form: agents are volunteers (capacity `b[i]`), jobs are
mandatory requests needing exactly one volunteer, pair load `a[i][j]` and pair cost `c[i][j]`.
gap1–gap12 are maximisation problems: the engine minimises `max(c) - c[i][j]` per pair, which
differs from `-sum c` by a constant because every job is assigned exactly once. Types A–E are
minimisation problems and go in as they are.

Data and reference values live in `../shared/data/gap/` (see its VALUES.md, parsed here, never
copied by hand). Each solution is checked independently of the engine (every job exactly once,
every agent within capacity) and its value recomputed from the file's matrices.

    python -m benchmarks.gap --set orlib                    # all 60 gap1–12, 2 s each
    python -m benchmarks.gap --set small --solutions var/gap c10200 d20200
    python -m benchmarks.gap --set all --out benchmarks/results

The engine reports a proven bound on coverage only (tier 1), which is constant here; for the
GAP value the table shows the engine's own proof when its status is optimal and otherwise the
LP relaxation bound computed here with HiGHS (`scipy.optimize.linprog`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .common import (
    DEFAULT_RESULTS,
    GAP_DATA,
    Row,
    Worker,
    command_line,
    machine_info,
    median,
    text_table,
)
from .common import write_results as _write_results

__all__ = [
    "DATA_DIR",
    "GapInstance",
    "Reference",
    "catalogue",
    "check_solution",
    "engine_value_bound",
    "load",
    "lp_bound",
    "parse_gap",
    "read_gap_file",
    "select",
    "solution_value",
    "solve_gap",
    "to_problem",
]

IntMatrix = NDArray[np.int64]

DATA_DIR = GAP_DATA
SETS = ("orlib", "small", "large", "all")


# ----------------------------------------------------------------------------------------------
# Instances and the reader
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GapInstance:
    """One GAP instance: `cost[i][j]`, `load[i][j]` for agent i and job j, `capacity[i]`."""

    name: str
    cost: IntMatrix
    load: IntMatrix
    capacity: NDArray[np.int64]
    maximize: bool

    @property
    def num_agents(self) -> int:
        return int(self.cost.shape[0])

    @property
    def num_jobs(self) -> int:
        return int(self.cost.shape[1])


class GapFormatError(ValueError):
    """The file is neither an OR-Library multi-instance file nor a single-instance file."""


def _take(
    tokens: NDArray[np.int64], at: int
) -> tuple[IntMatrix, IntMatrix, NDArray[np.int64], int]:
    m, n = int(tokens[at]), int(tokens[at + 1])
    if m <= 0 or n <= 0:
        raise GapFormatError(f"bad size {m}×{n} at token {at}")
    at += 2
    end = at + 2 * m * n + m
    if end > len(tokens):
        raise GapFormatError(f"file ends inside a {m}×{n} instance")
    cost = tokens[at : at + m * n].reshape(m, n)
    load = tokens[at + m * n : at + 2 * m * n].reshape(m, n)
    capacity = tokens[at + 2 * m * n : end]
    return cost, load, capacity, end


def parse_gap(text: str, *, name: str, maximize: bool) -> list[GapInstance]:
    """Instances of a GAP file in either layout (whitespace-separated integers, line breaks
    meaningless): OR-Library's `P` followed by P instances, named `name-1` … `name-P`, or a
    single instance without the leading count (Yagiura's files), named `name`."""
    try:
        tokens = np.array(text.split(), dtype=np.int64)
    except ValueError as exc:
        raise GapFormatError(f"{name}: not a file of integers ({exc})") from exc
    if len(tokens) < 3:
        raise GapFormatError(f"{name}: too short for a GAP instance")

    def build(
        parts: list[tuple[IntMatrix, IntMatrix, NDArray[np.int64]]], multi: bool
    ) -> list[GapInstance]:
        return [
            GapInstance(f"{name}-{k + 1}" if multi else name, c, a, b, maximize)
            for k, (c, a, b) in enumerate(parts)
        ]

    # Multi-instance layout: must consume every token exactly.
    count = int(tokens[0])
    if 0 < count <= len(tokens):
        try:
            at, parts = 1, []
            for _ in range(count):
                c, a, b, at = _take(tokens, at)
                parts.append((c, a, b))
            if at == len(tokens):
                return build(parts, multi=True)
        except GapFormatError:
            pass
    c, a, b, end = _take(tokens, 0)
    if end != len(tokens):
        raise GapFormatError(
            f"{name}: {len(tokens)} numbers fit neither layout (single {c.shape[0]}×{c.shape[1]} "
            f"needs {end})"
        )
    return build([(c, a, b)], multi=False)


def read_gap_file(path: Path, *, maximize: bool, name: str | None = None) -> list[GapInstance]:
    return parse_gap(path.read_text(), name=name or path.stem, maximize=maximize)


# ----------------------------------------------------------------------------------------------
# Reference values, parsed from VALUES.md
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What is known about one instance, and where its data is."""

    name: str
    file: str  # relative to DATA_DIR
    index: int | None  # 1-based instance number inside a multi-instance file
    num_agents: int
    num_jobs: int
    maximize: bool
    best: int  # optimum or best known value, in the instance's sense
    proven: bool  # `best` is proven optimal
    lp: float | None  # LP relaxation value (VALUES.md)
    literature_bound: int | None  # a proven bound from the literature (Martinelli's MIP)
    family: str  # "gap1-12" or the type letter A–E
    alias: str = ""

    @property
    def group(self) -> str:
        if self.family == "gap1-12":
            return "orlib"
        return "small" if self.num_jobs <= 200 else "large"

    @property
    def klass(self) -> str:
        if self.family == "gap1-12":
            return "gap1-12"
        return f"{self.family} n≤200" if self.num_jobs <= 200 else f"{self.family} n≥400"

    @property
    def target(self) -> tuple[float, float]:
        """(largest gap to best known in %, seconds) the issue asks for."""
        return {"orlib": (0.0, 2.0), "small": (0.1, 10.0), "large": (0.5, 60.0)}[self.group]


def _tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of `text` as a list of {header: cell} rows."""
    tables: list[list[dict[str, str]]] = []
    header: list[str] | None = None
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            tables.append([])
        elif all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        else:
            tables[-1].append(dict(zip(header, cells, strict=False)))
    return tables


def _size(cell: str) -> tuple[int, int]:
    m, n = re.split(r"[×x]", cell)
    return int(m), int(n)


def _float(cell: str) -> float | None:
    return float(cell) if re.fullmatch(r"-?\d+(\.\d+)?", cell) else None


def catalogue(values_md: Path | None = None) -> dict[str, Reference]:
    """Every instance named in VALUES.md, by name: `gap1-1` … `gap12-5` (alias `c0515_1` …),
    `a05100` … `e801600`, and `gapa-1` … `gapd-6` (the OR-Library copies of A–D n≤200)."""
    text = (values_md or DATA_DIR / "VALUES.md").read_text(encoding="utf-8")
    refs: dict[str, Reference] = {}
    for table in _tables(text):
        for row in table:
            if "OPT max (OR-Library)" in row:
                m, n = _size(row["m×n"])
                name = f"{row['file']}-{row['inst']}"
                refs[name] = Reference(
                    name=name, file=f"orlib/{row['file']}.txt", index=int(row["inst"]),
                    num_agents=m, num_jobs=n, maximize=True,
                    best=int(row["OPT max (OR-Library)"]), proven=True,
                    lp=_float(row["LP max"]), literature_bound=int(row["OPT max (OR-Library)"]),
                    family="gap1-12", alias=row["name (Martinelli)"],
                )  # fmt: skip
            elif "best known UB (min)" in row:
                m, n = _size(row["m×n"])
                name = row["instance"]
                bracket = re.fullmatch(r"\[(\d+),(\d+)\]", row["Martinelli MIP min [lb,ub]"])
                ref = Reference(
                    name=name, file=f"yagiura/{name}", index=None,
                    num_agents=m, num_jobs=n, maximize=False,
                    best=int(row["best known UB (min)"]),
                    proven=row["proven opt?"].strip().lower().startswith("yes"),
                    lp=_float(row["LP min"]),
                    literature_bound=int(bracket.group(1)) if bracket else None,
                    family=name[0].upper(),
                )  # fmt: skip
                refs[name] = ref
                copy = re.fullmatch(r"(gap[a-d]) #(\d+)", row.get("in OR-Lib file", ""))
                if copy:
                    alias = f"{copy.group(1)}-{copy.group(2)}"
                    refs[alias] = Reference(
                        **{**ref.__dict__, "name": alias, "file": f"orlib/{copy.group(1)}.txt",
                           "index": int(copy.group(2)), "family": "orlib-" + ref.family,
                           "alias": name},
                    )  # fmt: skip
    return refs


def select(refs: Mapping[str, Reference], which: str, names: Sequence[str]) -> list[Reference]:
    """Instances of a set (`orlib`, `small`, `large`, `all`) or by name, in table order.
    `gapa-1` … `gapd-6` belong to no set (they repeat Yagiura's A–D files); name them."""
    by_alias = {r.alias: r for r in refs.values() if r.alias and r.family == "gap1-12"}
    if names:
        chosen = []
        for name in names:
            if name in refs:
                chosen.append(refs[name])
            elif name in by_alias:
                chosen.append(by_alias[name])
            elif re.fullmatch(r"gap\d+", name):  # a whole OR-Library file
                chosen.extend(r for r in refs.values() if r.file == f"orlib/{name}.txt")
            else:
                raise SystemExit(f"unknown instance {name!r}")
        return chosen
    if which not in SETS:
        raise SystemExit(f"unknown set {which!r}; choose one of {', '.join(SETS)}")
    return [
        r
        for r in refs.values()
        if not r.family.startswith("orlib-") and (which == "all" or r.group == which)
    ]


def load(ref: Reference, data_dir: Path = DATA_DIR) -> GapInstance:
    path = data_dir / ref.file
    name = ref.file.split("/")[-1].removesuffix(".txt")
    instances = read_gap_file(path, maximize=ref.maximize, name=name)
    inst = instances[(ref.index or 1) - 1]
    if (inst.num_agents, inst.num_jobs) != (ref.num_agents, ref.num_jobs):
        raise GapFormatError(f"{ref.name}: file holds {inst.num_agents}×{inst.num_jobs}")
    return inst


# ----------------------------------------------------------------------------------------------
# Independent checks and bounds
# ----------------------------------------------------------------------------------------------


def check_solution(inst: GapInstance, agent_of_job: Sequence[int]) -> list[str]:
    """Everything wrong with an assignment (empty when feasible): every job exactly once to an
    existing agent, no agent above its capacity. Uses only the instance's own matrices."""
    problems: list[str] = []
    agents = np.asarray(agent_of_job, dtype=np.int64)
    if agents.shape != (inst.num_jobs,):
        return [f"expected {inst.num_jobs} jobs, got {agents.size}"]
    bad = np.flatnonzero((agents < 0) | (agents >= inst.num_agents))
    problems += [f"job {j} has no valid agent ({agents[j]})" for j in bad.tolist()]
    ok = np.flatnonzero((agents >= 0) & (agents < inst.num_agents))
    used = np.bincount(
        agents[ok], weights=inst.load[agents[ok], ok], minlength=inst.num_agents
    ).astype(np.int64)
    over = np.flatnonzero(used > inst.capacity)
    problems += [f"agent {i} uses {used[i]} > capacity {inst.capacity[i]}" for i in over.tolist()]
    return problems


def solution_value(inst: GapInstance, agent_of_job: Sequence[int]) -> int:
    agents = np.asarray(agent_of_job, dtype=np.int64)
    return int(inst.cost[agents, np.arange(inst.num_jobs)].sum())


def gap_percent(value: float, best: float, maximize: bool) -> float:
    """How much worse than `best` (in %, >= 0 when worse, negative when better)."""
    diff = (best - value) if maximize else (value - best)
    return 100.0 * diff / abs(best) if best else 0.0


def lp_bound(inst: GapInstance) -> float | None:
    """The LP relaxation value (0 <= x <= 1) in the instance's sense, by HiGHS."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    m, n = inst.num_agents, inst.num_jobs
    agents, jobs = np.divmod(np.arange(m * n), n)
    c = inst.cost.ravel().astype(float)
    eq = sp.csr_matrix((np.ones(m * n), (jobs, np.arange(m * n))), shape=(n, m * n))
    ub = sp.csr_matrix(
        (inst.load.ravel().astype(float), (agents, np.arange(m * n))), shape=(m, m * n)
    )
    res = linprog(
        -c if inst.maximize else c, A_ub=ub, b_ub=inst.capacity.astype(float),
        A_eq=eq, b_eq=np.ones(n), bounds=(0, 1), method="highs",
    )  # fmt: skip
    if res.status != 0:
        return None
    return float(-res.fun if inst.maximize else res.fun)


# ----------------------------------------------------------------------------------------------
# Through the engine
# ----------------------------------------------------------------------------------------------


def to_problem(inst: GapInstance) -> Any:
    """The instance as the engine core's `ProblemData` (pairs agent-major: p = i * n + j)."""
    from matcher import ProblemData

    m, n = inst.num_agents, inst.num_jobs
    agents, jobs = np.divmod(np.arange(m * n, dtype=np.int64), n)
    cost = (inst.cost.max() - inst.cost) if inst.maximize else inst.cost
    return ProblemData.build(
        num_volunteers=m,
        num_requests=n,
        pair_volunteer=agents,
        pair_request=jobs,
        pair_cost=cost.ravel(),
        pair_load=inst.load.ravel(),
        volunteer_capacity=inst.capacity,
        request_min=np.ones(n, dtype=np.int64),
        request_max=np.ones(n, dtype=np.int64),
        request_mandatory=np.ones(n, dtype=bool),
    )


def agents_of_selection(inst: GapInstance, selected: NDArray[np.bool_]) -> list[int]:
    """Agent of each job from chosen pairs; -1 where a job has no pair (or, reported by the
    checker as a missing job, where it has more than one)."""
    n = inst.num_jobs
    chosen = np.flatnonzero(selected)
    agents, jobs = np.divmod(chosen, n)
    per_job = np.bincount(jobs, minlength=n)
    out = np.full(n, -1, dtype=np.int64)
    once = per_job[jobs] == 1
    out[jobs[once]] = agents[once]
    return [int(a) for a in out]


def solve_gap(
    inst: GapInstance, *, time_limit_s: float, seed: int = 0, engine: str = "optimal"
) -> dict[str, Any]:
    """Solve through `matcher.ENGINES[engine]`; time only the engine call."""
    import matcher

    data = to_problem(inst)
    params = matcher.SolveParams(time_limit_s=time_limit_s, seed=seed)
    started = time.perf_counter()
    result = matcher.ENGINES[engine](data, params, matcher.Control())
    seconds = time.perf_counter() - started
    agent_of_job = agents_of_selection(inst, result.selected)
    violations = check_solution(inst, agent_of_job)
    return {
        "agent_of_job": agent_of_job,
        "engine_bound": engine_value_bound(inst, result),
        "value": None if violations else solution_value(inst, agent_of_job),
        "violations": violations[:5],
        "status": result.status.value,
        "seconds": seconds,
        "engine_stats": dict(result.stats),
    }


def engine_value_bound(inst: GapInstance, result: Any) -> float | None:
    """The engine's proven bound on the GAP value, if it reports one: a tier-2 (cost) bound,
    read from `EngineResult.cost_bound` when it exists, else from the `travel_bound_km` stat
    (cost / 1000), and mapped back to the instance's sense."""
    cost_bound = getattr(result, "cost_bound", None)
    if cost_bound is None and "travel_bound_km" in result.stats:
        cost_bound = 1000.0 * float(result.stats["travel_bound_km"])
    if cost_bound is None or not np.isfinite(cost_bound):
        return None
    if inst.maximize:  # the engine minimised n * max(c) - value
        return float(inst.num_jobs * int(inst.cost.max()) - cost_bound)
    return float(cost_bound)


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Worker entry: one instance through the engine, plus its LP bound."""
    ref = Reference(**job["ref"])
    inst = load(ref, Path(job.get("data_dir", DATA_DIR)))
    answer = solve_gap(
        inst, time_limit_s=job["time_limit"], seed=job.get("seed", 0), engine=job["engine"]
    )
    answer["lp_bound"] = lp_bound(inst) if job.get("lp", True) else None
    return answer


# ----------------------------------------------------------------------------------------------
# The harness
# ----------------------------------------------------------------------------------------------

COLUMNS = [
    "instance", "m×n", "value", "best known", "gap %", "bound", "bound from", "gap to bound %",
    "engine bound sound",
    "seconds", "status", "overran limit", "target", "met",
]  # fmt: skip


def _row(ref: Reference, runs: list[dict[str, Any]], time_limit: float, engine: str) -> Row:
    tol, target_s = ref.target
    values = [r.get("value") for r in runs]
    feasible = [v for v in values if v is not None]
    value = (
        None
        if len(feasible) < len(runs)
        else (min(feasible) if ref.maximize else max(feasible))  # the worst run
    )
    seconds = median(r.get("seconds") for r in runs)
    statuses = sorted({r.get("status", "?") for r in runs})
    status = "/".join(statuses)
    proven = all(r.get("status") == "optimal" for r in runs) and value is not None
    lp = runs[0].get("lp_bound")
    # The engine's own bound on the GAP value (from its tier-2 travel bound), weakest run.
    engine_bounds = [float(b) for r in runs if (b := r.get("engine_bound")) is not None]
    engine_bound = (
        None
        if len(engine_bounds) < len(runs) or not engine_bounds
        else (max(engine_bounds) if ref.maximize else min(engine_bounds))
    )
    # A proven bound beyond a known feasible value is wrong: say so.
    unsound = engine_bound is not None and (
        engine_bound < ref.best - 1e-6 if ref.maximize else engine_bound > ref.best + 1e-6
    )
    bound: float | None
    if proven:
        bound, source = value, "engine (optimal)"
    elif (
        engine_bound is not None
        and not unsound
        and (lp is None or (engine_bound < lp if ref.maximize else engine_bound > lp))
    ):
        bound, source = engine_bound, "engine (travel bound)"
    elif lp is not None:
        bound, source = lp, "LP (HiGHS)"
    else:
        bound, source = None, ""
    gap = gap_percent(value, ref.best, ref.maximize) if value is not None else None
    to_bound = (
        gap_percent(value, bound, ref.maximize) if value is not None and bound is not None else None
    )
    slowest = max(r.get("seconds", np.inf) for r in runs)
    # The engine runs to its time limit when it cannot prove optimality; a return within
    # 5 % (at least 0.1 s) of the limit counts as on time, anything later as an overrun.
    overran = slowest > time_limit + max(0.1, 0.05 * time_limit)
    met = gap is not None and gap <= tol + 1e-9 and time_limit <= target_s and not overran
    return {
        "instance": ref.name,
        "class": ref.klass,
        "m×n": f"{ref.num_agents}×{ref.num_jobs}",
        "sense": "max" if ref.maximize else "min",
        "engine": engine,
        "value": value,
        "values": values,
        "best known": ref.best,
        "best proven": ref.proven,
        "gap %": None if gap is None else round(gap, 4),
        "bound": None if bound is None else round(bound, 2),
        "bound from": source,
        "gap to bound %": None if to_bound is None else round(to_bound, 4),
        "engine bound": None if engine_bound is None else round(engine_bound, 2),
        "engine bound sound": "" if engine_bound is None else ("NO" if unsound else "yes"),
        "LP bound": None if lp is None else round(lp, 2),
        "literature bound": ref.literature_bound,
        "seconds": None if seconds is None else round(seconds, 3),
        "seconds max": round(max(r.get("seconds", np.nan) for r in runs), 3),
        "time limit": time_limit,
        "runs": len(runs),
        "overran limit": "yes" if overran else "",
        "status": status,
        "target": f"≤{tol:g}% in {target_s:g} s" if tol else f"optimal in {target_s:g} s",
        "met": "yes" if met else "NO",
        "violations": "; ".join(v for r in runs for v in r.get("violations", [])),
        "engine_stats": runs[0].get("engine_stats", {}),
    }


def summarise(rows: Sequence[Row]) -> list[Row]:
    """Per class: how many instances, how many within target, optimal, median/max seconds."""
    out: list[Row] = []
    for klass in dict.fromkeys(r["class"] for r in rows):
        group = [r for r in rows if r["class"] == klass]
        gaps = [r["gap %"] for r in group if r["gap %"] is not None]
        out.append(
            {
                "class": klass,
                "instances": len(group),
                "within target": sum(r["met"] == "yes" for r in group),
                "at best known": sum(r["gap %"] is not None and r["gap %"] <= 1e-9 for r in group),
                "proven optimal": sum(r["status"] == "optimal" for r in group),
                "no feasible plan": sum(r["value"] is None for r in group),
                "overran limit": sum(r["overran limit"] == "yes" for r in group),
                "engine bound unsound": sum(r["engine bound sound"] == "NO" for r in group),
                "target": group[0]["target"],
                "median gap %": median(gaps),
                "max gap %": max(gaps) if gaps else None,
                "median s": median(r["seconds"] for r in group),
                "max s": max(
                    (r["seconds max"] for r in group if r["seconds max"] == r["seconds max"]),
                    default=None,
                ),
            }
        )
    return out


SUMMARY_COLUMNS = [
    "class", "instances", "within target", "at best known", "proven optimal", "no feasible plan",
    "overran limit", "engine bound unsound", "target", "median gap %", "max gap %", "median s", "max s",
]  # fmt: skip


def run(
    refs: Sequence[Reference],
    *,
    time_limit: float | None,
    seed: int,
    repeats: int,
    engine: str,
    solutions: Path | None,
    data_dir: Path = DATA_DIR,
    log: bool = True,
) -> list[Row]:
    rows: list[Row] = []
    with Worker() as worker:
        for ref in refs:
            limit = time_limit if time_limit is not None else ref.target[1]
            runs: list[dict[str, Any]] = []
            for k in range(repeats):
                job = {
                    "kind": "gap", "ref": ref.__dict__, "time_limit": limit, "seed": seed + k,
                    "engine": engine, "data_dir": str(data_dir), "lp": k == 0,
                }  # fmt: skip
                hard = 3 * limit + 60
                runs.append(worker.attempt(job, timeout_s=hard))
            row = _row(ref, runs, limit, engine)
            rows.append(row)
            if log:
                print(_progress(row), file=sys.stderr, flush=True)
            if solutions is not None:
                best_run = next((r for r in runs if r.get("value") == row["value"]), runs[0])
                if "agent_of_job" in best_run:
                    solutions.mkdir(parents=True, exist_ok=True)
                    (solutions / f"{ref.name}.json").write_text(
                        json.dumps({
                            "instance": ref.name,
                            "agent_of_job": best_run["agent_of_job"],
                            "value": best_run["value"],
                        }) + "\n"
                    )  # fmt: skip
    return rows


def _progress(row: Row) -> str:
    value = "no plan" if row["value"] is None else f"{row['value']} ({row['gap %']:+.3f}%)"
    return (
        f"{row['instance']:<10} {row['m×n']:>8}  {value:<22} best {row['best known']:<7} "
        f"{row['seconds'] or 0:7.2f} s  {row['status']:<9} target {row['met']}"
    )


def chart(rows: Sequence[Row], path: Path) -> bool:
    """Gap to best known (%) against the number of jobs, one marker per class family."""
    from .common import pyplot

    plt = pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    families = dict.fromkeys(str(r["class"]).split(" ")[0] for r in rows)
    for family, marker in zip(families, "o^svDP*", strict=False):
        pts = [r for r in rows if str(r["class"]).startswith(family) and r["gap %"] is not None]
        jobs = [int(str(r["m×n"]).split("×")[1]) for r in pts]
        ax.scatter(jobs, [max(r["gap %"], 1e-4) for r in pts], marker=marker, label=family)
    for tol, lo, hi in ((0.1, 90, 220), (0.5, 350, 1800)):
        ax.hlines(tol, lo, hi, colors="grey", linestyles="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("jobs (n)")
    ax.set_ylabel("gap to best known, % (1e-4 = at best known)")
    ax.set_title("GAP through the engine (dashed: targets 0.1 % / 0.5 %)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_results(rows: Sequence[Row], out_dir: Path, *, command: str) -> None:
    summary = summarise(rows)
    info = machine_info()
    preamble = (
        f"Command: `{command}`\n\n"
        "Each instance solved through `matcher.ENGINES['optimal']` (the service's engine) on the "
        "GAP mapping (agents = volunteers, jobs = mandatory requests needing one). *value* is "
        "recomputed from the file's matrices after an independent feasibility check (worst run "
        "when repeated); *seconds* is the engine call (median of runs). *bound*: the engine's "
        "own proof when it reports optimal; otherwise the tighter of the engine's travel "
        "(tier-2) bound from its statistics and the LP relaxation (HiGHS); the engine's "
        "`coverage_bound` is constant in GAP. *engine bound sound*: NO when the engine's bound "
        "lies beyond a known feasible value.\n\n"
        "## Summary by class\n\n" + _summary_md(summary) + "\n\n## Instances"
    )
    sections = (
        [("Chart", "![gap against size](gap.png)")] if chart(rows, out_dir / "gap.png") else []
    )
    _write_results(out_dir, "gap", "GAP benchmarks through the engine", rows, COLUMNS,
                   info=info, preamble=preamble, sections=sections)  # fmt: skip
    _write_results(out_dir, "gap_summary", "GAP summary by class", summary, SUMMARY_COLUMNS,
                   info=info, preamble=f"Command: `{command}`")  # fmt: skip


def _summary_md(summary: Sequence[Row]) -> str:
    from .common import markdown_table

    return markdown_table(summary, SUMMARY_COLUMNS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Solve GAP benchmark instances through the volmatch engine and compare "
        "with published optima / best-known values (VALUES.md)."
    )
    parser.add_argument("names", nargs="*", help="instances (gap1-1, c0515_1, gap3, c10200, …)")
    parser.add_argument("--set", default="orlib", choices=SETS, help="instance set (default orlib)")
    parser.add_argument(
        "--time-limit", type=float, help="seconds per instance (default: the target: 2/10/60)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per instance (median time, worst value)"
    )
    parser.add_argument("--engine", default="optimal", help="engine name (default optimal)")
    parser.add_argument("--solutions", type=Path, help="write DIR/<instance>.json per solution")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="GAP data directory")
    parser.add_argument(
        "--out", type=Path, help=f"write CSV/Markdown results here (e.g. {DEFAULT_RESULTS})"
    )
    args = parser.parse_args(argv)

    refs = select(catalogue(args.data / "VALUES.md"), args.set, args.names)
    rows = run(
        refs, time_limit=args.time_limit, seed=args.seed, repeats=args.repeats,
        engine=args.engine, solutions=args.solutions, data_dir=args.data,
    )  # fmt: skip
    print()
    print(text_table(summarise(rows), SUMMARY_COLUMNS))
    if args.out:
        command = command_line("benchmarks.gap", argv)
        write_results(rows, args.out, command=command)
        print(f"\nresults: {args.out / 'gap.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
