"""Erasing a volunteer: personal data go, completed hours stay under a pseudonymous id, through
restarts and repair runs; open assignments are declined; a person's data export; the retention
sweep of inactive volunteers (service, solving process and command line)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.db import transaction
from api.models import (
    Assignment,
    AvailabilityWindow,
    GeocodeEntry,
    Volunteer,
    VolunteerSkill,
    utc_now,
)
from api.services import erasure
from api.services.audit import Actor
from api.services.geocoding import normalise
from api.worker import Worker
from tests.api.conftest import Api, assert_error
from tests.api.data import request, volunteer
from tests.api.test_assignments import assignments, published
from tests.api.test_match_runs import setup_week
from tests.api.test_secrets import database_text

RANGE = {"from": "2026-03-01", "to": "2026-03-31"}
PERSONAL: dict[str, Any] = {
    "name": "Qian Erasable",
    "phone": "+86 137 5550 1234",
    "email": "qian.erasable@uni.example",
    "address": "9 Forgotten Road",
    "location": {"lat": 34.261737, "lon": 108.931737},
}
PERSONAL_TEXT = ("Qian Erasable", "+86 137 5550 1234", "qian.erasable", "Forgotten", "34.261737")


def complete(
    api: Api, uni: dict[str, str], center: dict[str, str], a: dict[str, Any], hours: float
) -> None:
    """Confirm (university), check in and complete (center) one assignment."""
    for path, headers, body in (
        ("confirm", uni, None),
        ("check-in", center, None),
        ("complete", center, {"hours_served": hours}),
    ):
        r = api.client.post(f"/v1/assignments/{a['id']}/{path}", json=body, headers=headers)
        assert r.status_code == 200, r.text


def served(api: Api, hours: float = 2.5) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """One volunteer (with the personal data above) who served one request of `hours`."""
    uni, center, vids, _ = setup_week(api, volunteers=1, requests=1)
    api.client.patch(f"/v1/volunteers/{vids[0]}", json=PERSONAL, headers=uni)
    published(api, center)
    (a,) = assignments(api, center)
    complete(api, uni, center, a, hours)
    return uni, center, a


def hours_of(api: Api, headers: dict[str, str]) -> dict[str, Any]:
    r = api.client.get("/v1/reports/hours", params=RANGE, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_deleting_a_volunteer_keeps_their_completed_hours(api: Api) -> None:
    """The data-loss bug: a completed assignment's hours vanished from the hours report when its
    volunteer was deleted."""
    uni, _, a = served(api, 2.5)
    assert hours_of(api, uni)["universities"][0]["hours"] == 2.5
    assert api.client.delete(f"/v1/volunteers/{a['volunteer_id']}", headers=uni).status_code == 204
    after = hours_of(api, uni)
    assert after["universities"][0]["hours"] == 2.5
    (row,) = after["volunteers"]
    assert row["hours"] == 2.5 and row["assignments"] == 1
    assert row["name"] is None and row["external_id"] is None
    assert re.fullmatch(r"anon-[0-9a-f]{16}", row["pseudonym"])
    assert hours_of(api, api.admin)["universities"][0]["hours"] == 2.5
    assert_error(api.client.get(f"/v1/volunteers/{a['volunteer_id']}", headers=uni), 404)


def test_erasure_leaves_no_personal_data_anywhere(api: Api) -> None:
    """Every table, the audit trail included, holds none of the person's data afterwards; the
    pseudonym is not derived from them and stays the same."""
    uni, _, a = served(api)
    before = database_text(api)
    assert all(value in before for value in PERSONAL_TEXT)
    api.client.delete(f"/v1/volunteers/{a['volunteer_id']}", headers=uni)
    after = database_text(api)
    assert [value for value in PERSONAL_TEXT if value in after] == []
    with transaction(api.sessions()) as session:
        row = session.get(Volunteer, a["volunteer_id"])
        assert row is not None and row.erased_at is not None
        assert (row.name, row.phone, row.email, row.address, row.lat, row.lon) == (
            None, None, None, None, 0.0, 0.0
        )  # fmt: skip
        assert row.external_id == row.pseudonym and row.skills == [] and row.availability == []
        pseudonym = row.pseudonym
    assert pseudonym and "S0000" not in pseudonym
    assert hours_of(api, uni)["volunteers"][0]["pseudonym"] == pseudonym
    # the same number registers again as a new person
    again = api.client.post("/v1/volunteers", json=volunteer("S0000"), headers=uni)
    assert again.status_code == 201 and again.json()["id"] != a["volunteer_id"]


def test_erasure_reaches_the_copies_runs_imports_and_the_geocoder_kept(api: Api) -> None:
    """The run's stored instance held the home location, the idempotent import's stored answer
    the student number, the geocoding cache the home address: none of them after erasure."""
    _, uni = api.org("university")
    _, center = api.org("center")
    row = {**volunteer("QIAN-2026-77"), **PERSONAL}
    roster = {**uni, "Idempotency-Key": "roster-1"}
    assert api.client.post("/v1/volunteers/import", json=[row], headers=roster).status_code == 200
    with transaction(api.sessions()) as session:
        session.add(GeocodeEntry(query=normalise(PERSONAL["address"]), lat=34.26, lon=108.93))
    api.client.post("/v1/requests", json=[request()], headers=center)
    published(api, center)
    (a,) = assignments(api, center)
    complete(api, uni, center, a, 1.0)
    before = database_text(api)
    assert "QIAN-2026-77" in before and "34.261737" in before and "forgotten road" in before
    api.client.delete(f"/v1/volunteers/{a['volunteer_id']}", headers=uni)
    after = database_text(api)
    assert [v for v in ("QIAN-2026-77", "34.261737", "forgotten road") if v in after] == []
    replay = api.client.post("/v1/volunteers/import", json=[row], headers=roster)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["volunteers"][0]["external_id"].startswith("anon-")


def test_erasure_declines_open_assignments_and_reopens_their_requests(api: Api) -> None:
    uni, center, vids, rids = setup_week(api, volunteers=1, requests=2)
    published(api, center)
    first, _second = assignments(api, center)
    api.client.post(f"/v1/assignments/{first['id']}/confirm", headers=uni)
    statuses = {
        r["id"]: r["status"] for r in api.client.get("/v1/requests", headers=center).json()["items"]
    }
    assert set(statuses.values()) == {"filled"}
    assert api.client.delete(f"/v1/volunteers/{vids[0]}", headers=uni).status_code == 204
    for a in assignments(api, center):
        assert (a["status"], a["reason"]) == ("declined", erasure.REMOVED_REASON)
        assert a["contact"] is None
    statuses = {
        r["id"]: r["status"] for r in api.client.get("/v1/requests", headers=center).json()["items"]
    }
    assert statuses == {rid: "open" for rid in rids}
    # nothing completed: nothing to keep about them but the declined assignments' record
    assert hours_of(api, uni)["volunteers"] == []


def test_a_volunteer_nobody_assigned_leaves_no_row(api: Api) -> None:
    _, uni = api.org("university")
    vid = api.client.post("/v1/volunteers", json=volunteer("S1"), headers=uni).json()["id"]
    assert api.client.delete(f"/v1/volunteers/{vid}", headers=uni).status_code == 204
    with transaction(api.sessions()) as session:
        assert session.get(Volunteer, vid) is None


def test_hours_survive_a_restart_and_a_repair_run(api: Api) -> None:
    """A request for two volunteers: one served and was erased, the other declined. The repair
    run asks only for the missing slot and leaves the completed assignment alone; the hours
    stay, also through a restart of the service."""
    _, uni = api.org("university")
    _, center = api.org("center")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i}") for i in range(3)], headers=uni
    )
    api.client.post("/v1/requests", json=[request(volunteers_needed=2)], headers=center)
    run = published(api, center)["run"]
    done, other = assignments(api, center)
    complete(api, uni, center, done, 2.0)
    api.client.post(f"/v1/assignments/{other['id']}/decline", json={"reason": "ill"}, headers=uni)
    api.client.delete(f"/v1/volunteers/{done['volunteer_id']}", headers=uni)

    repair = api.client.post(
        f"/v1/match-runs/{run['id']}/repair", json={"time_limit_s": 2}, headers=center
    )
    assert api.solve_queued() == 1
    repaired = api.client.get(f"/v1/match-runs/{repair.json()['id']}", headers=center).json()
    assert repaired["status"] == "succeeded", repaired
    plan = api.client.get(f"/v1/match-runs/{repaired['id']}/plan", headers=center).json()
    assert len(plan["assignments"]) == 1 and plan["unfilled"] == []
    assert plan["assignments"][0]["volunteer_id"] not in (
        done["volunteer_id"],
        other["volunteer_id"],
    )
    result = api.client.post(f"/v1/match-runs/{repaired['id']}/publish", headers=center)
    assert result.status_code == 200, result.text
    assert (result.json()["created"], result.json()["cancelled"]) == (1, 0)
    kept = api.client.get(f"/v1/assignments/{done['id']}", headers=center).json()
    assert (kept["status"], kept["hours_served"]) == ("completed", 2.0)
    assert hours_of(api, uni)["universities"][0]["hours"] == 2.0

    with TestClient(create_app(api.settings)) as restarted:
        r = restarted.get("/v1/reports/hours", params=RANGE, headers=uni)
        assert r.json()["universities"][0]["hours"] == 2.0


def test_a_persons_data_export_holds_everything_stored_about_them(api: Api) -> None:
    uni, center, a = served(api, 3.0)
    _, other_uni = api.org("university")
    r = api.client.get(f"/v1/volunteers/{a['volunteer_id']}/export", headers=uni)
    assert r.status_code == 200, r.text
    export = r.json()
    assert export["volunteer"]["personal"]["name"] == PERSONAL["name"]
    assert export["volunteer"]["personal"]["email"] == PERSONAL["email"]
    assert export["volunteer"]["skills"] == ["smartphone_teaching"]
    assert [x["status"] for x in export["assignments"]] == ["completed"]
    assert [e["hours"] for e in export["hour_entries"]] == [3.0]
    actions = [(e["entity_type"], e["action"]) for e in export["audit"]]
    assert ("volunteer", "created") in actions and ("volunteer", "updated") in actions
    assert [x for x in actions if x[0] == "assignment"] == [
        ("assignment", "proposed"), ("assignment", "confirmed"),
        ("assignment", "checked_in"), ("assignment", "completed"),
    ]  # fmt: skip
    assert export["organization"]["kind"] == "university"
    assert_error(
        api.client.get(f"/v1/volunteers/{a['volunteer_id']}/export", headers=other_uni), 404
    )
    assert_error(api.client.get(f"/v1/volunteers/{a['volunteer_id']}/export", headers=center), 403)


def _age(api: Api, volunteer_id: int, days: int) -> None:
    """Make a volunteer's record and assignments `days` old."""
    then = utc_now() - timedelta(days=days)
    with transaction(api.sessions()) as session:
        session.execute(
            update(Volunteer).where(Volunteer.id == volunteer_id).values(updated_at=then)
        )
        session.execute(
            update(Assignment)
            .where(Assignment.volunteer_id == volunteer_id)
            .values(updated_at=then)
        )


