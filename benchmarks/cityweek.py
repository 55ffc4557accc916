"""A seeded, realistic city week of volunteer supply and demand (FORMAT.md instance).

Volunteers cluster round universities (students), residential communities (residents and
certified caregivers) and the business district (lawyers); requests cluster round communities,
legal service points and exam sites. Service types mirror a city volunteer service center's
week: smartphone tutoring, door-to-door bathing help (two certified, same-gender helpers),
legal-aid duty (mandatory shifts for lawyers), garbage-sorting promotion, exam-day water
delivery and visits to elderly people living alone (some in dialect).

Deterministic: the same (volunteers, requests, seed) always gives byte-identical JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

__all__ = ["SERVICE_TYPES", "city_week"]

CST = timezone(timedelta(hours=8))
WEEK_START = datetime(2026, 3, 2, tzinfo=CST)  # a Monday
CENTER = (34.2600, 108.9400)  # Xi'an
CITY_RADIUS_KM = 15.0

# name: (share of requests, hours, (need lo, need hi), min, priority, skills, special)
SERVICE_TYPES: dict[str, dict[str, Any]] = {
    "smartphone_tutoring": {"share": 0.30, "hours": 2.0, "need": (2, 4), "min": 1, "priority": 2, "skills": ["smartphone_teaching"]},
    "bathing_assistance": {"share": 0.08, "hours": 1.5, "need": (2, 2), "min": 2, "priority": 4, "skills": ["bathing_certified"], "same_gender": True},
    "legal_aid_duty": {"share": 0.05, "hours": 4.0, "need": (1, 1), "min": 1, "priority": 3, "skills": ["legal"], "mandatory_share": 0.5},
    "garbage_sorting_promotion": {"share": 0.25, "hours": 3.0, "need": (3, 6), "min": 2, "priority": 1, "skills": []},
    "exam_day_water": {"share": 0.12, "hours": 4.0, "need": (4, 8), "min": 2, "priority": 2, "skills": []},
    "elderly_visit": {"share": 0.20, "hours": 1.5, "need": (1, 2), "min": 1, "priority": 3, "skills": [], "dialect_share": 0.3},
}  # fmt: skip


def _offset(rng: np.random.Generator, n: int, spread_km: float) -> np.ndarray:
    """n random (dlat, dlon) offsets, normally spread by `spread_km`."""
    km = rng.normal(0.0, spread_km, size=(n, 2))
    dlat = km[:, 0] / 111.0
    dlon = km[:, 1] / (111.0 * math.cos(math.radians(CENTER[0])))
    return np.column_stack([dlat, dlon])


def _sites(rng: np.random.Generator, n: int, radius_km: float) -> np.ndarray:
    sites: np.ndarray = np.asarray(CENTER) + _offset(rng, n, radius_km / 2)
    return sites


def _iso(t: datetime) -> str:
    return t.isoformat()


def city_week(volunteers: int, requests: int, seed: int = 0) -> dict[str, Any]:
    """A city week with the given numbers of volunteers and requests."""
    rng = np.random.default_rng(seed)
    universities = _sites(rng, max(20, volunteers // 1000), CITY_RADIUS_KM * 1.2)
    communities = _sites(rng, max(30, requests // 10), CITY_RADIUS_KM)
    business = _sites(rng, 3, 4.0)
    exam_sites = _sites(rng, max(5, requests // 60), CITY_RADIUS_KM)

    kinds = rng.choice(
        ["student", "resident", "caregiver", "lawyer"], size=volunteers, p=[0.66, 0.24, 0.07, 0.03]
    )
    vols: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds.tolist()):
        if kind == "student":
            home = universities[rng.integers(len(universities))] + _offset(rng, 1, 0.8)[0]
        elif kind == "lawyer":
            home = business[rng.integers(len(business))] + _offset(rng, 1, 2.0)[0]
        else:
            home = communities[rng.integers(len(communities))] + _offset(rng, 1, 0.7)[0]
        skills: list[str] = []
        languages = ["zh"]
        if kind == "student":
            if rng.random() < 0.6:
                skills.append("smartphone_teaching")
            if rng.random() < 0.3:
                languages.append("en")
            if rng.random() < 0.05:
                languages.append("shaanxi")
        else:
            if rng.random() < 0.5:
                languages.append("shaanxi")
            if kind == "resident" and rng.random() < 0.25:
                skills.append("smartphone_teaching")
        if kind == "caregiver":
            skills.append("bathing_certified")
        if kind == "lawyer":
            skills.append("legal")
        if rng.random() < 0.15:
            skills.append("first_aid")
        availability = _availability(rng, kind)
        hours = {"student": (4, 12), "resident": (6, 16), "caregiver": (6, 20), "lawyer": (4, 8)}[
            kind
        ]
        travel = {"student": (4, 12), "resident": (2, 6), "caregiver": (3, 8), "lawyer": (8, 20)}[
            kind
        ]
        prefs = {}
        for service in rng.choice(
            list(SERVICE_TYPES), size=int(rng.integers(0, 3)), replace=False
        ).tolist():
            prefs[service] = round(float(rng.uniform(0.2, 1.0)), 2)
        vols.append(
            {
                "id": f"v-{i + 1:06d}",
                "location": {"lat": round(float(home[0]), 5), "lon": round(float(home[1]), 5)},
                "skills": skills,
                "languages": languages,
                "attributes": {"gender": "f" if rng.random() < 0.55 else "m"},
                "availability": availability,
                "max_hours": int(rng.integers(*hours)),
                "max_travel_km": int(rng.integers(*travel)),
                "max_assignments": int(rng.integers(2, 6)),
                "preferences": prefs,
            }
        )

    names = list(SERVICE_TYPES)
    shares = np.array([SERVICE_TYPES[n]["share"] for n in names])
    service_of = rng.choice(len(names), size=requests, p=shares / shares.sum())
    reqs: list[dict[str, Any]] = []
    for j, s in enumerate(service_of.tolist()):
        name = names[s]
        spec = SERVICE_TYPES[name]
        if name == "legal_aid_duty":
            where = business[rng.integers(len(business))] + _offset(rng, 1, 0.3)[0]
            day = int(rng.integers(0, 5))
            start_hour = 9.0 if rng.random() < 0.5 else 13.5
        elif name == "exam_day_water":
            where = exam_sites[rng.integers(len(exam_sites))] + _offset(rng, 1, 0.1)[0]
            day = int(rng.integers(5, 7))
            start_hour = 7.5 if rng.random() < 0.5 else 13.0
        else:
            where = communities[rng.integers(len(communities))] + _offset(rng, 1, 0.5)[0]
            day = int(rng.integers(0, 7))
            start_hour = float(
                rng.choice([8.5, 9.0, 9.5, 10.0, 14.0, 14.5, 15.0, 16.0, 18.5, 19.0])
            )
        start = WEEK_START + timedelta(days=day, hours=start_hour)
        end = start + timedelta(hours=spec["hours"])
        need = int(rng.integers(spec["need"][0], spec["need"][1] + 1))
        request: dict[str, Any] = {
            "id": f"r-{j + 1:05d}",
            "service_type": name,
            "location": {"lat": round(float(where[0]), 5), "lon": round(float(where[1]), 5)},
            "start": _iso(start),
            "end": _iso(end),
            "required_skills": list(spec["skills"]),
            "volunteers_needed": need,
            "min_volunteers": min(spec["min"], need),
            "priority": spec["priority"],
        }
        if spec.get("same_gender"):
            request["attributes"] = {"gender": "f" if rng.random() < 0.6 else "m"}
        if rng.random() < spec.get("dialect_share", 0.0):
            request["languages"] = ["shaanxi"]
        if rng.random() < spec.get("mandatory_share", 0.0):
            request["mandatory"] = True
        reqs.append(request)
    return {
        "volunteers": vols,
        "requests": reqs,
        "options": {"travel_speed_kmh": 20, "seed": seed},
    }


def _availability(rng: np.random.Generator, kind: str) -> list[dict[str, str]]:
    """Half-day blocks over the week, by kind of volunteer."""
    blocks: list[tuple[int, float, float]] = []
    if kind == "student":
        for day in rng.choice(7, size=int(rng.integers(2, 5)), replace=False).tolist():
            if day >= 5:
                blocks.append((day, 7.0, 18.0))
            else:
                blocks.append((day, 13.5, 21.0) if rng.random() < 0.7 else (day, 8.0, 12.0))
    elif kind == "lawyer":
        for day in rng.choice(5, size=int(rng.integers(1, 4)), replace=False).tolist():
            blocks.append((day, 8.5, 13.0) if rng.random() < 0.5 else (day, 13.0, 18.0))
    else:
        for day in rng.choice(7, size=int(rng.integers(3, 6)), replace=False).tolist():
            blocks.append((day, 8.0, 12.0) if rng.random() < 0.6 else (day, 13.5, 17.5))
            if rng.random() < 0.3:
                blocks.append((day, 18.0, 21.0))
    out = []
    for day, lo, hi in sorted(blocks):
        start = WEEK_START + timedelta(days=day, hours=lo)
        end = WEEK_START + timedelta(days=day, hours=hi)
        out.append({"start": _iso(start), "end": _iso(end)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a seeded city-week instance (FORMAT.md) as JSON."
    )
    parser.add_argument("--volunteers", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="file to write (default stdout)")
    args = parser.parse_args(argv)
    text = json.dumps(city_week(args.volunteers, args.requests, args.seed), separators=(",", ":"))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
