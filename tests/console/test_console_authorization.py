"""The console's authorization matrix: every console page of the route table x every kind of
signed-in user (and a viewer, and nobody) x their own organization's resource or another's,
each cell asserting the exact status. Rows are checked against the app's routes, so a new page
without a row fails. Refused cells must change nothing in the database. Like the API's matrix
(tests/api/test_authorization_matrix.py), whose rules the pages reuse: a user acts as their
organization, another organization's resource is a 404, the wrong kind of organization a 403;
and here also: nobody signed in is sent to the sign-in page (303), a viewer changes nothing
(403), and every POST carries the session's CSRF token (checked in test_console_accounts.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.db import transaction
from api.models import (
    AssignmentStatus,
    Base,
    Certificate,
    Delivery,
    DeliveryStatus,
    HourEntry,
    HourEntryKind,
    MatchRun,
    OrgKind,
    OutboxEvent,
    RunStatus,
    ScenarioChart,
    ScenarioRun,
    TokenPurpose,
    UserRole,
    Webhook,
    utc_now,
)
from api.repositories import assignments as assignment_repo
from api.schemas.service_requests import RequestIn
from api.services import organizations, service_requests, users, volunteers
from api.services.audit import Actor
from api.services.certificates import new_code
from api.services.links import token_hash
from api.services.organizations import Caller
from tests.api.test_authorization_matrix import route_table
from tests.console.conftest import KINDS, Console, World

CALLERS = ("anon", "cA", "cV", "cB", "uA", "uB", "lA", "lB", "mA", "mB", "pA", "pB", "admin")
ROSTER_OWNER_LETTERS = "ulm"  # universities, law firms, communities: the same roster pages
LOGINS = {"cV": "ca-viewer", "anon": None}
FIRST = "2026-03-02"
EMPTY_PLAN = {
    "status": "optimal",
    "assignments": [],
    "unfilled": [],
    "objective": {"coverage": 0, "travel_km": 0.0},
    "bound": {"coverage": 0},
    "stats": {},
}
# Written by design on refused calls: a failed sign-in is counted.
NOT_COMPARED = {"login_failures"}
CLI = Actor.system("cli")


class Matrix:
    """The world's side A resources, made on demand."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.app = world.app
        self.serial = 0
        self.consoles = {c: world.console(LOGINS.get(c, c.lower())) for c in CALLERS}
        self.volunteer_of: dict[str, int] = {}  # each roster owner's volunteer with assignments

    def next(self) -> int:
        self.serial += 1
        return self.serial

    def caller(self, code: str) -> Caller:
        return Caller(self.world.org_ids[code], KINDS[code[0]], "Asia/Shanghai")

    def new_volunteer(self, session: Any, owner: str = "uA") -> int:
        result = volunteers.import_volunteers(
            session,
            self.caller(owner),
            [
                {
                    "external_id": f"A-{self.next()}",
                    "name": "Zhao",
                    "location": {"lat": 34.25, "lon": 108.94},
                    "availability": [
                        {"start": f"{FIRST}T08:00:00+08:00", "end": f"{FIRST}T20:00:00+08:00"}
                    ],
                }
            ],
            self.app.state.geocoder,
        )
        return result.volunteers[0].id

    def new_request(self, session: Any) -> int:
        row = RequestIn.model_validate(
            {
                "title": f"Visit {self.next()}",
                "service_type": "elderly_visit",
                "location": {"lat": 34.25, "lon": 108.94},
                "start": f"{FIRST}T09:00:00+08:00",
                "end": f"{FIRST}T11:00:00+08:00",
            }
        )
        result = service_requests.submit_batch(
            session, self.caller("cA"), [row], self.app.state.geocoder
        )
        return result.requests[0].id

    def new_run(self, status: RunStatus, published: bool = False) -> int:
        day = utc_now() + timedelta(days=400 + self.next())
        with transaction(self.app.state.sessions) as session:
            run = MatchRun(
                organization_id=self.world.org_ids["cA"],
                status=status,
                engine="greedy",
                time_limit_s=1,
                window_start=day,
                window_end=day + timedelta(days=1),
                center_ids=[self.world.org_ids["cA"]],
                plan=EMPTY_PLAN if status is RunStatus.SUCCEEDED else None,
                objective=EMPTY_PLAN["objective"] if status is RunStatus.SUCCEEDED else None,
                published_at=utc_now() if published else None,
            )
            session.add(run)
            session.flush()
            return run.id

    def new_assignment(self, status: AssignmentStatus, owner: str = "uA") -> int:
        """An assignment of a volunteer of `owner` (a side A roster owner) in `status`."""
        with transaction(self.app.state.sessions) as session:
            if owner not in self.volunteer_of:
                self.volunteer_of[owner] = self.new_volunteer(session, owner)
            request_id = self.new_request(session)
            token = secrets.token_urlsafe(24)
            assignment_repo.insert_assignments(
                session,
                [
                    {
                        "run_id": self.new_run_in(session),
                        "volunteer_id": self.volunteer_of[owner],
                        "request_id": request_id,
                        "status": status,
                        "link_token_hash": token_hash(token),
                        "created_at": utc_now(),
                        "updated_at": utc_now(),
                    }
                ],
            )
            found = assignment_repo.assignment_by_token_hash(session, token_hash(token))
            assert found is not None
            return found.id

    def new_hours(self, owner: str) -> int:
        """A volunteer of `owner` with one completed assignment of two hours in the ledger."""
        assignment_id = self.new_assignment(AssignmentStatus.COMPLETED, owner)
        with transaction(self.app.state.sessions) as session:
            session.add(
                HourEntry(
                    volunteer_id=self.volunteer_of[owner],
                    organization_id=self.world.org_ids[owner],
                    assignment_id=assignment_id,
                    center_id=self.world.org_ids["cA"],
                    served_at=datetime.fromisoformat(f"{FIRST}T09:00:00+08:00"),
                    offset_min=480,
                    hours=2.0,
                    kind=HourEntryKind.COMPLETION,
                )
            )
        return self.volunteer_of[owner]

    def new_certificate(self, owner: str) -> int:
        with transaction(self.app.state.sessions) as session:
            if owner not in self.volunteer_of:
                self.volunteer_of[owner] = self.new_volunteer(session, owner)
            certificate = Certificate(
                code=new_code(),
                volunteer_id=self.volunteer_of[owner],
                organization_id=self.world.org_ids[owner],
                first_day=date.fromisoformat(FIRST),
                last_day=date.fromisoformat(FIRST),
                hours=2.0,
                services=[],
            )
            session.add(certificate)
            session.flush()
            return certificate.id

    def new_assignment_link(self, status: AssignmentStatus) -> str:
        """A volunteer's link to an assignment to work a month from now (links expire some
        weeks after their work)."""
        token = secrets.token_urlsafe(24)
        start = utc_now() + timedelta(days=30)
        with transaction(self.app.state.sessions) as session:
            row = RequestIn.model_validate(
                {
                    "title": f"Visit {self.next()}",
                    "service_type": "elderly_visit",
                    "location": {"lat": 34.25, "lon": 108.94},
                    "start": start,
                    "end": start + timedelta(hours=2),
                }
            )
            request_id = (
                service_requests.submit_batch(
                    session, self.caller("cA"), [row], self.app.state.geocoder
                )
                .requests[0]
                .id
            )
            assignment_repo.insert_assignments(
                session,
                [
                    {
                        "run_id": self.new_run_in(session),
                        "volunteer_id": self.volunteer_of.setdefault("uA", self.new_volunteer(session)),
                        "request_id": request_id,
                        "status": status,
                        "link_token_hash": token_hash(token),
                        "created_at": utc_now(),
                        "updated_at": utc_now(),
                    }
                ],
            )
        return token

    def form_field(self, token: str) -> str:
        """The anti-forgery field of a link's forms (as its pages carry it)."""
        secret = self.app.state.console_secret
        message = f"volunteer-form:{token_hash(token)}".encode()
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()

    def new_webhook(self) -> int:
        with transaction(self.app.state.sessions) as session:
            hook = Webhook(
                organization_id=self.world.org_ids["cA"],
                url="https://1.1.1.1/volmatch",
                event_types=[],
                secret="whsec_matrix",
            )
            session.add(hook)
            session.flush()
            return hook.id

    def new_dead_letter(self) -> int:
        with transaction(self.app.state.sessions) as session:
            event = OutboxEvent(event_id=secrets.token_hex(8), type="run.succeeded", data={})
            session.add(event)
            session.flush()
            delivery = Delivery(
                event_id=event.id,
                idempotency_id=f"{event.event_id}.webhook.1",
                event_type="run.succeeded",
                organization_id=self.world.org_ids["cA"],
                channel="webhook",
                status=DeliveryStatus.DEAD,
                attempts=8,
                last_error="HTTP 500",
            )
            session.add(delivery)
            session.flush()
            return delivery.id

    def new_run_in(self, session: Any) -> int:
        run = MatchRun(
            organization_id=self.world.org_ids["cA"],
            status=RunStatus.SUCCEEDED,
            engine="greedy",
            time_limit_s=1,
            window_start=utc_now(),
            window_end=utc_now() + timedelta(days=1),
            center_ids=[self.world.org_ids["cA"]],
        )
        session.add(run)
        session.flush()
        return run.id

    def new_scenario_run(self, status: RunStatus) -> int:
        with transaction(self.app.state.sessions) as session:
            run = ScenarioRun(
                organization_id=self.world.org_ids["pA"],
                kind="sweep",
                scenario="legal-aid-roster",
                parameters={"overrides": []},
                status=status,
                report={"csv": "a,b\n1,2\n", "parameters": [], "rows": []}
                if status is RunStatus.SUCCEEDED
                else None,
            )
            session.add(run)
            session.flush()
            session.add(ScenarioChart(run_id=run.id, name="sweep.png", png=b"\x89PNG"))
            return run.id

    def new_user(self) -> int:
        with transaction(self.app.state.sessions) as session:
            user = users.create_user(
                session, None, self.world.org_ids["cA"], f"staff{self.next()}", "Staff",
                UserRole.COORDINATOR,
            )  # fmt: skip
            return user.id

    def new_link(self, purpose: TokenPurpose) -> str:
        with transaction(self.app.state.sessions) as session:
            user = users.create_user(
                session, None, self.world.org_ids["cA"], f"new{self.next()}", "New",
                UserRole.VIEWER,
            )  # fmt: skip
            return users.issue_link(session, user, purpose, self.app.state.settings, CLI)

    def new_key(self) -> int:
        with transaction(self.app.state.sessions) as session:
            org = organizations.visible_organization(
                session, Caller(self.world.org_ids["admin"], OrgKind.ADMIN, "UTC"),
                self.world.org_ids["cA"],
            )  # fmt: skip
            key, _ = organizations.issue_key(session, org, "spare", actor=CLI)
            return key.id

    def fingerprint(self) -> str:
        with transaction(self.app.state.sessions) as session:
            return json.dumps(
                {
                    table.name: [list(row) for row in session.execute(select(table)).all()]
                    for table in Base.metadata.sorted_tables
                    if table.name not in NOT_COMPARED
                },
                default=str,
                sort_keys=True,
            )


