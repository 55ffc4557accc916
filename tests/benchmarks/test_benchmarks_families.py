"""benchmarks/families.py: end to end on a tiny size, the table's arithmetic on made-up runs,
and the cold start's plumbing (an empty numba cache, no warm-up)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from benchmarks import families
from benchmarks.common import Worker
from benchmarks.families import Week, summarise, unproven_by_engine
from scenarios.generate import build, dumps
from scenarios.spec import load_scenario


def test_harness_end_to_end_on_a_tiny_size(tmp_path: Path) -> None:
    sample = tmp_path / "week.json"
    week = build(load_scenario("dense-city"), seed=4, volunteers=150, requests=20).instance
    sample.write_text(dumps(week), encoding="utf-8")
    out = tmp_path / "out"
    args = ["--families", "mixed-city", "--sizes", "200/30", "--seeds", "0", "--repeats", "1",
            "--limits", "2,4", "--peer-limit", "20", "--cold-repeats", "0",
            "--sample", str(sample), "--out", str(out)]  # fmt: skip
    assert families.main(args) == 0
    saved = json.loads((out / "families.json").read_text(encoding="utf-8"))
    rows = {w["key"]: w["row"] for w in saved["weeks"]}
    assert set(rows) == {"file week.json", "mixed-city 200/30 seed 0"}
    for row in rows.values():
        assert row["plans checked"] == "ok"
        assert row["optimum"] is not None and row["greedy"] <= row["optimum"] <= row["bound"]
        assert row["peer"] == row["optimum"]
        assert str(row["peer status"]).startswith("optimal")
        assert row["greedy gap %"] is not None and row["peer proof s"] > 0
        assert "same" in row["all pairs"]  # seed 0 of a small week: the pruning check ran
    mixed = rows["mixed-city 200/30 seed 0"]
    runs = next(w["runs"] for w in saved["weeks"] if w["key"] == "mixed-city 200/30 seed 0")
    assert len(runs["engine 2"]) == 1 and runs["greedy"]["coverage"] == mixed["greedy"]
    markdown = (out / "families.md").read_text(encoding="utf-8")
    assert "## Per family and size" in markdown and "mixed-city" in markdown
    # A second run into the same directory resumes: nothing is run again.
    assert families.main(args) == 0
    again = json.loads((out / "families.json").read_text(encoding="utf-8"))
    assert again["weeks"][0]["runs"] == saved["weeks"][0]["runs"]


def engine(status: str, coverage: int, seconds: float, proven_at: float | None) -> dict[str, Any]:
    return {"status": status, "coverage": coverage, "bound": 100, "travel_km": 50.0,
            "seconds": seconds, "solve_seconds": seconds, "compile_seconds": 0.5,
            "coverage_proven": proven_at is not None, "coverage_proven_at_s": proven_at}  # fmt: skip


def peer(coverage: int, tier1_s: float, total_s: float) -> dict[str, Any]:
    return {"status": "optimal", "coverage": coverage, "travel_km": 50.0,
            "tier1": {"status": "optimal", "objective": coverage, "bound": coverage},
            "tier2": {"status": "optimal", "seconds": total_s - tier1_s},
            "tier1_proof_s": tier1_s, "proof_s": total_s, "model": {"pairs": 10}}  # fmt: skip


def test_summary_arithmetic() -> None:
    week = Week("scarce-skills", 2000, 300, 1)
    runs = {
        "greedy": {"status": "feasible", "coverage": 90},
        "engine 10": [engine("feasible", 96, 10.0, None), engine("feasible", 98, 10.0, None),
                      engine("optimal", 100, 6.0, 2.0)],
        "engine 30": [engine("optimal", 100, 8.0, 3.0)] * 3,
        "textbook": [peer(100, 1.0, 4.0), peer(100, 1.5, 3.0), peer(100, 2.0, 5.0)],
    }  # fmt: skip
    row = summarise(week, runs, [10.0, 30.0])
    assert row["optimum"] == 100 and row["proofs agree"] is None
    assert row["greedy gap %"] == 10.0
    assert row["closed 10 s"] == 0.8  # median 98: 8 of greedy's 10 closed
    assert row["closed 30 s"] == 1.0
    assert row["status 10 s"] == "1/3 optimal" and row["status 30 s"] == "3/3 optimal"
    assert row["peer tier 1 s"] == 1.5 and row["peer proof s"] == 4.0
    assert row["time ratio"] == 1.5  # the 10 s run that proved, 6 s, over the peer's 4 s
    assert row["tier 1 time ratio"] == round((0.5 + 2.0) / 1.5, 3)
    assert row["plans checked"] == "ok"
    # Not proven in every run at any limit: listed for the lead.
    runs["engine 30"] = [engine("feasible", 100, 30.0, 3.0)] * 3
    rows = [summarise(week, runs, [10.0, 30.0])]
    assert [r["seed"] for r in unproven_by_engine(rows, [10.0, 30.0])] == [1]
    rows = [summarise(week, {**runs, "engine 30": [engine("optimal", 100, 8.0, 3.0)] * 3},
                      [10.0, 30.0])]  # fmt: skip
    assert unproven_by_engine(rows, [10.0, 30.0]) == []


def test_summary_flags_disagreeing_proofs_and_broken_plans() -> None:
    week = Week("dense-city", 2000, 300, 0)
    bad = {**engine("optimal", 99, 5.0, 1.0), "violations": 2, "first violation": "rule 6"}
    runs = {"greedy": {"status": "feasible", "coverage": 90}, "engine 10": [bad],
            "textbook": [peer(100, 1.0, 2.0)]}  # fmt: skip
    row = summarise(week, runs, [10.0])
    assert row["proofs agree"] == "NO: 99, 100"
    assert row["plans checked"].startswith("1 broke rules") and "rule 6" in row["plans checked"]


def test_a_killed_peer_keeps_its_first_tier() -> None:
    week = Week("dialect-visits", 5000, 600, 0)
    first_tier = {**peer(100, 4.0, 4.0), "status": "feasible", "tier2": None, "proof_s": None}
    runs = {"greedy": {"status": "feasible", "coverage": 95},
            "engine 10": [engine("feasible", 99, 10.0, None)],
            "textbook": [{"status": "killed after 235 s (overran)", "partial": first_tier}]}  # fmt: skip
    row = summarise(week, runs, [10.0])
    assert row["optimum"] == 100 and row["peer tier 1 s"] == 4.0 and row["peer proof s"] is None
    assert row["peer status"].startswith("killed")


def test_cold_start_runs_on_an_empty_cache_without_warm_up(tmp_path: Path) -> None:
    cache = tmp_path / "numba"
    cache.mkdir()
    env = {"NUMBA_CACHE_DIR": str(cache), "VOLMATCH_BENCH_COLD": "1"}
    job = {"kind": "families", "week": {"family": "mixed-city", "volunteers": 60,
           "requests": 8, "seed": 0, "path": None}, "run": "engine", "engine": "greedy",
           "time_limit": 2.0, "engine_seed": 0}  # fmt: skip
    with Worker(fresh=True, env=env) as worker:
        answer = worker.run(job, timeout_s=120)
    assert answer["numba_cache_dir"] == str(cache)
    assert answer["warmed_up"] is False
    with Worker(fresh=True) as worker:
        assert worker.run(job, timeout_s=300)["warmed_up"] is True


def test_pruning_verdict_by_bounds() -> None:
    """The all-pairs solve need not finish: its bounds alone can show that nothing better
    exists; a better plan on all pairs is reported as a difference."""
    week = Week("tight-hours", 2000, 300, 0)
    pruned = {
        **peer(100, 1.0, 2.0),
        "tier2": {"status": "optimal", "objective": 5000.0, "seconds": 1},
    }
    runs = {"greedy": {"status": "feasible", "coverage": 90}, "engine 10": [],
            "textbook": [pruned]}  # fmt: skip
    every: dict[str, Any] = {"status": "feasible", "model": {"pairs": 30},
             "tier1": {"status": "optimal", "objective": 100, "bound": 100},
             "tier2": {"status": "feasible", "objective": 9000.0, "bound": 5000.0}}  # fmt: skip
    row = summarise(week, {**runs, "textbook all pairs": every}, [10.0])
    assert row["all pairs"].startswith("30 pairs: same optimum (by its bounds)")
    lower = {**every, "tier2": {**every["tier2"], "bound": 4000.0}}
    assert (
        "not shown" in summarise(week, {**runs, "textbook all pairs": lower}, [10.0])["all pairs"]
    )
    better = {**every, "tier1": {"status": "optimal", "objective": 101, "bound": 101}}
    assert (
        "DIFFERENT" in summarise(week, {**runs, "textbook all pairs": better}, [10.0])["all pairs"]
    )


def test_travel_gap_is_measured_at_the_optimal_coverage_against_the_peers_bound() -> None:
    week = Week("mixed-city", 20000, 2000, 0)
    proved = {**peer(100, 1.0, 2.0), "tier2": {"status": "optimal", "bound": 40000.0}}
    runs = {"greedy": {"status": "feasible", "coverage": 90},
            "engine 10": [{**engine("feasible", 100, 10.0, 2.0), "travel_km": 50.0},
                          {**engine("feasible", 99, 10.0, None), "travel_km": 30.0},
                          {**engine("feasible", 100, 10.0, 2.0), "travel_km": 44.0}],
            "textbook": [proved]}  # fmt: skip
    row = summarise(week, runs, [10.0])
    assert row["travel bound"] == 40.0  # metres in the peer's model
    # The run at coverage 99 travels less but does not count: median of 50 and 44 km.
    assert row["travel gap % 10 s"] == 17.5
    assert families.family_summary([row], [10.0])[0]["travel gap % 10 s"] == 17.5
    # A peer that did not prove tier 1 bounds nothing: its tier 2 held another coverage.
    unproven = {**proved, "tier1": {"status": "feasible", "objective": 100, "bound": 102}}
    row = summarise(week, {**runs, "textbook": [unproven]}, [10.0])
    assert row["travel bound"] is None and row["travel gap % 10 s"] is None
    # The engine's own travel bound (at 20,000 volunteers the peer proves nothing) counts where
    # its coverage is the optimum; the higher bound wins.
    bounded = {**engine("optimal", 100, 10.0, 2.0), "travel_km": 44.0, "travel_bound_km": 43.0}
    row = summarise(week, {**runs, "engine 10": [bounded], "textbook": [unproven]}, [10.0])
    assert row["travel bound"] == 43.0 and row["travel bound by"] == "engine"
    assert row["travel gap % 10 s"] == round(100 * 44 / 43 - 100, 3)
    row = summarise(week, {**runs, "engine 10": [bounded]}, [10.0])
    assert row["travel bound"] == 43.0 and row["proofs agree"] is None
    # ... but an engine bound above the travel the peer proved optimal is a false proof.
    proved_travel = {**proved, "tier2": {"status": "optimal", "objective": 42000.0,
                                         "bound": 42000.0}}  # fmt: skip
    row = summarise(week, {**runs, "engine 10": [bounded], "textbook": [proved_travel]}, [10.0])
    assert "engine travel bound 43.0 km above" in row["proofs agree"]


def test_the_table_names_every_command_that_wrote_its_weeks(tmp_path: Path) -> None:
    runs = {"greedy": {"status": "feasible", "coverage": 90}, "engine 10": [],
            "textbook": [peer(100, 1.0, 2.0)]}  # fmt: skip
    weeks = []
    for seed, command in ((0, "python -m benchmarks.families"), (1, "python -m x --sizes 1/1")):
        week = Week("dense-city", 2000, 300, seed)
        weeks.append({"key": week.key, "command": command, "row": summarise(week, runs, [10.0])})
    families.write(tmp_path, weeks, {}, "python -m x --sizes 1/1", [10.0])
    markdown = (tmp_path / "families.md").read_text(encoding="utf-8")
    assert "Commands: `python -m benchmarks.families`, then `python -m x --sizes 1/1`" in markdown


def test_the_readmes_measurement_commands_run_as_written() -> None:
    """benchmarks/README.md gives the lead the exact commands: they parse, the first is the
    defaults (as `make bench-families` and the README say), the second adds 20,000/2,000
    without the peer."""
    readme = (Path(families.__file__).parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Measuring an engine", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [
        shlex.split(line.split("python -m benchmarks.families", 1)[1])
        for line in block.replace("\\\n", " ").splitlines()
        if "python -m benchmarks.families" in line
    ]
    assert len(commands) == 2
    first, second = (vars(families.argument_parser().parse_args(c)) for c in commands)
    defaults = vars(families.argument_parser().parse_args(["--tag", first["tag"]]))
    assert first == defaults
    assert first["tag"] == second["tag"]  # into the same results directory
    assert second["sizes"] == "20000/2000" and second["no_sample"] and second["cold_repeats"] == 0
    assert second["peer_limit"] == 0  # no peer at 20,000/2,000
    assert second["repeats"] == 3 and second["limits"] == "10,30"


class _Recorder(Worker):
    """Answers every job at once, recording it (what `run_week` asks for, without solving)."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[dict[str, Any]] = []

    def attempt(self, job: Any, timeout_s: float) -> dict[str, Any]:
        self.jobs.append(dict(job))
        return {"status": "optimal", "coverage": 1}


def test_the_runs_of_a_week_and_a_peer_limit_of_zero() -> None:
    week = Week("mixed-city", 2000, 300, 0)
    options: dict[str, Any] = {"limits": [10.0, 30.0], "repeats": 3, "cold_repeats": 0,
                               "pruning_check": True}  # fmt: skip
    worker = _Recorder()
    runs = families.run_week(week, worker, peer_limit=60.0, **options)
    kinds = [(j["run"], j.get("engine"), j.get("all_pairs", False)) for j in worker.jobs]
    # Greedy, three engine runs at 10 s (every one optimal: the 30 s runs are skipped), the
    # peer three times (it proved), the pruning check.
    assert kinds == [("engine", "greedy", False), *[("engine", "optimal", False)] * 3,
                     *[("textbook", None, False)] * 3, ("textbook", None, True)]  # fmt: skip
    assert isinstance(runs["engine 30"], str)
    worker = _Recorder()
    runs = families.run_week(week, worker, peer_limit=0.0, **options)
    assert all(j["run"] == "engine" for j in worker.jobs) and runs["textbook"] == []
    row = summarise(week, runs, [10.0, 30.0])
    assert row["peer status"] is None and row["optimum"] is None  # no proof of coverage here
