"""Each role's main story in a real browser, in Chinese: a university uploads its roster (GBK
CSV); a center uploads a week of requests (XLSX), sees a bad sheet refused with its rows listed,
runs the match and watches it live, reviews the plan (table, map, timelines, unfilled with
reasons), publishes; the university confirms on a student's behalf; the center checks the
volunteer in and completes the task; the university exports the hours (XLSX and CSV), opens
the student's page (their hours ledger) and issues a certificate, downloaded as a PDF. A
planner runs a scenario and reads its report; an admin adds an organization and invites a user
who sets their password, and reads it in the audit trail. And refusals: a post without the CSRF
token, a form posted from another site, another center's run."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import func, select

from api.db import transaction
from api.models import ServiceRequest, User
from tests.api.test_certificates import pdf_text
from tests.console.browser.conftest import PASSWORD, Server, shot, sign_in

SKILLS = ("急救", "陪伴聊天", "手机教学", "助浴")


def roster_csv(n: int = 30) -> bytes:
    rng = random.Random(7)
    lines = ["姓名,学号,手机号,学院,性别,技能,可服务时间,服务开始日期,服务结束日期,纬度,经度"]
    surnames = "王李张刘陈杨黄赵吴周"
    for i in range(n):
        skills = "；".join(rng.sample(SKILLS, 2))
        lines.append(
            f"{surnames[i % 10]}同学{i + 1},2025{i + 1:04d},1380000{i + 1:04d},"
            f"{'信息学院' if i % 2 else '文学院'},{'女' if i % 3 else '男'},{skills},"
            f"周一至周五 08:00-20:00；周六 09:00-17:00,2026-03-01,2026-06-30,"
            f"{34.22 + rng.random() * 0.05:.4f},{108.93 + rng.random() * 0.05:.4f}"
        )
    return ("\n".join(lines) + "\n").encode("gbk")


def requests_xlsx() -> bytes:
    rng = random.Random(11)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "标题",
            "服务类型",
            "开始时间",
            "结束时间",
            "地址",
            "纬度",
            "经度",
            "所需技能",
            "人数",
            "最少人数",
            "优先级",
            "必须",
        ]
    )
    kinds = (("上门陪伴老人", "elderly_visit", "陪伴聊天"), ("老年人手机课", "smartphone_class", "手机教学"),
             ("社区急救演练", "first_aid_drill", "急救"), ("助浴服务", "bathing_help", "助浴"))  # fmt: skip
    for i in range(11):
        title, kind, skill = kinds[i % 4]
        day = 3 + i % 4
        sheet.append([
            f"{title}（{i + 1}号楼）", kind, f"2026-03-0{day} {9 + i % 3}:00", f"2026-03-0{day} {11 + i % 3}:00",
            f"小雁塔街道{i + 1}号", round(34.22 + rng.random() * 0.05, 4), round(108.93 + rng.random() * 0.05, 4),
            skill, 2, 1, 1 + i % 3, "否",
        ])  # fmt: skip
    sheet.append(["聋人读书会手语翻译", "sign_language", "2026-03-04 14:00", "2026-03-04 16:00",
                  "文化馆", 34.24, 108.95, "手语", 1, 1, 2, "是"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count(server: Server, model: Any) -> int:
    with transaction(server.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def upload(page: Any, name: str, data: bytes, mime: str) -> None:
    page.set_input_files("#f-file", {"name": name, "mimeType": mime, "buffer": data})
    page.click("form[enctype] button[type=submit]")
    page.wait_for_load_state()


def test_a_week_of_a_center_and_a_university(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    # The university's volunteer association uploads its roster, saved by Excel as GBK CSV.
    university = sign_in(browser, server, "chen.jing")
    university.goto("/university/volunteers/upload")
    upload(university, "志愿者名单.csv", roster_csv(), "text/csv")
    assert "新增 30 名志愿者" in university.inner_text("#upload-result")
    university.goto("/university/volunteers")
    assert university.locator("tbody tr").count() == 30
    shot(university, "university-volunteers")

    # The center's coordinator uploads the week's requests from Excel.
    center = sign_in(browser, server, "wang.li")
    center.goto("/center/requests/upload")
    upload(
        center,
        "本周需求.xlsx",
        requests_xlsx(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert "已添加 12 条服务需求" in center.inner_text("h1")
    # a sheet with bad rows is refused whole, with a table of row, column and message
    stored = count(server, ServiceRequest)
    center.goto("/center/requests/upload")
    bad = "标题,服务类型,开始时间,结束时间,纬度,经度,人数\n探访,elderly_visit,2026-03-03 09:00,2026-03-03 08:00,34.25,108.94,2\n,elderly_visit,2026-03-03 09:00,2026-03-03 10:00,34.25,108.94,两个\n"
    upload(center, "有问题.csv", bad.encode("gbk"), "text/csv")
    problems = center.locator("#upload-problems tbody tr")
    assert problems.count() == 3
    text = center.inner_text("#upload-problems")
    assert "结束时间必须晚于开始时间" in text and "必填" in text and "请输入整数" in text
    assert count(server, ServiceRequest) == stored
    shot(center, "center-upload-errors")
    # a file that is not text at all gets a clear message
    upload(center, "照片.csv", bytes(range(256)) * 8, "text/csv")
    assert "无法读取该文件" in center.inner_text(".alert.error")
    center.goto("/center/requests")
    assert center.locator("tbody tr").count() == 12
    shot(center, "center-requests")

    # The match run: started from the page, watched live, then the plan.
    center.goto("/center/runs")
    center.fill("#f-start", "2026-03-02")
    center.fill("#f-days", "7")
    center.fill("#f-time_limit_s", "5")
    center.click("text=开始匹配 >> nth=-1")
    center.wait_for_url("**/center/runs/*")
    assert center.locator("#progress").count() == 1
    center.wait_for_selector("#plan-panel", timeout=90_000)
    assert "已完成" in center.inner_text("#progress h2")
    assert center.locator("#plan-panel tbody tr").count() > 5
    shot(center, "center-plan")
    center.click("a[role=tab] >> text=地图")
    center.wait_for_selector("#plan-map[data-points]")
    assert int(center.get_attribute("#plan-map", "data-points") or 0) > 12
    center.wait_for_timeout(500)
    shot(center, "center-plan-map")
    center.click("a[role=tab] >> text=时间线")
    center.wait_for_selector(".timeline .tl-bar")
    shot(center, "center-plan-timeline")
    center.click("text=按服务需求")
    center.wait_for_selector(".tl-bar.unfilled")
    center.click("a[role=tab] >> text=未满足")
    center.wait_for_selector("#unfilled")
    assert "没有合适的志愿者" in center.inner_text("#unfilled")
    assert "聋人读书会手语翻译" in center.inner_text("#unfilled")
    shot(center, "center-plan-unfilled")
    center.once("dialog", lambda dialog: dialog.accept())
    center.click("#publish")
    center.wait_for_selector("text=已发布")
    center.goto("/center/board")
    proposed = center.locator("#column-proposed .card").count()
    assert proposed > 5

    # The university confirms for a student who has not answered.
    university.goto("/university/assignments?status=proposed")
    first = university.locator("tbody tr").first
    student = first.locator("td").first.evaluate("td => td.firstChild.textContent.trim()")
    first.get_by_role("button", name="确认").click()
    university.wait_for_load_state()
    assert university.locator("tbody tr").count() == proposed - 1
    shot(university, "university-assignments")

    # On the day the center checks the student in, then completes with the hours served.
    center.goto("/center/board")
    card = center.locator("#column-confirmed .card").first
    assert student in card.inner_text()
    card.get_by_role("button", name="签到").click()
    center.wait_for_load_state()
    card = center.locator("#column-checked_in .card").first
    card.locator("input[name=hours_served]").fill("2.5")
    card.get_by_role("button", name="完成").click()
    center.wait_for_load_state()
    assert center.locator("#column-completed .card").count() == 1
    assert "2.5" in center.inner_text("#column-completed")
    shot(center, "center-board", full_page=False)

    # Month's end: the university's hours, exported with Chinese headers.
    university.goto("/university/hours?start=2026-03-01&end=2026-03-31")
    row = university.locator("#hours tbody tr").first
    assert student in row.inner_text() and "2.5" in row.inner_text()
    shot(university, "university-hours")
    with university.expect_download() as xlsx_download:
        university.click("#export-xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header == ["学号", "姓名", "完成次数", "服务时长"]
    assert sheet.cell(2, 2).value == student and sheet.cell(2, 4).value == 2.5
    with university.expect_download() as csv_download:
        university.click("#export-csv")
    raw = csv_download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[0] == "学号,姓名,完成次数,服务时长"

    # The student asks for a certificate: their page holds their hours ledger and issues it.
    university.click(f"#hours a >> text={student}")
    university.wait_for_url("**/university/volunteers/*")
    assert university.inner_text("#ledger-hours") == "2.5"
    (line,) = university.locator("#ledger-lines tbody tr").all_inner_texts()
    assert "已完成" in line and "2.5" in line
    university.fill("#issue-certificate input[name=start]", "2026-03-01")
    university.fill("#issue-certificate input[name=end]", "2026-03-31")
    university.click("#issue-certificate button")
    university.wait_for_selector("#certificate-list tr[id^=certificate-]")
    (issued,) = university.locator("#certificate-list tbody tr").all_inner_texts()
    assert "2026-03-01 – 2026-03-31" in issued and "有效" in issued
    university.locator("#certificates").scroll_into_view_if_needed()
    shot(university, "university-volunteer-certificate")
    with university.expect_download() as pdf_download:
        university.click("#certificate-list >> text=下载 PDF")
    assert "2.5 小时" in pdf_text(pdf_download.value.path().read_bytes(), tmp_path)


def test_a_planner_runs_a_scenario(browser: Any, server: Server) -> None:
    planner = sign_in(browser, server, "liu.yang")
    planner.goto("/planner?scenario=legal-aid-roster")
    shot(planner, "planner-catalog")
    planner.fill("#f-time_limit_s", "2")
    planner.fill("#f-remedies", "1")
    planner.click("#run-form button[type=submit]")
    planner.wait_for_url("**/planner/runs/*")
    planner.wait_for_selector("#kpis", timeout=120_000)
    assert "岗位满足率" in planner.inner_text("#kpis")
    assert planner.locator(".charts img").count() >= 4
    planner.wait_for_timeout(300)
    shot(planner, "planner-report")


def test_an_admin_adds_an_organization_and_invites_its_coordinator(
    browser: Any, server: Server
) -> None:
    admin = sign_in(browser, server, "admin")
    admin.goto("/admin/organizations")
    admin.fill("#f-name", "曲江新区志愿服务站")
    admin.select_option("#f-kind", "center")
    admin.click("form[action='/admin/organizations'] button[type=submit]")
    assert admin.inner_text("#new-key").startswith("vmk_")
    admin.click("text=完成")
    admin.click("text=邀请用户")
    admin.fill("#f-display_name", "孙敏")
    admin.fill("#f-login", "sun.min")
    admin.click("button[type=submit].primary")
    link = admin.inner_text("#new-link")
    shot(admin, "admin-invitation")
    admin.goto("/admin/organizations")
    shot(admin, "admin-organizations")

    newcomer = browser.new_context(locale="zh-CN").new_page()
    newcomer.goto(link)
    newcomer.fill("#f-password", "a password of hers")
    newcomer.fill("#f-confirm", "a password of hers")
    newcomer.click("button[type=submit].primary")
    assert "密码已保存" in newcomer.inner_text("h1")
    newcomer.goto(server.url + "/login")
    newcomer.fill("#f-login", "sun.min")
    newcomer.fill("#f-password", "a password of hers")
    newcomer.click("button[type=submit].primary")
    newcomer.wait_for_url("**/center/requests")
    assert "曲江新区志愿服务站" in newcomer.inner_text("header")

    # The audit trail says who did it: the admin's user made the organization and invited her.
    admin.click("nav >> text=审计记录")
    admin.wait_for_url("**/admin/audit")
    admin.select_option("#audit-filters select[name=entity_type]", "user")
    admin.click("#audit-filters button")
    admin.wait_for_url("**entity_type=user**")
    actions = [
        (row.locator("td").nth(1).inner_text().split()[0], row.locator("code").first.inner_text())
        for row in admin.locator("#audit tbody tr").all()
    ]  # fmt: skip
    for action in ("created", "link_issued", "password_set"):  # the last one by herself
        assert ("控制台用户", action) in actions, actions
    assert "sun.min" not in admin.inner_text("#audit")  # logins are never in the trail
    shot(admin, "admin-audit")


def test_forged_and_foreign_requests_are_refused(browser: Any, server: Server) -> None:
    center = sign_in(browser, server, "wang.li")
    users_before = count(server, User)
    # a script on the page posting without the token
    status = center.evaluate(
        """() => fetch('/team/users', {method: 'POST', body: new URLSearchParams(
               {login: 'intruder', display_name: 'X', role: 'coordinator'})}).then(r => r.status)"""
    )
    assert status == 403
    # a form on another site posting to the console: the SameSite cookie stays home, the
    # token is missing, nothing happens
    center.set_content(
        f"""<form id=f method=post action="{server.url}/team/users">
            <input name=login value=intruder2><input name=display_name value=X>
            <input name=role value=coordinator></form>"""
    )
    with center.expect_navigation():
        center.evaluate("document.getElementById('f').submit()")
    assert count(server, User) == users_before
    # another center's run, by address and by a post with a valid token of one's own
    center.goto("/center/runs")
    run_path = center.locator("tbody a").first.get_attribute("href")
    assert run_path
    other = sign_in(browser, server, "zhao.qiang")
    answer = other.goto(run_path)
    assert answer is not None and answer.status == 404
    assert "未找到" in other.inner_text("h1")
    status = other.evaluate(
        """(path) => fetch(path + '/publish', {method: 'POST',
               headers: {'X-CSRF-Token': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']}})
               .then(r => r.status)""",
        run_path,
    )
    assert status == 404


def test_large_text_on_a_phone(browser: Any, server: Server) -> None:
    phone = sign_in(
        browser, server, "chen.jing", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    phone.goto("/text/large?next=/university/assignments?status=completed")
    assert phone.evaluate("getComputedStyle(document.documentElement).fontSize") == "20px"
    shot(phone, "university-phone-large-text")
    phone.goto("/login")
    assert PASSWORD  # the same accounts as the stories