# A target: path parameters, form fields and files, made for one caller.
Target = tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]


def nothing(m: Matrix, caller: str) -> Target:
    return {}, {}, None


@dataclass
class Row:
    statuses: str  # one per caller, in CALLERS order
    target: Callable[[Matrix, str], Target] = field(default=nothing)
    link: bool = False  # a link route: side B holds a token that is not this one
    fresh: bool = False  # a new target for every caller, refused or not

    def expected(self) -> dict[str, int]:
        codes = [int(s) for s in self.statuses.split()]
        assert len(codes) == len(CALLERS)
        return dict(zip(CALLERS, codes, strict=True))


def user(m: Matrix, _c: str) -> Target:
    return {"user_id": m.new_user()}, {"role": "viewer", "disabled": "yes"}, None


def link(purpose: TokenPurpose) -> Callable[[Matrix, str], Target]:
    def make(m: Matrix, caller: str) -> Target:
        token = secrets.token_urlsafe(32) if caller.endswith("B") else m.new_link(purpose)
        pw = "a long password!"
        return {"token": token}, {"password": pw, "confirm": pw}, None

    return make


def volunteer_link(status: AssignmentStatus, **fields: str) -> Callable[[Matrix, str], Target]:
    """A volunteer's link (side B: a token of nothing), with the form's field bound to it."""

    def make(m: Matrix, caller: str) -> Target:
        token = secrets.token_urlsafe(24) if caller.endswith("B") else m.new_assignment_link(status)
        return {"token": token}, {"csrf_token": m.form_field(token), **fields}, None

    return make


