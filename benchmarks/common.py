"""Shared plumbing of the benchmarks: machine and version metadata, result tables (CSV and
Markdown), charts, medians, and an isolated worker process that runs one job at a time under a
hard wall-clock limit (an engine that overruns its time limit is killed and reported, never
waited on forever).
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_RESULTS",
    "Row",
    "Worker",
    "WorkerTimeout",
    "command_line",
    "machine_info",
    "markdown_table",
    "median",
    "metadata_markdown",
    "peak_rss_mb",
    "pyplot",
    "text_table",
    "write_results",
]

Row = dict[str, Any]

DEFAULT_RESULTS = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
# The GAP data shipped beside the project; VOLMATCH_GAP_DATA overrides.
GAP_DATA = Path(
    os.environ.get("VOLMATCH_GAP_DATA", REPO_ROOT.parent / "shared" / "data" / "gap")
).resolve()


# ----------------------------------------------------------------------------------------------
# Machine, versions, date
# ----------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _highs_version() -> str:
    try:
        from scipy.optimize._highspy import _core

        return (
            f"{_core.HIGHS_VERSION_MAJOR}.{_core.HIGHS_VERSION_MINOR}.{_core.HIGHS_VERSION_PATCH}"
        )
    except (ImportError, AttributeError):
        return "unknown"


def _git_commit() -> str:
    rev = engine_rev()
    if rev:
        try:
            full = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", rev],
                capture_output=True, text=True, check=True, timeout=10,
            ).stdout.strip()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            full = rev
        return f"{full} (matcher/ and benchmarks/cityweek.py from this revision: --rev {rev})"
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", *_ENGINE_SOURCES],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.split()[1::2]  # fmt: skip
        changed = sorted({d.split("/")[0] if d.startswith("matcher") else d for d in dirty})
        return out.stdout.strip() + (
            f" (uncommitted changes in {', '.join(changed)})" if changed else ""
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# What a result depends on besides the benchmark code: the engine and the city generator.
_ENGINE_SOURCES = ("matcher", "benchmarks/cityweek.py")


def _matcher_digest() -> str:
    """A short hash of the engine and generator source the workers run (the snapshot, when
    one was taken): matcher/, the scenario generator and catalog, cityweek.py."""
    root = _SNAPSHOT or REPO_ROOT
    digest = hashlib.sha256()
    files = [
        *(root / "matcher").rglob("*.py"),
        *(root / "scenarios").rglob("*.py"),
        *(root / "scenarios").rglob("*.toml"),
        root / "benchmarks" / "cityweek.py",
    ]
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


_SNAPSHOT: Path | None = None


def engine_rev() -> str | None:
    """The git revision whose engine and generator to benchmark (VOLMATCH_BENCH_REV, or
    `python -m benchmarks --rev`); None: the working tree as it is."""
    return os.environ.get("VOLMATCH_BENCH_REV") or None


def code_snapshot() -> Path:
    """A copy of `matcher/`, `scenarios/` (the generator and its catalog) and `benchmarks/*.py`
    taken once per benchmark process, which every worker runs: edits to the working tree
    during a long run do not mix engine versions within one set of results. With
    `engine_rev()`, `matcher/` and `benchmarks/cityweek.py` come from that git revision
    instead (the generator stays the working tree's, so that new families can run on an older
    engine). Removed at exit."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        root = Path(tempfile.mkdtemp(prefix="volmatch-bench-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        if threading.current_thread() is threading.main_thread():
            # A terminated benchmark still runs its exit handlers (and removes the copy).
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        # numba's cache files come along (their index holds the source's mtime and size,
        # which copy2 keeps): workers load the compiled code instead of compiling it again.
        for package in ("matcher", "scenarios"):
            shutil.copytree(
                REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("*.pyc")
            )
        (root / "benchmarks").mkdir()
        for source in (REPO_ROOT / "benchmarks").glob("*.py"):
            shutil.copy2(source, root / "benchmarks" / source.name)
        rev = engine_rev()
        if rev:
            shutil.rmtree(root / "matcher")
            archive = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", rev, *_ENGINE_SOURCES],
                capture_output=True, check=True, timeout=60,
            ).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True, timeout=60)
        _SNAPSHOT = root
    return _SNAPSHOT


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """How to repeat a run, with paths relative to the repository."""
    args = list(argv if argv is not None else sys.argv[1:])
    shown = []
    for arg in args:
        path = Path(arg)
        if path.is_absolute() and path.is_relative_to(REPO_ROOT):
            arg = path.relative_to(REPO_ROOT).as_posix()
        shown.append(arg)
    prefix = [f"VOLMATCH_BENCH_REV={engine_rev()}"] if engine_rev() else []
    return " ".join([*prefix, "python -m", module, *shown])


