"""The authorization matrix: every endpoint of the app's route table x every kind of caller x
their own organization's resource or another's, each cell asserting the exact status.

The rows are checked against `app.routes`, so a new endpoint without a row fails the test. The
world has two organizations of each kind (side A owns the resources, side B is "another
organization") and one admin; the three kinds of roster owner (university, law firm, community)
each own volunteers. Each cell that should succeed gets a fresh target from its row's factory; the cells that should fail share one target and must change nothing in the database
(every table compared before and after). Every 404 for another organization's resource must read
exactly like the 404 for an id that does not exist. And across every answer of every cell, the
volunteers' personal data (name, phone, email, home address and location) appears only where the
caller is entitled to it: the volunteer's own university (all of it) and the center of an
assignment (name and phone); planners and admins see aggregates and ids only, and the audit trail
holds none of it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from api.db import transaction
from api.models import AssignmentStatus, Base, DeliveryStatus, MatchRun, RunStatus, utc_now
from api.repositories import assignments as assignment_repo
from api.repositories import match_runs as run_repo
from api.repositories import outbox as outbox_repo
from api.services import ledger
from api.services.links import token_hash
from tests.api.conftest import Api, assert_error

CALLERS = ("uA", "uB", "lA", "lB", "mA", "mB", "cA", "cB", "pA", "pB", "admin", "anon")
KIND = {"u": "university", "l": "law_firm", "m": "community", "c": "center", "p": "planner"}
ROSTER_OWNER_LETTERS = "ulm"

# The personal data of side A's volunteers: unique strings, searched for in every answer.
PERSONAL = {
    "name": "Zhao Privatus",
    "phone": "+86 139 7731 4455",
    "email": "zhao.privatus@uni-a.example",
    "address": "77 Hidden Lane, Dorm 3",
}
HOME = {"lat": 34.277316, "lon": 108.977316}
HOME_TEXT = ("34.277316", "108.977316")
NAME_AND_PHONE = (PERSONAL["name"], PERSONAL["phone"])
PRIVATE_ONLY = (PERSONAL["email"], PERSONAL["address"], *HOME_TEXT)

FIRST_DAY = date(2026, 3, 2)
DAYS = 120  # side A's volunteers are available every day of this span


def iso(day: date, clock: str) -> str:
    return f"{day.isoformat()}T{clock}:00+08:00"


class World:
    """Two organizations of each kind, an admin, and side A's resources."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.headers: dict[str, dict[str, str]] = {"admin": api.admin, "anon": {}}
        self.org_ids: dict[str, int] = {"admin": api.admin_id}
        for side in "AB":
            for letter, kind in KIND.items():
                org_id, headers = api.org(kind, f"{kind} {side}")
                self.headers[letter + side] = headers
                self.org_ids[letter + side] = org_id
        self._serial = 0
        self._day = 0
        self.volunteer_id = self.new_volunteer()
        self.volunteer_of = {"uA": self.volunteer_id}  # each roster owner's assigned volunteer
        self.request_id = self.new_request()
        with transaction(api.sessions()) as session:
            run = run_repo.add_run(
                session,
                MatchRun(
                    organization_id=self.org_ids["cA"],
                    status=RunStatus.SUCCEEDED,
                    engine="greedy",
                    time_limit_s=1,
                    window_start=utc_now(),
                    window_end=utc_now() + timedelta(days=1),
                    center_ids=[self.org_ids["cA"]],
                ),
            )
            self.run_id = run.id
        # the hours report has something to tell
        self.new_assignment(AssignmentStatus.COMPLETED)

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    def call(self, caller: str, method: str, path: str, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers[caller]}
        if body is not None:
            kwargs["json"] = body
        return self.api.client.request(method, path, **kwargs)

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    # --- side A's resources, made fresh on demand --------------------------------------------

    def volunteer_body(self, owner: str = "uA") -> dict[str, Any]:
        """A volunteer of university A (with the searched-for personal data), or of another
        roster owner."""
        n = self.serial()
        personal = (
            PERSONAL
            if owner == "uA"
            else {"name": f"{owner} person {n}", "email": f"{n}@o.example"}
        )
        return {
            "external_id": f"{owner}-{n:05d}",
            **personal,
            "location": HOME if owner == "uA" else {"lat": 34.2, "lon": 108.9},
            "skills": ["smartphone_teaching"],
            "availability": [
                {
                    "start": iso(FIRST_DAY + timedelta(days=d), "08:00"),
                    "end": iso(FIRST_DAY + timedelta(days=d), "20:00"),
                }
                for d in range(DAYS)
            ],
        }

    def new_volunteer(self, owner: str = "uA") -> int:
        body = self.volunteer_body(owner)
        return int(self.ok(self.call(owner, "POST", "/v1/volunteers", body), 201)["id"])

    def request_body(self, day: date | None = None) -> dict[str, Any]:
        day = day or FIRST_DAY
        return {
            "title": f"Class {self.serial()}",
            "location": {"lat": 34.25, "lon": 108.94},
            "service_type": "smartphone_tutoring",
            "start": iso(day, "14:00"),
            "end": iso(day, "16:00"),
            "required_skills": ["smartphone_teaching"],
        }

    def new_request(self, day: date | None = None) -> int:
        created = self.call("cA", "POST", "/v1/requests", [self.request_body(day)])
        return int(self.ok(created, 201)["requests"][0]["id"])

    def new_assignment(self, status: AssignmentStatus, owner: str = "uA") -> tuple[int, str]:
        """An assignment of a volunteer of `owner` (a side A roster owner) to side A's request,
        in `status` (completed: with its hours in the ledger); id and token."""
        if owner not in self.volunteer_of:
            self.volunteer_of[owner] = self.new_volunteer(owner)
        token = secrets.token_urlsafe(24)
        with transaction(self.api.sessions()) as session:
            assignment_repo.insert_assignments(
                session,
                [
                    {
                        "run_id": self.run_id,
                        "volunteer_id": self.volunteer_of[owner],
                        "request_id": self.request_id,
                        "status": status,
                        "hours_served": 2.0 if status is AssignmentStatus.COMPLETED else None,
                        "link_token_hash": token_hash(token),
                        "created_at": utc_now(),
                        "updated_at": utc_now(),
                    }
                ],
            )
            found = assignment_repo.assignment_by_token_hash(session, token_hash(token))
            assert found is not None
            if status is AssignmentStatus.COMPLETED:
                ledger.record_completion(session, found)
            return found.id, token

    def new_certificate(self, owner: str) -> tuple[int, str]:
        """A certificate of a volunteer of `owner` with completed hours: id and code."""
        self.new_assignment(AssignmentStatus.COMPLETED, owner)
        body = {"volunteer_id": self.volunteer_of[owner], **CERTIFICATE_PERIOD}
        issued = self.ok(self.call(owner, "POST", "/v1/certificates", body), 201)
        return int(issued["id"]), str(issued["code"])

    def new_run(self, *, solved: bool = False, published: bool = False) -> int:
        """A run of center A over a day of its own (three days apart, so that runs never see
        each other's assignments); queued, solved, or solved and published."""
        self._day += 3
        day = FIRST_DAY + timedelta(days=self._day)
        assert self._day < DAYS
        self.new_request(day)
        window = {"start": iso(day, "00:00"), "end": iso(day + timedelta(days=1), "00:00")}
        run = self.call(
            "cA",
            "POST",
            "/v1/match-runs",
            {"window": window, "engine": "greedy", "time_limit_s": 1},
        )
        run_id = int(self.ok(run, 202)["id"])
        if solved or published:
            self.api.solve_queued()
            assert (
                self.ok(self.call("cA", "GET", f"/v1/match-runs/{run_id}"))["status"] == "succeeded"
            )
        if published:
            self.ok(self.call("cA", "POST", f"/v1/match-runs/{run_id}/publish"))
        return run_id

    def new_key(self, owner: str) -> int:
        org_id = self.org_ids[owner]
        issued = self.call(owner, "POST", f"/v1/organizations/{org_id}/keys", {"label": "spare"})
        return int(self.ok(issued, 201)["key"]["id"])

    def fingerprint(self) -> str:
        """Every row of every table: what a refused call must leave as it was."""
        with transaction(self.api.sessions()) as session:
            return json.dumps(
                {
                    table.name: [list(row) for row in session.execute(select(table)).all()]
                    for table in Base.metadata.sorted_tables
                },
                default=str,
                sort_keys=True,
            )


