"""Statistics of a city week (FORMAT.md instance): what the `mixed-city` family is built from.

The independent generator's sample week (`../shared/data/samples/city-2000-300.json`) is read
where it lies and summarised here; the family's scenario file (scenarios/catalog/mixed-city.toml)
takes its distributions from this summary, never from the file itself, and the tests compare
the same statistics of generated weeks with the sample's. The numbers describe the data only
(mix of services, headcounts, skills, languages, genders, caps, availability, geography); the
plans and their optimum play no part.

    python -m benchmarks.sample_stats                      # the sample week
    python -m benchmarks.sample_stats week.json --json     # any instance, as JSON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .common import REPO_ROOT

__all__ = ["SAMPLE", "shares", "statistics"]

# The shared data beside the project (VOLMATCH_SHARED_DATA overrides, e.g. from a worktree).
SHARED_DATA = Path(
    os.environ.get("VOLMATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
).resolve()
SAMPLE = SHARED_DATA / "samples" / "city-2000-300.json"
_KM_PER_DEGREE = 6371.009 * math.pi / 180.0
_CELL_KM = 2.0
_WEEKEND = (5, 6)


def shares(values: Iterable[Any]) -> dict[str, float]:
    """Each value's share, as text keys sorted by value, rounded to 3 places."""
    counts = Counter(values)
    total = sum(counts.values()) or 1
    return {str(k): round(c / total, 3) for k, c in sorted(counts.items(), key=lambda kv: kv[0])}


def _hours(interval: Mapping[str, str]) -> float:
    start, end = datetime.fromisoformat(interval["start"]), datetime.fromisoformat(interval["end"])
    return (end - start).total_seconds() / 3600