def machine_info() -> dict[str, Any]:
    """Where and with what a benchmark ran: CPU, cores, RAM, OS, library versions, date, commit."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ortools": _version("ortools"),
        "scipy": _version("scipy"),
        "highs (scipy)": _highs_version(),
        "numpy": _version("numpy"),
        "matplotlib": _version("matplotlib"),
        "commit": _git_commit(),
        "source sha256 (matcher/, scenarios/, cityweek.py)": _matcher_digest(),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def metadata_markdown(info: Mapping[str, Any]) -> str:
    return "\n".join(f"- **{key}**: {value}" for key, value in info.items())


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set (MB): the high-water mark of its own memory (`VmHWM`,
    Linux). `getrusage`'s maxrss, the fallback elsewhere, is not this process's alone: Linux
    keeps it across `exec`, so a process started by a larger one (a scheduler or a worker
    started by a client holding a province) reports its parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.2e}"
    return str(value)


def markdown_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def text_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """A fixed-width table for the terminal."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
    return "\n".join(out)


def write_results(
    out_dir: Path,
    stem: str,
    title: str,
    rows: Sequence[Row],
    columns: Sequence[str],
    *,
    info: Mapping[str, Any],
    preamble: str = "",
    sections: Sequence[tuple[str, str]] = (),
) -> tuple[Path, Path]:
    """Write `stem.csv` (every key of every row) and `stem.md` (title, machine, `columns`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    csv_path = out_dir / f"{stem}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k in keys})
    md_path = out_dir / f"{stem}.md"
    parts = [f"# {title}", ""]
    if preamble:
        parts += [preamble, ""]
    parts += [markdown_table(rows, columns), ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body, ""]
    parts += ["## Machine and versions", "", metadata_markdown(info), ""]
    md_path.write_text("\n".join(parts), encoding="utf-8")
    (out_dir / f"{stem}.machine.json").write_text(json.dumps(dict(info), indent=2) + "\n")
    return csv_path, md_path


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def pyplot() -> Any | None:
    """matplotlib's pyplot on the Agg backend, or None when matplotlib is not installed
    (`pip install -e '.[bench]'`); tables are written either way."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: charts skipped", file=sys.stderr)
        return None
    return plt


# ----------------------------------------------------------------------------------------------
# Isolated worker process
# ----------------------------------------------------------------------------------------------


RESULT_PREFIX = "@@volmatch-bench-result "
# A job may report what it has so far (a line with this prefix): kept when the job is killed.
PARTIAL_PREFIX = "@@volmatch-bench-partial "
# The worker's first line, once its compiled kernels are loaded (compiled first into a fresh code
# snapshot: minutes on a busy machine, which no job's time limit should pay for).
READY_LINE = "@@volmatch-bench-ready"
# How long a worker may take to get ready.
START_TIMEOUT_S = 1800.0


class WorkerTimeout(RuntimeError):
    """The job did not answer within its wall-clock limit; the worker was killed."""


@dataclass
class _Proc:
    popen: subprocess.Popen[str]
    selector: selectors.DefaultSelector