# A target: the path parameters and body of one call, made for one caller.
Target = tuple[dict[str, Any], Any]


def owner_side(caller: str) -> str:
    """Whose resource a caller's cell targets: A's for everyone (B's cells are "another
    organization's"); organization routes target side A's organization of the caller's kind."""
    return caller[0] + "A" if caller[0] in KIND else "uA"


def roster_owner(caller: str) -> str:
    """Whose volunteers a caller's cell targets: side A's roster owner of the caller's kind
    (university A for callers that own no roster)."""
    return caller[0] + "A" if caller[0] in ROSTER_OWNER_LETTERS else "uA"


@dataclass
class Row:
    """One endpoint: the expected status for each caller, and how to make a target."""

    statuses: str  # one status per caller, in CALLERS order
    target: Callable[[World, str], Target] = field(default=lambda w, c: ({}, None))
    link: bool = False  # a link-token route: side B holds a token that is not this assignment's

    def expected(self) -> dict[str, int]:
        codes = [int(s) for s in self.statuses.split()]
        assert len(codes) == len(CALLERS)
        return dict(zip(CALLERS, codes, strict=True))


def org(w: World, caller: str) -> Target:
    return {"org_id": w.org_ids[owner_side(caller)]}, None


def org_new_key(w: World, caller: str) -> Target:
    return {"org_id": w.org_ids[owner_side(caller)]}, {"label": "script"}


