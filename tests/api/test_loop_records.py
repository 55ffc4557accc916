"""The volunteer loop and the records together: a completion through the loop is one ledger line
with its audit trail, and the console's pages (hours, a volunteer's ledger and certificates)
show the ledger's figures; erasure declines the person's confirmed work, keeps their served
hours and reaches the loop's traces (calendar feed, links and their salts, standby places,
messages not yet sent); a no-show writes no hours, the volunteer's own served hours come from
the ledger, every change of the loop is audited in the transaction that records its event (and
a refused one writes neither), and law firms and communities hear of and set up the loop as
universities do."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import func, select

from api.db import transaction
from api.models import (
    Assignment,
    AuditEvent,
    Certificate,
    HourEntry,
    OutboxEvent,
    Standby,
    UserRole,
    Volunteer,
)
from api.notifications import scheduler
from api.services import erasure, users
from api.services.audit import Actor
from tests.api.conftest import Api, assert_error
from tests.api.data import volunteer
from tests.api.notify import deliver_until, deliveries, dispatcher, events_of, local, loop_api
from tests.api.test_assignments import assignments
from tests.api.test_audit import events as audit_events
from tests.api.test_certificates import pdf_text
from tests.api.test_secrets import database_text
from tests.console.conftest import PASSWORD, Console

PLACE = {"lat": 34.251, "lon": 108.941}
AROUND_NOW = {  # a report's range: the days around today
    "from": (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
    "to": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
}
FAR = {"lat": 34.30, "lon": 108.941}  # about 5.5 km north of the place


def roster_and_requests(
    api: Api,
    starts_in: list[timedelta],
    homes: list[dict[str, float]],
    owner: str = "university",
    free_for: list[list[int]] | None = None,
) -> tuple[dict[str, str], dict[str, str], int, list[int], list[int]]:
    """A roster owner with one volunteer per home, available around the requests of
    `free_for` (by index; default all of them), and a center with one request per start:
    (owner headers, center headers, owner id, volunteer ids, request ids)."""
    owner_id, owner_headers = api.org(owner)
    _, center = api.org("center")
    now = datetime.now(UTC)

    def around(delta: timedelta) -> dict[str, str]:
        return {"start": local(now + delta - timedelta(hours=2)),
                "end": local(now + delta + timedelta(hours=3))}  # fmt: skip

    free_for = free_for or [list(range(len(starts_in)))] * len(homes)
    rows = [
        volunteer(
            f"V{i:04d}",
            location=home,
            availability=[around(starts_in[j]) for j in free_for[i]],
            max_hours=None,
        )
        for i, home in enumerate(homes)
    ]
    imported = api.client.post("/v1/volunteers/import", json=rows, headers=owner_headers)
    assert imported.status_code == 200, imported.text
    vids = [v["id"] for v in imported.json()["volunteers"]]
    requests = [
        {
            "title": f"Legal aid duty {j}",
            "location": PLACE,
            "service_type": "legal_aid",
            "start": local(now + delta),
            "end": local(now + delta + timedelta(hours=1)),
            "required_skills": ["smartphone_teaching"],
        }
        for j, delta in enumerate(starts_in)
    ]
    r = api.client.post("/v1/requests", json=requests, headers=center)
    assert r.status_code == 201, r.text
    return owner_headers, center, owner_id, vids, [x["id"] for x in r.json()["requests"]]


def publish_around(
    api: Api, center: dict[str, str], start_in: timedelta, **publish: Any
) -> dict[str, Any]:
    """Run and publish the center's requests starting within 12 hours of `start_in`."""
    now = datetime.now(UTC)
    window = {
        "start": local(now + start_in - timedelta(hours=12)),
        "end": local(now + start_in + timedelta(hours=12)),
    }
    run = api.client.post(
        "/v1/match-runs",
        json={"window": window, "engine": "greedy", "time_limit_s": 2},
        headers=center,
    )
    assert run.status_code == 202, run.text
    api.solve_queued()
    r = api.client.post(
        f"/v1/match-runs/{run.json()['id']}/publish", json=publish or None, headers=center
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def serve(api: Api, center: dict[str, str], token: str, assignment_id: int, hours: float) -> None:
    """The volunteer confirms through their link; the center checks in and completes."""
    assert api.client.post(f"/v1/assignment-links/{token}/confirm").status_code == 200
    for path, body in (("check-in", None), ("complete", {"hours_served": hours})):
        r = api.client.post(f"/v1/assignments/{assignment_id}/{path}", json=body, headers=center)
        assert r.status_code == 200, r.text


def rows(api: Api, model: Any, *where: Any) -> list[Any]:
    with transaction(api.sessions()) as session:
        return list(session.scalars(select(model).where(*where)).all())


def count(api: Api, model: Any) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def console_of(api: Api, org_id: int) -> Console:
    """A coordinator of the organization, signed in to the console (pages in Chinese)."""
    login = f"staff{org_id}"
    with transaction(api.sessions()) as session:
        user = users.create_user(session, None, org_id, login, "Staff", UserRole.COORDINATOR)
        user.password_hash = PasswordHash.recommended().hash(PASSWORD)
    return Console(api.app, login)


def cells(page: str, table: str) -> list[list[str]]:
    """The text of each body row's cells of the page's table `table`."""
    body = page.split(f'id="{table}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def served_by(api: Api, volunteer_id: int) -> list[tuple[str, float]]:
    return [(e.kind, e.hours) for e in rows(api, HourEntry, HourEntry.volunteer_id == volunteer_id)]


def test_a_completion_through_the_loop_is_a_ledger_line_that_the_console_shows_and_certifies(
    database_url: str, tmp_path: Path
) -> None:
    """Confirmed by link, checked in and completed by the center: one completion line in the
    ledger (the owner's, the center's, the request's start), audited with its actor at each
    step; a correction adds a line; the owner's console shows the ledger's figures on the hours
    page and on the volunteer's page, and issues a certificate of them whose PDF says so."""
    starts = [timedelta(hours=30)]
    with loop_api(database_url) as api:
        uni, center, uni_id, (vid,), (rid,) = roster_and_requests(api, starts, [PLACE])
        center_id = api.client.get("/v1/organizations/me", headers=center).json()["id"]
        (link,) = publish_around(api, center, starts[0])["links"]
        serve(api, center, link["token"], link["assignment_id"], 1.5)
        (entry,) = rows(api, HourEntry)
        assert (entry.volunteer_id, entry.organization_id, entry.center_id, entry.assignment_id,
                entry.kind, entry.hours) == (vid, uni_id, center_id, link["assignment_id"],
                                             "completion", 1.5)  # fmt: skip
        request = api.client.get(f"/v1/requests/{rid}", headers=center).json()
        assert entry.served_at == datetime.fromisoformat(request["start"])
        trail = audit_events(
            api, api.admin, entity_type="assignment", entity_id=link["assignment_id"]
        )
        assert [(e["action"], e["actor"]["kind"]) for e in trail] == [
            ("proposed", "api_key"), ("confirmed", "link"), ("checked_in", "api_key"),
            ("completed", "api_key"),
        ]  # fmt: skip
        assert trail[-1]["after"]["hours_served"] == 1.5
        (told,) = events_of(api, "assignment.completed")  # the webhooks hear it too
        assert told.data["assignment_id"] == link["assignment_id"]
        fixed = api.client.post(
            f"/v1/assignments/{link['assignment_id']}/hours",
            json={"hours_served": 2.25, "reason": "stayed to help"},
            headers=center,
        )
        assert fixed.status_code == 200, fixed.text
        assert served_by(api, vid) == [("completion", 1.5), ("correction", 0.75)]

        staff = console_of(api, uni_id)
        page = staff.get(f"/university/volunteers/{vid}")
        assert page.status_code == 200, page.text
        assert re.search(r'id="ledger-hours">2\.25<', page.text)
        lines = cells(page.text, "ledger-lines")
        assert [line[3:] for line in lines] == [["已完成", "1.5", ""],
                                                ["更正", "+0.75", "stayed to help"]]  # fmt: skip
        assert all("Legal aid duty 0" in line for line in lines)
        assert cells(page.text, "certificate-list") == [["尚未开具证书。"]]
        day = request["start"][:10]
        hours = staff.get(f"/university/hours?start={day}&end={day}")
        assert cells(hours.text, "hours") == [["V0000", "Name V0000", "1", "2.25"]]

        # a period without hours certifies nothing, and says why
        empty = staff.post(f"/university/volunteers/{vid}/certificates",
                           {"start": "2020-01-01", "end": "2020-12-31"})  # fmt: skip
        assert empty.status_code == 409
        assert "没有已完成的服务时长" in empty.text and count(api, Certificate) == 0
        issued = staff.post(f"/university/volunteers/{vid}/certificates",
                            {"start": day, "end": day})  # fmt: skip
        assert issued.status_code == 303, issued.text
        (certificate,) = rows(api, Certificate)
        assert certificate.hours == 2.25
        page = staff.get(issued.headers["location"])
        ((code, period, certified, _, status, _),) = cells(page.text, "certificate-list")
        assert (code, period, certified, status) == (
            certificate.code, f"{day} – {day}", "2.25", "有效"
        )  # fmt: skip
        pdf = staff.get(f"/university/certificates/{certificate.id}/pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content, tmp_path)
        assert "2.25 小时" in text and certificate.code in text, text
        (issued_event,) = audit_events(api, uni, entity_type="certificate", action="issued")
        assert issued_event["actor"]["kind"] == "user"
        # another university's coordinator finds neither the page nor the certificate
        other_id, _ = api.org("university")
        other = console_of(api, other_id)
        assert other.get(f"/university/volunteers/{vid}").status_code == 404
        assert other.get(f"/university/certificates/{certificate.id}/pdf").status_code == 404


def test_erasure_declines_confirmed_work_and_keeps_served_hours_on_every_page(
    database_url: str,
) -> None:
    """A volunteer who served once and confirmed a later task is erased: the later task is
    declined (the request reopens, the center hears of it, the trail says who), the served
    hours stay in the ledger and on the owner's pages under the pseudonym."""
    starts = [timedelta(hours=30), timedelta(hours=54)]
    with loop_api(database_url) as api:
        uni, center, uni_id, (vid,), (_, later_rid) = roster_and_requests(api, starts, [PLACE])
        (served,) = publish_around(api, center, starts[0])["links"]
        serve(api, center, served["token"], served["assignment_id"], 2.0)
        (later,) = publish_around(api, center, starts[1])["links"]
        assert api.client.post(f"/v1/assignment-links/{later['token']}/confirm").status_code == 200
        staff = console_of(api, uni_id)
        day = datetime.now(UTC).date()
        period = f"start={day - timedelta(days=1)}&end={day + timedelta(days=5)}"
        before = cells(staff.get(f"/university/hours?{period}").text, "hours")
        assert before == [["V0000", "Name V0000", "1", "2"]]

        assert api.client.delete(f"/v1/volunteers/{vid}", headers=uni).status_code == 204

        held = {a["id"]: a for a in assignments(api, center)}
        assert held[served["assignment_id"]]["status"] == "completed"
        declined_work = held[later["assignment_id"]]
        assert (declined_work["status"], declined_work["reason"]) == (
            "declined", erasure.REMOVED_REASON
        )  # fmt: skip
        request = api.client.get(f"/v1/requests/{later_rid}", headers=center).json()
        assert request["status"] == "open"
        (told,) = events_of(api, "assignment.declined")
        assert told.data["assignment_id"] == later["assignment_id"]
        (declined,) = audit_events(api, api.admin, entity_type="assignment", action="declined")
        assert declined["entity_id"] == later["assignment_id"]
        assert declined["actor"]["kind"] == "api_key"
        assert declined["actor"]["organization_id"] == uni_id
        assert served_by(api, vid) == [("completion", 2.0)]
        (row,) = rows(api, Volunteer, Volunteer.id == vid)
        after = cells(staff.get(f"/university/hours?{period}").text, "hours")
        assert after == [[row.pseudonym, "（个人信息已删除）", "1", "2"]]
        # the person is gone from the roster (as from the API); their hours are not
        assert staff.get(f"/university/volunteers/{vid}").status_code == 404


def test_erasure_reaches_the_loops_traces(database_url: str) -> None:
    """A volunteer who served (so kept as a pseudonym), holds a calendar feed, a link with its
    salt, a standby place and a message not yet sent: after erasure, the feed and the link
    answer 404, no salt is left, the standby place is gone, the message is skipped, no table
    holds their data, and their hours still count."""
    from benchmarks.pg import free_port

    # nothing listens on the SMTP port: the messages to volunteers stay pending
    email = {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none"}
    starts = [timedelta(hours=30), timedelta(hours=54)]
    with loop_api(database_url, **email) as api:
        # the far volunteer alone is free for the first request; the near ones for the second
        uni, center, _, vids, _ = roster_and_requests(
            api, starts, [FAR, PLACE, PLACE], free_for=[[0, 1], [1], [1]]
        )
        (link,) = publish_around(api, center, starts[0])["links"]
        erased = link["volunteer_id"]
        assert erased == vids[0]
        serve(api, center, link["token"], link["assignment_id"], 1.0)
        feed = api.client.post(f"/v1/assignment-links/{link['token']}/calendar").json()["token"]
        assert api.client.get(f"/v1/calendar/{feed}.ics").status_code == 200
        # the second request goes to a near volunteer; the far one waits as standby
        second = publish_around(api, center, starts[1], standby_per_request=2)
        assert erased in second["standby"][0]["volunteer_ids"]
        assert rows(api, Standby, Standby.volunteer_id == erased)
        pending = [
            d for d in deliveries(api) if d.volunteer_id == erased and d.status == "pending"
        ]
        assert pending, "a message to the volunteer waits"
        assert all(a.link_salt for a in rows(api, Assignment, Assignment.volunteer_id == erased))
        before = database_text(api)
        personal = ("Name V0000", "V0000@example.edu", "V0000 Dorm Road", "+86 100 0000 0000")
        assert all(value in before for value in personal)

        assert api.client.delete(f"/v1/volunteers/{erased}", headers=uni).status_code == 204

        assert_error(api.client.get(f"/v1/calendar/{feed}.ics"), 404)
        assert_error(api.client.get(f"/v1/assignment-links/{link['token']}"), 404)
        assert_error(api.client.get(f"/v1/assignment-links/{link['token']}/schedule"), 404)
        held = rows(api, Assignment, Assignment.volunteer_id == erased)
        assert held and all(a.link_salt is None for a in held)
        assert rows(api, Standby, Standby.volunteer_id == erased) == []
        for d in deliveries(api):
            if d.volunteer_id == erased:
                assert d.status == "skipped" and d.last_error == "the volunteer was erased"
        after = database_text(api)
        assert [value for value in personal if value in after] == []
        (row,) = rows(api, Volunteer, Volunteer.id == erased)
        assert row.pseudonym and row.calendar_token_hash is None
        hours = api.client.get(
            "/v1/reports/hours", params=AROUND_NOW, headers=uni
        ).json()
        assert [(v["pseudonym"], v["hours"]) for v in hours["volunteers"]] == [
            (row.pseudonym, 1.0)
        ]


def test_nobody_erased_steps_in_for_another_erased_volunteer(database_url: str) -> None:
    """Erasing several at once (as the retention sweep does): the open work of one is declined,
    and a standby who is being erased too is not proposed it, whatever the order."""
    starts = [timedelta(hours=30)]
    with loop_api(database_url) as api:
        _, center, _, vids, rids = roster_and_requests(api, starts, [PLACE, FAR])
        result = publish_around(api, center, starts[0], standby_per_request=1)
        (link,) = result["links"]
        assert link["volunteer_id"] == vids[0]
        assert result["standby"] == [{"request_id": rids[0], "volunteer_ids": [vids[1]]}]
        with transaction(api.sessions()) as session:
            # the standby first: when the other's work is declined, they are still on file
            both = [v for v in (session.get(Volunteer, vid) for vid in vids[::-1]) if v]
            erasure.erase_many(session, api.settings, both, Actor.system("retention"))
        assert [a["status"] for a in assignments(api, center)] == ["declined"]
        assert rows(api, Assignment, Assignment.volunteer_id == vids[1]) == []
        request = api.client.get(f"/v1/requests/{rids[0]}", headers=center).json()
        assert request["status"] == "open"  # it waits for the next run


def test_a_no_show_writes_no_hours_and_the_volunteers_own_hours_are_the_ledgers(
    database_url: str,
) -> None:
    starts = [-timedelta(minutes=45)]
    with loop_api(database_url) as api:
        uni, center, _, _, _ = roster_and_requests(api, starts, [PLACE])
        (link,) = publish_around(api, center, starts[0])["links"]
        token, assignment_id = link["token"], link["assignment_id"]
        api.client.post(f"/v1/assignment-links/{token}/confirm")
        scheduler.run(api.sessions(), api.settings, datetime.now(UTC))
        assert assignments(api, center)[0]["status"] == "no_show"
        assert count(api, HourEntry) == 0
        served = api.client.get(f"/v1/assignment-links/{token}/schedule").json()["served"]
        assert served == {"assignments": 0, "hours": 0.0}
        (event,) = audit_events(api, api.admin, entity_type="assignment", action="no_show")
        assert event["actor"] == {"kind": "system", "id": "scheduler", "organization_id": None}
        # a late arrival is checked in and completes: then the hours count
        for path, body in (("check-in", None), ("complete", {"hours_served": 0.75})):
            r = api.client.post(
                f"/v1/assignments/{assignment_id}/{path}", json=body, headers=center
            )
            assert r.status_code == 200, r.text
        assert [e.hours for e in rows(api, HourEntry)] == [0.75]
        corrected = api.client.post(
            f"/v1/assignments/{assignment_id}/hours",
            json={"hours_served": 1.25, "reason": "stayed to help"},
            headers=center,
        )
        assert corrected.status_code == 200, corrected.text
        served = api.client.get(f"/v1/assignment-links/{token}/schedule").json()["served"]
        assert served == {"assignments": 1, "hours": 1.25}
        (fixed,) = events_of(api, "assignment.hours_corrected")
        assert fixed.data["assignment_id"] == assignment_id and fixed.data["hours_served"] == 1.25
        report = api.client.get(
            "/v1/reports/hours", params=AROUND_NOW, headers=uni
        ).json()
        assert report["volunteers"][0]["hours"] == 1.25


def test_the_loops_changes_are_audited_with_their_events(database_url: str) -> None:
    """Each change of the loop writes its audit event (and its outbox event, where it has one)
    in its transaction, with its actor; a refused change writes neither."""
    starts = [timedelta(hours=30)]
    with loop_api(database_url, delivery_max_attempts=1) as api:
        uni, center, uni_id, vids, _ = roster_and_requests(api, starts, [PLACE, FAR])
        center_id = api.client.get("/v1/organizations/me", headers=center).json()["id"]
        api.client.patch(f"/v1/organizations/{uni_id}/settings",
                         json={"volunteers_edit_availability": True}, headers=uni)  # fmt: skip
        result = publish_around(api, center, starts[0], standby_per_request=1)
        (link,) = result["links"]
        token = link["token"]
        assert api.client.post(f"/v1/assignment-links/{token}/confirm").status_code == 200
        trail, outbox = count(api, AuditEvent), count(api, OutboxEvent)
        assert_error(api.client.post(f"/v1/assignment-links/{token}/confirm"), 409)
        assert (count(api, AuditEvent), count(api, OutboxEvent)) == (trail, outbox)
        week = {"patterns": ["Tue 14:00-18:00"], "start_date": "2027-03-01",
                "end_date": "2027-03-07"}  # fmt: skip
        assert api.client.put(f"/v1/assignment-links/{token}/availability", json=week).status_code == 200
        assert api.client.post(f"/v1/assignment-links/{token}/calendar").status_code == 201
        assert api.client.delete(f"/v1/assignment-links/{token}/calendar").status_code == 204
        # the volunteer declines: the standby steps in, as the link's doing
        declined = api.client.post(
            f"/v1/assignment-links/{token}/decline", json={"reason": "exam"}
        )
        assert declined.status_code == 200
        (promoted,) = [a for a in assignments(api, center) if a["volunteer_id"] == vids[1]]
        # a webhook that cannot be reached: its delivery is dead after one attempt
        hook = api.client.post(
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/secret-path?token=abc", "event_types": []},
            headers=center,
        ).json()
        api.client.patch(f"/v1/webhooks/{hook['id']}",
                         json={"url": "http://127.0.0.1:9/other?token=def"}, headers=center)  # fmt: skip
        api.client.post(f"/v1/webhooks/{hook['id']}/secret", headers=center)
        api.client.post(f"/v1/assignments/{promoted['id']}/cancel", json={"reason": "rain"},
                        headers=center)  # fmt: skip
        d = dispatcher(api)
        deliver_until(d, lambda: any(x.status == "dead" for x in deliveries(api)))
        dead = next(x for x in deliveries(api) if x.status == "dead")
        assert api.client.post(f"/v1/deliveries/{dead.id}/retry", headers=center).status_code == 200
        api.client.delete(f"/v1/webhooks/{hook['id']}", headers=center)
        api.client.patch(f"/v1/organizations/{center_id}/settings",
                         json={"standby_per_request": 2}, headers=center)  # fmt: skip

        trail_events = audit_events(api, api.admin)
        seen = {(e["entity_type"], e["action"], e["actor"]["kind"]) for e in trail_events}
        assert {
            ("assignment", "confirmed", "link"),
            ("assignment", "declined", "link"),
            ("standby", "named", "api_key"),
            ("standby", "promoted", "link"),
            ("assignment", "proposed", "link"),
            ("volunteer", "availability_replaced", "link"),
            ("volunteer", "calendar_issued", "link"),
            ("volunteer", "calendar_revoked", "link"),
            ("organization", "settings_changed", "api_key"),
            ("webhook", "created", "api_key"),
            ("webhook", "updated", "api_key"),
            ("webhook", "secret_rotated", "api_key"),
            ("webhook", "deleted", "api_key"),
            ("delivery", "retried", "api_key"),
        } <= seen
        text = str(trail_events)
        assert "secret-path" not in text and "token=" not in text and "whsec_" not in text
        (updated,) = [e for e in trail_events if e["action"] == "updated"
                      and e["entity_type"] == "webhook"]  # fmt: skip
        assert updated["after"] == {"url": "[redacted]"}
        # a promotion's assignment is audited and told in the same breath
        (told,) = [e for e in events_of(api, "assignment.proposed")
                   if e.data.get("promoted_from_standby")]  # fmt: skip
        assert told.data["assignment_id"] == promoted["id"]
        proposed = [e for e in trail_events if e["entity_type"] == "assignment"
                    and e["entity_id"] == promoted["id"] and e["action"] == "proposed"]  # fmt: skip
        assert proposed and proposed[0]["after"]["promoted_from_standby"] is True
        # the admin reads the same trail in the console, secrets still out of it
        admin = console_of(api, api.admin_id)
        page = admin.get("/admin/audit?entity_type=webhook")
        assert page.status_code == 200, page.text
        shown = cells(page.text, "audit")
        assert [(row[1].split()[0], row[4]) for row in shown] == [
            ("API", action) for action in ("created", "updated", "secret_rotated", "deleted")
        ]
        assert "secret-path" not in page.text and "token=" not in page.text
        assert shown[1][5] == "url: [redacted] → [redacted]"
        page = admin.get(f"/admin/audit?entity_type=assignment&entity_id={link['assignment_id']}")
        (proposed_by, confirmed_by) = [row[1] for row in cells(page.text, "audit")][:2]
        assert proposed_by.startswith("API 密钥") and confirmed_by.startswith("志愿者链接")
        refused = admin.get("/admin/audit?start=2026-03-09&end=2026-03-02")
        assert refused.status_code == 422 and "开始日期不能晚于结束日期" in refused.text
        # each assignment event has its audit event
        moves = {(e["entity_id"], e["action"]) for e in trail_events
                 if e["entity_type"] == "assignment"}  # fmt: skip
        for e in events_of(api):
            if e.type.startswith("assignment."):
                assert (e.data["assignment_id"], e.type.split(".", 1)[1]) in moves, e.type


def test_law_firms_and_communities_hear_of_their_volunteers_and_set_up_the_loop(
    database_url: str,
) -> None:
    starts = [timedelta(hours=30)]
    week = {"patterns": ["Tue 14:00-18:00"], "start_date": "2027-03-01", "end_date": "2027-03-07"}
    with loop_api(database_url) as api:
        for kind in ("law_firm", "community"):
            owner, center, owner_id, _, _ = roster_and_requests(api, starts, [PLACE], kind)
            hook = api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"},
                                   headers=owner)  # fmt: skip
            assert hook.status_code == 201, hook.text
            allowed = api.client.patch(f"/v1/organizations/{owner_id}/settings",
                                       json={"volunteers_edit_availability": True},
                                       headers=owner)  # fmt: skip
            assert allowed.status_code == 200, allowed.text
            foreign = api.client.patch(f"/v1/organizations/{owner_id}/settings",
                                       json={"standby_per_request": 1}, headers=owner)  # fmt: skip
            assert_error(foreign, 422)
            assert foreign.json()["fields"][0]["msg"] == f"not a setting of a {kind}"
            (link,) = publish_around(api, center, starts[0])["links"]
            heard = [
                d for d in deliveries(api)
                if d.webhook_id == hook.json()["id"] and d.event_type == "assignment.proposed"
            ]  # fmt: skip
            assert len(heard) == 1 and heard[0].organization_id == owner_id
            listed = api.client.get("/v1/deliveries", headers=owner).json()["items"]
            assert [x["id"] for x in listed] == [heard[0].id]
            edited = api.client.put(f"/v1/assignment-links/{link['token']}/availability", json=week)
            assert edited.status_code == 200, edited.text
