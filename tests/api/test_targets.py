"""Annual hours targets: per organization (with the first day of its year) and per person,
progress (served, remaining, expected by now, on track), who is behind, paging, names only for
the owner, CSV in Chinese (with a BOM for Excel) or English."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest

from api.db import transaction
from api.models import OrgKind
from api.services import targets
from api.services.organizations import Caller
from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import assignments, published
from tests.api.test_erasure import complete


def firm_with_service(api: Api) -> tuple[int, dict[str, str], list[int]]:
    """A law firm with three lawyers, two of whom served 2 h each on 2026-03-03; their ids,
    those two first."""
    firm_id, firm = api.org("law_firm")
    _, center = api.org("center")
    rows = [
        volunteer("L1", name="周律师"),
        volunteer("L2", name="吴律师"),
        volunteer("L3"),
    ]
    ids = [
        v["id"]
        for v in api.client.post("/v1/volunteers/import", json=rows, headers=firm).json()[
            "volunteers"
        ]
    ]
    api.client.post(
        "/v1/requests",
        json=[request("duty", start=at("09:00"), end=at("11:00"), volunteers_needed=2)],
        headers=center,
    )
    published(api, center)
    for a in assignments(api, firm):
        if a["volunteer_id"] == ids[2]:
            continue
        complete(api, firm, center, a, 2.0)
    served = {a["volunteer_id"] for a in assignments(api, firm, status="completed")}
    assert len(served) == 2
    return firm_id, firm, [*sorted(served), *(set(ids) - served)]


def set_target(api: Api, org_id: int, headers: dict[str, str], **body: Any) -> Any:
    return api.client.put(f"/v1/organizations/{org_id}/target", json=body, headers=headers)


def progress(api: Api, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = api.client.get("/v1/reports/targets", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_progress_counts_the_ledger_within_the_target_year(api: Api) -> None:
    firm_id, firm, (a, b, c) = firm_with_service(api)
    api.client.patch(f"/v1/volunteers/{a}", json={"target_hours": 2}, headers=firm)
    api.client.patch(f"/v1/volunteers/{b}", json={"target_hours": None}, headers=firm)
    api.client.patch(f"/v1/volunteers/{c}", json={"target_hours": None}, headers=firm)
    # only a has a target yet
    assert [p["volunteer_id"] for p in progress(api, firm, year=2026)["items"]] == [a]
    r = set_target(api, firm_id, firm, hours=24)
    assert r.status_code == 200 and r.json()["target_hours"] == 24, r.text
    report = progress(api, firm, year=2026)
    rows = {p["volunteer_id"]: p for p in report["items"]}
    assert set(rows) == {a, b, c}
    assert [
        (rows[v]["target_hours"], rows[v]["served_hours"], rows[v]["remaining_hours"])
        for v in (a, b, c)
    ] == [
        (2, 2, 0),
        (24, 2, 22),
        (24, 0, 24),
    ]
    for p in rows.values():
        assert (p["period_start"], p["period_end"]) == ("2026-01-01", "2026-12-31")
        assert 0 <= p["expected_hours"] <= p["target_hours"]
        assert p["on_track"] == (p["served_hours"] >= p["expected_hours"])
        assert p["name"] is not None and p["external_id"] is not None
    assert progress(api, firm, year=2025)["items"][0]["served_hours"] == 0
    # a target year from September: 2025's runs to 2026-08-31 and holds the March service
    set_target(api, firm_id, firm, hours=24, period_start="09-01")
    rows = {p["volunteer_id"]: p for p in progress(api, firm, year=2025)["items"]}
    assert rows[b]["served_hours"] == 2 and rows[b]["period_start"] == "2025-09-01"
    assert rows[b]["period_end"] == "2026-08-31"
    assert all(p["served_hours"] == 0 for p in progress(api, firm, year=2026)["items"])


def test_behind_means_below_the_share_of_the_year_gone_by(api: Api) -> None:
    firm_id, firm, (a, b, c) = firm_with_service(api)
    api.client.patch(f"/v1/volunteers/{a}", json={"target_hours": 2}, headers=firm)
    set_target(api, firm_id, firm, hours=24)
    caller = Caller(firm_id, OrgKind.LAW_FIRM, "Asia/Shanghai")

    def behind(now: str) -> dict[int, float]:
        with transaction(api.sessions()) as session:
            page = targets.progress_page(
                session, caller, year=2026, organization_id=None, behind=True,
                cursor=None, limit=10, now=datetime.fromisoformat(now),
            )  # fmt: skip
        return {p.volunteer_id: p.expected_hours for p in page.items}

    assert behind("2025-12-31T12:00:00+08:00") == {}  # the year has not begun: nobody is
    # 2026-01-31: 30 of 365 days gone, 24 h a year expects 1.97 h: only c (0 h) is behind
    assert behind("2026-01-31T00:00:00+08:00") == {c: 1.97}
    # mid-year 12 h are expected: b (2 h) is behind too; a reached their own 2 h
    assert behind("2026-07-02T12:00:00+08:00") == {b: 12.0, c: 12.0}
    assert behind("2027-03-01T00:00:00+08:00") == {b: 24.0, c: 24.0}  # the year is over


@pytest.mark.database_independent
def test_pages_names_for_the_owner_ids_for_admins(api: Api) -> None:
    firm_id, firm, ids = firm_with_service(api)
    set_target(api, firm_id, firm, hours=24)
    first = progress(api, firm, year=2026, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = progress(api, firm, year=2026, limit=2, cursor=first["next_cursor"])
    assert [p["volunteer_id"] for p in first["items"] + second["items"]] == sorted(ids)
    assert second["next_cursor"] is None
    admin = progress(api, api.admin, year=2026)
    assert {p["volunteer_id"] for p in admin["items"]} == set(ids)
    assert all(p["name"] is None and p["external_id"] is None for p in admin["items"])
    assert "周律师" not in str(admin)
    only = progress(api, api.admin, year=2026, organization_id=firm_id)
    assert len(only["items"]) == 3
    _, other_firm = api.org("law_firm")
    assert progress(api, other_firm, year=2026)["items"] == []
    assert_error(
        api.client.get(
            "/v1/reports/targets", params={"organization_id": firm_id}, headers=other_firm
        ),
        404,
    )
    # an erased lawyer no longer has a target
    api.client.delete(f"/v1/volunteers/{ids[2]}", headers=firm)
    assert len(progress(api, firm, year=2026)["items"]) == 2


@pytest.mark.database_independent
def test_the_list_exports_as_csv_in_chinese_for_excel_or_in_english(api: Api) -> None:
    firm_id, firm, _ = firm_with_service(api)
    set_target(api, firm_id, firm, hours=24)
    r = api.client.get(
        "/v1/reports/targets", params={"year": 2026, "format": "csv", "limit": 1}, headers=firm
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff志愿者ID,组织ID,编号,姓名".encode())
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3  # every person, not one page
    assert {row["姓名"] for row in rows} >= {"周律师", "吴律师"}
    assert {row["年度目标（小时）"] for row in rows} == {"24"}
    assert {row["进度达标"] for row in rows} <= {"是", "否"}
    english = api.client.get(
        "/v1/reports/targets", params={"year": 2026, "format": "csv", "lang": "en"}, headers=firm
    )
    rows = list(csv.DictReader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert sorted(float(row["served_hours"]) for row in rows) == [0, 2, 2]


def test_setting_a_target_is_checked_audited_and_only_for_roster_owners(api: Api) -> None:
    firm_id, firm = api.org("law_firm")
    center_id, center = api.org("center")
    bad = assert_error(set_target(api, firm_id, firm, hours=24, period_start="02-30"), 422)
    assert bad["fields"][0]["loc"] == ["body", "period_start"]
    assert_error(set_target(api, firm_id, firm, hours=-1), 422)
    assert_error(set_target(api, center_id, center, hours=24), 403)
    assert_error(set_target(api, center_id, api.admin, hours=24), 409)
    assert set_target(api, firm_id, api.admin, hours=30).status_code == 200
    assert set_target(api, firm_id, firm, hours=24, period_start="9-1").status_code == 422
    events = api.client.get("/v1/audit", params={"action": "target_set"}, headers=firm).json()[
        "items"
    ]
    assert [(e["before"]["target_hours"], e["after"]["target_hours"]) for e in events] == [
        (None, 30.0)
    ]
    assert (
        events[0]["actor"]["kind"] == "api_key"
        and events[0]["actor"]["organization_id"] == api.admin_id
    )