def org_key(w: World, caller: str) -> Target:
    owner = owner_side(caller)
    return {"org_id": w.org_ids[owner], "key_id": w.new_key(owner)}, None


def new_org(w: World, _caller: str) -> Target:
    return {}, {"name": f"New org {w.serial()}", "kind": "center"}


def volunteer(w: World, caller: str) -> Target:
    return {"volunteer_id": w.new_volunteer(roster_owner(caller))}, None


def volunteer_patch(w: World, caller: str) -> Target:
    return {"volunteer_id": w.new_volunteer(roster_owner(caller))}, {"max_hours": 9}


def volunteer_new(w: World, caller: str) -> Target:
    return {}, w.volunteer_body(caller if caller[0] in ROSTER_OWNER_LETTERS else "uA")


def roster(w: World, caller: str) -> Target:
    return {}, [w.volunteer_body(caller if caller[0] in ROSTER_OWNER_LETTERS else "uA")]


def org_target(w: World, caller: str) -> Target:
    return {"org_id": w.org_ids[owner_side(caller)]}, {"hours": 24, "period_start": "01-01"}


def service_request(w: World, _caller: str) -> Target:
    return {"request_id": w.new_request()}, None


def request_patch(w: World, _caller: str) -> Target:
    return {"request_id": w.new_request()}, {"priority": 3}


def request_batch(w: World, _caller: str) -> Target:
    return {}, [w.request_body()]


def run_body(w: World, _caller: str) -> Target:
    window = {"start": iso(date(2027, 1, 4), "00:00"), "end": iso(date(2027, 1, 5), "00:00")}
    return {}, {"window": window, "engine": "greedy", "time_limit_s": 1}


def queued_run(w: World, _caller: str) -> Target:
    return {"run_id": w.new_run()}, None


def solved_run(w: World, _caller: str) -> Target:
    return {"run_id": w.new_run(solved=True)}, None


def published_run(w: World, _caller: str) -> Target:
    return {"run_id": w.new_run(published=True)}, {"engine": "greedy", "time_limit_s": 1}


