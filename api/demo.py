"""A demo to explore the service with (`make run`): organizations with keys and a console
user each, a seeded week of volunteers and requests (`scenarios.cityweek`, deterministic) and
a queued match run per center.

Data are loaded once, into an empty database; every call issues fresh demo keys and fresh demo
passwords (both are shown once and stored hashed, so old ones cannot be shown again).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from api.models import ROSTER_OWNERS, OrgKind, UserRole
from api.repositories import organizations as org_repo
from api.repositories import users as user_repo
from api.schemas.match_runs import RunIn, Window
from api.schemas.service_requests import RequestIn
from api.services import match_runs, organizations, service_requests, users, volunteers
from api.services.audit import Actor
from api.services.geocoding import Geocoder
from api.services.organizations import Caller
from api.settings import Settings
from scenarios.cityweek import WEEK_START, city_week

DEMO_SEED = 7
# (kind, name, console login, the user's name)
ORGANIZATIONS = (
    ("admin", "Demo City Volunteer Service Center (admin)", "admin", "系统管理员"),
    ("center", "Demo Yanta Community Volunteer Station", "yanta", "王丽"),
    ("center", "Demo Beilin Community Volunteer Station", "beilin", "赵强"),
    ("university", "Demo Northwest University", "nwu", "陈静"),
    ("university", "Demo Xi'an Polytechnic University", "xpu", "李华"),
    ("law_firm", "Demo Yanta Legal Aid Law Firm", "lawfirm", "孙律师"),
    ("community", "Demo Qujiang Community Grid", "qujiang", "周敏"),
    ("planner", "Demo City Planning Office", "planner", "刘洋"),
)
_REQUESTS = TypeAdapter(list[RequestIn])
DEMO = Actor.system("demo")
LAW_FIRM_TARGET_HOURS = 24.0  # public-service hours a lawyer owes a year


def load_demo(
    session: Session, settings: Settings, geocoder: Geocoder, *, volunteers_n: int, requests_n: int
) -> dict[str, Any]:
    """Create (or find) the demo organizations, issue a key for each, and load the demo week
    into an empty database. Returns names, ids and keys."""
    fresh = not org_repo.list_organizations(session)
    orgs = []
    for kind, name, login, person in ORGANIZATIONS:
        org = org_repo.organization_by_name(session, name)
        if org is None:
            org, _, secret = organizations.create_organization(
                session, name, kind, settings.default_timezone, actor=DEMO
            )
        else:
            _, secret = organizations.issue_key(session, org, "demo key", actor=DEMO)
        password = _demo_user(session, org.id, login, person)
        orgs.append(
            {
                "id": org.id,
                "kind": kind,
                "name": name,
                "key": secret,
                "login": login,
                "password": password,
            }
        )
    run_id = None
    if fresh:
        run_id = _load_week(session, settings, geocoder, orgs, volunteers_n, requests_n)
    return {"organizations": orgs, "run_id": run_id, "loaded": fresh}


def _demo_user(session: Session, org_id: int, login: str, person: str) -> str:
    """The organization's demo coordinator, with a fresh password (returned, shown once)."""
    password = secrets.token_urlsafe(9)
    user = user_repo.user_by_login(session, login)
    if user is None:
        users.create_user(
            session, None, org_id, login, person, UserRole.COORDINATOR, password, actor=DEMO
        )
    else:
        users.set_password(session, user, password, DEMO)
    return password


def _caller(org: dict[str, Any], settings: Settings) -> Caller:
    return Caller(org_id=org["id"], kind=OrgKind(org["kind"]), timezone=settings.default_timezone)


def _load_week(
    session: Session,
    settings: Settings,
    geocoder: Geocoder,
    orgs: list[dict[str, Any]],
    volunteers_n: int,
    requests_n: int,
) -> int:
    week = city_week(volunteers_n, requests_n, DEMO_SEED)
    owners = [o for o in orgs if OrgKind(o["kind"]) in ROSTER_OWNERS]
    centers = [o for o in orgs if o["kind"] == "center"]
    for u, owner in enumerate(owners):
        rows = []
        for i, v in enumerate(week["volunteers"]):
            if i % len(owners) != u:
                continue
            rows.append(
                {
                    "external_id": f"S{i + 1:05d}",
                    "name": f"Demo Volunteer {i + 1:05d}",
                    "phone": f"+86 100 {i // 10000:04d} {i % 10000:04d}",
                    **{k: v[k] for k in v if k != "id"},
                }
            )
        volunteers.import_volunteers(session, _caller(owner, settings), rows, geocoder)
        if owner["kind"] == OrgKind.LAW_FIRM:
            organizations.set_target(
                session, _caller(owner, settings), owner["id"], LAW_FIRM_TARGET_HOURS, "01-01"
            )
    for c, center in enumerate(centers):
        rows = [
            {
                "title": f"{r['service_type'].replace('_', ' ').capitalize()} #{j + 1}",
                "external_id": r["id"],
                **{k: v for k, v in r.items() if k != "id"},
            }
            for j, r in enumerate(week["requests"])
            if j % len(centers) == c
        ]
        service_requests.submit_batch(
            session, _caller(center, settings), _REQUESTS.validate_python(rows), geocoder
        )
    # One run per center, by the center: each center's coordinator sees theirs in the console.
    window = Window(start=WEEK_START, end=WEEK_START + timedelta(days=7))
    runs = [
        match_runs.create_run(
            session,
            _caller(center, settings),
            RunIn(window=window, engine="optimal", time_limit_s=5),
            settings,
        )
        for center in centers
    ]
    return runs[0].id


def welcome(demo: dict[str, Any], base_url: str) -> str:
    """What `make run` prints: URLs, console logins, keys and three example curl commands."""
    keys = {o["kind"]: o for o in demo["organizations"]}
    lines = [
        "",
        "volmatch is starting on " + base_url,
        f"  console      {base_url}/   (Chinese; English by the switch at the top)",
        f"  API docs     {base_url}/docs",
        f"  health       {base_url}/healthz   readiness {base_url}/readyz",
        "",
        "Console logins (new passwords each start; shown once):",
    ]
    for org in demo["organizations"]:
        lines.append(
            f"  {org['kind']:<10} {org['name']:<48} {org['login']:<8} {org['password']}"
        )
    lines += ["", "Demo API keys, for programs (new ones each start; shown once):"]
    for org in demo["organizations"]:
        lines.append(f"  {org['kind']:<10} {org['name']:<48} {org['key']}")
    run = demo.get("run_id") or 1
    lines += [
        "",
        "Try:",
        f"  curl -s -H 'Authorization: Bearer {keys['admin']['key']}' {base_url}/v1/match-runs/{run}",
        f"  curl -s -H 'Authorization: Bearer {keys['admin']['key']}' {base_url}/v1/match-runs/{run}/plan",
        f"  curl -s -H 'Authorization: Bearer {keys['university']['key']}' '{base_url}/v1/volunteers?skill=first_aid&limit=5'",
        "",
    ]
    return "\n".join(lines)
