"""Volunteers: CRUD, imports (JSON and CSV, all or nothing, re-import updates), filters,
pagination and who sees personal data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.models import AvailabilityWindow, Volunteer
from tests.api.conftest import Api, assert_error
from tests.api.data import at, volunteer


def count_volunteers(api: Api) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(Volunteer)) or 0)


def test_create_read_update_delete(api: Api) -> None:
    _, uni = api.org("university")
    created = api.client.post("/v1/volunteers", json=volunteer("S0001"), headers=uni)
    assert created.status_code == 201, created.text
    v = created.json()
    assert v["personal"]["name"] == "Name S0001"
    assert v["availability"] == [{"start": at("08:00"), "end": at("20:00")}]  # offsets kept
    got = api.client.get(f"/v1/volunteers/{v['id']}", headers=uni).json()
    assert got == v
    patched = api.client.patch(
        f"/v1/volunteers/{v['id']}", json={"phone": "+86 999", "skills": ["first_aid"]}, headers=uni
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["personal"]["phone"] == "+86 999"
    assert patched.json()["skills"] == ["first_aid"]
    assert patched.json()["availability"] == v["availability"]
    assert api.client.delete(f"/v1/volunteers/{v['id']}", headers=uni).status_code == 204
    assert_error(api.client.get(f"/v1/volunteers/{v['id']}", headers=uni), 404)
    assert count_volunteers(api) == 0


def test_duplicate_external_id_on_create_is_409(api: Api) -> None:
    _, uni = api.org("university")
    assert api.client.post("/v1/volunteers", json=volunteer("S1"), headers=uni).status_code == 201
    assert_error(api.client.post("/v1/volunteers", json=volunteer("S1"), headers=uni), 409)


def test_the_same_student_number_at_two_universities_is_two_volunteers(api: Api) -> None:
    _, a = api.org("university")
    _, b = api.org("university")
    assert api.client.post("/v1/volunteers", json=volunteer("S1"), headers=a).status_code == 201
    assert api.client.post("/v1/volunteers", json=volunteer("S1"), headers=b).status_code == 201


@pytest.mark.database_independent
def test_personal_data_only_for_the_own_university(api: Api) -> None:
    _, uni = api.org("university")
    _, other = api.org("university")
    _, center = api.org("center")
    _, planner = api.org("planner")
    vid = api.client.post("/v1/volunteers", json=volunteer("S1"), headers=uni).json()["id"]
    assert_error(api.client.get(f"/v1/volunteers/{vid}", headers=other), 404)
    assert_error(api.client.get(f"/v1/volunteers/{vid}", headers=center), 403)
    assert_error(api.client.get(f"/v1/volunteers/{vid}", headers=planner), 403)
    as_admin = api.client.get(f"/v1/volunteers/{vid}", headers=api.admin).json()
    assert as_admin["personal"] is None
    text = api.client.get("/v1/volunteers", headers=api.admin).text
    for secret in ("Name S1", "+86 100", "S1@example.edu", "Dorm Road", "34.25,"):
        assert secret not in text
    assert api.client.get("/v1/volunteers", headers=other).json()["items"] == []


def test_another_universitys_volunteer_cannot_be_changed_or_deleted(api: Api) -> None:
    _, uni = api.org("university")
    _, other = api.org("university")
    vid = api.client.post("/v1/volunteers", json=volunteer("S1"), headers=uni).json()["id"]
    assert_error(api.client.patch(f"/v1/volunteers/{vid}", json={"phone": "1"}, headers=other), 404)
    assert_error(api.client.delete(f"/v1/volunteers/{vid}", headers=other), 404)
    assert api.client.get(f"/v1/volunteers/{vid}", headers=uni).json()["personal"]["phone"] != "1"


def test_json_import_creates_then_updates_never_duplicates(api: Api) -> None:
    _, uni = api.org("university")
    roster = [volunteer(f"S{i:04d}") for i in range(30)]
    first = api.client.post("/v1/volunteers/import", json=roster, headers=uni)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["updated"]) == (30, 0)
    roster[3]["skills"] = ["legal"]
    roster.append(volunteer("S9999"))
    second = api.client.post("/v1/volunteers/import", json=roster, headers=uni).json()
    assert (second["created"], second["updated"]) == (1, 30)
    assert count_volunteers(api) == 31
    ids = {v["external_id"]: v["id"] for v in second["volunteers"]}
    assert ids == {v["external_id"]: v["id"] for v in first.json()["volunteers"]} | {
        "S9999": ids["S9999"]
    }
    assert api.client.get(f"/v1/volunteers/{ids['S0003']}", headers=uni).json()["skills"] == [
        "legal"
    ]
    with transaction(api.sessions()) as session:  # availability replaced, not appended
        assert session.scalar(select(func.count()).select_from(AvailabilityWindow)) == 31


@pytest.mark.database_independent
def test_a_bad_batch_lists_every_bad_row_and_writes_nothing(api: Api) -> None:
    _, uni = api.org("university")
    roster: list[dict[str, Any]] = [volunteer(f"S{i}") for i in range(5)]
    roster[1]["location"] = {"lat": 95, "lon": 0}
    roster[3]["availability"] = [{"start": at("10:00"), "end": at("09:00")}]
    roster[4]["external_id"] = "S0"  # repeats row 0
    r = api.client.post("/v1/volunteers/import", json=roster, headers=uni)
    body = assert_error(r, 422)
    rows = {tuple(f["loc"][:2]) for f in body["fields"]}
    assert {("body", 1), ("body", 3)} <= rows
    assert count_volunteers(api) == 0
    # fix the pydantic-level errors: the cross-row rule (repeated id) is reported on its own
    roster[1]["location"] = {"lat": 34, "lon": 108}
    roster[3]["availability"] = []
    body = assert_error(api.client.post("/v1/volunteers/import", json=roster, headers=uni), 422)
    assert body["fields"] == [
        {"loc": ["body", 4, "external_id"], "msg": "external_id 'S0' repeats row 0"}
    ]
    assert count_volunteers(api) == 0


@pytest.mark.database_independent
def test_missing_location_with_geocoding_off_asks_for_coordinates(api: Api) -> None:
    _, uni = api.org("university")
    row = volunteer("S1")
    del row["location"]
    body = assert_error(
        api.client.post("/v1/volunteers/import", json=[volunteer("S0"), row], headers=uni), 422
    )
    assert body["fields"][0]["loc"] == ["body", 1, "location"]
    assert "geocoding" in body["fields"][0]["msg"] and "lat" in body["fields"][0]["msg"]
    assert count_volunteers(api) == 0


CSV = (
    "external_id,name,phone,lat,lon,skills,languages,attributes,availability,weekly,weekly_from,weekly_to,max_hours,preferences\n"
    "S1,Li Wei,+86 1,34.22,108.95,smartphone_teaching;first_aid,zh;en,gender=f;year=2,"
    "2026-03-02T08:00:00+08:00/2026-03-02T12:00:00+08:00,Tue 14:00-18:00;Sat 08:00-12:00,2026-03-02,2026-03-15,8,elderly_visit=0.5\n"
    "S2,Wang Fang,+86 2,34.23,108.96,,zh,,,Mon 09:00-11:00,2026-03-02,2026-03-08,,\n"
)


def test_csv_import_with_weekly_patterns(api: Api) -> None:
    _, uni = api.org("university")
    r = api.client.post(
        "/v1/volunteers/import", content=CSV.encode(), headers={**uni, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    ids = {v["external_id"]: v["id"] for v in r.json()["volunteers"]}
    s1 = api.client.get(f"/v1/volunteers/{ids['S1']}", headers=uni).json()
    assert s1["skills"] == ["smartphone_teaching", "first_aid"]
    assert s1["attributes"] == {"gender": "f", "year": 2}
    assert s1["preferences"] == {"elderly_visit": 0.5}
    spans = [(a["start"], a["end"]) for a in s1["availability"]]
    # one explicit interval, then Tue and Sat over two weeks, in the university's zone (+08:00)
    assert spans[0] == ("2026-03-02T08:00:00+08:00", "2026-03-02T12:00:00+08:00")
    assert ("2026-03-03T14:00:00+08:00", "2026-03-03T18:00:00+08:00") in spans
    assert ("2026-03-14T08:00:00+08:00", "2026-03-14T12:00:00+08:00") in spans
    assert len(spans) == 1 + 4
    s2 = api.client.get(f"/v1/volunteers/{ids['S2']}", headers=uni).json()
    assert [a["start"] for a in s2["availability"]] == ["2026-03-02T09:00:00+08:00"]


@pytest.mark.database_independent
def test_bad_csv_names_line_and_column_and_writes_nothing(api: Api) -> None:
    _, uni = api.org("university")
    bad = (
        "external_id,lat,lon,weekly,weekly_from,weekly_to,max_hours\n"
        "S1,34.2,108.9,Tue 14:00-18:00,2026-03-02,2026-03-08,8\n"
        "S2,134.2,108.9,,,,8\n"
        "S3,34.2,108.9,Someday 14:00-18:00,2026-03-02,2026-03-08,8\n"
        "S4,34.2,108.9,,,,lots\n"
    )
    r = api.client.post(
        "/v1/volunteers/import", content=bad.encode(), headers={**uni, "Content-Type": "text/csv"}
    )
    body = assert_error(r, 422)
    locs = {tuple(f["loc"]) for f in body["fields"]}
    assert ("csv", 3, "lat") in locs
    assert ("csv", 4, "weekly") in locs
    assert ("csv", 5, "max_hours") in locs
    assert count_volunteers(api) == 0
    header = api.client.post(
        "/v1/volunteers/import",
        content=b"student,lat\n1,2\n",
        headers={**uni, "Content-Type": "text/csv"},
    )
    assert {tuple(f["loc"]) for f in assert_error(header, 422)["fields"]} == {("csv", 1, "student")}


@pytest.mark.database_independent
def test_import_rejects_other_media_and_too_many_rows(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    _, uni = api.org("university")
    r = api.client.post(
        "/v1/volunteers/import",
        content=b"<xml/>",
        headers={**uni, "Content-Type": "application/xml"},
    )
    assert_error(r, 415, "unsupported_media_type")
    api.app.state.settings = settings.model_copy(update={"max_batch_rows": 2})
    r = api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i}") for i in range(3)], headers=uni
    )
    assert_error(r, 413)
    assert count_volunteers(api) == 0


@pytest.mark.database_independent
def test_only_universities_import(api: Api) -> None:
    _, center = api.org("center")
    assert_error(
        api.client.post("/v1/volunteers/import", json=[volunteer("S1")], headers=center), 403
    )


def test_filters_and_cursor_pagination(api: Api) -> None:
    uni_id, uni = api.org("university")
    roster = [
        volunteer(
            f"S{i:02d}",
            skills=["first_aid"] if i % 3 == 0 else ["legal"],
            availability=[{"start": at("08:00"), "end": at("12:00" if i % 2 else "20:00")}],
        )
        for i in range(12)
    ]
    api.client.post("/v1/volunteers/import", json=roster, headers=uni)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/volunteers", params=params, headers=uni).json()
        seen += [v["external_id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"S{i:02d}" for i in range(12)]
    first_aid = api.client.get("/v1/volunteers", params={"skill": "first_aid"}, headers=uni).json()[
        "items"
    ]
    assert [v["external_id"] for v in first_aid] == ["S00", "S03", "S06", "S09"]
    window = {"available_from": at("13:00"), "available_to": at("15:00")}
    afternoon = api.client.get("/v1/volunteers", params=window, headers=uni).json()["items"]
    assert [v["external_id"] for v in afternoon] == [f"S{i:02d}" for i in range(0, 12, 2)]
    both = api.client.get(
        "/v1/volunteers", params={**window, "skill": "first_aid"}, headers=uni
    ).json()
    assert [v["external_id"] for v in both["items"]] == ["S00", "S06"]
    admin_view = api.client.get(
        "/v1/volunteers", params={"university_id": uni_id}, headers=api.admin
    ).json()
    assert len(admin_view["items"]) == 12
    assert_error(api.client.get("/v1/volunteers", params={"cursor": "garbage!"}, headers=uni), 422)
    assert_error(api.client.get("/v1/volunteers", params={"limit": 0}, headers=uni), 422)
    assert_error(
        api.client.get(
            "/v1/volunteers", params={"available_from": "2026-03-03T13:00:00"}, headers=uni
        ),
        422,
    )


def test_a_lost_race_on_a_unique_key_is_a_409_and_writes_nothing(api: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from api.repositories import volunteers as repo

    _, uni = api.org("university")
    assert (
        api.client.post("/v1/volunteers/import", json=[volunteer("S1")], headers=uni).status_code
        == 200
    )
    # as if a concurrent import inserted S1 between our lookup and our insert
    monkeypatch.setattr(repo, "ids_by_external_id", lambda *_args: {})
    r = api.client.post(
        "/v1/volunteers/import", json=[volunteer("S2"), volunteer("S1")], headers=uni
    )
    body = assert_error(r, 409, "conflict")
    assert "retry" in body["detail"] and "S1" not in r.text
    monkeypatch.undo()
    assert count_volunteers(api) == 1
