"""A volunteer's pages through their link (no account): the work in plain Chinese with whom to
call, confirm and decline (with a reason, errors beside the fields, nothing written on a bad
post), the forms' anti-forgery field bound to the link, the phone's calendar (one work as a file,
a private feed: shown once, renewed, switched off), the coming work and hours, weekly
availability where the university allows it, unknown, expired and cancelled links, English by
choice, large text, and pages kept out of search engines and other sites' Referer logs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.models import Assignment, AvailabilityWindow, OutboxEvent, ServiceRequest
from api.repositories import assignments as assignment_repo
from api.services import self_service
from api.web.i18n import language
from api.web.routes.volunteer import _current_week, read_weekly
from tests.api.conftest import Api, assert_error
from tests.api.notify import loop_api, publish_soon, soon_week

DAY = [timedelta(days=2), timedelta(days=3)]
_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Loop:
    api: Api
    uni: dict[str, str]
    center: dict[str, str]
    uni_id: int
    center_id: int
    links: list[dict[str, Any]]  # by request start

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.api.client.get(path, follow_redirects=False, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.api.client.post(path, data=data or {}, follow_redirects=False, **kwargs)

    def field(self, token: str) -> str:
        """The link's anti-forgery field, as its pages carry it (the calendar page always has
        a form)."""
        found = _FIELD.search(self.get(f"/v/{token}/calendar").text)
        assert found
        return found.group(1)

    def status(self, assignment_id: int) -> str:
        with transaction(self.api.sessions()) as session:
            found = session.get(Assignment, assignment_id)
            assert found is not None
            return found.status

    def count(self, model: Any) -> int:
        with transaction(self.api.sessions()) as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def loop(database_url: str) -> Iterator[Loop]:
    """One volunteer proposed two works (in 2 and 3 days) by a center with a contact."""
    with loop_api(database_url) as api:
        uni, center, uni_id, center_id, request_ids = soon_week(api, DAY, volunteers=1)
        api.client.patch(
            f"/v1/organizations/{center_id}/settings",
            json={"contact_name": "王老师", "contact_phone": "029-8888 0000"},
            headers=center,
        )
        api.client.patch(
            f"/v1/requests/{request_ids[0]}",
            json={"bring": "身份证、志愿者马甲", "description": "请从北门进"},
            headers=center,
        )
        links = sorted(publish_soon(api, center, DAY)["links"], key=lambda x: x["request_id"])
        assert len(links) == 2
        yield Loop(api, uni, center, uni_id, center_id, links)


@pytest.mark.database_independent
def test_the_link_opens_the_work_in_plain_chinese_with_whom_to_call(loop: Loop) -> None:
    token = loop.links[0]["token"]
    page = loop.get(f"/v/{token}")
    assert page.status_code == 200
    text = page.text
    for words in ("Smartphone class 0", "长安南路 88 号", "身份证、志愿者马甲", "请从北门进",
                  "王老师", "029-8888 0000", "您能来吗", "等您回复"):  # fmt: skip
        assert words in text, words
    assert 'href="tel:02988880000"' in text  # one tap to call
    # the time as the volunteer's messages write it, in Shanghai time
    with transaction(loop.api.sessions()) as session:
        request = session.get(ServiceRequest, loop.links[0]["request_id"])
        assert request is not None
        start = request.start_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{start.month}月{start.day}日" in text and start.strftime("%H:%M") in text
    # kept out of search engines, caches and other sites' Referer headers; no session cookie
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in text
    assert "set-cookie" not in page.headers
    # nobody's personal data: not even the volunteer's own (a link may be forwarded)
    for private in ("Name S0000", "+86 100 0000", "S0000@example.edu", "Dorm Road"):
        assert private not in text


def test_confirm_through_the_page_and_the_forms_are_bound_to_the_link(loop: Loop) -> None:
    first, second = loop.links
    token, other = first["token"], second["token"]
    # no field, or the field of another link: refused, nothing written
    events = loop.count(OutboxEvent)
    refused = loop.post(f"/v/{token}/confirm")
    assert refused.status_code == 403 and "请重新打开" in refused.text
    refused = loop.post(f"/v/{token}/confirm", {"csrf_token": loop.field(other)})
    assert refused.status_code == 403
    assert loop.status(first["assignment_id"]) == "proposed"
    assert loop.count(OutboxEvent) == events
    # the link's own field: confirmed, with its event, and a clear confirmation
    done = loop.post(f"/v/{token}/confirm", {"csrf_token": loop.field(token)})
    assert done.status_code == 303 and done.headers["location"] == f"/v/{token}?answered=confirmed"
    assert loop.status(first["assignment_id"]) == "confirmed"
    assert loop.count(OutboxEvent) == events + 1
    page = loop.get(done.headers["location"]).text
    assert "谢谢您！您已确认" in page and "小时前提醒您" not in page  # no email or SMS here
    assert "您能来吗" not in page and "计划有变" in page
    # a second confirm changes nothing and lands on the page
    again = loop.post(f"/v/{token}/confirm", {"csrf_token": loop.field(token)})
    assert again.status_code == 303 and again.headers["location"] == f"/v/{token}"
    assert loop.count(OutboxEvent) == events + 1


@pytest.mark.database_independent
def test_decline_with_a_reason_errors_beside_the_fields(loop: Loop) -> None:
    link = loop.links[1]
    token = link["token"]
    form = loop.get(f"/v/{token}/decline")
    assert form.status_code == 200 and "那个时间我有别的事" in form.text
    field = loop.field(token)
    events = loop.count(OutboxEvent)
    no_reason = loop.post(f"/v/{token}/decline", {"csrf_token": field})
    assert no_reason.status_code == 422
    assert re.search(r'id="reason-error">请选一个原因', no_reason.text)
    other = loop.post(f"/v/{token}/decline", {"csrf_token": field, "reason": "other"})
    assert other.status_code == 422 and re.search(r'id="details-error">请写几句原因', other.text)
    long = loop.post(
        f"/v/{token}/decline", {"csrf_token": field, "reason": "busy", "details": "字" * 301}
    )
    assert long.status_code == 422 and 'id="details-error"' in long.text
    assert loop.status(link["assignment_id"]) == "proposed"
    assert loop.count(OutboxEvent) == events
    done = loop.post(
        f"/v/{token}/decline", {"csrf_token": field, "reason": "study", "details": "那天考试"}
    )
    assert done.headers["location"] == f"/v/{token}?answered=declined"
    page = loop.get(done.headers["location"]).text
    assert "谢谢您告诉我们" in page and "您已婉拒" in page
    # the center reads the reason in the service's language, with the volunteer's words
    seen = loop.api.client.get(f"/v1/assignments/{link['assignment_id']}", headers=loop.center)
    assert seen.json()["status"] == "declined"
    assert seen.json()["reason"] == "要上课或考试：那天考试"
    assert [e.type for e in _events(loop)][-1] == "assignment.declined"


def _events(loop: Loop) -> list[OutboxEvent]:
    with transaction(loop.api.sessions()) as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all())


def test_the_schedule_lists_coming_work_with_links_and_hours(loop: Loop) -> None:
    first, second = loop.links
    token = first["token"]
    loop.post(f"/v/{token}/confirm", {"csrf_token": loop.field(token)})
    page = loop.get(f"/v/{token}/schedule")
    assert page.status_code == 200
    text = page.text
    assert text.index("Smartphone class 0") < text.index("Smartphone class 1")
    assert "您已确认" in text and "等您回复" in text
    # each work links to its own page (links derive from the link secret)
    assert f'href="http://127.0.0.1:8000/v/{second["token"]}"' in text
    assert "本学期" in text and "今年" in text
    assert 'href="tel:02988880000"' in text


def test_hours_this_term_and_this_year(loop: Loop) -> None:
    """Completed work counts in the term and the year it started in (university's zone)."""
    assignment_id = loop.links[0]["assignment_id"]
    for move in ("confirm", "check-in", "complete"):
        headers = loop.uni if move == "confirm" else loop.center
        body = {"hours_served": 1.5} if move == "complete" else None
        r = loop.api.client.post(
            f"/v1/assignments/{assignment_id}/{move}", json=body, headers=headers
        )
        assert r.status_code == 200, r.text
    with transaction(loop.api.sessions()) as session:
        assignment = session.get(Assignment, assignment_id)
        assert assignment is not None
        start = assignment.request.start_at
        at_start = self_service.schedule(session, loop.api.settings, assignment, now=start)
        a_year_on = self_service.schedule(
            session, loop.api.settings, assignment, now=start + timedelta(days=366)
        )
    periods = {p.period: p for p in at_start.periods}
    assert periods["term"].hours == periods["year"].hours == 1.5
    assert periods["term"].start <= start.date() <= periods["term"].end
    assert {p.period: p.hours for p in a_year_on.periods} == {"term": 0, "year": 0}
    assert at_start.served.hours == a_year_on.served.hours == 1.5


@pytest.mark.parametrize(
    ("day", "term"),
    [
        (date(2026, 3, 5), (date(2026, 2, 1), date(2026, 7, 31))),
        (date(2026, 7, 31), (date(2026, 2, 1), date(2026, 7, 31))),
        (date(2026, 8, 1), (date(2026, 8, 1), date(2027, 1, 31))),
        (date(2027, 1, 15), (date(2026, 8, 1), date(2027, 1, 31))),
    ],
)
def test_terms(day: date, term: tuple[date, date]) -> None:
    assert self_service.term_of(day) == term


def test_the_phone_calendar_one_work_and_a_private_feed(loop: Loop) -> None:
    token = loop.links[0]["token"]
    page = loop.get(f"/v/{token}/calendar").text
    assert "把这次服务加到手机日历" in page and "获取我的日历地址" in page
    one = loop.get(f"/v/{token}/calendar.ics")
    assert one.status_code == 200 and one.headers["content-type"].startswith("text/calendar")
    assert one.headers["content-disposition"].startswith("attachment")
    (event,) = icalendar.Calendar.from_ical(one.content).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("Smartphone class 0")
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=8)
    assert "身份证、志愿者马甲" in str(event["DESCRIPTION"])
    field = loop.field(token)
    made = loop.post(f"/v/{token}/calendar", {"csrf_token": field})
    assert made.status_code == 200
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', made.text)
    assert url and 'href="webcal://' in made.text
    assert "苹果手机" in made.text and "安卓手机" in made.text  # how to, in plain words
    feed_path = url.group(1).removeprefix("http://127.0.0.1:8000")
    assert loop.get(feed_path).status_code == 200
    # shown once: the page later says subscribed, without the address
    later = loop.get(f"/v/{token}/calendar").text
    assert "您已订阅" in later and feed_path not in later
    # renewed: the old address stops; switched off: none works
    renewed = loop.post(f"/v/{token}/calendar", {"csrf_token": field})
    new_url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', renewed.text)
    assert new_url and loop.get(feed_path).status_code == 404
    new_path = new_url.group(1).removeprefix("http://127.0.0.1:8000")
    assert loop.get(new_path).status_code == 200
    off = loop.post(f"/v/{token}/calendar/revoke", {"csrf_token": field})
    assert off.headers["location"] == f"/v/{token}/calendar?revoked=1"
    assert loop.get(new_path).status_code == 404
    assert "已关闭" in loop.get(off.headers["location"]).text
    # without the link's field, nothing is made
    assert loop.post(f"/v/{token}/calendar").status_code == 403
    with transaction(loop.api.sessions()) as session:
        assignment = session.get(Assignment, loop.links[0]["assignment_id"])
        assert assignment is not None and assignment.volunteer.calendar_token_hash is None