def webhook(m: Matrix, _c: str) -> Target:
    return {"webhook_id": m.new_webhook()}, {}, None


def webhook_form(m: Matrix, _c: str) -> Target:
    fields = {"url": f"https://1.1.1.1/hook/{m.next()}", "event_types": "assignment.declined"}
    return {}, fields, None


def dead_letter(m: Matrix, _c: str) -> Target:
    return {"delivery_id": m.new_dead_letter()}, {}, None


def settings_form(m: Matrix, _c: str) -> Target:
    return {}, {"contact_name": "王老师", "contact_phone": "029-8888 0000",
                "standby_per_request": "1", "volunteers_edit_availability": "yes"}, None  # fmt: skip


def new_user_form(m: Matrix, _c: str) -> Target:
    return {}, {"login": f"person{m.next()}", "display_name": "P", "role": "viewer"}, None


def request_form(m: Matrix, _c: str) -> Target:
    fields = {
        "title": f"Visit {m.next()}", "service_type": "elderly_visit",
        "start": f"{FIRST}T09:00", "end": f"{FIRST}T11:00", "lat": "34.25", "lon": "108.94",
        "volunteers_needed": "1",
    }  # fmt: skip
    return {}, fields, None


def request_sheet(m: Matrix, _c: str) -> Target:
    text = f"标题,服务类型,开始时间,结束时间,纬度,经度\n访问{m.next()},elderly_visit,{FIRST} 09:00,{FIRST} 11:00,34.25,108.94\n"
    return {}, {}, {"file": ("需求.csv", text.encode("gbk"), "text/csv")}


