"""Fixtures of the API tests: every test runs against SQLite and, when
`VOLMATCH_TEST_POSTGRES_URL` is set (`.ci/run` sets it), against PostgreSQL too, except the
tests marked `database_independent`: the rule they check is decided above the database
(validation, authorization, rendering, the solver, processes), so they run once, on SQLite.
What differs by database (queries, constraints, time zones, locks, migrations) runs on both.

SQLite: a fresh file per test, copied from one migrated template. PostgreSQL: one migrated
database, emptied between tests. The embedded solving process is off; tests solve queued runs
with `Worker.run_until_idle()` (one test starts the real process).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.db import make_engine, migrate, transaction
from api.models import Base
from api.services import organizations
from api.services.audit import Actor
from api.settings import Settings
from api.worker import Worker

POSTGRES_URL = os.environ.get("VOLMATCH_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> bool:
    if POSTGRES_URL:
        engine = make_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        migrate(engine)
        engine.dispose()
    return True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`database_url` takes each backend of the suite, or SQLite alone for a test marked
    `database_independent`."""
    if "database_url" not in metafunc.fixturenames:
        return
    independent = metafunc.definition.get_closest_marker("database_independent") is not None
    metafunc.parametrize("database_url", BACKENDS[:1] if independent else BACKENDS, indirect=True)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "volmatch.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    request.getfixturevalue("postgres_ready")
    assert POSTGRES_URL
    engine = make_engine(POSTGRES_URL)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield POSTGRES_URL


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Test settings: no embedded solving process, no rate limit (the one test of the limit sets
    it), links valid for ten years (the tests' week, `data.DAY`, is a fixed day that is already
    past; the expiry's own tests move work back by `link_valid_days`)."""
    values: dict[str, Any] = {
        "embedded_worker": False,
        "rate_limit_per_minute": 0,
        "link_valid_days": 3650,
        **overrides,
    }
    return Settings(database_url=database_url).model_copy(update=values)


class Api:
    """A test client with the service's keys at hand."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.app: Any = cast(Any, client.app)  # FastAPI (the client types it as bare ASGI)
        with transaction(self.app.state.sessions) as session:
            org, _, secret = organizations.create_organization(
                session, "Test admin", "admin", "Asia/Shanghai", actor=Actor.system("cli")
            )
        self.admin = {"Authorization": f"Bearer {secret}"}
        self.admin_id = org.id

    def org(self, kind: str, name: str | None = None) -> tuple[int, dict[str, str]]:
        """A new organization of `kind`: its id and auth headers."""
        name = name or f"{kind} {os.urandom(4).hex()}"
        r = self.client.post(
            "/v1/organizations", json={"name": name, "kind": kind}, headers=self.admin
        )
        assert r.status_code == 201, r.text
        body = r.json()
        return body["organization"]["id"], {"Authorization": f"Bearer {body['api_key']['secret']}"}

    def solve_queued(self) -> int:
        return Worker(self.settings, self.app.state.sessions, name="test-worker").run_until_idle()

    def sessions(self) -> Any:
        return self.app.state.sessions


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield Api(client, settings)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error in the one shape, with this status (and code)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "detail", "fields"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert all(set(f) == {"loc", "msg"} for f in body["fields"]), body
    if code is not None:
        assert body["error"] == code, body
    return body
