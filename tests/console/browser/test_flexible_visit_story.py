"""A flexible home visit in a real browser, in Chinese: the center's coordinator switches the
request form to 时间窗口 (the fixed start and end disappear, the window and duration appear),
types a window too short for its duration and sees the error beside the field, fixes it, finds
the visit listed as 时间窗口 …，90 分钟, runs the match, and reads the visit's chosen start on
the plan page (the window beside it) and on the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.db import transaction
from api.models import MatchRun, RunStatus, ServiceRequest
from api.services import instances
from matcher.model import Plan
from tests.console.browser.conftest import Server, shot, sign_in
from tests.console.browser.test_console_stories import roster_csv, upload

DAY = "2026-03-10"  # a Tuesday: the roster's students are free 08:00-20:00


def test_a_center_asks_for_a_visit_in_a_window_and_reads_its_chosen_start(
    browser: Any, server: Server
) -> None:
    university = sign_in(browser, server, "chen.jing")
    university.goto("/university/volunteers/upload")
    upload(university, "志愿者名单.csv", roster_csv(), "text/csv")

    center = sign_in(browser, server, "zhao.qiang")
    center.goto("/center/requests/new")
    assert center.is_visible("#f-start") and not center.is_visible("#f-earliest_start")
    center.check("input[name=timing][value=window]")
    assert not center.is_visible("#f-start") and center.is_visible("#f-duration")
    center.fill("#f-title", "王奶奶助浴")
    center.fill("#f-service_type", "bathing")
    center.fill("#f-earliest_start", f"{DAY}T09:00")
    center.fill("#f-latest_end", f"{DAY}T10:00")
    center.fill("#f-duration", "90")
    center.select_option("#f-gender", "f")
    center.fill("#f-volunteers_needed", "1")
    center.fill("#f-lat", "34.2400")
    center.fill("#f-lon", "108.9500")
    center.click("form.grid-form button[type=submit].primary")
    center.wait_for_selector("#duration-error")
    assert center.inner_text("#duration-error") == "时长超过了时间窗口。"
    # the window's fields stay shown with what was typed
    assert center.is_visible("#f-duration") and not center.is_visible("#f-start")
    shot(center, "center-request-window-error", full_page=False)
    center.fill("#f-latest_end", f"{DAY}T12:00")
    center.click("form.grid-form button[type=submit].primary")
    center.wait_for_url("**/center/requests?created=1")
    row = center.locator("tbody tr", has_text="王奶奶助浴")
    assert "时间窗口 2026-03-10 周二 09:00–12:00，90 分钟" in row.inner_text()
    shot(center, "center-requests-window", full_page=False)

    # The match run; the plan's choice of start is set on the stored plan (the engine's part,
    # whatever it chooses), before the plan page is first read.
    center.goto("/center/runs")
    center.fill("#f-start", DAY)
    center.fill("#f-days", "1")
    center.fill("#f-time_limit_s", "5")
    center.click("text=开始匹配 >> nth=-1")
    center.wait_for_url("**/center/runs/*")
    run_id = int(center.url.rsplit("/", 1)[1].split("?")[0])
    center.goto("/center/requests")
    with transaction(server.sessions) as session:
        visit = session.scalars(
            select(ServiceRequest).where(ServiceRequest.title == "王奶奶助浴")
        ).one()
        visit_id = visit.id
    for _ in range(300):
        with transaction(server.sessions) as session:
            run = session.get(MatchRun, run_id)
            assert run is not None
            if run.status == RunStatus.SUCCEEDED:
                plan = Plan.model_validate(run.plan)
                start = datetime.fromisoformat(f"{DAY}T10:15:00+08:00")
                run.plan = plan.model_copy(
                    update={
                        "assignments": tuple(
                            a.model_copy(
                                update={"start": start, "end": start + timedelta(minutes=90)}
                            )
                            if instances.id_of(a.request_id) == visit_id
                            else a
                            for a in plan.assignments
                        )
                    }
                ).model_dump(mode="json")
                assert run.finished_at is not None
                run.finished_at += timedelta(microseconds=1)  # a plan read before is stale
                break
        center.wait_for_timeout(200)
    else:
        raise AssertionError("the run did not finish")
    center.goto(f"/center/runs/{run_id}")
    cells = center.locator("#plan-panel tbody tr", has_text="王奶奶助浴").locator("td")
    when = cells.nth(1).inner_text()
    assert "2026-03-10 周二 10:15–11:45" in when
    assert "时间窗口 2026-03-10 周二 09:00–12:00，90 分钟" in when
    shot(center, "center-plan-window", full_page=False)
    center.click("a[role=tab] >> text=时间线")
    center.wait_for_selector(".timeline .tl-bar")
    assert center.locator(".tl-bar[title*='王奶奶助浴 10:15-11:45']").count() == 1
