"""The hours ledger and the supply-demand report."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import assignments, published

RANGE = {"from": "2026-03-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"}


def served_week(api: Api) -> tuple[dict[str, str], dict[str, str], int]:
    uni_id, uni = api.org("university", "Northwest University")
    _, center = api.org("center")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i}") for i in range(3)], headers=uni
    )
    api.client.post(
        "/v1/requests",
        json=[
            request("morning", start=at("09:00"), end=at("11:30")),
            request("evening", start=at("18:00"), end=at("19:00"), district=None),
            request(
                "afternoon, two",
                start=at("14:00"),
                end=at("16:00"),
                volunteers_needed=2,
                district="Beilin",
            ),
        ],
        headers=center,
    )
    published(api, center)
    for a in assignments(api, center):
        api.client.post(f"/v1/assignments/{a['id']}/confirm", headers=uni)
        api.client.post(f"/v1/assignments/{a['id']}/check-in", headers=center)
        if a["request"]["title"] != "evening":
            hours = {"hours_served": 3} if a["request"]["title"] == "morning" else {}
            api.client.post(f"/v1/assignments/{a['id']}/complete", json=hours, headers=center)
    return uni, center, uni_id


def test_hours_ledger_for_the_university_counts_completed_assignments_only(api: Api) -> None:
    uni, _, uni_id = served_week(api)
    report = api.client.get("/v1/reports/hours", params=RANGE, headers=uni).json()
    assert sum(v["hours"] for v in report["volunteers"]) == 3 + 2 + 2  # evening not completed
    assert all(v["name"] and v["external_id"] for v in report["volunteers"])
    (total,) = report["universities"]
    assert total == {
        "university_id": uni_id,
        "university": "Northwest University",
        "kind": "university",
        "volunteers": len(report["volunteers"]),
        "assignments": 3,
        "hours": 7.0,
    }
    text = api.client.get("/v1/reports/hours", params={**RANGE, "format": "csv"}, headers=uni)
    assert text.headers["content-type"].startswith("text/csv")
    assert text.content.startswith("\ufeff组织ID,志愿者ID,编号,姓名".encode())  # Excel: BOM
    rows = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert sum(float(r["服务时长（小时）"]) for r in rows) == 7 and all(r["姓名"] for r in rows)
    english = api.client.get(
        "/v1/reports/hours", params={**RANGE, "format": "csv", "lang": "en"}, headers=uni
    )
    rows = list(csv.DictReader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert sum(float(r["hours"]) for r in rows) == 7 and all(r["name"] for r in rows)
    later = api.client.get(
        "/v1/reports/hours",
        params={"from": "2026-04-01T00:00:00+08:00", "to": "2026-05-01T00:00:00+08:00"},
        headers=uni,
    ).json()
    assert later["volunteers"] == []


def test_hours_ledger_privacy_and_access(api: Api) -> None:
    served_week(api)
    _, other_uni = api.org("university")
    _, planner = api.org("planner")
    _, center = api.org("center")
    assert (
        api.client.get("/v1/reports/hours", params=RANGE, headers=other_uni).json()["volunteers"]
        == []
    )
    admin = api.client.get("/v1/reports/hours", params=RANGE, headers=api.admin).json()
    assert admin["universities"][0]["hours"] == 7
    assert all(v["name"] is None and v["external_id"] is None for v in admin["volunteers"])
    assert_error(api.client.get("/v1/reports/hours", params=RANGE, headers=planner), 403)
    assert_error(api.client.get("/v1/reports/hours", params=RANGE, headers=center), 403)
    assert_error(
        api.client.get(
            "/v1/reports/hours",
            params={"from": RANGE["to"], "to": RANGE["from"]},
            headers=api.admin,
        ),
        422,
    )
    assert_error(
        api.client.get("/v1/reports/hours", params={"from": "2026-03-01"}, headers=api.admin), 422
    )


def test_supply_demand_is_aggregates_only(api: Api) -> None:
    served_week(api)
    _, planner = api.org("planner")
    r = api.client.get("/v1/reports/supply-demand", params=RANGE, headers=planner)
    assert r.status_code == 200, r.text
    report = r.json()
    demand = {(d["area"], d["day_part"]): d for d in report["demand"]}
    assert demand[("Yanta", "morning")]["requested_slots"] == 1
    assert demand[("Beilin", "afternoon")]["requested_slots"] == 2
    assert demand[("Beilin", "afternoon")]["confirmed_slots"] == 2
    evening = next(d for (area, part), d in demand.items() if part == "evening")
    assert "," in evening["area"]  # no district: a grid cell
    supply = {(s["skill"], s["day_part"]): s for s in report["supply"]}
    assert supply[("(any)", "morning")]["volunteers"] == 3
    assert supply[("(any)", "morning")]["available_hours"] == 3 * 4  # 08:00-12:00 each
    assert supply[("smartphone_teaching", "evening")]["available_hours"] == 3 * 2  # 18:00-20:00
    for secret in ("Name S", "+86", "Dorm Road", "example.edu"):
        assert secret not in r.text
    grid = api.client.get(
        "/v1/reports/supply-demand", params={**RANGE, "area": "grid"}, headers=planner
    ).json()
    assert all("," in d["area"] for d in grid["demand"])
    _, uni = api.org("university")
    assert_error(api.client.get("/v1/reports/supply-demand", params=RANGE, headers=uni), 403)


def test_supply_splits_windows_by_local_day_part_and_cuts_them_at_the_range(api: Api) -> None:
    """Night windows given in UTC+08:00 (two reaching past the end of the range), one in
    UTC+00:00 and one in UTC+05:45 that starts before the range: hours by hand."""
    _, uni = api.org("university")
    rows = [
        # 20:00 -> 09:00 next day at +08:00, cut at 06:00 by the range: evening 4 h, morning 6 h.
        volunteer(
            "N1",
            skills=["first_aid"],
            availability=[
                {"start": "2026-03-02T20:00:00+08:00", "end": "2026-03-03T09:00:00+08:00"}
            ],
        ),
        # 11:00 -> 19:30 at +00:00: morning 1 h, afternoon 6 h, evening 1.5 h.
        volunteer(
            "N2",
            skills=[],
            availability=[
                {"start": "2026-03-02T11:00:00+00:00", "end": "2026-03-02T19:30:00+00:00"}
            ],
        ),
        # Reaches past the range's end (2026-03-03T06:00+08:00): only 22:00 -> 06:00 counts.
        volunteer(
            "N3",
            skills=["first_aid"],
            availability=[
                {"start": "2026-03-02T22:00:00+08:00", "end": "2026-03-03T10:00:00+08:00"}
            ],
        ),
        # 2026-03-01T21:00 -> 03-02T13:00 at +05:45; the range starts at 03-01T21:45+05:45
        # (00:00+08:00): evening 2.25 h, morning 12 h, afternoon 1 h.
        volunteer(
            "N4",
            skills=[],
            availability=[
                {"start": "2026-03-01T21:00:00+05:45", "end": "2026-03-02T13:00:00+05:45"}
            ],
        ),
    ]
    assert api.client.post("/v1/volunteers/import", json=rows, headers=uni).status_code == 200
    _, planner = api.org("planner")
    r = api.client.get(
        "/v1/reports/supply-demand",
        params={"from": "2026-03-02T00:00:00+08:00", "to": "2026-03-03T06:00:00+08:00"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    supply = {
        (s["skill"], s["day_part"]): (s["volunteers"], s["available_hours"])
        for s in r.json()["supply"]
    }
    assert supply == {
        # N1 until 06:00 (the range's end): evening 4 h, morning 6 h; N3: evening 2 h, morning 6 h.
        ("first_aid", "evening"): (2, 6.0),
        ("first_aid", "morning"): (2, 12.0),
        ("(any)", "evening"): (4, 9.75),
        ("(any)", "morning"): (4, 25.0),
        ("(any)", "afternoon"): (2, 7.0),
    }


def early_morning_served(api: Api, timezone: str) -> tuple[dict[str, str], dict[str, str]]:
    """A university in `timezone` whose volunteer served 06:30-08:30 (+08:00) on 2026-03-03:
    22:30 UTC on 2026-03-02."""
    r = api.client.post(
        "/v1/organizations",
        json={"name": f"University in {timezone}", "kind": "university", "timezone": timezone},
        headers=api.admin,
    )
    uni = {"Authorization": f"Bearer {r.json()['api_key']['secret']}"}
    _, center = api.org("center")
    early = {"start": at("06:00"), "end": at("20:00")}
    api.client.post("/v1/volunteers", json=volunteer("S1", availability=[early]), headers=uni)
    api.client.post(
        "/v1/requests", json=[request(start=at("06:30"), end=at("08:30"))], headers=center
    )
    published(api, center)
    (a,) = assignments(api, center)
    api.client.post(f"/v1/assignments/{a['id']}/confirm", headers=uni)
    api.client.post(f"/v1/assignments/{a['id']}/check-in", headers=center)
    api.client.post(f"/v1/assignments/{a['id']}/complete", json={}, headers=center)
    return uni, center


def hours_between(api: Api, headers: dict[str, str], start: str, end: str) -> float:
    r = api.client.get("/v1/reports/hours", params={"from": start, "to": end}, headers=headers)
    assert r.status_code == 200, r.text
    return float(sum(u["hours"] for u in r.json()["universities"]))


def test_report_ranges_take_whole_local_days_with_to_inclusive(api: Api) -> None:
    uni, _ = early_morning_served(api, "Asia/Shanghai")
    assert hours_between(api, uni, "2026-03-01", "2026-03-10") == 2  # the example
    assert hours_between(api, uni, "2026-03-03", "2026-03-03") == 2  # one day, `to` inclusive
    assert hours_between(api, uni, "2026-03-01", "2026-03-02") == 0
    assert hours_between(api, uni, "2026-03-04", "2026-03-10") == 0
    # dates and times mix; a time is exclusive
    assert hours_between(api, uni, "2026-03-03", "2026-03-03T06:30:00+08:00") == 0
    assert hours_between(api, uni, "2026-03-03", "2026-03-03T06:31:00+08:00") == 2
    report = api.client.get(
        "/v1/reports/hours", params={"from": "2026-03-03", "to": "2026-03-03"}, headers=uni
    ).json()
    assert (report["start"], report["end"]) == (
        "2026-03-03T00:00:00+08:00",
        "2026-03-04T00:00:00+08:00",
    )


def test_a_date_is_a_day_in_the_callers_own_time_zone(api: Api) -> None:
    """06:30 in Shanghai on the 3rd is still the 2nd in UTC: the same dates select it for the
    university in UTC one day earlier than for the admin in Shanghai."""
    uni, _ = early_morning_served(api, "UTC")
    assert hours_between(api, uni, "2026-03-02", "2026-03-02") == 2
    assert hours_between(api, uni, "2026-03-03", "2026-03-03") == 0
    assert hours_between(api, api.admin, "2026-03-03", "2026-03-03") == 2
    assert hours_between(api, api.admin, "2026-03-02", "2026-03-02") == 0


@pytest.mark.database_independent
def test_bad_report_ranges_name_the_parameter(api: Api) -> None:
    _, planner = api.org("planner")
    for params, name in (
        ({"from": "2026-13-01", "to": "2026-03-10"}, "from"),
        ({"from": "2026-03-01", "to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-01", "to": "2027-06-01"}, "to"),  # more than 400 days
        ({"from": "2026-03-01T00:00:00", "to": "2026-03-02"}, "from"),  # a time needs its offset
    ):
        for path, headers in (
            ("/v1/reports/hours", api.admin),
            ("/v1/reports/supply-demand", planner),
        ):
            body = assert_error(api.client.get(path, params=params, headers=headers), 422)
            assert [f["loc"] for f in body["fields"]] == [["query", name]], (path, params, body)


def test_supply_demand_takes_dates_too(api: Api) -> None:
    served_week(api)
    _, planner = api.org("planner")
    by_time = api.client.get("/v1/reports/supply-demand", params=RANGE, headers=planner).json()
    by_date = api.client.get(
        "/v1/reports/supply-demand",
        params={"from": "2026-03-01", "to": "2026-03-31"},
        headers=planner,
    ).json()
    assert by_date["demand"] == by_time["demand"] and by_date["supply"] == by_time["supply"]
