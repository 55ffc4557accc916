"""The volunteer loop around the outbox: reminders (once, never for cancelled work), no-shows
after the check-in window and show rates, standby named at publication and promoted on a
decline, automatic repair runs, organization settings, and the link holder's own endpoints
(schedule and hours, weekly availability, the private calendar feed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import icalendar
import pytest

from api.db import transaction
from api.models import MatchRun, RunStatus
from api.notifications import scheduler
from api.repositories import match_runs as run_repo
from api.services.standby import extra_standby, show_rate
from benchmarks.sinks import WebhookSink
from tests.api.conftest import Api, assert_error
from tests.api.notify import (
    deliver_until,
    deliveries,
    dispatcher,
    events_of,
    local,
    loop_api,
    publish_soon,
    soon_week,
)
from tests.api.test_assignments import assignments

NOW = datetime.now(UTC)


def run_scheduler(api: Api, at: datetime) -> None:
    scheduler.run(api.sessions(), api.settings, at)


def reminders_sent(api: Api) -> list[tuple[int, float]]:
    return sorted(
        (e.data["assignment_id"], e.data["hours_before"])
        for e in events_of(api, "reminder.due")
        if not e.data.get("passed")
    )


def test_reminders_go_once_even_across_restarts_and_never_for_cancelled_work(
    database_url: str,
) -> None:
    starts = [timedelta(hours=30), timedelta(hours=30, minutes=5), timedelta(hours=31)]
    with loop_api(database_url) as api, WebhookSink() as sink:
        _uni, center, _, _, _ = soon_week(api, starts, volunteers=3)
        api.client.post("/v1/webhooks", json={"url": sink.url, "event_types": ["reminder.due"]},
                        headers=center)  # fmt: skip
        links = publish_soon(api, center, starts)["links"]
        confirmed, cancelled, proposed = sorted(links, key=lambda x: x["request_id"])
        for link in (confirmed, cancelled):
            api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
        api.client.post(f"/v1/assignments/{cancelled['assignment_id']}/cancel",
                        json={"reason": "rain"}, headers=center)  # fmt: skip
        start = datetime.fromisoformat(
            api.client.get(f"/v1/assignment-links/{confirmed['token']}").json()["request"]["start"]
        )
        run_scheduler(api, start - timedelta(hours=25))
        assert reminders_sent(api) == []  # not yet
        for _ in range(2):  # a second scheduler (or the same after a restart) adds nothing
            run_scheduler(api, start - timedelta(hours=23))
        assert reminders_sent(api) == [(confirmed["assignment_id"], 24.0)]
        run_scheduler(api, start - timedelta(hours=1, minutes=30))
        run_scheduler(api, start - timedelta(hours=1))
        assert reminders_sent(api) == [
            (confirmed["assignment_id"], 2.0),
            (confirmed["assignment_id"], 24.0),
        ]
        run_scheduler(api, start + timedelta(minutes=1))  # started: no more
        assert len(reminders_sent(api)) == 2
        deliver_until(dispatcher(api), lambda: len(sink.received) == 2)
        # the proposed (unanswered) and the cancelled assignments got none
        assert {a for a, _ in reminders_sent(api)} == {confirmed["assignment_id"]}
        assert proposed["assignment_id"] not in {a for a, _ in reminders_sent(api)}


def test_only_the_nearest_of_reminders_due_at_once_goes(database_url: str) -> None:
    starts = [timedelta(hours=30)]
    with loop_api(database_url) as api:
        _, center, _, _, _ = soon_week(api, starts)
        (link,) = publish_soon(api, center, starts)["links"]
        api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
        start = NOW + timedelta(hours=30)
        # the dispatcher was down from before the 24 h reminder until after the 2 h one was due
        run_scheduler(api, start - timedelta(hours=1))
        run_scheduler(api, start - timedelta(minutes=30))
        assert reminders_sent(api) == [(link["assignment_id"], 2.0)]
        assert len(events_of(api, "reminder.due")) == 2  # the 24 h one recorded as passed


def test_a_reminder_for_work_cancelled_before_it_went_is_skipped(database_url: str) -> None:
    from benchmarks.pg import free_port
    from benchmarks.sinks import SmtpSink

    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    starts = [timedelta(hours=30)]
    with loop_api(database_url, **email) as api, SmtpSink(port) as smtp:
        _, center, _, _, _ = soon_week(api, starts, volunteers=1)
        (link,) = publish_soon(api, center, starts)["links"]
        api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
        deliver_until(dispatcher(api), lambda: len(smtp.messages) == 1)  # the proposal
        run_scheduler(api, NOW + timedelta(hours=7))
        api.client.post(f"/v1/assignments/{link['assignment_id']}/cancel",
                        json={"reason": "venue closed"}, headers=center)  # fmt: skip
        dispatcher(api).run_until_idle()
        subjects = [str(m["Subject"]) for m in smtp.messages]
        assert len(subjects) == 2 and "取消" in subjects[1]  # the cancellation, no reminder
        (reminder,) = [x for x in deliveries(api) if x.event_type == "reminder.due"]
        assert reminder.status == "skipped" and reminder.last_error == "the assignment is cancelled now"


def test_no_show_after_the_check_in_window_and_show_rates(database_url: str) -> None:
    starts = [-timedelta(minutes=45), -timedelta(minutes=10), -timedelta(hours=3)]
    with loop_api(database_url) as api:
        uni, center, _, center_id, rids = soon_week(api, starts, volunteers=3, max_assignments=1)
        links = publish_soon(api, center, starts)["links"]
        by_request = {x["request_id"]: x for x in links}
        for link in links:
            api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
        late, recent, arrived = (by_request[r] for r in rids)
        api.client.post(f"/v1/assignments/{arrived['assignment_id']}/check-in", headers=center)
        run_scheduler(api, datetime.now(UTC))
        status = {a["id"]: a["status"] for a in assignments(api, center)}
        assert status[late["assignment_id"]] == "no_show"  # 45 min > the 30 min window
        assert status[recent["assignment_id"]] == "confirmed"  # still within the window
        assert status[arrived["assignment_id"]] == "checked_in"
        (event,) = events_of(api, "assignment.no_show")
        assert event.data["assignment_id"] == late["assignment_id"]
        # it reopens nothing
        request = api.client.get(f"/v1/requests/{late['request_id']}", headers=center).json()
        assert request["status"] == "filled"
        # the show record, for the volunteer's university and the center holding them
        seen = api.client.get(f"/v1/assignments/{late['assignment_id']}", headers=uni).json()
        assert seen["attendance"] == {"shows": 0, "no_shows": 1, "show_rate": 0.0}
        as_center = api.client.get(f"/v1/assignments/{arrived['assignment_id']}", headers=center)
        assert as_center.json()["attendance"] == {"shows": 1, "no_shows": 0, "show_rate": 1.0}
        _, _planner = api.org("planner")
        _, stranger = api.org("center")
        assert_error(api.client.get(f"/v1/assignments/{late['assignment_id']}", headers=stranger), 404)
        # a late arrival is still checked in
        r = api.client.post(f"/v1/assignments/{late['assignment_id']}/check-in", headers=center)
        assert r.json()["status"] == "checked_in"
        # a center may switch the automatic no-show off
        api.client.patch(f"/v1/organizations/{center_id}/settings",
                         json={"no_show_after_min": None}, headers=center)  # fmt: skip
        run_scheduler(api, datetime.now(UTC) + timedelta(hours=1))
        status = {a["id"]: a["status"] for a in assignments(api, center)}
        assert status[recent["assignment_id"]] == "confirmed"


def test_a_center_marks_a_no_show_by_hand(database_url: str) -> None:
    starts = [-timedelta(minutes=5)]
    with loop_api(database_url) as api:
        _, center, _, _, _ = soon_week(api, starts)
        (link,) = publish_soon(api, center, starts)["links"]
        assert_error(api.client.post(f"/v1/assignments/{link['assignment_id']}/no-show",
                                     headers=center), 409)  # proposed: not yet  # fmt: skip
        api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
        r = api.client.post(f"/v1/assignments/{link['assignment_id']}/no-show", headers=center)
        assert r.status_code == 200 and r.json()["status"] == "no_show"


def test_show_rates_and_the_extra_standby_rule() -> None:
    assert show_rate(0, 0) == 1.0 and show_rate(0, 1) == pytest.approx(2 / 3)
    assert show_rate(8, 2) == pytest.approx(10 / 12)
    assert extra_standby(3, [1.0, 1.0, 1.0]) == 0
    assert extra_standby(3, [0.5, 0.5, 0.8]) == 2  # mean 0.6: ceil(3 x 0.4) = ceil(1.2)
    assert extra_standby(2, [0.8, 0.8]) == 0  # at the threshold: none
    assert extra_standby(1, [0.5]) == 1
    assert extra_standby(0, []) == 0


def volunteer_at(external_id: str, lat: float, window: dict[str, str]) -> dict[str, Any]:
    from tests.api.data import volunteer

    return volunteer(external_id, location={"lat": lat, "lon": 108.94}, availability=[window],
                     max_hours=None)  # fmt: skip


def standby_world(api: Api, starts: list[timedelta]) -> tuple[Any, ...]:
    """One request, four volunteers ever farther away; the center and university."""
    _uni_id, uni = api.org("university")
    center_id, center = api.org("center")
    window = {"start": local(NOW), "end": local(NOW + timedelta(days=4))}
    roster = [volunteer_at(f"S{i}", 34.251 + 0.01 * i, window) for i in range(4)]
    vids = [v["id"] for v in api.client.post("/v1/volunteers/import", json=roster,
                                                headers=uni).json()["volunteers"]]  # fmt: skip
    request = {
        "title": "Bathing help", "location": {"lat": 34.251, "lon": 108.941},
        "service_type": "smartphone_tutoring", "required_skills": ["smartphone_teaching"],
        "start": local(NOW + starts[0]), "end": local(NOW + starts[0] + timedelta(hours=1)),
    }  # fmt: skip
    (rid,) = [r["id"] for r in api.client.post("/v1/requests", json=[request],
                                                headers=center).json()["requests"]]  # fmt: skip
    return uni, center, center_id, vids, rid


def test_standby_named_nearest_first_and_the_first_free_one_promoted(database_url: str) -> None:
    starts = [timedelta(days=2)]
    with loop_api(database_url) as api:
        _uni, center, _center_id, vids, rid = standby_world(api, starts)
        result = publish_soon(api, center, starts, standby_per_request=2)
        (link,) = result["links"]
        assert link["volunteer_id"] == vids[0]  # the nearest is planned
        assert result["standby"] == [{"request_id": rid, "volunteer_ids": [vids[1], vids[2]]}]
        listed = api.client.get(f"/v1/requests/{rid}/standby", headers=center).json()
        assert [(s["volunteer_id"], s["rank"], s["status"]) for s in listed] == [
            (vids[1], 1, "waiting"), (vids[2], 2, "waiting"),
        ]  # fmt: skip
        # the first standby takes other work at that time (another center's)
        _other_id, other = api.org("center")
        busy = {"title": "Elsewhere", "location": {"lat": 34.261, "lon": 108.94},
                "service_type": "smartphone_tutoring", "required_skills": ["smartphone_teaching"],
                "start": local(NOW + starts[0]), "end": local(NOW + starts[0] + timedelta(hours=1))}  # fmt: skip
        api.client.post("/v1/requests", json=[busy], headers=other)
        taken = publish_soon(api, other, starts)
        assert taken["links"][0]["volunteer_id"] in (vids[1], vids[2], vids[3])
        busy_one = taken["links"][0]["volunteer_id"]
        # the planned volunteer declines: the first still-free standby is proposed the work
        r = api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "ill"})
        assert r.status_code == 200
        held = [a for a in assignments(api, center) if a["status"] == "proposed"]
        free_one = vids[2] if busy_one == vids[1] else vids[1]
        assert [a["volunteer_id"] for a in held] == [free_one]
        (promoted,) = [e for e in events_of(api, "assignment.proposed")
                       if e.data.get("promoted_from_standby")]  # fmt: skip
        assert promoted.data["volunteer_id"] == free_one
        statuses = {s["volunteer_id"]: s["status"]
                    for s in api.client.get(f"/v1/requests/{rid}/standby", headers=center).json()}  # fmt: skip
        assert statuses[free_one] == "promoted"
        assert api.client.get(f"/v1/requests/{rid}", headers=center).json()["status"] == "filled"
        # the other center's assignment was untouched
        assert {a["status"] for a in assignments(api, other)} == {"proposed"}


def test_without_standby_a_repair_run_is_queued_once(database_url: str) -> None:
    starts = [timedelta(days=2)]
    with loop_api(database_url) as api:
        _uni, center, center_id, _vids, _rid = standby_world(api, starts)
        api.client.patch(f"/v1/organizations/{center_id}/settings",
                         json={"auto_repair": True}, headers=center)  # fmt: skip
        result = publish_soon(api, center, starts)
        assert result["standby"] == []  # the center's default: none
        (link,) = result["links"]
        api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "ill"})
        runs = api.client.get("/v1/match-runs", headers=center).json()["items"]
        repairs = [r for r in runs if r["kind"] == "repair"]
        assert len(repairs) == 1 and repairs[0]["repair_of"] == result["run"]["id"]
        assert repairs[0]["status"] == "queued"


@pytest.mark.database_independent
def test_settings_apply_to_their_kind_of_organization(api: Api) -> None:
    uni_id, uni = api.org("university")
    center_id, center = api.org("center")
    body = assert_error(api.client.patch(f"/v1/organizations/{uni_id}/settings",
                                         json={"auto_repair": True}, headers=uni), 422)  # fmt: skip
    assert body["fields"] == [{"loc": ["body", "auto_repair"], "msg": "not a setting of a university"}]
    assert_error(api.client.patch(f"/v1/organizations/{center_id}/settings",
                                  json={"auto_repair": None}, headers=center), 422)  # fmt: skip
    assert_error(api.client.patch(f"/v1/organizations/{center_id}/settings",
                                  json={"standby_per_request": 11}, headers=center), 422)  # fmt: skip
    changed = api.client.patch(f"/v1/organizations/{center_id}/settings",
                               json={"standby_per_request": 2, "contact_phone": "029-1"},
                               headers=center).json()  # fmt: skip
    assert changed["standby_per_request"] == 2 and changed["no_show_after_min"] == 30
    assert api.client.get(f"/v1/organizations/{center_id}/settings", headers=center).json() == changed
    assert_error(api.client.get(f"/v1/organizations/{center_id}/settings", headers=uni), 404)


def test_the_link_holder_sees_work_hours_and_contact(database_url: str) -> None:
    starts = [timedelta(days=2), timedelta(days=2, hours=3)]
    with loop_api(database_url) as api:
        _uni, center, _, center_id, _ = soon_week(api, starts, volunteers=1)
        api.client.patch(f"/v1/organizations/{center_id}/settings",
                         json={"contact_name": "王老师", "contact_phone": "029-8888 0000"},
                         headers=center)  # fmt: skip
        first, second = publish_soon(api, center, starts)["links"]
        view = api.client.get(f"/v1/assignment-links/{first['token']}").json()
        assert view["center"]["contact_phone"] == "029-8888 0000"
        assert view["center"]["name"].startswith("center ")
        assert view["request"]["address"] == "雁塔区 长安南路 88 号 社区活动室"
        assert view["can_edit_availability"] is False and view["contact"] is None
        schedule = api.client.get(f"/v1/assignment-links/{first['token']}/schedule").json()
        assert [w["assignment_id"] for w in schedule["upcoming"]] == [
            first["assignment_id"], second["assignment_id"],
        ]  # fmt: skip
        assert schedule["served"] == {"assignments": 0, "hours": 0.0}
        assert schedule["upcoming"][0]["start"].endswith("+08:00")


def test_weekly_availability_through_the_link_where_the_university_allows(
    database_url: str,
) -> None:
    starts = [timedelta(days=2)]
    with loop_api(database_url) as api:
        uni, center, uni_id, _, _ = soon_week(api, starts, volunteers=1)
        (link,) = publish_soon(api, center, starts)["links"]
        start = datetime.fromisoformat(
            api.client.get(f"/v1/assignment-links/{link['token']}").json()["request"]["start"]
        )
        day = start.date()
        body = {"patterns": ["Mon 09:00-10:00"], "start_date": str(day - timedelta(days=1)),
                "end_date": str(day + timedelta(days=1))}  # fmt: skip
        url = f"/v1/assignment-links/{link['token']}/availability"
        assert_error(api.client.put(url, json=body), 403)
        api.client.patch(f"/v1/organizations/{uni_id}/settings",
                         json={"volunteers_edit_availability": True}, headers=uni)  # fmt: skip
        assert_error(api.client.put(url, json={**body, "patterns": ["Xyz 9:00-10:00"]}), 422)
        answer = api.client.put(url, json=body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["outside"] == [link["assignment_id"]] or start.weekday() == 0
        mine = api.client.get(f"/v1/volunteers/{link['volunteer_id']}", headers=uni).json()
        inside = [w for w in mine["availability"]
                  if abs((datetime.fromisoformat(w["start"]).date() - day).days) <= 1]  # fmt: skip
        assert all(datetime.fromisoformat(w["start"]).weekday() == 0 for w in inside)
        assert all(w["start"].endswith("+08:00") for w in inside)


def test_the_calendar_feed_in_shanghai_time_revocable(database_url: str) -> None:
    starts = [timedelta(days=2), timedelta(days=3)]
    with loop_api(database_url) as api:
        _, center, _, _, _ = soon_week(api, starts, volunteers=1)
        first, second = publish_soon(api, center, starts)["links"]
        api.client.post(f"/v1/assignment-links/{first['token']}/confirm")
        feed = api.client.post(f"/v1/assignment-links/{second['token']}/calendar")
        assert feed.status_code == 201
        token = feed.json()["token"]
        assert feed.json()["url"].endswith(f"/v1/calendar/{token}.ics")
        r = api.client.get(f"/v1/calendar/{token}.ics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(r.content)
        assert [c["TZID"] for c in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
        events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
        assert [str(e["status"]) for e in events] == ["CONFIRMED", "TENTATIVE"]
        for event, link in zip(events, (first, second), strict=True):
            request = api.client.get(f"/v1/assignment-links/{link['token']}").json()["request"]
            begins = event.decoded("dtstart")
            assert event["dtstart"].params["TZID"] == "Asia/Shanghai"
            assert begins == datetime.fromisoformat(request["start"])
            assert begins.utcoffset() == timedelta(hours=8)
            assert str(event["uid"]) == f"assignment-{link['assignment_id']}@volmatch"
        assert "Smartphone class" in str(events[0]["summary"])
        # a new feed replaces the old one; revoking ends it
        again = api.client.post(f"/v1/assignment-links/{first['token']}/calendar").json()["token"]
        assert_error(api.client.get(f"/v1/calendar/{token}.ics"), 404)
        assert api.client.get(f"/v1/calendar/{again}.ics").status_code == 200
        assert api.client.delete(f"/v1/assignment-links/{first['token']}/calendar").status_code == 204
        assert_error(api.client.get(f"/v1/calendar/{again}.ics"), 404)


def test_calendar_times_in_utc_when_the_offset_is_not_the_centers_zone() -> None:
    from api.services.calendar_feed import local_time

    moment = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    shown = local_time(moment, 480, "Asia/Shanghai")
    assert shown.utcoffset() == timedelta(hours=8) and shown.hour == 14
    assert local_time(moment, 540, "Asia/Shanghai").tzinfo == UTC  # +09:00 is not Shanghai's
    assert local_time(moment, 0, "Asia/Shanghai").tzinfo == UTC
    assert local_time(moment, 480, "Asia/Shanghai") == moment.astimezone(timezone(timedelta(hours=8)))


def test_finished_runs_are_told(database_url: str) -> None:
    with loop_api(database_url) as api:
        _, center = api.org("center")
        org = api.client.get("/v1/organizations/me", headers=center).json()
        with transaction(api.sessions()) as session:
            run = run_repo.add_run(session, MatchRun(
                organization_id=org["id"], status=RunStatus.QUEUED, engine="greedy",
                time_limit_s=1, window_start=NOW, window_end=NOW + timedelta(days=1),
                center_ids=[org["id"]],
            ))  # fmt: skip
            run_id = run.id
        api.solve_queued()
        (event,) = events_of(api, "run.succeeded")
        assert event.data["run_id"] == run_id and event.data["unfilled"] == 0