class Worker:
    """A child process (`python -m benchmarks.worker`) that runs jobs one at a time.

    `fresh=True` starts a new process per job, so that its peak RSS belongs to that job alone.
    A job's `timeout_s` counts from the worker being ready (its start and warm-up have their own
    `START_TIMEOUT_S`). A job that overruns gets the process killed and raises `WorkerTimeout`;
    what it reported so far (`PARTIAL_PREFIX` lines) is then in `partial`; a start that
    overruns raises `RuntimeError`. `env` adds environment variables to the process (e.g. an
    empty NUMBA_CACHE_DIR for a cold start).
    """

    def __init__(
        self,
        *,
        fresh: bool = False,
        max_memory_gb: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.fresh = fresh
        self.max_memory_gb = max_memory_gb
        self.env = dict(env or {})
        self.partial: dict[str, Any] = {}
        self._proc: _Proc | None = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self) -> _Proc:
        root = code_snapshot()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
        env["VOLMATCH_GAP_DATA"] = str(GAP_DATA)
        if self.max_memory_gb:
            env["VOLMATCH_BENCH_MAX_GB"] = str(self.max_memory_gb)
        env.update(self.env)
        popen = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env=env,
        )
        sel = selectors.DefaultSelector()
        assert popen.stdout is not None
        sel.register(popen.stdout, selectors.EVENT_READ)
        self._proc = _Proc(popen, sel)
        try:
            self._read_line(READY_LINE, START_TIMEOUT_S, "worker not ready")
        except WorkerTimeout as exc:  # not the job's overrun: the job never started
            raise RuntimeError(f"benchmark {exc}") from exc
        return self._proc

    def _read_line(self, prefix: str, timeout_s: float, what: str) -> str:
        """The worker's next line starting with `prefix` (a partial answer on the way is kept in
        `partial`, other output skipped); kill it and raise `WorkerTimeout` after `timeout_s`,
        `RuntimeError` if it dies."""
        proc = self._proc
        assert proc is not None and proc.popen.stdout is not None
        started = time.monotonic()
        while True:
            left = timeout_s - (time.monotonic() - started)
            if left <= 0 or not proc.selector.select(timeout=left):
                self.close(kill=True)
                raise WorkerTimeout(f"{what} in {timeout_s:.0f} s")
            line = proc.popen.stdout.readline()
            if not line:  # the worker died
                code = proc.popen.wait()
                self._proc = None
                raise RuntimeError(f"benchmark worker exited with code {code}")
            if line.startswith(PARTIAL_PREFIX):
                self.partial = json.loads(line[len(PARTIAL_PREFIX) :])
            if line.startswith(prefix):
                return line

    def run(self, job: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        if self._proc is None or self._proc.popen.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        assert proc.popen.stdin is not None and proc.popen.stdout is not None
        proc.popen.stdin.write(json.dumps(job) + "\n")
        proc.popen.stdin.flush()
        self.partial = {}
        line = self._read_line(RESULT_PREFIX, timeout_s, "no answer")
        answer: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
        if self.fresh:
            self.close()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def attempt(self, job: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        """`run`, with a kill or a failure turned into an answer whose status says so (with
        what the job reported before, under `partial`)."""
        started = time.monotonic()
        try:
            return self.run(job, timeout_s)
        except WorkerTimeout:
            status = f"killed after {timeout_s:.0f} s (overran)"
        except RuntimeError as exc:
            last = [line for line in str(exc).strip().splitlines() if line.strip()]
            status = "error: " + (last[-1][:120] if last else "worker failed")
        answer = {"status": status, "seconds": round(time.monotonic() - started, 1)}
        if self.partial:
            answer["partial"] = self.partial
        return answer

    def close(self, *, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            proc.popen.kill()
        else:
            assert proc.popen.stdin is not None
            proc.popen.stdin.close()
        try:
            proc.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait()
        proc.selector.close()
        if proc.popen.stdout is not None:
            proc.popen.stdout.close()


JobHandler = Callable[[Mapping[str, Any]], dict[str, Any]]