def _clustering(lat: np.ndarray, lon: np.ndarray) -> float:
    """Share of points in the busiest tenth of the occupied 2 km cells (0.1 when even)."""
    y = np.floor((lat - lat.min()) * _KM_PER_DEGREE / _CELL_KM)
    x = np.floor((lon - lon.min()) * _KM_PER_DEGREE * np.cos(np.radians(lat.mean())) / _CELL_KM)
    _, counts = np.unique(np.stack([y, x], axis=1), axis=0, return_counts=True)
    top = np.sort(counts)[::-1][: max(1, len(counts) // 10)]
    return round(float(top.sum() / counts.sum()), 3)


def _geography(points: list[Mapping[str, float]]) -> dict[str, Any]:
    lat = np.array([p["lat"] for p in points])
    lon = np.array([p["lon"] for p in points])
    return {
        "centre": [round(float(lat.mean()), 4), round(float(lon.mean()), 4)],
        "extent km (north-south, east-west)": [
            round(float(np.ptp(lat)) * _KM_PER_DEGREE, 1),
            round(float(np.ptp(lon)) * _KM_PER_DEGREE * math.cos(math.radians(lat.mean())), 1),
        ],
        "sd km (north-south, east-west)": [
            round(float(lat.std()) * _KM_PER_DEGREE, 1),
            round(float(lon.std()) * _KM_PER_DEGREE * math.cos(math.radians(lat.mean())), 1),
        ],
        "share in the busiest tenth of 2 km cells": _clustering(lat, lon),
    }


def _service(requests: list[Mapping[str, Any]]) -> dict[str, Any]:
    starts = [datetime.fromisoformat(r["start"]) for r in requests]
    days = Counter(s.weekday() for s in starts)
    return {
        "share": len(requests),  # turned into a share by the caller
        "duration h": shares(_hours(r) for r in requests),
        "start times": shares(s.strftime("%H:%M") for s in starts),
        "weekend share": round(sum(days[d] for d in _WEEKEND) / len(requests), 3),
        "busiest day share": round(max(days.values()) / len(requests), 3),
        "volunteers_needed": shares(r.get("volunteers_needed", 1) for r in requests),
        "min_volunteers": shares(r.get("min_volunteers", 1) for r in requests),
        "priority": shares(r.get("priority", 1) for r in requests),
        "required_skills": shares(",".join(r.get("required_skills", [])) for r in requests),
        "gendered share": round(
            sum("gender" in r.get("attributes", {}) for r in requests) / len(requests), 3
        ),
        "dialect share": round(sum(bool(r.get("languages")) for r in requests) / len(requests), 3),
    }


def statistics(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The summary of one instance (JSON-ready)."""
    vols: list[Mapping[str, Any]] = instance["volunteers"]
    reqs: list[Mapping[str, Any]] = instance["requests"]
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in reqs:
        by_type.setdefault(r["service_type"], []).append(r)
    services = {name: _service(rs) for name, rs in sorted(by_type.items())}
    for s in services.values():
        s["share"] = round(s["share"] / len(reqs), 3)
    blocks = [a for v in vols for a in v.get("availability", [])]
    block_days = Counter(datetime.fromisoformat(a["start"]).weekday() for a in blocks)
    weekdays = sum(block_days[d] for d in range(5))
    weekends = sum(block_days[d] for d in _WEEKEND)
    slot_hours = sum(r.get("volunteers_needed", 1) * _hours(r) for r in reqs)
    cap_hours = sum(
        min(v.get("max_hours", math.inf), sum(map(_hours, v["availability"]))) for v in vols
    )
    return {
        "requests": {
            "count": len(reqs),
            "volunteers_needed range": [
                min(r.get("volunteers_needed", 1) for r in reqs),
                max(r.get("volunteers_needed", 1) for r in reqs),
            ],
            "min_volunteers range": [
                min(r.get("min_volunteers", 1) for r in reqs),
                max(r.get("min_volunteers", 1) for r in reqs),
            ],
            "gendered share": round(
                sum("gender" in r.get("attributes", {}) for r in reqs) / len(reqs), 3
            ),
            "dialect share": round(sum(bool(r.get("languages")) for r in reqs) / len(reqs), 3),
            "unskilled share": round(
                sum(not r.get("required_skills") for r in reqs) / len(reqs), 3
            ),
            "mandatory share": round(sum(bool(r.get("mandatory")) for r in reqs) / len(reqs), 3),
            "slot hours per volunteer cap hour": round(slot_hours / max(cap_hours, 1e-9), 3),
            "geography": _geography([r["location"] for r in reqs]),
        },
        "services": services,
        "volunteers": {
            "count": len(vols),
            "max_travel_km": shares(v.get("max_travel_km") for v in vols),
            "max_hours": shares(v.get("max_hours") for v in vols),
            "max_assignments": shares(v.get("max_assignments") for v in vols),
            "max_travel_km x max_hours": shares(
                f"{v.get('max_travel_km')} km, {v.get('max_hours')} h" for v in vols
            ),
            "availability blocks": shares(len(v.get("availability", [])) for v in vols),
            "chance a weekday is offered": round(weekdays / (5 * len(vols)), 3),
            "chance a weekend day is offered": round(weekends / (2 * len(vols)), 3),
            "weekday blocks": shares(
                f"{a['start'][11:16]}-{a['end'][11:16]}"
                for a in blocks
                if datetime.fromisoformat(a["start"]).weekday() < 5
            ),
            "weekend blocks": shares(
                f"{a['start'][11:16]}-{a['end'][11:16]}"
                for a in blocks
                if datetime.fromisoformat(a["start"]).weekday() >= 5
            ),
            "skills": shares(",".join(sorted(v.get("skills", []))) for v in vols),
            "skills by travel radius": {
                str(km): shares(
                    ",".join(sorted(v.get("skills", [])))
                    for v in vols
                    if v.get("max_travel_km") == km
                )
                for km in sorted({v.get("max_travel_km") for v in vols}, key=str)
            },
            "languages": shares(",".join(sorted(v.get("languages", []))) for v in vols),
            "gender": shares(v.get("attributes", {}).get("gender") for v in vols),
            "geography": _geography([v["location"] for v in vols]),
        },
    }


def _markdown(stats: Mapping[str, Any], indent: int = 0) -> list[str]:
    lines = []
    for key, value in stats.items():
        if isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values()):
            lines.append(" " * indent + f"- **{key}**")
            lines.extend(_markdown(value, indent + 2))
        else:
            shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            lines.append(" " * indent + f"- **{key}**: {shown}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Statistics of a city week (FORMAT.md).")
    parser.add_argument("instance", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--json", action="store_true", help="JSON instead of Markdown")
    args = parser.parse_args(argv)
    if not args.instance.is_file():
        print(f"no such file: {args.instance} (set VOLMATCH_SHARED_DATA)", file=sys.stderr)
        return 2
    stats = statistics(json.loads(args.instance.read_text(encoding="utf-8")))
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        print("\n".join(_markdown(stats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
