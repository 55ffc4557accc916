"""The issue's end-to-end story: a university imports 500 volunteers from CSV, a center submits
80 requests, a match run's plan keeps every hard rule (checked with the engine's checker), the
plan is published, two volunteers decline, and a repair run changes only what it must. The logs
of the whole story (API and solving, every logger, DEBUG and up) hold no key, link token, name,
phone, email, home address or home location."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from api.db import transaction
from api.repositories import match_runs as run_repo
from matcher import check_plan, parse_instance
from matcher.model import Plan
from scenarios.cityweek import city_week
from tests.api.conftest import Api
from tests.api.data import WINDOW

COLUMNS = [
    "external_id",
    "name",
    "phone",
    "email",
    "address",
    "lat",
    "lon",
    "skills",
    "languages",
    "attributes",
    "availability",
    "max_hours",
    "max_travel_km",
    "max_assignments",
    "preferences",
]


def roster_csv(volunteers: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i, v in enumerate(volunteers):
        writer.writerow(
            {
                "external_id": f"2026{i:05d}",
                "name": f"Student {i}",
                "phone": f"+86 100 {i:08d}",
                "email": f"student.{i}@nwu.example",
                "address": f"Dorm {i}, 1 Taibai Road",
                "lat": v["location"]["lat"],
                "lon": v["location"]["lon"],
                "skills": ";".join(v["skills"]),
                "languages": ";".join(v["languages"]),
                "attributes": ";".join(f"{k}={x}" for k, x in v.get("attributes", {}).items()),
                "availability": ";".join(f"{a['start']}/{a['end']}" for a in v["availability"]),
                "max_hours": v["max_hours"],
                "max_travel_km": v["max_travel_km"],
                "max_assignments": v["max_assignments"],
                "preferences": ";".join(f"{k}={x}" for k, x in v.get("preferences", {}).items()),
            }
        )
    return out.getvalue()


def checked(api: Api, run_id: int) -> Plan:
    """The run's plan, after checking it against every hard rule of the instance it solved."""
    with transaction(api.sessions()) as session:
        run = run_repo.get_run(session, run_id)
        assert run is not None and run.instance is not None and run.plan is not None
        instance, plan = parse_instance(run.instance), Plan.model_validate(run.plan)
    report = check_plan(instance, plan)
    assert report.ok, report.violations[:5]
    assert report.coverage == plan.objective.coverage
    return plan


def personal_data(volunteers: list[dict[str, Any]]) -> list[str]:
    """Every name, phone, email, home address and home location of the roster, as written."""
    rows = csv.DictReader(io.StringIO(roster_csv(volunteers)))
    return [row[c] for row in rows for c in ("name", "phone", "email", "address", "lat", "lon")]


def test_import_match_publish_decline_repair(api: Api, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    week = city_week(500, 80, seed=3)
    _, uni = api.org("university", "Northwest University")
    _, center = api.org("center", "Yanta station")

    imported = api.client.post(
        "/v1/volunteers/import",
        content=roster_csv(week["volunteers"]).encode(),
        headers={**uni, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text[:2000]
    assert imported.json()["created"] == 500

    rows = [
        {"title": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in week["requests"]
    ]
    submitted = api.client.post(
        "/v1/requests", json=rows, headers={**center, "Idempotency-Key": "week-10"}
    )
    assert submitted.status_code == 201 and submitted.json()["created"] == 80

    run = api.client.post(
        "/v1/match-runs", json={"window": WINDOW, "time_limit_s": 4}, headers=center
    ).json()
    assert api.solve_queued() == 1
    status = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
    assert status["status"] == "succeeded", status
    plan = checked(api, run["id"])
    assert len(plan.assignments) > 100
    served = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    assert len(served["assignments"]) == len(plan.assignments)

    published = api.client.post(f"/v1/match-runs/{run['id']}/publish", headers=center).json()
    assert published["created"] == len(plan.assignments)
    links = published["links"]
    # a few volunteers confirm; two others decline
    for link in links[:10]:
        assert api.client.post(f"/v1/assignment-links/{link['token']}/confirm").status_code == 200
    declined = links[20:22]
    for link in declined:
        r = api.client.post(
            f"/v1/assignment-links/{link['token']}/decline", json={"reason": "exam week"}
        )
        assert r.json()["status"] == "declined"

    repair = api.client.post(
        f"/v1/match-runs/{run['id']}/repair", json={"time_limit_s": 4}, headers=center
    ).json()
    api.solve_queued()
    repaired = api.client.get(f"/v1/match-runs/{repair['id']}", headers=center).json()
    assert repaired["status"] == "succeeded", repaired
    new_plan = checked(api, repair["id"])
    pairs = {(a.volunteer_id, a.request_id) for a in new_plan.assignments}
    for link in links[:10]:
        assert (f"v{link['volunteer_id']}", f"r{link['request_id']}") in pairs  # confirmed: pinned
    for link in declined:
        assert (f"v{link['volunteer_id']}", f"r{link['request_id']}") not in pairs  # never again
    held = len(links) - len(declined)
    changes = repaired["changes"]
    # only what it must: every held assignment is kept; at most the two declined slots are
    # filled anew (with no one else moved to make room)
    assert changes["kept"] == held and changes["removed"] == 0, changes
    assert changes["added"] <= len(declined)
    result = api.client.post(f"/v1/match-runs/{repair['id']}/publish", headers=center).json()
    assert (result["kept"], result["cancelled"], result["created"]) == (held, 0, changes["added"])

    # the service's logs of all this (the test client's own httpx lines are not the service's)
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.name != "httpx"
    )
    assert "POST /v1/volunteers/import 200" in logged
    names = {r.name for r in caplog.records}
    assert "volmatch.access" in names
    assert any(name.startswith("matcher.engines.optimal.") for name in names), names
    keys = [h["Authorization"].split()[1] for h in (uni, center, api.admin)]
    tokens = [link["token"] for link in [*links, *result["links"]]]
    secrets = [*keys, *tokens, *personal_data(week["volunteers"])]
    assert len(secrets) > 3000
    leaked = [s for s in secrets if s in logged]
    assert leaked == [], leaked[:5]
