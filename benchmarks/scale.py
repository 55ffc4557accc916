"""Scale-out (issue 19): the same run solved in one process (`matcher.solve`) and on Dask
(`cluster.solve`), on an embedded `LocalCluster` and on a scheduler with worker processes
started apart (`dask scheduler`, `dask worker`: the multi-machine shape on one machine).

Cases: a city that is one connected component (`benchmarks.cityweek.city_week`: cut into
districts on the cluster) and a province of cities (`scenarios.province.province`: cut into
tiles before parsing, one city per tile). Every run happens in a fresh child process that
starts its own cluster, so every process's peak resident set (`common.peak_rss_mb`) belongs to
that run alone: the child's (instance, scheduler of a `LocalCluster`, merge), each worker's,
and a scheduler's started apart. *total peak MB* adds them up (an upper bound of what was
resident at once). Every plan is checked against the instance after the timing and the memory
readings: tile by tile where the instance cuts into tiles (`matcher.tiles.check_tiles`: a
province's cities parsed one at a time, so that the check holds one city's domain objects
rather than the province's), else whole (`matcher.check_plan`); *check peak MB* is the child's
peak once checked. *workers cpu %* is the CPU time the workers had during the run, in percent
of the time they had work (the engine's seconds for a city, whose parse and compile are this
process's; the run's for tiles): a niced run beside others' work gets less, and a city's
rounds then end short.

*seconds*: from the instance's data to the plan (parse, compile, solve, merge), the cluster
already running (a solving process keeps its cluster from run to run; *start s* is how long
starting it took). Tables give medians over `--repeats`.

    python -m benchmarks.scale --quick                      # 5,000/500 city and province
    python -m benchmarks.scale --repeats 3 --out benchmarks/results
    python -m benchmarks.scale --cases city:100000:10000,province:1000000:100000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_RESULTS,
    Row,
    Worker,
    command_line,
    machine_info,
    median,
    peak_rss_mb,
    text_table,
    write_results,
)

__all__ = ["Case", "Mode", "parse_cases", "parse_modes", "run", "run_job"]

# A run may not take the shared machine down: the child's address space is capped.
MAX_MEMORY_GB = 14.0


@dataclass(frozen=True)
class Case:
    kind: str  # "city" or "province"
    volunteers: int
    requests: int
    time_limit: float

    @property
    def label(self) -> str:
        return f"{self.kind} {self.volunteers}/{self.requests}"


@dataclass(frozen=True)
class Mode:
    where: str  # "in-process", "local" (LocalCluster) or "scheduler" (processes started apart)
    workers: int = 0

    @property
    def label(self) -> str:
        return self.where if self.where == "in-process" else f"{self.where}-{self.workers}"


# Issue 19's sizes and targets (2 cores): gap to the bound, seconds, peak MB over all processes.
CASES = [Case("city", 100_000, 10_000, 60), Case("province", 1_000_000, 100_000, 600)]
QUICK = [Case("city", 5_000, 500, 10), Case("province", 5_000, 500, 10)]
MODES = [Mode("in-process"), Mode("local", 2), Mode("scheduler", 2)]
TARGETS = {
    "city 100000/10000": (0.1, 90.0, 3 * 1024.0),
    "province 1000000/100000": (0.5, 900.0, 8 * 1024.0),
}
PROVINCE_CITIES = 20


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _instance(job: Mapping[str, Any]) -> dict[str, Any]:
    if job["case"] == "city":
        from .cityweek import city_week

        return city_week(job["volunteers"], job["requests"], job["seed"])
    from scenarios.province import province

    return province(job["volunteers"], job["requests"], count=PROVINCE_CITIES, seed=job["seed"])


# Dask's processes serve HTTP (health, metrics) even without a dashboard, on every interface
# unless told otherwise (the scheduler's on port 8787): loopback only, any free port.
LOOPBACK_HTTP = "127.0.0.1:0"


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def _cluster(where: str, workers: int) -> Iterator[tuple[Any, list[subprocess.Popen[bytes]]]]:
    """A Dask client of a cluster of `workers` single-threaded worker processes on loopback:
    a `LocalCluster` (its scheduler in this process), or a scheduler and workers started as
    processes of their own by the `dask` command; stopped on exit."""
    from distributed import Client, LocalCluster

    from cluster.connect import WarmUp

    procs: list[subprocess.Popen[bytes]] = []
    local: Any = None
    client: Any
    with tempfile.TemporaryDirectory(prefix="volmatch-dask-") as tmp:
        try:
            if where == "local":
                local = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.ERROR,
                )  # fmt: skip
                client = Client(local, set_as_default=False)  # type: ignore[no-untyped-call]
            else:
                address_file = Path(tmp) / "scheduler.json"
                dask = [str(Path(sys.executable).with_name("dask"))]
                procs.append(_spawn(
                    [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--dashboard-address", LOOPBACK_HTTP, "--scheduler-file", str(address_file)]
                ))  # fmt: skip
                deadline = time.monotonic() + 120
                while not address_file.exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
                procs.extend(_spawn(
                    [*dask, "worker", "--scheduler-file", str(address_file), "--host",
                     "127.0.0.1", "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                     "--dashboard-address", LOOPBACK_HTTP]
                ) for _ in range(workers))  # fmt: skip
                address = json.loads(address_file.read_text())["address"]
                client = Client(address, set_as_default=False)  # type: ignore[no-untyped-call]
            client.register_plugin(WarmUp(), name="volmatch-warm-up")
            client.wait_for_workers(workers, timeout=300)
            yield client, procs
            client.close()
        finally:
            if local is not None:
                local.close()
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Worker entry: generate, start the cluster, solve end to end, measure, check."""
    import matcher
    from matcher.tiles import check_tiles

    instance = _instance(job)
    where, workers = job["where"], job["workers"]
    memory: dict[str, Any] = {}
    started = time.perf_counter()
    if where == "in-process":
        plan = matcher.solve(instance, time_limit_s=job["time_limit"], seed=job["seed"])
        seconds = time.perf_counter() - started
        start_s = None
    else:
        import cluster

        with _cluster(where, workers) as (client, _):
            start_s = time.perf_counter() - started
            cpu_before = client.run(_cpu_s)
            started = time.perf_counter()
            plan = cluster.solve(
                instance, cluster.OnDask(client), time_limit_s=job["time_limit"],
                seed=job["seed"], workers=1, thresholds=cluster.Thresholds(min_volunteers=0),
            )  # fmt: skip
            seconds = time.perf_counter() - started
            cpu = client.run(_cpu_s)
            used = sum(cpu[w] - cpu_before.get(w, 0.0) for w in cpu)
            # Over the engine's seconds where the workers wait for this process's parse and
            # compile (a city cut into districts); over the run's where they parse (tiles).
            busy = plan.stats.get("engine_seconds")
            busy = float(busy) if isinstance(busy, int | float) and busy > 0 else seconds
            memory["workers cpu %"] = round(100.0 * used / max(len(cpu) * busy, 1e-9), 1)
            peaks = client.run(peak_rss_mb)
            memory["worker peak MB"] = max(peaks.values())
            memory["workers peak MB"] = round(sum(peaks.values()), 1)
            if where == "scheduler":
                memory["scheduler peak MB"] = client.run_on_scheduler(peak_rss_mb)
    memory["client peak MB"] = peak_rss_mb()
    memory["total peak MB"] = round(
        sum(memory.get(k) or 0.0 for k in ("client peak MB", "workers peak MB",
                                           "scheduler peak MB")), 1,
    )  # fmt: skip
    report = check_tiles(instance, plan)
    if report is None:
        report = matcher.check_plan(matcher.parse_instance(instance), plan)
    memory["check peak MB"] = peak_rss_mb()
    coverage, bound = plan.objective.coverage, plan.bound.coverage
    stats = plan.stats
    return {
        "status": plan.status,
        "checked": "ok" if report.ok else f"{len(report.violations)} violations",
        "coverage": coverage,
        "bound": bound,
        "gap %": None if not bound else round(100.0 * (bound - coverage) / bound, 4),
        "travel_km": plan.objective.travel_km,
        "seconds": round(seconds, 3),
        "start_seconds": None if start_s is None else round(start_s, 3),
        "executor": stats.get("executor", "in-process"),
        "jobs_fallback": stats.get("jobs_fallback"),
        # A city cut into districts: greedy's plan, then after each round
        # (`districts.district_result`).
        "start coverage": stats.get("start_coverage"),
        "round 1 coverage": stats.get("round_1_coverage"),
        "round 2 coverage": stats.get("round_2_coverage"),
        "round 3 coverage": stats.get("round_3_coverage"),
        **memory,
    }


