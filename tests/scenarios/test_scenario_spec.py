"""Scenario files: validation errors name file, key and problem; --set paths and values."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.cli import main
from scenarios.generate import apportion, counts
from scenarios.spec import (
    ScenarioError,
    load_scenario,
    parse_override,
    parse_values,
    set_path,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [(p.file, p.key, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ("skills = { care = 1.0 }", "skils = { care = 1.0 }", "pools.helpers.skils", "unknown key"),
        ("max_hours = 6", 'max_hours = "lots"', "pools.helpers.max_hours", "number or [low, high]"),
        (
            "max_travel_km = 2",
            "max_travel_km = [5, 2]",
            "pools.helpers.max_travel_km",
            "above high",
        ),
        ('home = "homes"', 'home = "dorms"', "pools.helpers.home", "unknown site group 'dorms'"),
        (
            'start_times = ["15:00"]',
            'start_times = ["25:00"]',
            "services.east_visit.start_times.0",
            "clock time",
        ),
        ("headcount = 2\n", "headcount = 0\n", "services.south_visit.headcount", "at least 1"),
        (
            "min_volunteers = 2",
            "min_volunteers = 3",
            "services.south_visit.min_volunteers",
            "exceeds",
        ),
        ("days = 2\n", "days = 0\n", "horizon.days", "greater than or equal to 1"),
        ("[[34.20, 108.94]]", "[[108.94, 34.20]]", "sites.south.points.0", "not a [lat, lon]"),
    ],
)
def test_invalid_file_names_file_key_and_problem(
    tmp_path: Path, tiny_path: Path, old: str, new: str, key: str, words: str
) -> None:
    text = tiny_path.read_text(encoding="utf-8")
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    problems = _problems(path)
    assert any(f == str(path) and k == key and words in m for f, k, m in problems), problems


def test_every_problem_is_reported_at_once(tmp_path: Path, tiny_path: Path) -> None:
    text = tiny_path.read_text(encoding="utf-8")
    text = text.replace("count = 6", "count = -1").replace("priority = 3", "priority = 0")
    keys = {k for _, k, _ in _problems(_write(tmp_path, text))}
    assert keys == {"pools.helpers.count", "services.south_visit.priority"}


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "title = \n")
    [(file, key, message)] = _problems(path)
    assert file == str(path) and key == "(syntax)" and "line 1" in message


def test_cli_reports_the_documented_error(
    tmp_path: Path, tiny_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tiny_path.read_text(encoding="utf-8").replace("count = 6", "count = -1")
    path = _write(tmp_path, text)
    assert main(["scenario", "generate", str(path), "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "volmatch scenario generate: invalid scenario:" in err
    assert f"{path}: pools.helpers.count: Input should be greater than or equal to 0" in err
    assert not (tmp_path / "x.json").exists()


def test_unknown_catalog_name_lists_the_catalog() -> None:
    with pytest.raises(ScenarioError, match=r"no such scenario in the catalog .*city-week"):
        load_scenario("no-such-scenario")


def test_set_overrides_any_parameter_by_dotted_path(tiny_path: Path) -> None:
    loaded = load_scenario(
        tiny_path,
        [
            ("pools.helpers.max_travel_km", 4),
            ("area.districts.1.radius_km", 2.5),
            ("options.travel_speed_kmh", 30),
            ("horizon.start", parse_values("2026-03-09")[0]),
        ],
    )
    spec = loaded.spec
    assert spec.pools["helpers"].max_travel_km == (4, 4)
    assert spec.area.districts[1].radius_km == 2.5
    assert spec.options.travel_speed_kmh == 30
    assert spec.horizon.start.isoformat() == "2026-03-09"


def test_bad_override_is_an_error_naming_the_set(tiny_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tiny_path, [("pools.helpers.max_travl_km", 4)])
    [problem] = caught.value.problems
    assert problem.key == "pools.helpers.max_travl_km" and problem.message == "unknown key"
    assert "--set pools.helpers.max_travl_km=4" in problem.file
    with pytest.raises(ScenarioError, match="index out of range"):
        load_scenario(tiny_path, [("area.districts.5.radius_km", 1)])
    with pytest.raises(ScenarioError, match="cannot set inside a str"):
        load_scenario(tiny_path, [("title.x", 1)])


def test_set_path_and_values() -> None:
    data: dict[str, object] = {"a": [{"b": 1}]}
    set_path(data, "a.0.b", 2)
    set_path(data, "c.d", "x")
    assert data == {"a": [{"b": 2}], "c": {"d": "x"}}
    assert parse_values("10,5") == [10, 5]
    assert parse_values("[0.3, 1.0],[0.5,1.5]") == [[0.3, 1.0], [0.5, 1.5]]
    assert parse_values('1.5,true,"a,b",word') == [1.5, True, "a,b", "word"]
    assert parse_override("pools.x.count=1,2", many=True) == ("pools.x.count", [1, 2])
    assert parse_override("pools.x.max_hours=[4, 8]", many=False) == ("pools.x.max_hours", [[4, 8]])
    with pytest.raises(ValueError, match="PATH=VALUE"):
        parse_override("novalue", many=True)


def test_apportion_is_exact_and_respects_floors() -> None:
    assert apportion(10, [1, 1, 1], [0, 0, 0]) == [4, 3, 3]
    assert apportion(100, [66, 24, 7, 3], [0, 0, 0, 0]) == [66, 24, 7, 3]
    assert sum(apportion(1234, [66, 24, 7, 3], [0, 0, 0, 0])) == 1234
    assert apportion(10, [9, 1], [0, 5]) == [5, 5]  # the floor wins, the rest follows weights
    assert apportion(3, [1, 1], [2, 2]) == [2, 2]  # floors above the total


def test_scale_multiplies_counts(tiny_path: Path) -> None:
    spec = load_scenario("city-week").spec
    full, tenth = counts(spec, scale=1.0), counts(spec, scale=0.1)
    assert full.volunteers == 30000 and tenth.volunteers == 3000
    assert tenth.requests == 300
    assert tenth.sites["universities"] == 22  # universities do not scale
    assert tenth.sites["communities"] == 30  # communities do
