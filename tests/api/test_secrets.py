"""Secrets at rest: API keys and link tokens are stored only as SHA-256 hashes (no table holds a
secret), every key check goes through a constant-time comparison (also for unknown prefixes),
and a revoked key fails on its very next request."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import select

from api.db import transaction
from api.models import Base
from tests.api.conftest import Api, assert_error
from tests.api.test_assignments import published
from tests.api.test_match_runs import setup_week


def database_text(api: Api) -> str:
    with transaction(api.sessions()) as session:
        return json.dumps(
            [
                [list(row) for row in session.execute(select(table)).all()]
                for table in Base.metadata.sorted_tables
            ],
            default=str,
        )


def test_keys_and_link_tokens_are_stored_hashed_only(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=2, requests=1)
    (link,) = published(api, center)["links"]
    stored = database_text(api)
    for secret in (
        uni["Authorization"].split()[1],
        center["Authorization"].split()[1],
        link["token"],
    ):
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_every_key_check_is_constant_time(api: Api, monkeypatch: Any) -> None:
    _, uni = api.org("university")
    secret = uni["Authorization"].split()[1]
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong_secret = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    unknown_prefix = "vmk_000000000000_" + secret.rsplit("_", 1)[1]
    for attempt in (wrong_secret, unknown_prefix):
        r = api.client.get("/v1/organizations/me", headers={"Authorization": f"Bearer {attempt}"})
        assert_error(r, 401, "unauthorized")
    assert api.client.get("/v1/organizations/me", headers=uni).status_code == 200
    assert len(compared) == 3  # one comparison of hashes per attempt, found or not


def test_a_revoked_key_fails_on_its_next_request(api: Api) -> None:
    org_id, first = api.org("center")
    second = api.client.post(f"/v1/organizations/{org_id}/keys", json={}, headers=first).json()
    spare = {"Authorization": f"Bearer {second['secret']}"}
    assert api.client.get("/v1/requests", headers=spare).status_code == 200
    api.client.delete(f"/v1/organizations/{org_id}/keys/{second['key']['id']}", headers=first)
    body = assert_error(api.client.get("/v1/requests", headers=spare), 401, "unauthorized")
    assert "revoked" in body["detail"]
    # nor can it do anything else, such as revoke the key that revoked it
    assert_error(api.client.post("/v1/requests", json=[], headers=spare), 401)
