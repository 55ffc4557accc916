"""The audit trail: every state change appended in its own transaction (who, what, when, before
and after), read by admins whole and by each organization for what concerns it, filtered and
paged, with no personal values in it, and kept when a person's data are erased."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.models import AuditEvent
from tests.api.conftest import Api, assert_error
from tests.api.data import volunteer
from tests.api.test_assignments import assignments, published
from tests.api.test_erasure import PERSONAL, PERSONAL_TEXT, complete
from tests.api.test_match_runs import setup_week


def events(api: Api, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every event the caller may read (following the cursor)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
        r = api.client.get("/v1/audit", params=page_params, headers=headers)
        assert r.status_code == 200, r.text
        found.extend(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


def audit_rows(api: Api) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_every_kind_of_state_change_is_audited_with_its_actor(api: Api) -> None:
    uni, center, vids, rids = setup_week(api, volunteers=3, requests=2)
    uni_id = api.client.get("/v1/organizations/me", headers=uni).json()["id"]
    key = api.client.post(f"/v1/organizations/{uni_id}/keys", json={}, headers=uni).json()
    api.client.delete(f"/v1/organizations/{uni_id}/keys/{key['key']['id']}", headers=uni)
    api.client.put(f"/v1/organizations/{uni_id}/target", json={"hours": 20}, headers=uni)
    api.client.patch(f"/v1/volunteers/{vids[0]}", json=PERSONAL, headers=uni)
    api.client.patch(f"/v1/requests/{rids[1]}", json={"priority": 5}, headers=center)
    result = published(api, center)
    first, second = assignments(api, center)
    complete(api, uni, center, first, 1.0)
    api.client.post(
        f"/v1/assignments/{first['id']}/hours",
        json={"hours_served": 1.5, "reason": "r"},
        headers=center,
    )
    link = next(x for x in result["links"] if x["assignment_id"] == second["id"])
    api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "ill"})
    certificate = api.client.post(
        "/v1/certificates",
        json={"volunteer_id": first["volunteer_id"], "from": "2026-03-01", "to": "2026-03-31"},
        headers=uni,
    ).json()
    api.client.post(
        f"/v1/certificates/{certificate['id']}/revoke", json={"reason": "r"}, headers=uni
    )
    api.client.patch(f"/v1/requests/{rids[1]}", json={"status": "cancelled"}, headers=center)
    api.client.delete(f"/v1/volunteers/{vids[2]}", headers=uni)

    trail = events(api, api.admin)
    seen = {(e["entity_type"], e["action"]) for e in trail}
    assert {
        ("organization", "created"),
        ("organization", "target_set"),
        ("api_key", "issued"),
        ("api_key", "revoked"),
        ("volunteer", "created"),
        ("volunteer", "updated"),
        ("volunteer", "erased"),
        ("request", "created"),
        ("request", "updated"),
        ("request", "filled"),
        ("request", "reopened"),
        ("request", "cancelled"),
        ("match_run", "queued"),
        ("match_run", "started"),
        ("match_run", "succeeded"),
        ("match_run", "published"),
        ("assignment", "proposed"),
        ("assignment", "confirmed"),
        ("assignment", "checked_in"),
        ("assignment", "completed"),
        ("assignment", "hours_corrected"),
        ("assignment", "declined"),
        ("certificate", "issued"),
        ("certificate", "revoked"),
    } <= seen
    by = {(e["entity_type"], e["action"], e["entity_id"]): e for e in trail}
    confirmed = by[("assignment", "confirmed", first["id"])]
    assert (
        confirmed["actor"]["kind"] == "api_key" and confirmed["actor"]["organization_id"] == uni_id
    )
    assert (
        confirmed["before"] == {"status": "proposed"}
        and confirmed["after"]["status"] == "confirmed"
    )
    assert by[("assignment", "declined", second["id"])]["actor"] == {
        "kind": "link", "id": str(second["id"]), "organization_id": None,
    }  # fmt: skip
    run_id = result["run"]["id"]
    assert by[("match_run", "succeeded", run_id)]["actor"]["kind"] == "system"
    assert by[("match_run", "succeeded", run_id)]["actor"]["id"] == "worker"
    assert by[("request", "updated", rids[1])]["before"] == {"priority": 1}
    assert [e["id"] for e in trail] == sorted(e["id"] for e in trail)


@pytest.mark.database_independent
def test_no_personal_value_is_ever_written_to_the_trail(api: Api) -> None:
    _, uni = api.org("university")
    vid = api.client.post(
        "/v1/volunteers", json={**volunteer("S1"), **PERSONAL}, headers=uni
    ).json()["id"]
    api.client.patch(f"/v1/volunteers/{vid}", json={"phone": "+86 137 5550 9999"}, headers=uni)
    created, updated = events(api, uni, entity_type="volunteer")
    assert created["after"]["name"] == "[redacted]" and created["after"]["email"] == "[redacted]"
    assert created["after"]["skills"] == ["smartphone_teaching"]
    assert updated["before"] == {"phone": "[redacted]"} and updated["after"] == {
        "phone": "[redacted]"
    }
    with transaction(api.sessions()) as session:
        stored = str([(e.before, e.after) for e in session.scalars(select(AuditEvent)).all()])
    assert [v for v in (*PERSONAL_TEXT, "5550 9999") if v in stored] == []


def test_each_organization_reads_what_concerns_it(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=1, requests=1)
    other_uni, other_center, _, _ = setup_week(api, volunteers=1, requests=1)
    _, planner = api.org("planner")
    published(api, center)
    (a,) = assignments(api, center)
    api.client.post(f"/v1/assignments/{a['id']}/confirm", headers=uni)
    mine = events(api, center)
    assert ("assignment", "confirmed") in {(e["entity_type"], e["action"]) for e in mine}
    assert {e["entity_type"] for e in mine} <= {
        "organization",
        "api_key",
        "request",
        "match_run",
        "assignment",
    }
    assert events(api, uni, entity_type="assignment")[-1]["action"] == "confirmed"  # as partner
    for outsider in (other_uni, other_center):
        assert events(api, outsider, entity_type="assignment") == []
    assert events(api, planner, entity_type="volunteer") == []
    assert len(events(api, api.admin)) > len(events(api, center))


def test_filters_by_entity_action_and_local_days(api: Api) -> None:
    uni, center, vids, _ = setup_week(api, volunteers=2, requests=1)
    one = events(api, uni, entity_type="volunteer", entity_id=vids[1])
    assert [(e["entity_id"], e["action"]) for e in one] == [(vids[1], "created")]
    created = events(api, center, action="created")
    assert created and all(e["action"] == "created" for e in created)
    at = datetime.fromisoformat(one[0]["at"])
    today = at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the university's day
    assert (
        len(events(api, uni, entity_type="volunteer", **{"from": "2020-01-01", "to": today})) == 2
    )
    assert (
        events(api, uni, entity_type="volunteer", **{"from": "2020-01-01", "to": "2020-01-02"})
        == []
    )
    bad = assert_error(api.client.get("/v1/audit", params={"from": "soon"}, headers=uni), 422)
    assert bad["fields"][0]["loc"] == ["query", "from"]
    wrong = api.client.get(
        "/v1/audit", params={"from": "2026-03-02", "to": "2026-03-01"}, headers=uni
    )
    assert assert_error(wrong, 422)["fields"][0]["loc"] == ["query", "to"]
    assert_error(api.client.get("/v1/audit", params={"entity_type": "unicorn"}, headers=uni), 422)


def test_a_refused_change_writes_no_event(api: Api) -> None:
    """The event is written in the change's transaction: a change that fails leaves none."""
    uni, center, _, _ = setup_week(api, volunteers=1, requests=1)
    before = audit_rows(api)
    bad_roster = [volunteer("S9"), {**volunteer("S10"), "max_hours": -1}]
    assert_error(api.client.post("/v1/volunteers/import", json=bad_roster, headers=uni), 422)
    published(api, center)
    after_publish = audit_rows(api)
    assert after_publish > before
    (a,) = assignments(api, center)
    assert_error(api.client.post(f"/v1/assignments/{a['id']}/check-in", headers=center), 409)
    assert audit_rows(api) == after_publish
    assert api.client.put("/v1/audit", headers=api.admin).status_code == 405  # no way to edit it
    assert api.client.delete("/v1/audit", headers=api.admin).status_code == 405