def roster_sheet(m: Matrix, caller: str) -> Target:
    text = f"学号,姓名,纬度,经度\n{caller}-{m.next()},学生,34.25,108.94\n"
    return {}, {}, {"file": ("名单.csv", text.encode("gbk"), "text/csv")}


def service_request(m: Matrix, _c: str) -> Target:
    with transaction(m.app.state.sessions) as session:
        return {"request_id": m.new_request(session)}, {}, None


def run_form(m: Matrix, _c: str) -> Target:
    return {}, {"start": FIRST, "days": "1", "engine": "greedy", "time_limit_s": "1"}, None


def run_in(status: RunStatus, published: bool = False) -> Callable[[Matrix, str], Target]:
    return lambda m, _c: ({"run_id": m.new_run(status, published)}, {}, None)


def roster_owner(caller: str) -> str:
    """Whose volunteers a caller's cell targets: side A's roster owner of the caller's kind
    (university A for callers that own no roster)."""
    return caller[0] + "A" if caller[0] in ROSTER_OWNER_LETTERS else "uA"


def assignment_in(status: AssignmentStatus) -> Callable[[Matrix, str], Target]:
    return lambda m, c: (
        {"assignment_id": m.new_assignment(status, roster_owner(c))},
        {"reason": "an exam", "hours_served": "2"},
        None,
    )