def assignment_in(
    status: AssignmentStatus, body: Any = None, *, link: bool = False
) -> Callable[[World, str], Target]:
    def make(w: World, caller: str) -> Target:
        assignment_id, token = w.new_assignment(status, roster_owner(caller))
        if link:
            # the token is the credential: side B holds one that is not this assignment's
            return {"token": secrets.token_urlsafe(24) if caller[1:] == "B" else token}, body
        return {"assignment_id": assignment_id}, body

    return make


def report_range(_w: World, _caller: str) -> Target:
    return {}, None


CERTIFICATE_PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}


def certificate_new(w: World, caller: str) -> Target:
    owner = roster_owner(caller)
    w.new_assignment(AssignmentStatus.COMPLETED, owner)
    return {}, {"volunteer_id": w.volunteer_of[owner], **CERTIFICATE_PERIOD}


def certificate_batch(w: World, caller: str) -> Target:
    w.new_assignment(AssignmentStatus.COMPLETED, roster_owner(caller))
    return {}, CERTIFICATE_PERIOD


def certificate(body: Any = None) -> Callable[[World, str], Target]:
    def make(w: World, caller: str) -> Target:
        return {"certificate_id": w.new_certificate(roster_owner(caller))[0]}, body

    return make


def certificate_code(w: World, caller: str) -> Target:
    """The code is the credential: side B holds one that is no certificate's."""
    _, code = w.new_certificate(roster_owner(caller))
    return {"code": "AAAA-BBBB-CCCC-DDDD" if caller[1:] == "B" else code}, None


def org_settings_patch(w: World, caller: str) -> Target:
    return {"org_id": w.org_ids[owner_side(caller)]}, {"contact_phone": "029-8888 0000"}


def weekly_link(w: World, caller: str) -> Target:
    """A link target whose roster owner lets its volunteers change their availability."""
    owner = roster_owner(caller)
    org_id = w.org_ids[owner]
    w.ok(w.call(owner, "PATCH", f"/v1/organizations/{org_id}/settings", WEEKLY_ALLOWED))
    return assignment_in(PROPOSED, WEEKLY, link=True)(w, caller)


def calendar_feed(w: World, caller: str) -> Target:
    """A feed token of side A's volunteer (side B: one that is nobody's)."""
    if caller[1:] == "B":
        return {"feed_token": secrets.token_urlsafe(24)}, None
    _, token = w.new_assignment(PROPOSED, roster_owner(caller))
    feed = w.ok(w.call("anon", "POST", f"/v1/assignment-links/{token}/calendar"), 201)
    return {"feed_token": feed["token"]}, None


def hook_owner(caller: str) -> str:
    """The organization whose webhook a caller's cell targets: side A's of the caller's kind
    (centers and roster owners; admins and planners: center A's)."""
    return caller[0] + "A" if caller[0] in "c" + ROSTER_OWNER_LETTERS else "cA"


def webhook(w: World, caller: str, body: Any = None) -> Target:
    owner = hook_owner(caller)
    created = w.ok(w.call(owner, "POST", "/v1/webhooks", {"url": HOOK_URL}), 201)
    return {"webhook_id": created["id"]}, body


def webhook_patch(w: World, caller: str) -> Target:
    return webhook(w, caller, {"active": False})


def new_webhook(_w: World, _caller: str) -> Target:
    return {}, {"url": HOOK_URL, "event_types": ["assignment.declined"]}


def delivery_in(status: DeliveryStatus) -> Callable[[World, str], Target]:
    def make(w: World, caller: str) -> Target:
        owner = w.org_ids[hook_owner(caller) if caller != "admin" else "uA"]
        with transaction(w.api.sessions()) as session:
            event_id = secrets.token_hex(16)
            (row_id,) = outbox_repo.insert_events(
                session,
                [{"event_id": event_id, "type": "run.failed", "data": {}, "occurred_at": utc_now()}],
            )
            outbox_repo.insert_deliveries(
                session,
                [
                    {
                        "event_id": row_id,
                        "idempotency_id": f"{event_id}.webhook.0",
                        "event_type": "run.failed",
                        "organization_id": owner,
                        "channel": "webhook",
                        "status": status,
                        "attempts": 8,
                        "next_attempt_at": utc_now(),
                        "created_at": utc_now(),
                        "last_error": "HTTP 500",
                    }
                ],
            )
            (delivery,) = outbox_repo.list_deliveries(
                session, organization_id=owner, status=None, channel=None, event_type=None,
                after_id=0, limit=1000,
            )[-1:]  # fmt: skip
            return {"delivery_id": delivery.id}, None

    return make