def test_the_trail_outlives_erasure(api: Api) -> None:
    uni, center, vids, _ = setup_week(api, volunteers=1, requests=1)
    published(api, center)
    (a,) = assignments(api, center)
    complete(api, uni, center, a, 2.0)
    before = events(api, api.admin)
    api.client.delete(f"/v1/volunteers/{vids[0]}", headers=uni)
    after = events(api, api.admin)
    assert after[: len(before)] == before  # nothing changed, nothing removed
    assert [e["action"] for e in after[len(before) :]] == ["erased"]
    assert after[-1]["after"]["kept"].startswith("anon-")


@pytest.mark.database_independent
def test_a_console_user_is_an_actor_of_its_own(api: Api) -> None:
    """A caller that carries a console user's id (the console's sessions) is recorded as that
    user, not as a key; the audit schema needs no change for it."""
    from dataclasses import dataclass

    from api.models import OrgKind
    from api.services.audit import Actor
    from api.services.organizations import Caller

    @dataclass(frozen=True)
    class SessionCaller(Caller):
        user_id: int | None = None

    assert Actor.of(
        SessionCaller(3, OrgKind.CENTER, "Asia/Shanghai", key_id=None, user_id=42)
    ) == Actor("user", "42", 3)
    assert Actor.of(Caller(3, OrgKind.CENTER, "Asia/Shanghai", key_id=7)) == Actor(
        "api_key", "7", 3
    )