def test_the_retention_sweep_erases_only_volunteers_inactive_that_long(api: Api) -> None:
    """Inactive: record untouched, no assignment open, changed or ending within the period. The
    request of the served volunteer lies in 2026-03: `now` is set a year later."""
    uni, _center, a = served(api)
    fresh = api.client.post("/v1/volunteers", json=volunteer("S9"), headers=uni).json()["id"]
    _age(api, a["volunteer_id"], 400)
    now = utc_now() + timedelta(days=400)
    with transaction(api.sessions()) as session:
        assert erasure.purge_inactive(session, api.settings, 365, now=utc_now()) == []  # too recent
    with transaction(api.sessions()) as session:
        erased = erasure.purge_inactive(session, api.settings, 365, now=now)
    # the fresh volunteer was created today: a year from now they are inactive too
    assert erased == [a["volunteer_id"], fresh]
    with transaction(api.sessions()) as session:
        assert session.get(Volunteer, fresh) is None  # no assignment: no row
    assert hours_of(api, uni)["universities"][0]["hours"] == 2.5
    events = api.client.get("/v1/audit", params={"action": "erased"}, headers=uni).json()["items"]
    assert {(e["actor"]["kind"], e["actor"]["id"]) for e in events} == {("system", "retention")}


def test_an_open_assignment_keeps_a_volunteer_active(api: Api) -> None:
    _uni, center, vids, _ = setup_week(api, volunteers=1, requests=1)
    published(api, center)
    _age(api, vids[0], 400)
    with transaction(api.sessions()) as session:
        later = utc_now() + timedelta(days=400)
        assert erasure.purge_inactive(session, api.settings, 30, now=later) == []


