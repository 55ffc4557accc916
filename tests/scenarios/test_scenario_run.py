"""`volmatch scenario run` and `sweep` end to end on the tiny scenario, and the progress bar."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from matcher import Progress
from matcher.cli import main
from scenarios.progress import ProgressBar
from scenarios.runner import variants

PNG = b"\x89PNG\r\n\x1a\n"


def test_run_prints_kpis_and_writes_the_report(
    tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = main(
        [
            "scenario",
            "run",
            str(tiny_path),
            "--time-limit",
            "2",
            "--remedies",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert (
        "slot fill rate" in captured.out and "optimal" in captured.out and "greedy" in captured.out
    )
    assert "[1/" in captured.err  # progress, one line per step off a terminal
    for name in (
        "coverage_by_service",
        "unfilled_by_reason",
        "hours",
        "travel",
        "map_optimal",
        "map_greedy",
    ):
        assert (out / f"{name}.png").read_bytes().startswith(PNG), name
    report = (out / "report.md").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    data = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert set(data["engines"]) == {"optimal", "greedy"}
    assert data["engines"]["optimal"]["coverage"] >= data["engines"]["greedy"]["coverage"]
    assert (
        "## KPIs" in report
        and "![coverage by service type per engine](coverage_by_service.png)" in report
    )
    assert "<table>" in html and 'src="map_optimal.png"' in html
    # Day by day, Chinese first: requests, and per engine fully staffed, fill rate, travel.
    assert "### 按日结果 / By day" in report
    assert "| 日期 day | 需求 requests | optimal: 全员到位 fully staffed |" in report
    for day, k in data["engines"]["optimal"]["by_day"].items():
        assert f"| {day} | {k['requests']} | {k['fully_staffed']} |" in report
    assert "Shortage diagnosis" in report and data["shortages"] and data["remedies"]
    assert data["engines"]["optimal"]["share_by_affiliation"] == {
        "university": {"North homes": 1.0}
    }
    # No personal data: no volunteer id anywhere in what planners get.
    for text in (report, html, json.dumps(data), captured.out):
        assert "v-0" not in text and "recruit-" not in text


def test_sweep_over_two_values_gives_two_rows(
    tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    args = ["scenario", "sweep", str(tiny_path), "--set", "pools.helpers.max_travel_km=2,4"]
    assert main([*args, "--time-limit", "2", "-q", "--out", str(out)]) == 0
    with (out / "sweep.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["pools.helpers.max_travel_km"] for r in rows] == ["2", "4"]
    assert [r["engine"] for r in rows] == ["optimal", "optimal"]
    # 4 km reaches the east visits that 2 km does not.
    assert int(rows[1]["coverage"]) > int(rows[0]["coverage"])
    assert len(json.loads((out / "sweep.json").read_text(encoding="utf-8"))["rows"]) == 2
    assert (out / "sweep.png").read_bytes().startswith(PNG)
    assert "| pools.helpers.max_travel_km |" in (out / "sweep.md").read_text(encoding="utf-8")
    assert "slot fill rate" in capsys.readouterr().out


def test_sweep_rejects_an_invalid_variant_before_solving(
    tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["scenario", "sweep", str(tiny_path), "--set", "pools.helpers.max_travel_km=2,-1"]
    assert main([*args, "-q", "--out", str(tmp_path / "s")]) == 2
    assert "pools.helpers.max_travel_km" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_variants_product_and_zip() -> None:
    settings: list[tuple[str, list[object]]] = [("a", [1, 2]), ("b", ["x", "y"])]
    assert variants(settings) == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]
    assert variants(settings, zipped=True) == [(1, "x"), (2, "y")]
    more: list[tuple[str, list[object]]] = [("a", [1, 2]), ("b", [9])]
    assert variants(more, zipped=True) == [(1, 9), (2, 9)]
    with pytest.raises(ValueError, match="same number of values"):
        variants([("a", [1, 2]), ("b", [3, 4, 5])], zipped=True)


def test_progress_bar_off_a_terminal_writes_a_line_per_step() -> None:
    stream = io.StringIO()
    with ProgressBar(2, stream=stream) as bar:
        bar.step("generating")
        bar.solver(Progress(phase="x", fraction=0.5))
        bar.step("solving")
    assert stream.getvalue() == "[1/2] generating\n[2/2] solving\n"
    quiet = io.StringIO()
    with ProgressBar(2, enabled=False, stream=quiet) as bar:
        bar.step("generating")
    assert quiet.getvalue() == ""