def windows(loop: Loop) -> list[tuple[int, int]]:
    with transaction(loop.api.sessions()) as session:
        query = select(AvailabilityWindow.start_s, AvailabilityWindow.end_s).order_by(
            AvailabilityWindow.start_s
        )
        return [(a, b) for a, b in session.execute(query).all()]


@pytest.mark.database_independent
def test_availability_only_where_the_university_allows_it(loop: Loop) -> None:
    token = loop.links[0]["token"]
    page = loop.get(f"/v/{token}")
    assert "/availability" not in page.text
    refused = loop.get(f"/v/{token}/availability")
    assert refused.status_code == 403 and "您的学校负责登记您的空闲时间" in refused.text
    before = windows(loop)
    posted = loop.post(
        f"/v/{token}/availability",
        {"csrf_token": loop.field(token), "tue_on": "yes", "tue_start": "09:00",
         "tue_end": "12:00", "start_date": "2030-01-01", "end_date": "2030-02-01"},
    )  # fmt: skip
    assert posted.status_code == 403 and windows(loop) == before


@pytest.mark.database_independent
def test_weekly_availability_errors_beside_fields_then_saved(loop: Loop) -> None:
    loop.api.client.patch(
        f"/v1/organizations/{loop.uni_id}/settings",
        json={"volunteers_edit_availability": True},
        headers=loop.uni,
    )
    token = loop.links[0]["token"]
    assert f"/v/{token}/availability" in loop.get(f"/v/{token}").text
    form = loop.get(f"/v/{token}/availability")
    assert form.status_code == 200 and "星期二" in form.text
    field = loop.field(token)
    before = windows(loop)
    today = datetime.now(UTC).date()
    bad = loop.post(
        f"/v/{token}/availability",
        {"csrf_token": field, "tue_on": "yes", "tue_start": "18:00", "tue_end": "14:00",
         "wed_on": "yes", "wed_start": "", "wed_end": "12:00",
         "start_date": (today + timedelta(days=10)).isoformat(),
         "end_date": today.isoformat()},
    )  # fmt: skip
    assert bad.status_code == 422
    assert re.search(r'id="tue-error">结束时间必须晚于开始时间', bad.text)
    assert re.search(r'id="wed-error">请按 09:00', bad.text)
    assert re.search(r'id="end_date-error">', bad.text)
    none = loop.post(
        f"/v/{token}/availability",
        {"csrf_token": field, "start_date": "x", "end_date": today.isoformat()},
    )
    assert re.search(r'id="days-error">请至少勾选一天', none.text)
    assert re.search(r'id="start_date-error">', none.text)
    assert windows(loop) == before
    # every evening from today for two weeks: the held work (afternoons) is no longer covered
    first, last = today + timedelta(days=1), today + timedelta(days=14)
    days = {f"{d}_{part}": value for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            for part, value in (("on", "yes"), ("start", "23:00"), ("end", "23:30"))}  # fmt: skip
    saved = loop.post(
        f"/v/{token}/availability",
        {
            "csrf_token": field,
            **days,
            "start_date": first.isoformat(),
            "end_date": last.isoformat(),
        },
    )
    assert saved.status_code == 200, saved.text
    assert "已保存" in saved.text and 'id="outside"' in saved.text
    assert "Smartphone class 0" in saved.text.split('id="outside"')[1]
    stored = windows(loop)
    assert len([w for w in stored if w[1] - w[0] == 1800]) == 14