def volunteer(m: Matrix, caller: str) -> Target:
    with transaction(m.app.state.sessions) as session:
        vid = m.new_volunteer(session, roster_owner(caller))
    return {"volunteer_id": vid}, {"name": "Zhao", "lat": "34.25", "lon": "108.94"}, None


def volunteer_with_hours(m: Matrix, caller: str) -> Target:
    period = {"start": "2026-03-01", "end": "2026-03-31"}
    return {"volunteer_id": m.new_hours(roster_owner(caller))}, period, None


def certificate(m: Matrix, caller: str) -> Target:
    return {"certificate_id": m.new_certificate(roster_owner(caller))}, {}, None


def scenario_form(m: Matrix, _c: str) -> Target:
    return {}, {"scenario": "legal-aid-roster", "kind": "run", "engines": "greedy"}, None


def scenario_run(status: RunStatus) -> Callable[[Matrix, str], Target]:
    return lambda m, _c: ({"run_id": m.new_scenario_run(status), "name": "sweep.png"}, {}, None)


def organization(m: Matrix, _c: str) -> Target:
    return {"org_id": m.world.org_ids["cA"]}, {"label": "script"}, None


def organization_form(m: Matrix, _c: str) -> Target:
    return {}, {"name": f"Org {m.next()}", "kind": "center"}, None


def key(m: Matrix, _c: str) -> Target:
    return {"org_id": m.world.org_ids["cA"], "key_id": m.new_key()}, {}, None


def sign_in_form(m: Matrix, caller: str) -> Target:
    return {}, {"login": f"nobody{m.next()}", "password": "not the password"}, None


CENTER_PAGE = "303 200 200 200 403 403 403 403 403 403 403 403 403"
CENTER_OWN = "303 200 200 404 403 403 403 403 403 403 403 403 403"
CENTER_ACT = "303 303 403 404 403 403 403 403 403 403 403 403 403"
UNIVERSITY_PAGE = "303 403 403 403 200 200 200 200 200 200 403 403 403"
PLANNER_OWN = "303 403 403 403 403 403 403 403 403 403 200 404 403"
ADMIN_PAGE = "303 403 403 403 403 403 403 403 403 403 403 403 200"
LINK = "200 200 200 404 200 404 200 404 200 404 200 404 200"
LINK_MOVE = "303 303 303 404 303 404 303 404 303 404 303 404 303"
LINK_REFUSED = "403 403 403 404 403 404 403 404 403 404 403 404 403"  # the university keeps availability
HEARERS = "303 200 200 200 200 200 200 200 200 200 403 403 200"
HEARER_OWN = "303 303 403 404 404 404 404 404 404 404 403 403 404"
PROPOSED, CONFIRMED, CHECKED_IN = (
    AssignmentStatus.PROPOSED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
)