def run(
    cases: Sequence[Case], modes: Sequence[Mode], *, repeats: int, seed: int,
    time_limit: float | None,
) -> tuple[list[Row], list[Row]]:  # fmt: skip
    """Every (case, mode, repeat) in a fresh process, modes back to back within a repeat (so
    that the machine's load weighs on each alike); returns (runs, medians)."""
    runs: list[Row] = []
    for case in cases:
        limit = time_limit if time_limit is not None else case.time_limit
        for k in range(repeats):
            for mode in modes:
                job = {
                    "kind": "scale", "case": case.kind, "volunteers": case.volunteers,
                    "requests": case.requests, "seed": seed, "time_limit": limit,
                    "where": mode.where, "workers": mode.workers,
                }  # fmt: skip
                hard = 3 * limit + 600 + case.volunteers / 100
                with Worker(fresh=True, max_memory_gb=MAX_MEMORY_GB) as worker:
                    answer = worker.attempt(job, timeout_s=hard)
                row: Row = {"case": case.label, "mode": mode.label, "run": k + 1,
                            "time limit": limit, **answer}  # fmt: skip
                runs.append(row)
                print(_progress(row), file=sys.stderr, flush=True)
    return runs, summarise(runs)


def _progress(row: Row) -> str:
    return (
        f"{row['case']:>26} {row['mode']:<12} run {row['run']}: {row.get('status', '?'):<10} "
        f"coverage {row.get('coverage')} / bound {row.get('bound')}  {row.get('seconds')} s  "
        f"total peak {row.get('total peak MB')} MB  checked {row.get('checked')}"
    )