PROPOSED, CONFIRMED, CHECKED_IN, COMPLETED = (
    AssignmentStatus.PROPOSED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
    AssignmentStatus.COMPLETED,
)
REASON = {"reason": "an exam that day"}
WEEKLY = {"patterns": ["Tue 14:00-18:00"], "start_date": "2026-03-02", "end_date": "2026-03-08"}
WEEKLY_ALLOWED = {"volunteers_edit_availability": True}
HOOK_URL = "https://93.184.216.34/volmatch-hook"  # a public address: no DNS needed
LINK = "/v1/assignment-links/{token}"

# uA uB: universities; lA lB: law firms; mA mB: communities; cA cB: centers; pA pB: planners
#                                                      uA  uB  lA  lB  mA  mB  cA  cB  pA  pB  admin anon
MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row("200 200 200 200 200 200 200 200 200 200 200 200"),
    ("GET", "/readyz"): Row("200 200 200 200 200 200 200 200 200 200 200 200"),
    ("POST", "/v1/organizations"): Row("403 403 403 403 403 403 403 403 403 403 201 401", new_org),
    ("GET", "/v1/organizations"): Row("403 403 403 403 403 403 403 403 403 403 200 401"),
    ("GET", "/v1/organizations/me"): Row("200 200 200 200 200 200 200 200 200 200 200 401"),
    ("GET", "/v1/organizations/{org_id}"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 401", org
    ),
    ("GET", "/v1/organizations/{org_id}/keys"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 401", org
    ),
    ("POST", "/v1/organizations/{org_id}/keys"): Row(
        "201 404 201 404 201 404 201 404 201 404 201 401", org_new_key
    ),
    ("DELETE", "/v1/organizations/{org_id}/keys/{key_id}"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 401", org_key
    ),
    ("PUT", "/v1/organizations/{org_id}/target"): Row(
        "200 404 200 404 200 404 403 403 403 403 200 401", org_target
    ),
    ("POST", "/v1/volunteers"): Row(
        "201 201 201 201 201 201 403 403 403 403 403 401", volunteer_new
    ),
    ("POST", "/v1/volunteers/import"): Row(
        "200 200 200 200 200 200 403 403 403 403 403 401", roster
    ),
    ("GET", "/v1/volunteers"): Row("200 200 200 200 200 200 403 403 403 403 200 401"),
    ("GET", "/v1/volunteers/{volunteer_id}"): Row(
        "200 404 200 404 200 404 403 403 403 403 200 401", volunteer
    ),
    ("PATCH", "/v1/volunteers/{volunteer_id}"): Row(
        "200 404 200 404 200 404 403 403 403 403 403 401", volunteer_patch
    ),
    ("DELETE", "/v1/volunteers/{volunteer_id}"): Row(
        "204 404 204 404 204 404 403 403 403 403 403 401", volunteer
    ),
    ("GET", "/v1/volunteers/{volunteer_id}/export"): Row(
        "200 404 200 404 200 404 403 403 403 403 403 401", volunteer
    ),
    ("POST", "/v1/requests"): Row("403 403 403 403 403 403 201 201 403 403 403 401", request_batch),
    ("GET", "/v1/requests"): Row("403 403 403 403 403 403 200 200 403 403 200 401"),
    ("GET", "/v1/requests/{request_id}"): Row(
        "403 403 403 403 403 403 200 404 403 403 200 401", service_request
    ),
    ("PATCH", "/v1/requests/{request_id}"): Row(
        "403 403 403 403 403 403 200 404 403 403 403 401", request_patch
    ),
    ("GET", "/v1/requests/{request_id}/standby"): Row(
        "403 403 403 403 403 403 200 404 403 403 200 401", service_request
    ),
    ("POST", "/v1/match-runs"): Row("403 403 403 403 403 403 202 202 403 403 202 401", run_body),
    ("GET", "/v1/match-runs"): Row("403 403 403 403 403 403 200 200 403 403 200 401"),
    ("GET", "/v1/match-runs/{run_id}"): Row(
        "403 403 403 403 403 403 200 404 403 403 200 401", queued_run
    ),
    ("DELETE", "/v1/match-runs/{run_id}"): Row(
        "403 403 403 403 403 403 200 404 403 403 200 401", queued_run
    ),
    ("GET", "/v1/match-runs/{run_id}/plan"): Row(
        "403 403 403 403 403 403 200 404 403 403 200 401", solved_run
    ),
    ("POST", "/v1/match-runs/{run_id}/publish"): Row(
        "403 403 403 403 403 403 200 404 403 403 200 401", solved_run
    ),
    ("POST", "/v1/match-runs/{run_id}/repair"): Row(
        "403 403 403 403 403 403 202 404 403 403 202 401", published_run
    ),
    ("GET", "/v1/assignments"): Row("200 200 200 200 200 200 200 200 403 403 200 401"),
    ("GET", "/v1/assignments/{assignment_id}"): Row(
        "200 404 200 404 200 404 200 404 403 403 200 401", assignment_in(PROPOSED)
    ),
    ("POST", "/v1/assignments/{assignment_id}/confirm"): Row(
        "200 404 200 404 200 404 403 403 403 403 403 401", assignment_in(PROPOSED)
    ),
    ("POST", "/v1/assignments/{assignment_id}/decline"): Row(
        "200 404 200 404 200 404 403 403 403 403 403 401", assignment_in(PROPOSED, REASON)
    ),
    ("POST", "/v1/assignments/{assignment_id}/check-in"): Row(
        "403 403 403 403 403 403 200 404 403 403 403 401", assignment_in(CONFIRMED)
    ),
    ("POST", "/v1/assignments/{assignment_id}/complete"): Row(
        "403 403 403 403 403 403 200 404 403 403 403 401", assignment_in(CHECKED_IN, {})
    ),
    ("POST", "/v1/assignments/{assignment_id}/cancel"): Row(
        "403 403 403 403 403 403 200 404 403 403 403 401", assignment_in(PROPOSED, REASON)
    ),
    ("POST", "/v1/assignments/{assignment_id}/hours"): Row(
        "403 403 403 403 403 403 200 404 403 403 403 401",
        assignment_in(COMPLETED, {"hours_served": 3, "reason": "stayed longer"}),
    ),
    ("GET", "/v1/assignment-links/{token}"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200", assignment_in(PROPOSED, link=True)
    ),
    ("POST", "/v1/assignment-links/{token}/confirm"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200", assignment_in(PROPOSED, link=True)
    ),
    ("POST", "/v1/assignment-links/{token}/decline"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200",
        assignment_in(PROPOSED, REASON, link=True),
    ),
    ("GET", "/v1/reports/hours"): Row(
        "200 200 200 200 200 200 403 403 403 403 200 401", report_range
    ),
    ("GET", "/v1/reports/targets"): Row(
        "200 200 200 200 200 200 403 403 403 403 200 401", report_range
    ),
    ("GET", "/v1/reports/supply-demand"): Row(
        "403 403 403 403 403 403 403 403 200 200 200 401", report_range
    ),
    ("POST", "/v1/certificates"): Row(
        "201 404 201 404 201 404 403 403 403 403 403 401", certificate_new
    ),
    ("POST", "/v1/certificates/batch"): Row(
        "200 200 200 200 200 200 403 403 403 403 403 401", certificate_batch
    ),
    ("GET", "/v1/certificates"): Row("200 200 200 200 200 200 403 403 403 403 200 401"),
    ("GET", "/v1/certificates/{certificate_id}"): Row(
        "200 404 200 404 200 404 403 403 403 403 200 401", certificate()
    ),
    ("GET", "/v1/certificates/{certificate_id}/pdf"): Row(
        "200 404 200 404 200 404 403 403 403 403 403 401", certificate()
    ),
    ("POST", "/v1/certificates/{certificate_id}/revoke"): Row(
        "200 404 200 404 200 404 403 403 403 403 403 401", certificate(REASON)
    ),
    ("GET", "/v1/certificates/verify/{code}"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200", certificate_code, link=True
    ),
    ("GET", "/v1/audit"): Row("200 200 200 200 200 200 200 200 200 200 200 401"),
    ("POST", "/v1/assignments/{assignment_id}/no-show"): Row(
        "403 403 403 403 403 403 200 404 403 403 403 401", assignment_in(CONFIRMED)
    ),
    ("GET", "/v1/organizations/{org_id}/settings"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 401", org
    ),
    ("PATCH", "/v1/organizations/{org_id}/settings"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 401", org_settings_patch
    ),
    ("GET", f"{LINK}/schedule"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200", assignment_in(PROPOSED, link=True)
    ),
    ("PUT", f"{LINK}/availability"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200", weekly_link, link=True
    ),
    ("POST", f"{LINK}/calendar"): Row(
        "201 404 201 404 201 404 201 404 201 404 201 201", assignment_in(PROPOSED, link=True)
    ),
    ("DELETE", f"{LINK}/calendar"): Row(
        "204 404 204 404 204 404 204 404 204 404 204 204", assignment_in(PROPOSED, link=True)
    ),
    ("GET", "/v1/calendar/{feed_token}.ics"): Row(
        "200 404 200 404 200 404 200 404 200 404 200 200", calendar_feed, link=True
    ),
    ("POST", "/v1/webhooks"): Row(
        "201 201 201 201 201 201 201 201 403 403 201 401", new_webhook
    ),
    ("GET", "/v1/webhooks"): Row("200 200 200 200 200 200 200 200 403 403 200 401"),
    ("GET", "/v1/webhooks/{webhook_id}"): Row(
        "200 404 200 404 200 404 200 404 403 403 200 401", webhook
    ),
    ("PATCH", "/v1/webhooks/{webhook_id}"): Row(
        "200 404 200 404 200 404 200 404 403 403 404 401", webhook_patch
    ),
    ("POST", "/v1/webhooks/{webhook_id}/secret"): Row(
        "200 404 200 404 200 404 200 404 403 403 404 401", webhook
    ),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Row(
        "204 404 204 404 204 404 204 404 403 403 404 401", webhook
    ),
    ("GET", "/v1/deliveries"): Row("200 200 200 200 200 200 200 200 403 403 200 401"),
    ("GET", "/v1/deliveries/{delivery_id}"): Row(
        "200 404 200 404 200 404 200 404 403 403 200 401", delivery_in(DeliveryStatus.DEAD)
    ),
    ("POST", "/v1/deliveries/{delivery_id}/retry"): Row(
        "200 404 200 404 200 404 200 404 403 403 200 401", delivery_in(DeliveryStatus.DEAD)
    ),
}
REPORT_RANGE = {"from": "2026-01-01T00:00:00+08:00", "to": "2026-12-31T00:00:00+08:00"}