# anon cA cV cB uA uB lA lB mA mB pA pB admin (l: law firms, m: communities)
MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/"): Row("303 303 303 303 303 303 303 303 303 303 303 303 303"),
    ("GET", "/login"): Row("200 200 200 200 200 200 200 200 200 200 200 200 200"),
    ("POST", "/login"): Row("401 401 401 401 401 401 401 401 401 401 401 401 401", sign_in_form, fresh=True),
    ("POST", "/logout"): Row("303 303 303 303 303 303 303 303 303 303 303 303 303"),
    ("GET", "/lang/{code}"): Row(
        "303 303 303 303 303 303 303 303 303 303 303 303 303", lambda m, c: ({"code": "en"}, {}, None)
    ),
    ("GET", "/text/{size}"): Row(
        "303 303 303 303 303 303 303 303 303 303 303 303 303", lambda m, c: ({"size": "large"}, {}, None)
    ),
    ("GET", "/invite/{token}"): Row(LINK, link(TokenPurpose.INVITE), link=True),
    ("POST", "/invite/{token}"): Row(LINK, link(TokenPurpose.INVITE), link=True),
    ("GET", "/reset/{token}"): Row(LINK, link(TokenPurpose.RESET), link=True),
    ("POST", "/reset/{token}"): Row(LINK, link(TokenPurpose.RESET), link=True),
    ("GET", "/team"): Row("303 200 200 200 200 200 200 200 200 200 200 200 200"),
    ("GET", "/team/new"): Row("303 200 200 200 200 200 200 200 200 200 200 200 200"),
    ("POST", "/team/users"): Row("303 200 403 200 200 200 200 200 200 200 200 200 200", new_user_form),
    ("POST", "/team/users/{user_id}/reset"): Row("303 200 403 404 404 404 404 404 404 404 404 404 200", user),
    ("POST", "/team/users/{user_id}/role"): Row("303 303 403 404 404 404 404 404 404 404 404 404 303", user),
    ("POST", "/team/users/{user_id}/disable"): Row("303 303 403 404 404 404 404 404 404 404 404 404 303", user),
    ("GET", "/center/requests"): Row(CENTER_PAGE),
    ("GET", "/center/requests/new"): Row(CENTER_PAGE),
    ("POST", "/center/requests/new"): Row("303 303 403 303 403 403 403 403 403 403 403 403 403", request_form),
    ("GET", "/center/requests/upload"): Row(CENTER_PAGE),
    ("POST", "/center/requests/upload"): Row("303 200 403 200 403 403 403 403 403 403 403 403 403", request_sheet),
    ("POST", "/center/requests/{request_id}/cancel"): Row(CENTER_ACT, service_request),
    ("POST", "/center/requests/{request_id}/done"): Row(CENTER_ACT, service_request),
    ("GET", "/center/runs"): Row(CENTER_PAGE),
    ("POST", "/center/runs"): Row("303 303 403 303 403 403 403 403 403 403 403 403 403", run_form),
    ("GET", "/center/runs/{run_id}"): Row(CENTER_OWN, run_in(RunStatus.SUCCEEDED)),
    ("GET", "/center/runs/{run_id}/map.json"): Row(CENTER_OWN, run_in(RunStatus.SUCCEEDED)),
    ("GET", "/center/runs/{run_id}/progress"): Row(CENTER_OWN, run_in(RunStatus.RUNNING)),
    ("POST", "/center/runs/{run_id}/stop"): Row(CENTER_ACT, run_in(RunStatus.QUEUED)),
    ("POST", "/center/runs/{run_id}/publish"): Row(
        "303 200 403 404 403 403 403 403 403 403 403 403 403", run_in(RunStatus.SUCCEEDED)
    ),
    ("POST", "/center/runs/{run_id}/repair"): Row(CENTER_ACT, run_in(RunStatus.SUCCEEDED, True)),
    ("GET", "/center/board"): Row(CENTER_PAGE),
    ("POST", "/center/assignments/{assignment_id}/check-in"): Row(
        CENTER_ACT, assignment_in(CONFIRMED)
    ),
    ("POST", "/center/assignments/{assignment_id}/complete"): Row(
        CENTER_ACT, assignment_in(CHECKED_IN)
    ),
    ("POST", "/center/assignments/{assignment_id}/cancel"): Row(
        CENTER_ACT, assignment_in(PROPOSED)
    ),
    ("POST", "/center/assignments/{assignment_id}/no-show"): Row(
        CENTER_ACT, assignment_in(CONFIRMED)
    ),
    ("GET", "/center/requests/{request_id}/standby"): Row(CENTER_OWN, service_request),
    ("GET", "/settings"): Row("303 200 200 200 200 200 200 200 200 200 403 403 403"),
    ("POST", "/settings"): Row("303 303 403 303 303 303 303 303 303 303 403 403 403", settings_form),
    ("GET", "/webhooks"): Row(HEARERS),
    ("POST", "/webhooks"): Row("303 200 403 200 200 200 200 200 200 200 403 403 200", webhook_form),
    ("POST", "/webhooks/{webhook_id}/secret"): Row("303 200 403 404 404 404 404 404 404 404 403 403 404", webhook),
    ("POST", "/webhooks/{webhook_id}/delete"): Row(HEARER_OWN, webhook),
    ("GET", "/deliveries"): Row(HEARERS),
    ("POST", "/deliveries/{delivery_id}/retry"): Row(
        "303 303 403 404 404 404 404 404 404 404 403 403 303", dead_letter
    ),
    ("GET", "/v/{token}"): Row(LINK, volunteer_link(PROPOSED), link=True),
    ("POST", "/v/{token}/confirm"): Row(LINK_MOVE, volunteer_link(PROPOSED), link=True),
    ("GET", "/v/{token}/decline"): Row(LINK, volunteer_link(PROPOSED), link=True),
    ("POST", "/v/{token}/decline"): Row(
        LINK_MOVE, volunteer_link(PROPOSED, reason="busy"), link=True
    ),
    ("GET", "/v/{token}/schedule"): Row(LINK, volunteer_link(CONFIRMED), link=True),
    ("GET", "/v/{token}/calendar"): Row(LINK, volunteer_link(CONFIRMED), link=True),
    ("GET", "/v/{token}/calendar.ics"): Row(LINK, volunteer_link(CONFIRMED), link=True),
    ("POST", "/v/{token}/calendar"): Row(LINK, volunteer_link(CONFIRMED), link=True),
    ("POST", "/v/{token}/calendar/revoke"): Row(LINK_MOVE, volunteer_link(CONFIRMED), link=True),
    ("GET", "/v/{token}/availability"): Row(LINK_REFUSED, volunteer_link(CONFIRMED), link=True),
    ("POST", "/v/{token}/availability"): Row(
        LINK_REFUSED,
        volunteer_link(
            CONFIRMED,
            mon_on="yes",
            mon_start="09:00",
            mon_end="12:00",
            start_date="2030-01-01",
            end_date="2030-01-31",
        ),
        link=True,
    ),
    ("GET", "/university/volunteers"): Row(UNIVERSITY_PAGE),
    ("GET", "/university/volunteers/upload"): Row(UNIVERSITY_PAGE),
    ("POST", "/university/volunteers/upload"): Row(UNIVERSITY_PAGE, roster_sheet),
    ("GET", "/university/volunteers/{volunteer_id}"): Row(
        "303 403 403 403 200 404 200 404 200 404 403 403 403", volunteer
    ),
    ("POST", "/university/volunteers/{volunteer_id}"): Row(
        "303 403 403 403 303 404 303 404 303 404 403 403 403", volunteer
    ),
    ("POST", "/university/volunteers/{volunteer_id}/certificates"): Row(
        "303 403 403 403 303 404 303 404 303 404 403 403 403", volunteer_with_hours
    ),
    ("GET", "/university/certificates/{certificate_id}/pdf"): Row(
        "303 403 403 403 200 404 200 404 200 404 403 403 403", certificate
    ),
    ("GET", "/university/assignments"): Row(UNIVERSITY_PAGE),
    ("POST", "/university/assignments/{assignment_id}/confirm"): Row(
        "303 403 403 403 303 404 303 404 303 404 403 403 403", assignment_in(PROPOSED)
    ),
    ("POST", "/university/assignments/{assignment_id}/decline"): Row(
        "303 403 403 403 303 404 303 404 303 404 403 403 403", assignment_in(PROPOSED)
    ),
    ("GET", "/university/hours"): Row(UNIVERSITY_PAGE),
    ("GET", "/university/hours.csv"): Row(UNIVERSITY_PAGE),
    ("GET", "/university/hours.xlsx"): Row(UNIVERSITY_PAGE),
    ("GET", "/planner"): Row("303 403 403 403 403 403 403 403 403 403 200 200 403"),
    ("POST", "/planner/runs"): Row("303 403 403 403 403 403 403 403 403 403 303 303 403", scenario_form),
    ("GET", "/planner/runs/{run_id}"): Row(PLANNER_OWN, scenario_run(RunStatus.SUCCEEDED)),
    ("GET", "/planner/runs/{run_id}/progress"): Row(PLANNER_OWN, scenario_run(RunStatus.SUCCEEDED)),
    ("GET", "/planner/runs/{run_id}/charts/{name}"): Row(
        PLANNER_OWN, scenario_run(RunStatus.SUCCEEDED)
    ),
    ("GET", "/planner/runs/{run_id}/sweep.csv"): Row(
        PLANNER_OWN, scenario_run(RunStatus.SUCCEEDED)
    ),
    ("POST", "/planner/runs/{run_id}/stop"): Row(
        "303 403 403 403 403 403 403 403 403 403 303 404 403", scenario_run(RunStatus.QUEUED)
    ),
    ("GET", "/admin/organizations"): Row(ADMIN_PAGE),
    ("POST", "/admin/organizations"): Row(ADMIN_PAGE, organization_form),
    ("GET", "/admin/organizations/{org_id}"): Row(ADMIN_PAGE, organization),
    ("GET", "/admin/audit"): Row(ADMIN_PAGE),
    ("POST", "/admin/organizations/{org_id}/keys"): Row(ADMIN_PAGE, organization),
    ("POST", "/admin/organizations/{org_id}/keys/{key_id}/revoke"): Row(
        "303 403 403 403 403 403 403 403 403 403 403 403 303", key
    ),
}


