"""Fixtures of the console tests: the API's test app (SQLite, and PostgreSQL when the suite has
one) and `Console`, a client that signs in as a user and posts forms with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash

from api.app import create_app
from api.db import transaction
from api.models import OrgKind, UserRole
from api.services import organizations, users
from api.services.audit import Actor
from api.settings import Settings
from tests.api.conftest import (  # noqa: F401  (fixtures)
    Api,
    database_url,
    postgres_ready,
    pytest_generate_tests,
    settings,
    sqlite_template,
)

PASSWORD = "correct horse battery"
_PASSWORD_HASH: list[str] = []  # argon2 is slow on purpose: hashed once per test session
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """A browser-like client of the console (cookies kept), signed in as one user or none."""

    def __init__(self, app: Any, login: str | None = None) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.login = login
        if login is not None:
            self.sign_in(login)

    def csrf(self, path: str = "/login") -> str:
        page = self.client.get(path)
        found = _CSRF.search(page.text)
        assert found, (path, page.status_code, page.text[:500])
        return found.group(1)

    def sign_in(self, login: str, password: str = PASSWORD) -> Any:
        token = self.csrf("/login")
        return self.client.post(
            "/login", data={"csrf_token": token, "login": login, "password": password}
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form post with the session's CSRF token (read from a page of the session)."""
        token = self.csrf("/team" if self.login else "/login")
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


# Kinds of organization in the world, by the letter of their logins: centers, universities,
# law firms, communities (the three roster owners share the roster pages) and planners.
KINDS = {
    "c": OrgKind.CENTER,
    "u": OrgKind.UNIVERSITY,
    "l": OrgKind.LAW_FIRM,
    "m": OrgKind.COMMUNITY,
    "p": OrgKind.PLANNER,
}
CLI = Actor.system("cli")


class World:
    """Organizations of every kind (sides A and B) with a coordinator each, and a viewer of
    center A. Logins: `<kind letter><side>` (cA, uB, lA, mB, ...), `cA-viewer`, `admin`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.org_ids: dict[str, int] = {}
        self.user_ids: dict[str, int] = {}
        with transaction(app.state.sessions) as session:
            admin, _, _ = organizations.create_organization(
                session, "Console admin", "admin", "Asia/Shanghai", actor=CLI
            )
            self.org_ids["admin"] = admin.id
            self.add_user(session, "admin", admin.id, UserRole.COORDINATOR)
            for side in "AB":
                for letter, kind in KINDS.items():
                    org, _, _ = organizations.create_organization(
                        session, f"{kind} {side}", kind, "Asia/Shanghai", actor=CLI
                    )
                    self.org_ids[letter + side] = org.id
                    self.add_user(session, letter + side, org.id, UserRole.COORDINATOR)
            self.add_user(session, "cA-viewer", self.org_ids["cA"], UserRole.VIEWER)

    def add_user(self, session: Any, login: str, org_id: int, role: UserRole) -> None:
        if not _PASSWORD_HASH:
            _PASSWORD_HASH.append(PasswordHash.recommended().hash(PASSWORD))
        user = users.create_user(session, None, org_id, login.lower(), f"User {login}", role)
        user.password_hash = _PASSWORD_HASH[0]
        self.user_ids[login] = user.id

    def console(self, login: str | None) -> Console:
        return Console(self.app, login.lower() if login else None)

    def kind(self, login: str) -> OrgKind:
        return KINDS.get(login[0], OrgKind.ADMIN)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:  # noqa: F811
    application = create_app(settings)
    with TestClient(application):  # runs the lifespan
        yield application


@pytest.fixture
def world(app: Any) -> World:
    return World(app)