def test_unknown_expired_and_cancelled_links(loop: Loop) -> None:
    unknown = loop.get("/v/not-a-real-link-token")
    assert unknown.status_code == 404 and "找不到这个链接" in unknown.text
    assert unknown.headers["X-Robots-Tag"] == "noindex, nofollow"
    # a link some weeks after its work: expired, on the page (with whom to call) and the JSON
    link = loop.links[0]
    with transaction(loop.api.sessions()) as session:
        assignment = session.get(Assignment, link["assignment_id"])
        assert assignment is not None
        ended = assignment.request.end_at
    later = ended + timedelta(days=loop.api.settings.link_valid_days)
    with transaction(loop.api.sessions()) as session:
        with pytest.raises(self_service.LinkExpired):
            self_service.by_link(session, loop.api.settings, link["token"], now=later)
        found = self_service.by_link(
            session, loop.api.settings, link["token"], now=later - timedelta(seconds=1)
        )
        assert found.id == link["assignment_id"]
    _move_back(loop, link["request_id"], days=loop.api.settings.link_valid_days + 3)
    expired = loop.get(f"/v/{link['token']}")
    assert expired.status_code == 410
    assert "链接已过期" in expired.text and "Smartphone class 0" in expired.text
    assert 'href="tel:02988880000"' in expired.text
    assert (
        loop.post(
            f"/v/{link['token']}/confirm", {"csrf_token": loop.field(loop.links[1]["token"])}
        ).status_code
        == 410
    )
    assert_error(loop.api.client.get(f"/v1/assignment-links/{link['token']}"), 410, "link_expired")
    # cancelled by the center: said plainly, nothing to answer
    other = loop.links[1]
    r = loop.api.client.post(
        f"/v1/assignments/{other['assignment_id']}/cancel", json={"reason": "场地维修"},
        headers=loop.center,
    )  # fmt: skip
    assert r.status_code == 200
    page = loop.get(f"/v/{other['token']}").text
    assert "这项服务已取消，您不用去了" in page and 'id="confirm"' not in page
    assert "场地维修" not in page  # the center's own note stays with the center
    assert loop.get(f"/v/{other['token']}/decline").status_code == 303