@pytest.mark.database_independent
def test_every_console_page_has_a_row_and_every_row_a_page(app: Any) -> None:
    pages = set(route_table(app.routes, console=True))
    assert pages - MATRIX.keys() == set(), "console pages without a row in the matrix"
    assert MATRIX.keys() - pages == set(), "rows for pages that do not exist"


def call(console: Console, method: str, url: str, body: dict[str, Any], files: Any) -> Any:
    if method == "GET":
        return console.get(url)
    return console.post(url, body, files=files)


@pytest.mark.database_independent
@pytest.mark.parametrize(
    "area", ["account", "center", "university", "planner", "admin", "volunteer", "notifications"]
)
def test_console_authorization_matrix(world: World, area: str) -> None:
    m = Matrix(world)
    cells = 0
    for (method, path), row in MATRIX.items():
        if _area(path) != area:
            continue
        expected = row.expected()
        shared: dict[str, Target] = {}
        for caller in sorted(CALLERS, key=lambda c: expected[c] < 400):
            status = expected[caller]
            fresh = (method == "POST" and status < 400) or row.fresh
            side = "B" if caller.endswith("B") and row.link else "A"
            if status < 400 and caller[0] in ROSTER_OWNER_LETTERS:
                side = caller  # its own roster's resource
            if fresh or side not in shared:
                target = row.target(m, caller)
                if not fresh:
                    shared[side] = target
            else:
                target = shared[side]
            params, body, files = target
            console = m.consoles[caller]
            before = m.fingerprint() if status >= 400 else ""
            answer = call(console, method, path.format(**params), body, files)
            assert answer.status_code == status, (caller, method, path, answer.text[-800:])
            if status >= 400:
                assert m.fingerprint() == before, (caller, method, path, "a refused call wrote")
            if path == "/logout" or (path.startswith(("/invite", "/reset")) and method == "POST"):
                m.consoles[caller] = m.world.console(LOGINS.get(caller, caller.lower()))
            cells += 1
    assert cells > 0


def _area(path: str) -> str:
    for prefix in ("center", "university", "planner", "admin"):
        if path.startswith(f"/{prefix}"):
            return prefix
    if path.startswith("/v/"):
        return "volunteer"
    if path.startswith(("/webhooks", "/deliveries", "/settings")):
        return "notifications"
    return "account"
