"""Health probes, the one error shape, keys and organizations."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, assert_error
from tests.api.data import volunteer


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json() == {"status": "ready"}


def test_readyz_fails_when_the_database_is_gone(api: Api) -> None:
    from sqlalchemy import create_engine

    api.app.state.engine.dispose()
    api.app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert_error(api.client.get("/readyz"), 503, "unavailable")


@pytest.mark.database_independent
def test_openapi_documents_every_endpoint_with_request_examples(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert "/v1/match-runs/{run_id}/plan" in spec["paths"]
    assert api.client.get("/docs").status_code == 200
    components = spec["components"]["schemas"]

    def has_example(media: dict) -> bool:  # type: ignore[type-arg]
        if "example" in media or "examples" in media:
            return True
        schema = media.get("schema", {})
        refs = [s.get("$ref", "") for s in [schema, *schema.get("anyOf", [])]]
        return any("examples" in components.get(r.rsplit("/", 1)[-1], {}) for r in refs if r)

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert op.get("summary"), (method, path)
            if "requestBody" in op:
                assert all(has_example(m) for m in op["requestBody"]["content"].values()), (
                    method,
                    path,
                )


@pytest.mark.database_independent
def test_unknown_route_wrong_method_and_bad_json_use_the_one_shape(api: Api) -> None:
    assert_error(api.client.get("/v1/nothing-here", headers=api.admin), 404, "not_found")
    assert_error(api.client.put("/healthz"), 405, "method_not_allowed")
    _, center = api.org("center")
    bad = api.client.post(
        "/v1/requests",
        content=b"[{not json",
        headers={**center, "Content-Type": "application/json"},
    )
    body = assert_error(bad, 422, "validation_error")
    assert "JSON" in body["detail"]


@pytest.mark.database_independent
def test_wrong_types_and_unknown_fields_are_named(api: Api) -> None:
    _, university = api.org("university")
    r = api.client.post(
        "/v1/volunteers",
        json=volunteer("S1", max_hours="many", favourite_colour="red"),
        headers=university,
    )
    body = assert_error(r, 422)
    locs = {tuple(f["loc"]) for f in body["fields"]}
    assert ("body", "max_hours") in locs
    assert ("body", "favourite_colour") in locs


@pytest.mark.database_independent
def test_missing_unknown_and_malformed_keys_are_401(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer vmk_000000000000_nope"},
        {"Authorization": "Basic abc"},
    ):
        r = api.client.get("/v1/organizations/me", headers=headers)
        assert_error(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_create_org_shows_the_key_once_and_it_works(api: Api) -> None:
    org_id, headers = api.org("center", "Yanta station")
    me = api.client.get("/v1/organizations/me", headers=headers).json()
    assert me["id"] == org_id and me["kind"] == "center" and me["timezone"] == "Asia/Shanghai"
    keys = api.client.get(f"/v1/organizations/{org_id}/keys", headers=headers).json()
    assert len(keys) == 1 and "secret" not in keys[0]


def test_duplicate_org_name_is_409_and_bad_kind_is_422(api: Api) -> None:
    api.org("center", "Same name")
    r = api.client.post(
        "/v1/organizations", json={"name": "Same name", "kind": "center"}, headers=api.admin
    )
    assert_error(r, 409, "conflict")
    r = api.client.post(
        "/v1/organizations", json={"name": "X", "kind": "overlord"}, headers=api.admin
    )
    assert_error(r, 422)
    r = api.client.post(
        "/v1/organizations",
        json={"name": "Y", "kind": "center", "timezone": "Mars/Olympus"},
        headers=api.admin,
    )
    assert_error(r, 422)


@pytest.mark.database_independent
def test_only_admins_create_organizations(api: Api) -> None:
    _, center = api.org("center")
    r = api.client.post("/v1/organizations", json={"name": "Z", "kind": "center"}, headers=center)
    assert_error(r, 403, "forbidden")
    assert_error(api.client.get("/v1/organizations", headers=center), 403)
    assert len(api.client.get("/v1/organizations", headers=api.admin).json()) == 2


def test_revoked_key_fails_at_once_and_other_keys_keep_working(api: Api) -> None:
    org_id, first = api.org("university")
    second = api.client.post(
        f"/v1/organizations/{org_id}/keys", json={"label": "script"}, headers=first
    )
    assert second.status_code == 201
    new = second.json()
    other = {"Authorization": f"Bearer {new['secret']}"}
    assert api.client.delete(
        f"/v1/organizations/{org_id}/keys/{new['key']['id']}", headers=first
    ).json()["revoked_at"]
    body = assert_error(api.client.get("/v1/organizations/me", headers=other), 401)
    assert "revoked" in body["detail"]
    assert api.client.get("/v1/organizations/me", headers=first).status_code == 200


@pytest.mark.database_independent
def test_another_organizations_keys_are_404(api: Api) -> None:
    a_id, a = api.org("center")
    b_id, b = api.org("center")
    assert_error(api.client.get(f"/v1/organizations/{a_id}/keys", headers=b), 404, "not_found")
    assert_error(api.client.delete(f"/v1/organizations/{a_id}/keys/1", headers=b), 404)
    assert_error(api.client.get(f"/v1/organizations/{b_id}", headers=a), 404)
    assert api.client.get(f"/v1/organizations/{a_id}", headers=api.admin).status_code == 200


def test_cli_create_org_bootstraps_a_working_key(api: Api, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from matcher.cli import main

    monkeypatch.setenv("VOLMATCH_DATABASE_URL", api.settings.database_url)
    assert main(["admin", "create-org", "--name", "First center", "--kind", "center"]) == 0
    out = capsys.readouterr().out
    secret = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("key "))
    me = api.client.get("/v1/organizations/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["name"] == "First center"
    assert main(["admin", "create-org", "--name", "First center", "--kind", "center"]) == 1


def test_the_migrations_build_exactly_the_models_schema(api: Api) -> None:
    """Alembic's autogenerate finds nothing to change after the migrations ran: a model change
    without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.models import Base

    with api.sessions().kw["bind"].connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