def route_table(routes: list[Any], console: bool = False) -> Iterator[tuple[str, str]]:
    """(method, path template) of every API endpoint (with `console`, of every console page:
    those are kept out of the OpenAPI document and have their own matrix in
    tests/console/test_console_authorization.py), through included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            if route.include_in_schema == console:
                continue
            for method in route.methods or ():
                yield method, route.path
        elif hasattr(route, "original_router"):  # FastAPI's lazily included router
            yield from route_table(route.original_router.routes, console)


@pytest.mark.database_independent
def test_every_endpoint_has_a_row_and_every_row_an_endpoint(api: Api) -> None:
    endpoints = set(route_table(api.app.routes))
    assert endpoints - MATRIX.keys() == set(), "endpoints without a row in the matrix"
    assert MATRIX.keys() - endpoints == set(), "rows for endpoints that do not exist"
    assert len(endpoints) == len(MATRIX) >= 68


def check_personal_data(caller: str, method: str, path: str, text: str) -> None:
    """Personal data reaches only callers entitled to it."""
    if caller != "uA":
        for value in PRIVATE_ONLY:
            assert value not in text, (caller, method, path, value)
    if caller not in ("uA", "cA"):
        for value in NAME_AND_PHONE:
            assert value not in text, (caller, method, path, value)


def check_reveals_nothing(
    w: World, caller: str, method: str, path: str, params: dict[str, Any], body: Any, answer: Any
) -> None:
    """A 404 for another organization's resource reads exactly like one for a missing id."""
    ids = {k: v for k, v in params.items() if k.endswith("_id") and k != "key_id"}
    if not ids:
        return
    name, value = next(iter(ids.items()))
    missing = path.format(**{**params, name: 10**9})
    other = w.call(caller, method, missing, body)
    assert other.status_code == 404
    assert json.loads(answer.text.replace(str(value), "ID")) == json.loads(
        other.text.replace(str(10**9), "ID")
    )