def _move_back(loop: Loop, request_id: int, days: float) -> None:
    with transaction(loop.api.sessions()) as session:
        request = session.get(ServiceRequest, request_id)
        assert request is not None
        request.start_at -= timedelta(days=days + 3)
        request.end_at -= timedelta(days=days + 3)


@pytest.mark.database_independent
def test_english_by_choice_and_for_volunteers_who_read_english(database_url: str) -> None:
    with loop_api(database_url) as api:
        _uni, center, _, _, _ = soon_week(api, DAY[:1], volunteers=1, languages=["en"])
        (link,) = publish_soon(api, center, DAY[:1])["links"]
        page = api.client.get(f"/v/{link['token']}").text
        assert "Can you come?" in page and "您能来吗" not in page
        api.client.cookies.set("text", "large")
        large = api.client.get(f"/v/{link['token']}").text
        assert '<html lang="en" class="volunteer large-text">' in large
        api.client.cookies.set("lang", "zh-CN")  # the language switch's cookie
        assert "您能来吗" in api.client.get(f"/v/{link['token']}").text


@pytest.mark.database_independent
def test_messages_carry_the_page_link(loop: Loop) -> None:
    assert loop.api.settings.volunteer_link_path == "/v/{token}"
    with transaction(loop.api.sessions()) as session:
        assignment = assignment_repo.get_assignment(session, loop.links[0]["assignment_id"])
        assert assignment is not None
        url = self_service.link_of(loop.api.settings, assignment)
    assert url == f"http://127.0.0.1:8000/v/{loop.links[0]['token']}"