def summarise(runs: Sequence[Row]) -> list[Row]:
    """Medians per (case, mode), with the seconds' ratio to the in-process run of the case."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in runs:
        groups.setdefault((row["case"], row["mode"]), []).append(row)
    summary: list[Row] = []
    for (case, mode), rows in groups.items():

        def med(key: str, rows: list[Row] = rows) -> float | None:
            return median(r.get(key) for r in rows)

        summary.append({
            "case": case, "mode": mode, "runs": len(rows), "time limit": rows[0]["time limit"],
            "status": "/".join(sorted({str(r.get("status")) for r in rows})),
            "checked": "/".join(sorted({str(r.get("checked")) for r in rows})),
            "coverage": med("coverage"), "bound": med("bound"), "gap %": med("gap %"),
            "travel km": med("travel_km"), "seconds": med("seconds"),
            "seconds max": max((r.get("seconds") or 0.0 for r in rows), default=None),
            "start s": med("start_seconds"), "client peak MB": med("client peak MB"),
            "worker peak MB": med("worker peak MB"),
            "scheduler peak MB": med("scheduler peak MB"),
            "total peak MB": med("total peak MB"), "check peak MB": med("check peak MB"),
            "workers cpu %": med("workers cpu %"), "fallbacks": med("jobs_fallback"),
        })  # fmt: skip
    for row in summary:
        alone = next(
            (r for r in summary if r["case"] == row["case"] and r["mode"] == "in-process"), None
        )
        if alone and alone["seconds"] and row["seconds"]:
            row["time vs in-process"] = round(row["seconds"] / alone["seconds"], 2)
        target = TARGETS.get(row["case"])
        if target is not None:
            row["issue 19 target"] = _verdict(target, row)
    return summary


def _verdict(target: tuple[float, float, float], row: Row) -> str:
    gap_tol, secs, mem = target
    misses = []
    if row["gap %"] is None or row["gap %"] > gap_tol + 1e-9:
        misses.append(f"gap {row['gap %']} %")
    if (row["seconds max"] or 0.0) > secs:
        misses.append(f"{row['seconds max']:.0f} s")
    if (row["total peak MB"] or 0.0) > mem:
        misses.append(f"{row['total peak MB']:.0f} MB")
    if row["checked"] != "ok":
        misses.append("plan not checked ok")
    want = f"gap ≤ {gap_tol:g} %, ≤ {secs:g} s, ≤ {mem / 1024:g} GB"
    return f"{want}: " + ("met" if not misses else "NOT met (" + "; ".join(misses) + ")")


COLUMNS = [
    "case", "mode", "status", "checked", "coverage", "bound", "gap %", "seconds",
    "time vs in-process", "start s", "client peak MB", "worker peak MB", "scheduler peak MB",
    "total peak MB", "check peak MB", "workers cpu %", "fallbacks", "time limit", "runs",
    "issue 19 target",
]  # fmt: skip
RUN_COLUMNS = [
    "case", "mode", "run", "status", "checked", "coverage", "bound", "gap %", "seconds",
    "start_seconds", "client peak MB", "worker peak MB", "scheduler peak MB", "total peak MB",
    "check peak MB", "workers cpu %", "jobs_fallback", "start coverage", "round 1 coverage",
    "round 2 coverage", "round 3 coverage",
]  # fmt: skip


def write(runs: Sequence[Row], summary: Sequence[Row], out_dir: Path, command: str) -> None:
    info = machine_info()
    preamble = (
        f"Command: `{command}`\n\n"
        "One run solved in one process (`matcher.solve`, *in-process*) and on Dask "
        "(`cluster.solve`): *local-N*, an embedded `LocalCluster` of N single-threaded worker "
        "processes; *scheduler-N*, `dask scheduler` and N `dask worker` processes started apart "
        "(the multi-machine shape on one machine). A fresh process per run. Medians over runs; "
        "*seconds* = instance data to plan, the cluster already up (*start s* = starting it); "
        "*client peak MB* = the solving process (with a LocalCluster's scheduler), *worker peak "
        "MB* = the largest worker's, *total peak MB* = all processes' peaks added; *gap %* = "
        "coverage gap to the proven coverage bound; *checked* = `matcher.check_plan` on the "
        "plan; *fallbacks* = parts whose greedy plan stood in (no result in time)."
    )
    write_results(out_dir, "scale", "Scale-out: one process and Dask", summary, COLUMNS,
                  info=info, preamble=preamble)  # fmt: skip
    write_results(out_dir, "scale_runs", "Scale-out: every run", runs, RUN_COLUMNS, info=info,
                  preamble=f"Command: `{command}`")  # fmt: skip


def parse_cases(text: str) -> list[Case]:
    """`KIND:VOLUNTEERS:REQUESTS[:SECONDS]`, comma-separated (KIND: city or province)."""
    out = []
    for item in text.split(","):
        kind, *numbers = item.split(":")
        if kind not in ("city", "province") or len(numbers) not in (2, 3):
            raise argparse.ArgumentTypeError(
                f"case {item!r}: expected city|province:VOLUNTEERS:REQUESTS[:SECONDS]"
            )
        limit = float(numbers[2]) if len(numbers) == 3 else 60.0
        out.append(Case(kind, int(numbers[0]), int(numbers[1]), limit))
    return out


def parse_modes(text: str) -> list[Mode]:
    """`in-process`, `local-N`, `scheduler-N`, comma-separated."""
    out = []
    for item in text.split(","):
        where, _, count = item.rpartition("-") if item != "in-process" else (item, "", "0")
        if where not in ("in-process", "local", "scheduler") or not count.isdigit():
            raise argparse.ArgumentTypeError(
                f"mode {item!r}: expected in-process, local-N or scheduler-N"
            )
        out.append(Mode(where, int(count)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scale-out benchmark: one process and Dask.")
    parser.add_argument("--quick", action="store_true", help="5,000/500 city and province, 10 s")
    parser.add_argument("--cases", type=parse_cases,
                        help="KIND:VOLUNTEERS:REQUESTS[:SECONDS],… (default: issue 19's sizes)")
    parser.add_argument("--modes", type=parse_modes, default=MODES,
                        help="in-process,local-N,scheduler-N (default: in-process,local-2,"
                        "scheduler-2)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, help="engine budget (default per case)")
    parser.add_argument("--out", type=Path, help=f"results directory (e.g. {DEFAULT_RESULTS})")
    args = parser.parse_args(argv)
    cases = args.cases or (QUICK if args.quick else CASES)
    runs, summary = run(
        cases, args.modes, repeats=1 if args.quick else args.repeats, seed=args.seed,
        time_limit=args.time_limit,
    )  # fmt: skip
    print()
    print(text_table(summary, COLUMNS))
    if args.out:
        write(runs, summary, args.out, command_line("benchmarks.scale", argv))
        print(f"\nresults: {args.out / 'scale.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

