"""The console's pages without a browser (on SQLite and PostgreSQL): uploads in the formats
staff use (GB18030 CSV, XLSX, Chinese or English headers), all or nothing with every bad row
named, undecodable files refused, form errors beside their fields, the run page and its tabs,
the hours export, the planner's scenario runs executed by the solving process, and the demo's
logins."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.demo import load_demo, welcome
from api.models import ScenarioRun, ServiceRequest, Volunteer
from api.worker import Worker
from tests.console.conftest import World

ROW_PROBLEM = re.compile(r"<tr><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>")
FIELD_ERROR = re.compile(r'id="([a-z_]+)-error">(.*?)<')


def count(app: Any, model: Any) -> int:
    with transaction(app.state.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def roster(rows: int = 3) -> str:
    lines = ["姓名,学号,手机号,学院,性别,技能,可服务时间,服务开始日期,服务结束日期,纬度,经度"]
    for i in range(rows):
        lines.append(
            f"学生{i},2025{i:04d},1380000{i:04d},文学院,{'男女'[i % 2]},急救；陪伴聊天,"
            f"周一至周五 08:00-20:00,2026-03-01,2026-03-31,34.25,108.94"
        )
    return "\n".join(lines) + "\n"


def test_a_gbk_roster_is_read_and_reuploading_never_duplicates(world: World) -> None:
    university = world.console("ua")
    for _ in range(2):
        answer = university.post(
            "/university/volunteers/upload",
            files={"file": ("名单.csv", roster().encode("gb18030"), "text/csv")},
        )
        assert answer.status_code == 200, answer.text[-500:]
    assert "新增 0 名志愿者，更新 3 名" in answer.text
    assert count(world.app, Volunteer) == 3
    with transaction(world.app.state.sessions) as session:
        student = session.scalars(
            select(Volunteer).where(Volunteer.external_id == "20250001")
        ).one()
        assert student.name == "学生1" and student.attributes == {
            "gender": "f",
            "college": "文学院",
        }
        assert [s.skill for s in student.skills] == ["急救", "陪伴聊天"]
        # Monday to Friday, 08:00-20:00 in Shanghai, over March 2026
        assert len(student.availability) == 22


@pytest.mark.database_independent
def test_a_roster_with_bad_rows_writes_nothing_and_names_each(world: World) -> None:
    university = world.console("ua")
    text = roster(2) + "无学号,,13800000099,文学院,未知,急救,周八 09:00-10:00,,,34.25,108.94\n"
    text += "坏时间,20259999,,,男,,周二 18:00-08:00,,,34.25,108.94\n"
    answer = university.post(
        "/university/volunteers/upload",
        files={"file": ("名单.csv", text.encode("gbk"), "text/csv")},
    )
    assert answer.status_code == 422
    problems = ROW_PROBLEM.findall(answer.text)
    assert ("4", "学号", "必填。") in problems
    assert ("4", "性别", "请填写“男”或“女”。") in problems
    assert any(row == "5" and column == "可服务时间" for row, column, _ in problems)
    assert count(world.app, Volunteer) == 0


@pytest.mark.database_independent
def test_undecodable_and_unknown_files_are_refused_clearly(world: World) -> None:
    center = world.console("ca")
    for name, data in (
        ("需求.csv", bytes(range(128, 256)) * 20),
        ("需求.xlsx", b"PK\x03\x04 not really a workbook"),
        ("空.csv", b"   \n"),
    ):
        answer = center.post(
            "/center/requests/upload", files={"file": (name, data, "application/octet-stream")}
        )
        assert answer.status_code == 422 and "无法读取该文件" in answer.text, name
    header = "title,kind,start\nx,y,z\n"
    answer = center.post(
        "/center/requests/upload", files={"file": ("r.csv", header.encode(), "text/csv")}
    )
    assert answer.status_code == 422 and "表头不正确" in answer.text
    assert ("1", "kind", "unknown column") in ROW_PROBLEM.findall(answer.text)
    assert count(world.app, ServiceRequest) == 0


def requests_book(headers: list[str], rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.database_independent
def test_an_xlsx_of_requests_with_english_headers_and_excel_dates(world: World) -> None:
    from datetime import datetime

    data = requests_book(
        ["title", "service_type", "start", "end", "lat", "lon", "required_skills", "mandatory"],
        [["Visit", "elderly_visit", datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 11), 34.25,
          108.94, "first_aid、陪伴", "是"]],
    )  # fmt: skip
    answer = world.console("ca").post(
        "/center/requests/upload", files={"file": ("week.xlsx", data, "application/octet-stream")}
    )
    assert answer.status_code == 200, answer.text[-800:]
    with transaction(world.app.state.sessions) as session:
        request = session.scalars(select(ServiceRequest)).one()
        assert request.required_skills == ["first_aid", "陪伴"] and request.mandatory
        assert request.offset_min == 480  # Asia/Shanghai, the center's zone
        assert request.start_at.hour == 1  # 09:00 in Shanghai is 01:00 UTC


@pytest.mark.database_independent
def test_form_errors_show_beside_their_fields(world: World) -> None:
    center = world.console("ca")
    answer = center.post(
        "/center/requests/new",
        {"title": "", "service_type": "x", "start": "2026-03-05T09:00", "end": "2026-03-05T08:00",
         "lat": "91", "lon": "abc", "volunteers_needed": "0"},
    )  # fmt: skip
    assert answer.status_code == 422
    errors = dict(FIELD_ERROR.findall(answer.text))
    assert errors["title"] == "必填。"
    assert errors["lat"] == "不能大于 90.0。"
    assert errors["lon"] == "请输入数字。"
    assert errors["volunteers_needed"] == "不能小于 1。"
    assert count(world.app, ServiceRequest) == 0
    english = center.post("/center/requests/new", {"title": ""}, headers={"Accept-Language": "en"})
    assert dict(FIELD_ERROR.findall(english.text))["title"] == "Required."


@pytest.mark.database_independent
def test_a_run_page_shows_the_plan_in_every_tab(world: World, app: Any) -> None:
    university, center = world.console("ua"), world.console("ca")
    university.post(
        "/university/volunteers/upload",
        files={"file": ("名单.csv", roster(4).encode("gbk"), "text/csv")},
    )
    sheet = "标题,服务类型,开始时间,结束时间,纬度,经度,所需技能,人数\n"
    sheet += "探访,visit,2026-03-03 09:00,2026-03-03 11:00,34.25,108.94,急救,2\n"
    sheet += "手语,sign,2026-03-04 09:00,2026-03-04 11:00,34.25,108.94,手语,1\n"
    center.post("/center/requests/upload", files={"file": ("r.csv", sheet.encode(), "text/csv")})
    started = center.post(
        "/center/runs",
        {"start": "2026-03-02", "days": "7", "engine": "greedy", "time_limit_s": "2"},
    )
    assert started.status_code == 303
    path = started.headers["location"]
    waiting = center.get(path + "/progress")
    assert 'hx-trigger="every 1s"' in waiting.text and "HX-Refresh" not in waiting.headers
    Worker(app.state.settings, app.state.sessions).run_until_idle()
    assert center.get(path + "/progress").headers["HX-Refresh"] == "true"
    page = center.get(path)
    assert page.text.count("志愿者 #") == 2
    assert "没有合适的志愿者" in center.get(path + "?tab=unfilled").text
    assert "tl-bar" in center.get(path + "?tab=timeline&by=request").text
    points = center.get(path + "/map.json").json()
    assert len(points["requests"]) == 2 and len(points["volunteers"]) == 2
    # homes are shown coarsened (a 0.02-degree cell), never as registered
    assert all(round(v["lat"] / 0.02, 6).is_integer() for v in points["volunteers"])
    published = center.post(path + "/publish")
    assert published.status_code == 200 and published.text.count("/v/") == 2


@pytest.mark.database_independent
def test_the_hours_export_has_chinese_headers(world: World) -> None:
    university = world.console("ua")
    xlsx = university.get("/university/hours.xlsx?start=2026-01-01&end=2026-12-31")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == [
        "学号",
        "姓名",
        "完成次数",
        "服务时长",
    ]
    csv = university.get("/university/hours.csv?start=2026-01-01&end=2026-12-31")
    assert csv.content.startswith("\ufeff学号".encode())
    assert university.get("/university/hours?start=soon").status_code == 422


@pytest.mark.database_independent
def test_a_planner_scenario_run_is_executed_by_the_solving_process(world: World, app: Any) -> None:
    planner = world.console("pa")
    bad = planner.post(
        "/planner/runs",
        {"scenario": "legal-aid-roster", "kind": "sweep", "engines": "optimal", "overrides": ""},
    )
    assert bad.status_code == 422 and "a sweep varies at least one parameter" in bad.text
    unknown = planner.post(
        "/planner/runs",
        {"scenario": "legal-aid-roster", "engines": "optimal", "overrides": "pools.nobody.size=3"},
    )
    assert unknown.status_code == 422 and count(app, ScenarioRun) == 0
    started = planner.post(
        "/planner/runs",
        {"scenario": "legal-aid-roster", "kind": "run", "engines": "greedy", "time_limit_s": "1",
         "remedies": "0"},
    )  # fmt: skip
    assert started.status_code == 303
    path = started.headers["location"]
    assert "排队中" in planner.get(path).text  # queued: nothing solves in the request
    Worker(app.state.settings, app.state.sessions).run_until_idle()
    report = planner.get(path)
    assert "岗位满足率" in report.text and "先到先得" in report.text
    chart = re.search(r'src="(/planner/runs/\d+/charts/[^"]+\.png)"', report.text)
    assert chart and planner.get(chart.group(1)).headers["content-type"] == "image/png"
    # another planning office's run reads like a missing one
    assert world.console("pb").get(path).status_code == 404


@pytest.mark.database_independent
def test_the_demo_prints_a_login_per_organization(app: Any) -> None:
    settings = app.state.settings
    with transaction(app.state.sessions) as session:
        demo = load_demo(session, settings, app.state.geocoder, volunteers_n=20, requests_n=4)
    text = welcome(demo, "http://127.0.0.1:8000")
    assert "http://127.0.0.1:8000/" in text
    world_console = World.__new__(World)
    world_console.app = app
    for org in demo["organizations"]:
        assert org["login"] in text and org["password"] in text
        assert world_console.console(None).sign_in(org["login"], org["password"]).status_code == 303
    with transaction(app.state.sessions) as session:
        again = load_demo(session, settings, app.state.geocoder, volunteers_n=20, requests_n=4)
    first = demo["organizations"][1]
    assert again["organizations"][1]["password"] != first["password"]
    assert world_console.console(None).sign_in(first["login"], first["password"]).status_code == 401


@pytest.mark.database_independent
def test_a_planner_sweep_tabulates_each_variant(world: World, app: Any) -> None:
    planner = world.console("pa")
    started = planner.post(
        "/planner/runs",
        {"scenario": "legal-aid-roster", "kind": "sweep", "engines": "greedy", "time_limit_s": "1",
         "overrides": "pools.lawyers.count=12,16"},
    )  # fmt: skip
    assert started.status_code == 303, re.findall(r'class="field-error">(.*?)<', started.text)
    Worker(app.state.settings, app.state.sessions).run_until_idle()
    report = planner.get(started.headers["location"])
    table = report.text.split('id="sweep"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 3  # the header and one row per variant
    csv = planner.get(started.headers["location"] + "/sweep.csv")
    assert csv.content.startswith(b"\xef\xbb\xbfpools.lawyers.count,engine")


@pytest.mark.database_independent
def test_a_repair_takes_its_budget_and_says_what_more_changes_would_buy(
    world: World, app: Any
) -> None:
    """One volunteer for two requests at the same time: after publication a second joins and
    the published volunteer declines. A repair allowed no change keeps the hole and says one
    change would fill it; a bad budget is refused, naming the field."""
    university, center = world.console("ua"), world.console("ca")
    university.post(
        "/university/volunteers/upload",
        files={"file": ("名单.csv", roster(1).encode("gbk"), "text/csv")},
    )
    sheet = "标题,服务类型,开始时间,结束时间,纬度,经度,所需技能,人数\n"
    sheet += "探访,visit,2026-03-03 09:00,2026-03-03 11:00,34.25,108.94,急救,1\n"
    center.post("/center/requests/upload", files={"file": ("r.csv", sheet.encode(), "text/csv")})
    path = center.post(
        "/center/runs",
        {"start": "2026-03-02", "days": "7", "engine": "greedy", "time_limit_s": "2"},
    ).headers["location"]
    Worker(app.state.settings, app.state.sessions).run_until_idle()
    (token,) = re.findall(
        r"/v/([A-Za-z0-9_-]+)", center.post(path + "/publish").text
    )
    university.post(
        "/university/volunteers/upload",
        files={"file": ("名单.csv", roster(3).encode("gbk"), "text/csv")},
    )
    declined = center.client.post(f"/v1/assignment-links/{token}/decline", json={"reason": "病"})
    assert declined.status_code == 200, declined.text
    page = center.get(path)
    assert 'name="max_changes"' in page.text and 'value="3"' in page.text
    assert center.post(path + "/repair", {"max_changes": "很多"}).status_code == 422
    repaired = center.post(path + "/repair", {"max_changes": "0"})
    assert repaired.status_code == 303
    Worker(app.state.settings, app.state.sessions).run_until_idle()
    shown = center.get(repaired.headers["location"]).text
    assert "允许改动：0 处。" in shown
    assert "若允许改动 1 处，可多补 1 个名额（覆盖度多 1）。" in shown
