"""The GAP benchmark harness (issue 5, Tests): the reader on hand-written files in both
layouts, the independent feasibility check, and an end-to-end run on gap1 through the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import gap

# Two 2-agent × 3-job instances, OR-Library layout (leading count), line breaks anywhere.
MULTI = """2
2 3
1 2 3
4 5 6
2 2 2 3
3 3
5 5
2 3  9 9 9  8 8 8
1 1 1 1 1 1
3 3
"""
# One 2 × 2 instance, Yagiura's layout (no leading count).
SINGLE = "2 2\n 7 1\n 2 8\n 3 4 5 6\n 4 10\n"


def test_reader_multi_instance_layout() -> None:
    first, second = gap.parse_gap(MULTI, name="tiny", maximize=True)
    assert (first.name, second.name) == ("tiny-1", "tiny-2")
    assert first.cost.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert first.load.tolist() == [[2, 2, 2], [3, 3, 3]]
    assert first.capacity.tolist() == [5, 5]
    assert second.cost.tolist() == [[9, 9, 9], [8, 8, 8]]
    assert second.capacity.tolist() == [3, 3]
    assert first.maximize and (first.num_agents, first.num_jobs) == (2, 3)


def test_reader_single_instance_layout() -> None:
    (inst,) = gap.parse_gap(SINGLE, name="y0202", maximize=False)
    assert inst.name == "y0202"
    assert inst.cost.tolist() == [[7, 1], [2, 8]]
    assert inst.load.tolist() == [[3, 4], [5, 6]]
    assert inst.capacity.tolist() == [4, 10]


@pytest.mark.parametrize("text", ["", "2 3 1 2", "1 2 2 1 1 1 1 1 1 1 1 5 5 99", "a b c"])
def test_reader_rejects_malformed_files(text: str) -> None:
    with pytest.raises(gap.GapFormatError):
        gap.parse_gap(text, name="bad", maximize=False)


def test_feasibility_check_rejects_over_capacity() -> None:
    (inst,) = gap.parse_gap(SINGLE, name="y0202", maximize=False)
    # Agent 0 (capacity 4) takes both jobs: load 3 + 4 = 7.
    problems = gap.check_solution(inst, [0, 0])
    assert problems == ["agent 0 uses 7 > capacity 4"]
    assert gap.check_solution(inst, [0, 1]) == []  # loads 3 and 6: within 4 and 10
    assert gap.check_solution(inst, [0, -1]) == ["job 1 has no valid agent (-1)"]
    assert gap.check_solution(inst, [0]) != []
    assert gap.solution_value(inst, [0, 1]) == 7 + 8


def test_problem_mapping_and_lp_bound() -> None:
    (inst,) = gap.parse_gap(SINGLE, name="y0202", maximize=False)
    data = gap.to_problem(inst)
    assert (data.num_volunteers, data.num_requests, data.num_pairs) == (2, 2, 4)
    assert data.request_mandatory.all() and (data.request_max == 1).all()
    assert data.volunteer_capacity.tolist() == [4, 10]
    # The cheapest choice per job (job 0 to agent 1, job 1 to agent 0) fits: LP = optimum = 3.
    assert gap.lp_bound(inst) == pytest.approx(3.0)
    assert gap.check_solution(inst, [1, 0]) == [] and gap.solution_value(inst, [1, 0]) == 3
    picked = np.zeros(4, dtype=bool)
    picked[[0, 3]] = True  # pairs agent-major: (0,0) and (1,1)
    assert gap.agents_of_selection(inst, picked) == [0, 1]


needs_data = pytest.mark.skipif(
    not (gap.DATA_DIR / "VALUES.md").exists(), reason="../shared/data/gap not present"
)


@needs_data
def test_catalogue_from_values_md() -> None:
    refs = gap.catalogue()
    assert len(gap.select(refs, "orlib", [])) == 60
    assert len(gap.select(refs, "small", [])) == 30
    assert len(gap.select(refs, "large", [])) == 27
    assert refs["gap1-1"].best == 336 and refs["gap1-1"].maximize
    assert refs["e801600"].best == 176826 and not refs["e801600"].maximize
    inst = gap.load(refs["gap1-1"])
    assert gap.lp_bound(inst) == pytest.approx(refs["gap1-1"].lp, abs=0.01)


@needs_data
def test_harness_end_to_end_on_gap1(tmp_path: Path) -> None:
    out, sols = tmp_path / "results", tmp_path / "solutions"
    assert gap.main(["gap1", "--time-limit", "2", "--solutions", str(sols), "--out", str(out)]) == 0
    assert (out / "gap.csv").exists() and (out / "gap.md").exists()
    refs = gap.catalogue()
    for k in range(1, 6):
        name = f"gap1-{k}"
        written = json.loads((sols / f"{name}.json").read_text())
        assert written["instance"] == name
        inst = gap.load(refs[name])
        assert gap.check_solution(inst, written["agent_of_job"]) == []
        assert written["value"] == gap.solution_value(inst, written["agent_of_job"])
        assert written["value"] <= refs[name].best  # maximisation: never above the optimum


def test_engine_cost_bound_maps_back_to_the_gap_value() -> None:
    from types import SimpleNamespace

    with_bound = SimpleNamespace(stats={"travel_bound_km": 0.005})  # cost bound 5
    (low,) = gap.parse_gap(SINGLE, name="y0202", maximize=False)
    assert gap.engine_value_bound(low, with_bound) == pytest.approx(5.0)
    (high,) = gap.parse_gap(SINGLE, name="y0202", maximize=True)
    # Maximisation: the engine minimises n * max(c) - value = 2 * 8 - value >= 5.
    assert gap.engine_value_bound(high, with_bound) == pytest.approx(11.0)
    assert gap.engine_value_bound(low, SimpleNamespace(stats={})) is None
