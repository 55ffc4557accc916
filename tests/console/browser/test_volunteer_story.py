"""The volunteer loop in a real browser, in Chinese. A retired volunteer gets two proposals by
email (the service's own message, through the test's SMTP server), opens the first link on her
phone, reads what, when, where, what to bring and whom to call, confirms, finds it in her
schedule, adds it to her calendar (the .ics parsed back) and subscribes to her feed; she
declines the second with a reason; the center's board shows the decline and the standby the
service proposed instead. Unknown and expired links get a friendly page; large text. And the
center's new pages: publishing with standby, a request's standby list, settings, a webhook
whose secret is shown once, and its dead letter sent again from the deliveries page (the
module's tests tell one story, in order: the last one builds on the first's answers)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from sqlalchemy import select

from api.db import transaction
from api.models import Assignment, ServiceRequest, UserRole
from api.repositories import assignments as assignment_repo
from api.services import organizations, users
from api.services.audit import Actor
from api.services.links import token_hash
from benchmarks.pg import free_port
from tests.console.browser.conftest import PASSWORD, TIMEOUT_MS, Server, shot, sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CENTER, UNIVERSITY = "大雁塔街道志愿服务站", "雁塔区老年大学志愿者队"


@dataclass
class Loop:
    center_id: int
    center_key: dict[str, str]
    run_id: int
    requests: list[int]  # by start
    first_day: datetime


def wait_for(check: Callable[[], Any], timeout_s: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def at(day: datetime, clock: str) -> str:
    hours, minutes = (int(p) for p in clock.split(":"))
    return day.replace(hour=hours, minute=minutes).isoformat()


@pytest.fixture(scope="module")
def loop(server: Server) -> Loop:
    """A center (with a contact, and a coordinator at the console) and a community's volunteers:
    李阿姨 (email, close by) and 张叔叔 (email, farther), both free all week; two visits in 2 and
    3 days; a match run, solved by the service, waiting to be published."""
    with transaction(server.sessions) as session:
        center, _, center_secret = organizations.create_organization(
            session, CENTER, "center", "Asia/Shanghai", actor=Actor.system("cli")
        )
        university, _, uni_secret = organizations.create_organization(
            session, UNIVERSITY, "university", "Asia/Shanghai", actor=Actor.system("cli")
        )
        users.create_user(
            session, None, center.id, "sun.hui", "孙慧", UserRole.COORDINATOR, PASSWORD
        )
        users.create_user(
            session, None, university.id, "he.ping", "何平", UserRole.COORDINATOR, PASSWORD
        )
        center_id = center.id
    center_key = {"Authorization": f"Bearer {center_secret}"}
    uni_key = {"Authorization": f"Bearer {uni_secret}"}
    api = httpx.Client(base_url=server.url, timeout=30)
    api.patch(
        f"/v1/organizations/{center_id}/settings",
        json={"contact_name": "王老师", "contact_phone": "029-8526 1234"},
        headers=center_key,
    ).raise_for_status()
    today = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today + timedelta(days=2)
    week = {
        "start": at(today + timedelta(days=1), "07:00"),
        "end": at(today + timedelta(days=6), "21:00"),
    }
    people = [
        ("R001", "李秀兰", "li.xiulan@example.cn", 34.2190, 108.9640),
        ("R002", "张建国", "zhang.jianguo@example.cn", 34.2400, 108.9900),
    ]
    roster = [
        {"external_id": ref, "name": name, "email": email, "location": {"lat": lat, "lon": lon},
         "skills": ["陪伴聊天"], "languages": ["zh"], "availability": [week]}
        for ref, name, email, lat, lon in people
    ]  # fmt: skip
    api.post("/v1/volunteers/import", json=roster, headers=uni_key).raise_for_status()
    visits = [
        {"title": "陪伴独居老人聊天", "service_type": "elderly_visit",
         "address": "雁塔区 小寨东路 12 号 3 单元", "location": {"lat": 34.2200, "lon": 108.9650},
         "start": at(first + timedelta(days=d), "09:00"), "end": at(first + timedelta(days=d), "11:00"),
         "required_skills": ["陪伴聊天"], "bring": "身份证、志愿者马甲",
         "description": "老人耳背，请说话慢一点、大声一点。"}
        for d in (0, 1)
    ]  # fmt: skip
    made = api.post("/v1/requests", json=visits, headers=center_key)
    made.raise_for_status()
    run = api.post(
        "/v1/match-runs",
        json={"window": {"start": at(today + timedelta(days=1), "00:00"),
                         "end": at(today + timedelta(days=6), "00:00")},
              "engine": "greedy", "time_limit_s": 2},
        headers=center_key,
    )  # fmt: skip
    run.raise_for_status()
    run_id = run.json()["id"]
    wait_for(
        lambda: (
            api.get(f"/v1/match-runs/{run_id}", headers=center_key).json()["status"] == "succeeded"
        ),
        timeout_s=90,
        what="the match run",
    )
    return Loop(center_id, center_key, run_id, [r["id"] for r in made.json()["requests"]], first)


def on_a_phone(browser: Any) -> tuple[Any, Any]:
    """A phone-sized browser context, in Chinese, and its page."""
    phone = browser.new_context(locale="zh-CN", **PHONE)
    phone.set_default_timeout(TIMEOUT_MS)
    return phone, phone.new_page()


def fits_the_phone(page: Any) -> None:
    """Nothing on the page sticks out sideways (a phone would cut it off or make the reader
    scroll across). Measured against the phone's width: a phone's layout viewport widens to
    what sticks out."""
    wide = page.eval_on_selector_all(
        "body *",
        """(els, width) => els.filter(e => e.getBoundingClientRect().right > width + 0.5)
            .map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.name ? '[' + e.name + ']' : ''))""",
        PHONE["viewport"]["width"],
    )
    assert not wide, wide
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]


def reads_as_chinese(page: Any) -> None:
    """No space after a Chinese full stop (two sentences joined as in English)."""
    text = page.inner_text("body")
    assert "。 " not in text, text


def phone_shot(page: Any, name: str, full_page: bool = True) -> None:
    fits_the_phone(page)
    reads_as_chinese(page)
    shot(page, name, full_page)


def mail_to(server: Server, address: str, count: int) -> list[EmailMessage]:
    return list(
        wait_for(
            lambda: (
                (found := [m for m in server.mail.messages if m["To"] == address])
                and len(found) >= count
                and found
            ),
            what=f"{count} messages to {address}",
        )
    )


def link_in(message: EmailMessage) -> str:
    text = str(message.get_content())
    found = re.search(r"https?://\S+/v/\S+", text)
    assert found, text
    return found.group(0)


def test_a_volunteer_answers_from_her_phone(browser: Any, server: Server, loop: Loop) -> None:
    # The center publishes with a standby per request.
    center = sign_in(browser, server, "sun.hui")
    center.goto(f"/center/runs/{loop.run_id}")
    center.fill("#f-standby_per_request", "1")
    shot(center, "center-publish-standby", full_page=False)
    center.once("dialog", lambda dialog: dialog.accept())
    center.click("#publish")
    center.wait_for_selector("#standby-named")
    assert "为 2 项需求指定了 2 名候补" in center.inner_text("#standby-named")

    # 李阿姨 gets two messages; she opens the first link on her phone.
    messages = mail_to(server, "li.xiulan@example.cn", 2)
    assert all("新的志愿服务" in str(m["Subject"]) for m in messages)
    tokens = sorted({link_in(m) for m in messages}, key=lambda url: _start_of(server, url))
    assert len(tokens) == 2
    phone, page = on_a_phone(browser)
    page.goto(tokens[0])
    assert page.inner_text("h1") == "陪伴独居老人聊天"
    when = page.inner_text(".v-when")
    day = loop.first_day
    assert f"{day.month}月{day.day}日" in when and "09:00–11:00" in when
    facts = page.inner_text(".v-facts")
    for words in ("小寨东路 12 号", "身份证、志愿者马甲", "请说话慢一点", CENTER):
        assert words in facts
    assert page.get_attribute("#call", "href") == "tel:02985261234"
    assert "王老师" in page.inner_text("#call")
    _tap_targets_are_large(page)
    phone_shot(page, "volunteer-assignment")

    # She confirms: a clear confirmation; the center's board will show it.
    page.click("#confirm")
    page.wait_for_selector("#answer")
    assert "谢谢您！您已确认" in page.inner_text("#answer")
    assert "24 / 2 小时" in page.inner_text("#answer")  # reminders before it starts
    phone_shot(page, "volunteer-confirmed")

    # Her schedule: this work confirmed, the other waiting for her answer.
    page.click("#schedule-link")
    page.wait_for_selector("#upcoming")
    cards = page.locator("#upcoming .v-card")
    assert cards.count() == 2
    assert "您已确认" in cards.nth(0).inner_text() and "等您回复" in cards.nth(1).inner_text()
    assert "本学期服务小时" in page.inner_text("#hours")
    phone_shot(page, "volunteer-schedule")

    # Into her phone's calendar: this work as a file, and a private feed.
    page.go_back()
    page.click("#calendar-link")
    with page.expect_download() as download:
        page.click("#download-ics")
    calendar = icalendar.Calendar.from_ical(download.value.path().read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "陪伴独居老人聊天"
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTSTART").hour == 9 and str(event["STATUS"]) == "CONFIRMED"
    page.click("#make-feed")
    page.wait_for_selector("#feed-url")
    feed = httpx.get(page.input_value("#feed-url"), timeout=30)
    assert feed.status_code == 200
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert sorted(str(e["STATUS"]) for e in events) == ["CONFIRMED", "TENTATIVE"]
    webcal = page.get_attribute("#subscribe-webcal", "href")
    assert webcal and webcal.startswith("webcal://")
    phone_shot(page, "volunteer-calendar")

    # The second work: she cannot come. A reason is needed, then it is sent.
    page.goto(tokens[1])
    page.click("#decline")
    page.click("#send-decline")
    assert "请选一个原因" in page.inner_text("#reason-error")
    page.check("input[name=reason][value=family]")
    page.fill("#f-details", "那天要带孙子去医院")
    phone_shot(page, "volunteer-decline")
    page.click("#send-decline")
    page.wait_for_selector("#answer")
    assert "谢谢您告诉我们" in page.inner_text("#answer")
    assert "您已婉拒" in page.inner_text("#status")
    phone_shot(page, "volunteer-declined")

    # The center sees it: the decline with her reason, and the standby proposed instead (who
    # is told by email).
    center.goto("/center/board")
    declined = center.locator("#column-declined .card")
    assert declined.count() == 1
    assert "家里有事：那天要带孙子去医院" in declined.inner_text()
    mail_to(server, "zhang.jianguo@example.cn", 1)
    center.reload()
    proposed = center.locator("#column-proposed .card").first.inner_text()
    assert "张建国" in proposed and "张建国 ·" not in proposed  # no phone: nothing after the name
    assert "李秀兰" in center.inner_text("#column-confirmed")
    reads_as_chinese(center)
    shot(center, "center-board-loop", full_page=False)

    # Large text, for older eyes.
    page.goto(tokens[0])
    page.click("#text-size")
    page.wait_for_selector("html.large-text")
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "23px"
    phone_shot(page, "volunteer-large-text", full_page=False)
    page.click("#text-size")
    phone.close()


def _start_of(server: Server, url: str) -> datetime:
    token = url.rsplit("/", 1)[1]
    with transaction(server.sessions) as session:
        found = assignment_repo.assignment_by_token_hash(session, token_hash(token))
        assert found is not None
        return found.request.start_at


def _tap_targets_are_large(page: Any) -> None:
    """Every button and link-button of the page is at least 44 px high (a finger's width)."""
    heights = page.eval_on_selector_all(
        ".v-button, .v-choice", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44, heights


def test_unknown_and_expired_links_on_a_phone(browser: Any, server: Server, loop: Loop) -> None:
    phone, page = on_a_phone(browser)
    answer = page.goto(f"{server.url}/v/{secrets.token_urlsafe(24)}")
    assert answer is not None and answer.status == 404
    assert "找不到这个链接" in page.inner_text("h1")
    phone_shot(page, "volunteer-unknown-link", full_page=False)
    # a link to work that ended six weeks ago
    token = secrets.token_urlsafe(24)
    with transaction(server.sessions) as session:
        request = session.get(ServiceRequest, loop.requests[0])
        assert request is not None
        old = ServiceRequest(
            center_id=request.center_id, title="重阳节敬老活动", service_type="elderly_visit",
            lat=request.lat, lon=request.lon, start_at=request.start_at - timedelta(days=45),
            end_at=request.end_at - timedelta(days=45), offset_min=480, status="done",
        )  # fmt: skip
        session.add(old)
        session.flush()
        volunteer_id, run_id = session.execute(
            select(Assignment.volunteer_id, Assignment.run_id)
            .where(Assignment.request_id.in_(loop.requests))
            .limit(1)
        ).one()
        session.add(
            Assignment(run_id=run_id, request_id=old.id, volunteer_id=volunteer_id,
                       status="completed", hours_served=2, link_token_hash=token_hash(token))
        )  # fmt: skip
    answer = page.goto(f"{server.url}/v/{token}")
    assert answer is not None and answer.status == 410
    assert "链接已过期" in page.inner_text("h1")
    assert "重阳节敬老活动" in page.inner_text("#link-problem")
    assert page.get_attribute("#call", "href") == "tel:02985261234"
    phone_shot(page, "volunteer-expired")
    phone.close()


def test_the_centers_new_pages(browser: Any, server: Server, loop: Loop) -> None:
    center = sign_in(browser, server, "sun.hui")
    # settings
    center.goto("/settings")
    assert center.input_value("#f-contact_name") == "王老师"
    center.fill("#f-no_show_after_min", "0")
    center.click("#save-settings")
    assert "不能小于 1" in center.inner_text("#no_show_after_min-error")
    center.fill("#f-no_show_after_min", "45")
    center.click("#save-settings")
    assert "设置已保存" in center.inner_text(".alert.ok")
    shot(center, "center-settings")
    # a request's standby list
    center.goto(f"/center/requests/{loop.requests[0]}/standby")
    assert center.locator("#standby tbody tr").count() >= 1
    shot(center, "center-standby", full_page=False)
    # a webhook nobody answers: its secret shown once; its messages fail for good, then are
    # sent again from the deliveries page
    closed = f"http://127.0.0.1:{free_port()}/volmatch"  # nobody listens
    center.goto("/webhooks")
    center.fill("#f-url", closed)
    center.fill("#f-description", "值班手机提醒")
    center.check("input[name=event_types][value='assignment.confirmed']")
    center.click("#add-webhook button[type=submit]")
    assert center.inner_text("#webhook-secret").startswith("whsec_")
    shot(center, "center-webhook-secret", full_page=False)
    _confirm_the_standby(server, loop)

    def dead_letter() -> bool:
        center.goto("/deliveries?status=dead")
        return bool(center.locator("#deliveries tbody tr[id]").count())

    wait_for(dead_letter, what="a dead letter")
    row = center.locator("#deliveries tbody tr[id]").first
    assert "最终失败" in row.inner_text() and "志愿者已确认" in row.inner_text()
    shot(center, "center-deliveries", full_page=False)
    row.get_by_role("button", name="重新发送").click()
    center.wait_for_selector(".alert.ok")
    assert "已重新排队发送" in center.inner_text(".alert.ok")
    # the university's settings: volunteers may change their free times
    university = sign_in(browser, server, "he.ping")
    university.goto("/settings")
    university.check("input[name=volunteers_edit_availability]")
    university.click("#save-settings")
    assert "设置已保存" in university.inner_text(".alert.ok")
    shot(university, "university-settings", full_page=False)
    # ...and a volunteer then does, on her phone (a wrong time shown beside its day)
    phone, page = on_a_phone(browser)
    page.goto(_link_of_li(server))
    page.click("#availability-link")
    page.check("input[name=tue_on]")
    page.fill("input[name=tue_start]", "14:00")
    page.fill("input[name=tue_end]", "12:00")
    page.click("#save-availability")
    assert "结束时间必须晚于开始时间" in page.inner_text("#tue-error")
    phone_shot(page, "volunteer-availability")
    page.click("#text-size")
    page.wait_for_selector("html.large-text")
    phone_shot(page, "volunteer-availability-large-text")
    phone.close()


def _confirm_the_standby(server: Server, loop: Loop) -> None:
    """张建国 confirms the work he stepped in for (through his link): an event the webhook
    listens to."""
    (message,) = mail_to(server, "zhang.jianguo@example.cn", 1)
    answer = httpx.post(
        link_in(message).replace("/v/", "/v1/assignment-links/") + "/confirm", timeout=30
    )
    assert answer.status_code == 200, answer.text


def _link_of_li(server: Server) -> str:
    return link_in(mail_to(server, "li.xiulan@example.cn", 1)[0])
