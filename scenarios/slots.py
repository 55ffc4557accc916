"""Fixed mid-window slots: the same week with every flexible visit at a fixed time.

A flexible visit (FORMAT v1.1) gives a window (`earliest_start`, `latest_end`) and a `duration`
in minutes; the matcher chooses its start. `mid_window_slots(instance)` turns each one into a
fixed request (FORMAT v1 `start`, `end`) in the middle of its window: start = window middle
minus half the duration, rounded down to the minute, end = start + duration. That is the hour a
center would guess without flexible planning; everything else (ids, places, teams, volunteers,
options) stays as it was, so the two weeks compare like with like (`elderly-bathing`'s variants,
`benchmarks/visits.py`). Fixed requests are left as they are.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

__all__ = ["mid_window_slot", "mid_window_slots"]

_FLEXIBLE = ("earliest_start", "latest_end", "duration")


def mid_window_slot(earliest_start: str, latest_end: str, duration_min: float) -> tuple[str, str]:
    """The fixed (start, end) in the middle of a window, as RFC 3339 text with the window's
    offset; the start rounded down to the minute (it stays inside the window)."""
    first = datetime.fromisoformat(earliest_start)
    last = datetime.fromisoformat(latest_end)
    duration = timedelta(minutes=duration_min)
    slack_min = (last - first - duration).total_seconds() / 60.0
    if slack_min < 0:
        raise ValueError(
            f"duration ({duration_min:g} min) is longer than the window {earliest_start} to "
            f"{latest_end}"
        )
    start = first + timedelta(minutes=int(slack_min // 2))
    return start.isoformat(), (start + duration).isoformat()


def mid_window_slots(instance: dict[str, Any]) -> dict[str, Any]:
    """A copy of the instance (JSON-ready data) with each flexible visit fixed in the middle of
    its window; the key order of each request is kept (`start`, `end` where the window was)."""
    out = copy.deepcopy(instance)
    fixed: list[dict[str, Any]] = []
    for record in out.get("requests", []):
        if "duration" not in record:
            fixed.append(record)
            continue
        start, end = mid_window_slot(
            record["earliest_start"], record["latest_end"], record["duration"]
        )
        converted: dict[str, Any] = {}
        for key, value in record.items():
            if key == "earliest_start":
                converted["start"], converted["end"] = start, end
            elif key not in _FLEXIBLE:
                converted[key] = value
        fixed.append(converted)
    out["requests"] = fixed
    return out
