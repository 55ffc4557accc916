"""The documentation stays true to the code: the committed JSON Schemas are the ones the models
generate, and the README names the commands that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from matcher.cli import build_parser
from matcher.model import Instance, Plan

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("name", "model"), [("instance", Instance), ("plan", Plan)])
def test_committed_schema_matches_models(name: str, model: type[Instance] | type[Plan]) -> None:
    committed = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text())
    assert committed == model.model_json_schema(), (
        f"docs/schema/{name}.schema.json is stale: run `volmatch schema {name} > "
        f"docs/schema/{name}.schema.json`"
    )


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    subparsers = build_parser()._subparsers
    assert subparsers is not None
    commands = subparsers._group_actions[0].choices
    assert commands is not None
    for command in ("solve", "check", "schema"):
        assert command in commands
        assert f"volmatch {command}" in readme


def test_console_doc_shows_every_screenshot_the_browser_tests_take() -> None:
    doc = (ROOT / "docs" / "console.md").read_text()
    shown = set(re.findall(r"\]\((console/[^)]+\.png)\)", doc))
    taken = {f"console/{p.name}" for p in (ROOT / "docs" / "console").glob("*.png")}
    assert shown == taken
    stories = "".join(
        p.read_text() for p in (ROOT / "tests" / "console" / "browser").glob("test_*.py")
    )
    assert {f"console/{name}.png" for name in re.findall(r'shot\([a-z]+, "([a-z-]+)"', stories)} == taken
