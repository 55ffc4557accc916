"""Law firms and communities register and manage volunteers exactly as universities do: one
"roster owner" notion, no special cases (roster import, CRUD, answering for their volunteers,
their own hours report)."""

from __future__ import annotations

import pytest

from api.models import ROSTER_OWNERS
from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import assignments, published

CSV = (
    "external_id,name,phone,lat,lon,skills,availability,target_hours\n"
    "L-001,王律师,+86 139 0000 0001,34.25,108.94,legal_advice,"
    f"{at('08:00')}/{at('20:00')},24\n"
    "L-002,李律师,+86 139 0000 0002,34.25,108.94,legal_advice,"
    f"{at('08:00')}/{at('20:00')},\n"
)


@pytest.mark.database_independent
@pytest.mark.parametrize("kind", ["law_firm", "community"])
def test_a_roster_owner_of_each_kind_does_what_a_university_does(api: Api, kind: str) -> None:
    owner_id, owner = api.org(kind)
    _, university = api.org("university")
    _, center = api.org("center")
    imported = api.client.post(
        "/v1/volunteers/import", content=CSV.encode(), headers={**owner, "Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2
    ids = [v["id"] for v in imported.json()["volunteers"]]
    one = api.client.get(f"/v1/volunteers/{ids[0]}", headers=owner).json()
    assert one["university_id"] == owner_id and one["personal"]["name"] == "王律师"
    assert one["target_hours"] == 24
    patched = api.client.patch(f"/v1/volunteers/{ids[1]}", json={"phone": "+86 1"}, headers=owner)
    assert patched.json()["personal"]["phone"] == "+86 1"
    assert [v["id"] for v in api.client.get("/v1/volunteers", headers=owner).json()["items"]] == ids
    # another roster owner sees none of it
    assert_error(api.client.get(f"/v1/volunteers/{ids[0]}", headers=university), 404)
    assert api.client.get("/v1/volunteers", headers=university).json()["items"] == []

    # a duty shift at the legal service point: the owner answers for its volunteers
    shift = request(
        "Legal aid duty",
        required_skills=["legal_advice"],
        volunteers_needed=2,
        service_type="legal_aid",
    )
    api.client.post("/v1/requests", json=[shift], headers=center)
    published(api, center)
    first, second = assignments(api, owner)
    assert first["contact"]["name"] in ("王律师", "李律师")
    assert_error(api.client.post(f"/v1/assignments/{first['id']}/confirm", headers=university), 404)
    assert (
        api.client.post(f"/v1/assignments/{first['id']}/confirm", headers=owner).json()["status"]
        == "confirmed"
    )
    declined = api.client.post(
        f"/v1/assignments/{second['id']}/decline", json={"reason": "in court"}, headers=owner
    )
    assert declined.json()["status"] == "declined"
    api.client.post(f"/v1/assignments/{first['id']}/check-in", headers=center)
    api.client.post(f"/v1/assignments/{first['id']}/complete", json={}, headers=center)

    report = api.client.get(
        "/v1/reports/hours", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=owner
    ).json()
    (total,) = report["universities"]
    assert (total["university_id"], total["kind"], total["hours"]) == (owner_id, kind, 2.0)
    assert report["volunteers"][0]["name"] in ("王律师", "李律师")
    other = api.client.get(
        "/v1/reports/hours", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=university
    ).json()
    assert other["universities"] == []

    assert api.client.delete(f"/v1/volunteers/{ids[1]}", headers=owner).status_code == 204


@pytest.mark.database_independent
def test_every_roster_owner_kind_can_be_created_and_no_other_registers_volunteers(api: Api) -> None:
    for kind in ROSTER_OWNERS:
        _, headers = api.org(kind.value)
        assert (
            api.client.post("/v1/volunteers", json=volunteer("S1"), headers=headers).status_code
            == 201
        )
    for other in ("center", "planner", "admin"):
        headers = api.admin if other == "admin" else api.org(other)[1]
        body = assert_error(
            api.client.post("/v1/volunteers", json=volunteer("S1"), headers=headers), 403
        )
        assert "university, law firm, community" in body["detail"]
    bad = api.client.post(
        "/v1/organizations", json={"name": "x", "kind": "firm"}, headers=api.admin
    )
    assert assert_error(bad, 422)["fields"][0]["loc"] == ["body", "kind"]


@pytest.mark.database_independent
def test_the_command_line_creates_law_firms_and_communities(api: Api, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from matcher.cli import main

    monkeypatch.setenv("VOLMATCH_DATABASE_URL", api.settings.database_url)
    for kind in ("law_firm", "community"):
        assert main(["admin", "create-org", "--name", f"A {kind}", "--kind", kind]) == 0
        assert f"({kind})" in capsys.readouterr().out