def test_the_solving_process_sweeps_when_retention_is_set_and_never_when_off(api: Api) -> None:
    uni, _, _, _ = setup_week(api, volunteers=2, requests=0)
    vids = [v["id"] for v in api.client.get("/v1/volunteers", headers=uni).json()["items"]]
    _age(api, vids[0], 40)
    off = Worker(api.settings, api.sessions(), name="off")
    assert api.settings.personal_data_retention_days is None
    assert off.sweep_when_due() == []
    on = Worker(
        api.settings.model_copy(update={"personal_data_retention_days": 30}),
        api.sessions(),
        name="on",
    )
    assert on.run_until_idle() == 0  # no run to solve; the sweep ran in the step
    assert [v["id"] for v in api.client.get("/v1/volunteers", headers=uni).json()["items"]] == vids[
        1:
    ]
    assert on.sweep_when_due() == []  # not due again before `retention_sweep_s`


def test_the_command_line_purges_inactive_volunteers(
    api: Api, monkeypatch: Any, capsys: Any
) -> None:
    from matcher.cli import main

    uni, _, vids, _ = setup_week(api, volunteers=2, requests=0)
    _age(api, vids[1], 100)
    monkeypatch.setenv("VOLMATCH_DATABASE_URL", api.settings.database_url)
    assert main(["admin", "purge-inactive"]) == 1  # no period given, none set
    assert "VOLMATCH_PERSONAL_DATA_RETENTION_DAYS" in capsys.readouterr().err
    monkeypatch.setenv("VOLMATCH_PERSONAL_DATA_RETENTION_DAYS", "90")
    assert main(["admin", "purge-inactive"]) == 0
    assert "1 volunteer(s)" in capsys.readouterr().out
    assert main(["admin", "purge-inactive", "--days", "200"]) == 0
    assert "0 volunteer(s)" in capsys.readouterr().out
    remaining = api.client.get("/v1/volunteers", headers=uni).json()["items"]
    assert [v["id"] for v in remaining] == vids[:1]


def test_erasing_by_service_needs_no_caller(api: Api) -> None:
    """The sweep's path: erase() with a system actor, as the retention sweep calls it."""
    _uni, _, a = served(api)
    with transaction(api.sessions()) as session:
        row = session.get(Volunteer, a["volunteer_id"])
        assert row is not None
        pseudonym = erasure.erase(session, api.settings, row, Actor.system("retention"))
    assert pseudonym is not None
    with transaction(api.sessions()) as session:
        assert (
            session.scalars(
                select(VolunteerSkill).where(VolunteerSkill.volunteer_id == a["volunteer_id"])
            ).all()
            == []
        )
        assert (
            session.scalars(
                select(AvailabilityWindow).where(
                    AvailabilityWindow.volunteer_id == a["volunteer_id"]
                )
            ).all()
            == []
        )
