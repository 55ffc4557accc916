"""Fixtures of the matcher tests (builders live in `matcher_testkit`)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from matcher_testkit import ENGINE_NAMES, FORMAT_EXAMPLE

from matcher.engines import ENGINES


@pytest.fixture(params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each public engine in turn."""
    name: str = request.param
    return name


@pytest.fixture
def format_example() -> dict[str, Any]:
    """The instance example of FORMAT.md, verbatim (tests/matcher/data/format_example.json)."""
    data: dict[str, Any] = json.loads(FORMAT_EXAMPLE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def capped_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compile caps each request's candidates as it does on cities past its pair budget, so
    that small instances exercise the engines' allowance for candidates left out."""
    import importlib

    monkeypatch.setattr(importlib.import_module("matcher.compile"), "_PAIR_BUDGET", 0)


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Compilation and every engine replaced by spies that record being called: a test of bad
    input asserts the list stays empty."""
    solve_module = importlib.import_module("matcher.solve")
    calls: list[str] = []

    def spy(name: str) -> Callable[..., Any]:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} ran on invalid input")

        return called

    monkeypatch.setattr(solve_module, "compile_instance", spy("compile_instance"))
    for name in list(ENGINES):
        monkeypatch.setitem(ENGINES, name, spy(name))
    yield calls