def test_the_availability_form_starts_from_the_coming_week_and_can_be_sent_back_as_shown() -> None:
    """Each weekday's first window of the coming seven days; a window running past midnight
    ends the day at 23:59 (a time field has no 24:00), so the form, sent back unchanged, is
    valid."""
    zone = ZoneInfo("Asia/Shanghai")
    today = date(2026, 3, 2)  # a Monday

    def at(day: int, hour: int) -> int:
        return int(datetime(2026, 3, day, hour, tzinfo=zone).timestamp())

    found = [SimpleNamespace(start_s=at(3, 7), end_s=at(5, 21)),  # Tuesday 07:00 to Thursday
             SimpleNamespace(start_s=at(4, 14), end_s=at(4, 18)),  # Wednesday afternoon
             SimpleNamespace(start_s=at(12, 9), end_s=at(12, 11))]  # next week: not shown
    assignment = SimpleNamespace(volunteer=SimpleNamespace(availability=found))  # fmt: skip
    values = _current_week(assignment, zone, today)  # type: ignore[arg-type]
    assert values["tue"] == {"on": True, "start": "07:00", "end": "23:59"}
    assert values["wed"] == {"on": True, "start": "14:00", "end": "18:00"}
    assert not values["thu"]["on"] and not values["mon"]["on"]
    form = {"start_date": values["start_date"], "end_date": values["end_date"]}
    for day in ("tue", "wed"):
        form |= {f"{day}_on": "yes", f"{day}_start": values[day]["start"],
                 f"{day}_end": values[day]["end"]}  # fmt: skip
    _, errors, patterns = read_weekly(form, language("zh-CN"), today)
    assert errors == {} and patterns == ["Tue 07:00-23:59", "Wed 14:00-18:00"]
