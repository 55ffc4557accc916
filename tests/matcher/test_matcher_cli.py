"""The `volmatch` command line: solve, check, schema and --help (issue 2, item 7).

Commands run in-process through `matcher.cli.main` (fast, output captured); one test runs the
installed `volmatch` script to prove the entry point exists.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from matcher_testkit import FORMAT_EXAMPLE, Json, make_instance, request, volunteer

from matcher.cli import main


def call(args: list[str]) -> int:
    """`main(args)`, with argparse's own exits turned into their status."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def write(path: Path, data: Json | str) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


INSTANCE = make_instance(
    [
        volunteer("ann", skills=["first_aid"]),
        volunteer("bob", north_km=2),
        volunteer("cyd", north_km=3, max_hours=1),
    ],
    [
        request("aid", required_skills=["first_aid"]),
        request("visit", start=13, end=14, volunteers_needed=2),
        request("nobody", required_skills=["law"]),
    ],
)


@pytest.fixture
def instance_file(tmp_path: Path) -> Path:
    return write(tmp_path / "instance.json", INSTANCE)


@pytest.mark.parametrize("engine", ["optimal", "greedy"])
def test_solve_writes_a_plan_that_check_accepts(
    instance_file: Path, tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    code = call(
        ["solve", str(instance_file), "-o", str(plan_file), "--engine", engine, "--time-limit", "2"]
    )
    assert code == 0
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    assert plan["stats"]["engine"] == engine
    assert {(a["volunteer_id"], a["request_id"]) for a in plan["assignments"]} >= {("ann", "aid")}
    assert "status" in capsys.readouterr().out  # the summary goes to stdout with -o
    assert call(["check", str(instance_file), str(plan_file)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out.split()
    assert f"coverage {plan['objective']['coverage']}" in out
    assert "travel_km" in out


def test_solve_without_output_prints_the_plan_json(
    instance_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["solve", str(instance_file), "--time-limit", "2"]) == 0
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    assert plan["status"] in {"optimal", "feasible", "infeasible"}
    assert [u["request_id"] for u in plan["unfilled"]] == ["nobody"]
    assert "coverage" in captured.err  # the summary goes to stderr


def test_solve_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(INSTANCE)))
    assert call(["solve", "-", "-q", "--time-limit", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["objective"]["coverage"] >= 1


def test_check_flags_a_violation(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bob lacks first_aid (rule 1); cyd's one hour cap is broken twice over (rule 7)."""
    plan = {
        "status": "feasible",
        "assignments": [
            {"volunteer_id": "bob", "request_id": "aid", "distance_km": 2.0},
            {"volunteer_id": "cyd", "request_id": "visit", "distance_km": 3.0},
        ],
        "objective": {"coverage": 2, "travel_km": 5.0},
    }
    plan_file = write(tmp_path / "bad_plan.json", plan)
    assert call(["check", str(instance_file), str(plan_file)]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION rule 1" in out and "bob" in out
    assert "ok" not in out.split()


def test_check_flags_over_cap(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_instance(
        [volunteer("cyd", max_hours=1)],
        [request("a", start=9, end=10), request("b", start=13, end=14)],
    )
    inst = write(tmp_path / "i.json", data)
    plan = {
        "status": "feasible",
        "assignments": [
            {"volunteer_id": "cyd", "request_id": "a", "distance_km": 0.0},
            {"volunteer_id": "cyd", "request_id": "b", "distance_km": 0.0},
        ],
        "objective": {"coverage": 2, "travel_km": 0.0},
    }
    assert call(["check", str(inst), str(write(tmp_path / "p.json", plan))]) == 1
    assert "VIOLATION rule 7" in capsys.readouterr().out


def test_bad_instance_exits_2_naming_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ends_early = make_instance([volunteer("ann")], [request("r1", start=11, end=10)])
    assert call(["solve", str(write(tmp_path / "early.json", ends_early))]) == 2
    assert "requests[0].end (id r1)" in capsys.readouterr().err
    bad = make_instance([volunteer("ann"), volunteer("ann")], [request("r1")])
    path = write(tmp_path / "bad.json", bad)
    assert call(["solve", str(path)]) == 2
    assert "volunteers[1].id (id ann)" in capsys.readouterr().err
    plan_file = write(
        tmp_path / "plan.json", {"status": "feasible", "objective": {"coverage": 0, "travel_km": 0}}
    )
    assert call(["check", str(path), str(plan_file)]) == 2
    assert "volunteers[1].id (id ann)" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["{", "[]", '{"volunteers": [{"id": "x"}]}'])
def test_malformed_instance_exits_2(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["solve", str(write(tmp_path / "bad.json", text))]) == 2
    assert capsys.readouterr().err.strip()


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["solve", str(tmp_path / "absent.json")]) == 2
    assert "absent.json" in capsys.readouterr().err


def test_malformed_plan_exits_2(
    instance_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = write(tmp_path / "plan.json", '{"status": "great"}')
    assert call(["check", str(instance_file), str(plan_file)]) == 2
    assert "plan" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--time-limit", "-1"], id="negative time limit"),
        pytest.param(["--time-limit", "soon"], id="time limit not a number"),
        pytest.param(["--engine", "simplex"], id="unknown engine"),
        pytest.param(["--seed", "-3"], id="negative seed"),
    ],
)
def test_bad_options_exit_2_without_a_traceback(
    instance_file: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["solve", str(instance_file), "-q", *args]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("solve", "check", "schema"):
        assert command in out
    assert call(["solve", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--engine", "--time-limit", "--output", "optimal", "greedy"):
        assert option in out


def test_schema_command_prints_json_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["schema", "instance"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"volunteers", "requests", "pinned", "previous", "options"} <= set(schema["properties"])
    assert call(["schema", "plan"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"status", "assignments", "unfilled", "objective", "bound"} <= set(schema["properties"])


def test_installed_script_runs() -> None:
    script = Path(sys.executable).parent / "volmatch"
    assert script.exists(), "the volmatch console script is not installed"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "solve" in done.stdout and "check" in done.stdout and "schema" in done.stdout


def test_solve_and_check_the_format_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The FORMAT.md example end to end: accepted, solved, and the plan passes check."""
    plan_file = tmp_path / "plan.json"
    assert (
        call(["solve", str(FORMAT_EXAMPLE), "-o", str(plan_file), "-q", "--time-limit", "2"]) == 0
    )
    assert call(["check", str(FORMAT_EXAMPLE), str(plan_file)]) == 0


def test_warm_up_compiles_the_local_search_into_an_empty_cache(tmp_path: Path) -> None:
    """`volmatch warm-up` fills numba's cache, so that the next process loads the search."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from matcher.cli import main; raise SystemExit(main(['warm-up']))"],
        env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cached = subprocess.run(
        [sys.executable, "-c", "from matcher.engines.kernels import cached; print(cached())"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cached.stdout.strip() == "True", cached.stderr


def test_a_solve_on_a_cold_cache_does_not_wait_for_the_compile(tmp_path: Path) -> None:
    """With numba's cache empty (the first solve after an install), a 3 s solve of a GAP (which
    wants the local search beside its MIP) ends on time with a plan that keeps every rule: the
    search is compiled in a child process meanwhile, not in the solve's time."""
    script = (
        "import sys, time\n"
        "sys.path.insert(0, 'tests/matcher')\n"
        "from test_matcher_engines import _random_gap\n"
        "from matcher import ENGINES, SolveParams, Control\n"
        "d = _random_gap(3, agents=20, jobs=100, max_cost=50, capacity=70)\n"
        "t = time.perf_counter()\n"
        "r = ENGINES['optimal'](d, SolveParams(time_limit_s=3), Control())\n"
        "print(round(time.perf_counter() - t, 2), d.violations(r.selected) == (0, 0))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600,
        check=False, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seconds, valid = done.stdout.split()
    assert float(seconds) <= 3 * 1.1 + 1 and valid == "True"