@pytest.mark.database_independent
@pytest.mark.parametrize(
    "area",
    ["organizations", "volunteers", "requests", "match-runs", "assignment", "certificates", "rest"],
)
def test_authorization_matrix(api: Api, area: str) -> None:
    """Each cell: the exact status; refused calls change nothing; 404s reveal nothing; personal
    data only for those entitled."""
    w = World(api)
    cells = 0
    for (method, path), row in MATRIX.items():
        if not _in_area(path, area):
            continue
        expected = row.expected()
        shared: dict[str, Target] = {}
        # refusals first, on a shared target each side; then each success on a fresh target
        for caller in sorted(CALLERS, key=lambda c: expected[c] < 300):
            status = expected[caller]
            if status < 300:
                params, body = row.target(w, caller)
            else:
                key = caller[1:] if row.link else ("B" if caller.endswith("B") else "A")
                if key not in shared:
                    shared[key] = row.target(w, caller)
                params, body = shared[key]
            url = path.format(**params)
            if path.startswith("/v1/reports"):
                url += "?" + "&".join(
                    f"{k}={v.replace('+', '%2B')}" for k, v in REPORT_RANGE.items()
                )
            before = w.fingerprint() if status >= 300 else ""
            answer = w.call(caller, method, url, body)
            assert answer.status_code == status, (caller, method, path, answer.text)
            if status >= 300:
                assert_error(answer, status)
                assert w.fingerprint() == before, (caller, method, path, "a refused call wrote")
            if status == 404 and not row.link:
                check_reveals_nothing(w, caller, method, path, params, body, answer)
            check_personal_data(caller, method, path, answer.text)
            cells += 1
    assert cells > 0


def _in_area(path: str, area: str) -> bool:
    prefixes = {
        "certificates": ("/v1/certificates",),
        "organizations": ("/v1/organizations",),
        "volunteers": ("/v1/volunteers",),
        "requests": ("/v1/requests",),
        "match-runs": ("/v1/match-runs",),
        "assignment": ("/v1/assignment",),
    }
    if area == "rest":
        return not any(path.startswith(p) for ps in prefixes.values() for p in ps)
    return path.startswith(prefixes[area])


@pytest.mark.database_independent
def test_entitled_callers_do_see_the_personal_data(api: Api) -> None:
    """The privacy check above is not vacuous: the entitled callers get the data."""
    w = World(api)
    own = w.call("uA", "GET", f"/v1/volunteers/{w.volunteer_id}").text
    assert all(value in own for value in (*NAME_AND_PHONE, *PRIVATE_ONLY))
    assignment_id, _ = w.new_assignment(PROPOSED)
    as_center = w.call("cA", "GET", f"/v1/assignments/{assignment_id}").text
    assert all(value in as_center for value in NAME_AND_PHONE)
    assert not any(value in as_center for value in PRIVATE_ONLY)
