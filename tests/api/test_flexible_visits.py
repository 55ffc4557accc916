"""Flexible visits (format v1.1) through the service: requests with a window and a duration
(created, read back, rejected with the matcher's errors and nothing stored), the start a plan
chooses stored on the assignments and used wherever their time is (the API, events, messages,
the volunteer's link and calendar, reminders, hours, the ledger), and commitments that block a
later run at exactly that time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import icalendar
import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.models import Assignment, HourEntry, MatchRun, ServiceRequest
from api.notifications import scheduler
from api.services import instances
from benchmarks.pg import free_port
from benchmarks.sinks import SmtpSink
from matcher.model import Plan
from tests.api.conftest import Api, assert_error
from tests.api.data import request, volunteer
from tests.api.notify import deliver_until, dispatcher, events_of, loop_api

SHANGHAI = timezone(timedelta(hours=8))


def visit_day(days_ahead: int = 3) -> date:
    return (datetime.now(SHANGHAI) + timedelta(days=days_ahead)).date()


def at(day: date, clock: str) -> str:
    return f"{day.isoformat()}T{clock}:00+08:00"


def moment(day: date, clock: str) -> datetime:
    return datetime.fromisoformat(at(day, clock))


def flexible(day: date, title: str = "Bathing help", **fields: Any) -> dict[str, Any]:
    body = request(title, service_type="bathing", required_skills=[])
    del body["start"], body["end"]
    body.update(earliest_start=at(day, "09:00"), latest_end=at(day, "12:00"), duration=90)
    body.update(fields)
    return body


def count_requests(api: Api) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


def test_a_flexible_request_is_stored_and_read_back(api: Api) -> None:
    _, center = api.org("center")
    day = visit_day()
    team = flexible(
        day, volunteers_needed=2, min_volunteers=2, same_attributes=["gender"],
        attributes={"gender": "f"},
    )  # fmt: skip
    r = api.client.post("/v1/requests", json=[team, request("Fixed class")], headers=center)
    assert r.status_code == 201, r.text
    visit, fixed = r.json()["requests"]
    assert visit["start"] is None and visit["end"] is None
    assert visit["earliest_start"] == at(day, "09:00")
    assert visit["latest_end"] == at(day, "12:00")
    assert visit["duration"] == 90 and visit["same_attributes"] == ["gender"]
    assert fixed["earliest_start"] is None and fixed["duration"] is None and fixed["start"]
    assert api.client.get(f"/v1/requests/{visit['id']}", headers=center).json() == visit
    # the day filter finds a flexible visit by its window
    listed = api.client.get(
        "/v1/requests", params={"starts_from": at(day, "00:00"), "starts_before": at(day, "23:59")},
        headers=center,
    ).json()["items"]  # fmt: skip
    assert [x["id"] for x in listed] == [visit["id"]]


BAD_VISITS: list[tuple[str, dict[str, Any], list[Any], str]] = [
    ("window shorter than duration", {"duration": 200}, ["duration"], "longer than the window"),
    (
        "window over midnight",
        {"earliest_start": "{day}T22:00:00+08:00", "latest_end": "{next}T01:00:00+08:00"},
        ["latest_end"],
        "crosses midnight",
    ),
    (
        "team with an empty gender",
        {"attributes": {"gender": ""}, "volunteers_needed": 2},
        ["attributes"],
        "is empty",
    ),
    ("both forms", {"start": "{day}T09:00:00+08:00", "end": "{day}T10:00:00+08:00"}, [], "not both"),
    ("half a window", {"duration": None}, [], "missing duration"),
    ("same attributes alone", {"same_attributes": ["gender"]}, [], "volunteers_needed is 1"),
    ("no time at all", {"earliest_start": None, "latest_end": None, "duration": None}, [],
     "missing start, end"),
]  # fmt: skip


@pytest.mark.database_independent
@pytest.mark.parametrize(("case", "change", "where", "words"), BAD_VISITS, ids=[b[0] for b in BAD_VISITS])
def test_a_bad_window_is_named_and_nothing_is_stored(
    api: Api, case: str, change: dict[str, Any], where: list[Any], words: str
) -> None:
    _, center = api.org("center")
    day = visit_day()
    bad = flexible(day)
    for key, value in change.items():
        if value is None:
            bad.pop(key, None)
        else:
            bad[key] = (
                value.format(day=day, next=day + timedelta(days=1))
                if isinstance(value, str)
                else value
            )
    body = assert_error(
        api.client.post("/v1/requests", json=[flexible(day), bad], headers=center), 422
    )
    (problem,) = [f for f in body["fields"] if words in f["msg"]]
    assert problem["loc"] == ["body", 1, *where], body
    assert {f["loc"][1] for f in body["fields"]} == {1}
    assert count_requests(api) == 0


def team_world(
    api: Api, day: date, people: int = 2, min_volunteers: int = 2
) -> tuple[dict[str, str], dict[str, str], int]:
    """A university with `people` women free all day and a center with one bathing visit for
    two women, 09:00-12:00, 90 minutes; (uni, center, request id)."""
    _, uni = api.org("university")
    _, center = api.org("center")
    roster = [
        volunteer(f"S{i:04d}", skills=[], attributes={"gender": "f"}, max_hours=None,
                  availability=[{"start": at(day, "07:00"), "end": at(day, "20:00")}])
        for i in range(people)
    ]  # fmt: skip
    assert api.client.post("/v1/volunteers/import", json=roster, headers=uni).status_code == 200
    visit = flexible(
        day, volunteers_needed=2, min_volunteers=min_volunteers, same_attributes=["gender"]
    )
    r = api.client.post("/v1/requests", json=[visit], headers=center)
    assert r.status_code == 201, r.text
    return uni, center, r.json()["requests"][0]["id"]


def solve_choosing(
    api: Api, center: dict[str, str], day: date, chosen: dict[int, tuple[datetime, datetime]]
) -> int:
    """Queue and solve a run of `day`; the plan's visits of `chosen` requests start then (the
    engine's choice, set here so the test knows it). The run's id."""
    run = api.client.post(
        "/v1/match-runs",
        json={"window": {"start": at(day, "00:00"), "end": at(day + timedelta(days=1), "00:00")},
              "time_limit_s": 2},
        headers=center,
    )  # fmt: skip
    assert run.status_code == 202, run.text
    api.solve_queued()
    with transaction(api.sessions()) as session:
        stored = session.get(MatchRun, run.json()["id"])
        assert stored is not None and stored.plan is not None
        plan = Plan.model_validate(stored.plan)
        assignments = []
        for a in plan.assignments:
            times = chosen.get(instances.id_of(a.request_id))
            if times is not None:
                a = a.model_copy(update={"start": times[0], "end": times[1]})
            assignments.append(a)
        stored.plan = plan.model_copy(update={"assignments": tuple(assignments)}).model_dump(
            mode="json"
        )
    return int(run.json()["id"])


def test_the_chosen_start_is_stored_and_used_wherever_the_work_s_time_is(
    database_url: str,
) -> None:
    day = visit_day()
    start, end = moment(day, "10:15"), moment(day, "11:45")
    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    with loop_api(database_url, **email) as api, SmtpSink(port) as smtp:
        _uni, center, visit = team_world(api, day)
        run_id = solve_choosing(api, center, day, {visit: (start, end)})
        plan = api.client.get(f"/v1/match-runs/{run_id}/plan", headers=center).json()
        assert [(a["start"], a["end"]) for a in plan["assignments"]] == [
            (start.isoformat(), end.isoformat())
        ] * 2
        published = api.client.post(f"/v1/match-runs/{run_id}/publish", headers=center)
        assert published.status_code == 200, published.text
        links = published.json()["links"]
        assert len(links) == 2
        with transaction(api.sessions()) as session:
            rows = session.scalars(select(Assignment)).all()
            assert {(a.start_at, a.end_at) for a in rows} == {(start, end)}
        # the API, the link page and the events say the chosen time, in the request's offset
        first = links[0]
        shown = api.client.get(f"/v1/assignments/{first['assignment_id']}", headers=center).json()
        assert (shown["request"]["start"], shown["request"]["end"]) == (
            at(day, "10:15"), at(day, "11:45")
        )
        seen = api.client.get(f"/v1/assignment-links/{first['token']}").json()
        assert seen["request"]["start"] == at(day, "10:15")
        proposed = events_of(api, "assignment.proposed")
        assert {(e.data["start"], e.data["end"]) for e in proposed} == {
            (at(day, "10:15"), at(day, "11:45"))
        }
        # the message to the volunteer
        deliver_until(dispatcher(api), lambda: len(smtp.messages) == 2)
        text = str(smtp.messages[0].get_content())
        assert "10:15–11:45" in text, text
        assert "09:00" not in text and "12:00" not in text
        # the volunteer's own page, schedule and calendar
        page = api.client.get(f"/v/{first['token']}")
        assert page.status_code == 200 and "10:15" in page.text and "09:00" not in page.text
        schedule = api.client.get(f"/v1/assignment-links/{first['token']}/schedule").json()
        assert [(w["start"], w["end"]) for w in schedule["upcoming"]] == [
            (at(day, "10:15"), at(day, "11:45"))
        ]
        feed = api.client.post(f"/v1/assignment-links/{first['token']}/calendar").json()
        calendar = icalendar.Calendar.from_ical(
            api.client.get(f"/v1/calendar/{feed['token']}.ics").content
        )
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == start and event.decoded("dtend") == end
        # a reminder counts from the chosen start: at 07:01 the 2-hour one is not due yet
        for link in links:
            api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
        scheduler.run(api.sessions(), api.settings, moment(day, "07:01").astimezone(UTC))
        reminders = events_of(api, "reminder.due")
        assert sorted(e.data.get("hours_before", 0) for e in reminders) == [24.0, 24.0]
        # hours served are the duration (1.5 h), not the window (3 h), dated at the start
        done = first["assignment_id"]
        assert api.client.post(f"/v1/assignments/{done}/check-in", headers=center).status_code == 200
        completed = api.client.post(f"/v1/assignments/{done}/complete", json={}, headers=center)
        assert completed.status_code == 200, completed.text
        assert completed.json()["hours_served"] == 1.5
        with transaction(api.sessions()) as session:
            (entry,) = session.scalars(select(HourEntry)).all()
            assert (entry.hours, entry.served_at) == (1.5, start)


def test_a_flexible_visit_blocks_a_later_run_at_exactly_its_chosen_time(api: Api) -> None:
    """One person across centers: the visit held at 10:15-11:45 keeps its volunteer from a
    10:30 class at another center, not from a 09:00 one inside the same window."""
    day = visit_day()
    start, end = moment(day, "10:15"), moment(day, "11:45")
    _, uni = api.org("university")
    _, first_center = api.org("center")
    _, second_center = api.org("center")
    free = [{"start": at(day, "07:00"), "end": at(day, "20:00")}]
    vid = api.client.post(
        "/v1/volunteers/import", json=[volunteer("S0001", skills=[], availability=free)],
        headers=uni,
    ).json()["volunteers"][0]["id"]  # fmt: skip
    visit = api.client.post("/v1/requests", json=[flexible(day)], headers=first_center).json()
    run_id = solve_choosing(api, first_center, day, {visit["requests"][0]["id"]: (start, end)})
    assert api.client.post(f"/v1/match-runs/{run_id}/publish", headers=first_center).status_code == 200
    classes = [
        request("Early class", required_skills=[], start=at(day, "09:00"), end=at(day, "09:45")),
        request("Late class", required_skills=[], start=at(day, "10:30"), end=at(day, "11:00")),
    ]
    early, late = api.client.post("/v1/requests", json=classes, headers=second_center).json()[
        "requests"
    ]
    later = solve_choosing(api, second_center, day, {})
    with transaction(api.sessions()) as session:
        run = session.get(MatchRun, later)
        assert run is not None and run.instance is not None
        (person,) = run.instance["volunteers"]
        assert [(c["start"], c["end"]) for c in person["commitments"]] == [
            (start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat())
        ]
    plan = api.client.get(f"/v1/match-runs/{later}/plan", headers=second_center).json()
    assert [(a["volunteer_id"], a["request_id"]) for a in plan["assignments"]] == [
        (vid, early["id"])
    ]
    assert [u["request_id"] for u in plan["unfilled"]] == [late["id"]]


def test_a_standby_joins_a_flexible_visit_at_its_chosen_time_if_free_then(
    database_url: str,
) -> None:
    """The first standby, busy at 10:30 elsewhere, is passed over; the second, busy only at
    09:00 (inside the window, before the chosen start), is proposed the visit at 10:15."""
    day = visit_day()
    start, end = moment(day, "10:15"), moment(day, "11:45")
    free = [{"start": at(day, "07:00"), "end": at(day, "20:00")}]
    with loop_api(database_url) as api:
        _, uni = api.org("university")
        _, center = api.org("center")
        _, other = api.org("center")
        roster = [
            volunteer(f"S{i:04d}", skills=skills, availability=free, max_hours=None,
                      location={"lat": 34.251 + 0.01 * i, "lon": 108.94})
            for i, skills in enumerate([[], ["late"], ["early"]])
        ]  # fmt: skip
        planned, first, second = [
            v["id"]
            for v in api.client.post("/v1/volunteers/import", json=roster, headers=uni).json()[
                "volunteers"
            ]
        ]
        visit = api.client.post("/v1/requests", json=[flexible(day)], headers=center).json()
        rid = visit["requests"][0]["id"]
        run_id = solve_choosing(api, center, day, {rid: (start, end)})
        published = api.client.post(
            f"/v1/match-runs/{run_id}/publish", json={"standby_per_request": 2}, headers=center
        ).json()
        (link,) = published["links"]
        assert link["volunteer_id"] == planned
        assert published["standby"] == [{"request_id": rid, "volunteer_ids": [first, second]}]
        classes = [
            request("Late class", required_skills=["late"], start=at(day, "10:30"), end=at(day, "11:00")),
            request("Early class", required_skills=["early"], start=at(day, "09:00"), end=at(day, "09:45")),
        ]  # fmt: skip
        api.client.post("/v1/requests", json=classes, headers=other)
        elsewhere = solve_choosing(api, other, day, {})
        taken = api.client.post(f"/v1/match-runs/{elsewhere}/publish", headers=other).json()
        assert sorted(x["volunteer_id"] for x in taken["links"]) == sorted([first, second])
        r = api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "ill"})
        assert r.status_code == 200, r.text
        statuses = {
            s["volunteer_id"]: s["status"]
            for s in api.client.get(f"/v1/requests/{rid}/standby", headers=center).json()
        }
        assert statuses == {first: "passed", second: "promoted"}
        with transaction(api.sessions()) as session:
            (promoted,) = session.scalars(
                select(Assignment).where(
                    Assignment.request_id == rid, Assignment.volunteer_id == second
                )
            ).all()
            assert (promoted.start_at, promoted.end_at) == (start, end)


@pytest.mark.database_independent
def test_a_null_end_is_a_missing_end_not_a_crash(api: Api) -> None:
    _, center = api.org("center")
    body = assert_error(
        api.client.post("/v1/requests", json=[request("A", end=None)], headers=center), 422
    )
    assert [(f["loc"], f["msg"]) for f in body["fields"]] == [(["body", 0], "missing end")]
    assert count_requests(api) == 0


def test_end_to_end_the_engine_s_chosen_start_is_stored_told_and_kept(database_url: str) -> None:
    """With the routing engine (matcher.visits): flexible requests through the API, the match
    run through the worker, each visit's chosen start inside its window and shared by its team,
    stored on publication, in the volunteer's message; a volunteer's two visits of a day in
    sequence; a repair run after a decline keeps the time the confirmed member agreed to."""
    pytest.importorskip("matcher.visits", reason="the routing engine of flexible visits")
    day = visit_day()
    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    with loop_api(database_url, **email) as api, SmtpSink(port) as smtp:
        _, uni = api.org("university")
        _, center = api.org("center")
        free = [{"start": at(day, "08:00"), "end": at(day, "13:00")}]
        roster = [
            volunteer(f"S{i:04d}", skills=[], availability=free, max_hours=None,
                      attributes={"gender": "f"})
            for i in range(3)
        ]  # fmt: skip
        assert api.client.post("/v1/volunteers/import", json=roster, headers=uni).status_code == 200
        visits = [
            flexible(day, "Team bath", volunteers_needed=2, same_attributes=["gender"]),
            flexible(day, "Chat", duration=60, location={"lat": 34.26, "lon": 108.95}),
            flexible(day, "Shopping", duration=60, location={"lat": 34.24, "lon": 108.93}),
        ]
        made = api.client.post("/v1/requests", json=visits, headers=center)
        assert made.status_code == 201, made.text
        ids = [r["id"] for r in made.json()["requests"]]
        run = api.client.post(
            "/v1/match-runs",
            json={"window": {"start": at(day, "00:00"), "end": at(day + timedelta(days=1), "00:00")},
                  "time_limit_s": 5},
            headers=center,
        ).json()  # fmt: skip
        api.solve_queued()
        plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
        assert len(plan["assignments"]) == 4, plan
        window = (moment(day, "09:00"), moment(day, "12:00"))
        for a in plan["assignments"]:
            start, end = datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"])
            minutes = 90 if a["request_id"] == ids[0] else 60
            assert window[0] <= start and end <= window[1] and end - start == timedelta(minutes=minutes)
        team = {a["start"] for a in plan["assignments"] if a["request_id"] == ids[0]}
        assert len(team) == 1
        published = api.client.post(f"/v1/match-runs/{run['id']}/publish", headers=center)
        assert published.status_code == 200, published.text
        chosen = {
            (a["volunteer_id"], a["request_id"]): (a["start"], a["end"]) for a in plan["assignments"]
        }
        with transaction(api.sessions()) as session:
            for row in session.scalars(select(Assignment)).all():
                start, end = chosen[(row.volunteer_id, row.request_id)]
                assert (row.start_at, row.end_at) == (
                    datetime.fromisoformat(start), datetime.fromisoformat(end)
                )
        # nobody is in two places at once
        by_volunteer: dict[int, list[tuple[str, str]]] = {}
        for (vid, _), times in chosen.items():
            by_volunteer.setdefault(vid, []).append(times)
        for spans in by_volunteer.values():
            spans.sort()
            assert all(a[1] <= b[0] for a, b in pairwise(spans))
        deliver_until(dispatcher(api), lambda: len(smtp.messages) == 4)
        texts = [str(m.get_content()) for m in smtp.messages]
        for start, end in chosen.values():
            clock = f"{start[11:16]}–{end[11:16]}"
            assert any(clock in text for text in texts), (clock, texts)
        # one of the team confirms, the other declines: a repair keeps the agreed time
        links = {(x["volunteer_id"], x["request_id"]): x for x in published.json()["links"]}
        bathers = sorted(v for v, r in links if r == ids[0])
        api.client.post(f"/v1/assignment-links/{links[(bathers[0], ids[0])]['token']}/confirm")
        declined = api.client.post(
            f"/v1/assignment-links/{links[(bathers[1], ids[0])]['token']}/decline",
            json={"reason": "ill"},
        )
        assert declined.status_code == 200
        repair = api.client.post(f"/v1/match-runs/{run['id']}/repair", json={}, headers=center)
        assert repair.status_code == 202, repair.text
        api.solve_queued()
        fixed = api.client.get(f"/v1/match-runs/{repair.json()['id']}", headers=center).json()
        assert fixed["status"] == "succeeded", fixed
        with transaction(api.sessions()) as session:
            stored = session.get(MatchRun, repair.json()["id"])
            assert stored is not None and stored.instance is not None
            (bath,) = [r for r in stored.instance["requests"] if r["id"] == f"r{ids[0]}"]
            agreed = chosen[(bathers[0], ids[0])]
            assert (bath["start"], bath["end"]) == agreed and "duration" not in bath


def test_a_team_joins_the_time_already_held_even_from_a_plan_solved_before(api: Api) -> None:
    """Two runs solved before either is published: the first gives the visit 10:15 to one
    volunteer; the second, publishing the other volunteer, joins them at 10:15, not at the
    11:00 its own plan chose."""
    day = visit_day()
    first_time = (moment(day, "10:15"), moment(day, "11:45"))
    later_time = (moment(day, "10:30"), moment(day, "12:00"))
    _uni, center, visit = team_world(api, day, min_volunteers=1)
    first = solve_choosing(api, center, day, {visit: first_time})
    second = solve_choosing(api, center, day, {visit: later_time})
    with transaction(api.sessions()) as session:
        run = session.get(MatchRun, first)
        assert run is not None and run.plan is not None
        plan = Plan.model_validate(run.plan)
        run.plan = plan.model_copy(update={"assignments": plan.assignments[:1]}).model_dump(
            mode="json"
        )
    once = api.client.post(f"/v1/match-runs/{first}/publish", headers=center)
    assert once.status_code == 200, once.text
    published = api.client.post(f"/v1/match-runs/{second}/publish", headers=center)
    assert published.status_code == 200, published.text
    with transaction(api.sessions()) as session:
        rows = session.scalars(select(Assignment).order_by(Assignment.id)).all()
        assert [(a.run_id, a.start_at, a.end_at) for a in rows] == [
            (first, *first_time), (second, *first_time)
        ]
