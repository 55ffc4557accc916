"""The load test's 20-second version (benchmarks/load.py): concurrent clients over PostgreSQL
(imports, request batches with retried Idempotency-Keys, reads, match runs, publications,
lifecycle moves), then every acknowledged write is present exactly once, no answer was a 5xx,
every queued run finished, and the service's log holds no key, phone, email,
home address or home location."""

from __future__ import annotations

import json

import pytest

from benchmarks import pg
from benchmarks.load import run

pytestmark = pytest.mark.skipif(not pg.available(), reason="PostgreSQL server binaries missing")


def test_twenty_seconds_of_load_lose_nothing() -> None:
    result = run(clients=12, duration_s=20, progress=lambda _: None)
    verification = result["verification"]
    # On failure, the failed runs' errors and the service's warnings say why: in full (pytest
    # cuts a long dict short, a string it shows whole).
    why = json.dumps({"runs": result["runs"], **verification}, ensure_ascii=False, indent=1)
    assert verification["lost"] == 0, why
    assert verification["duplicated"] == 0, why
    assert verification["secrets_in_log"] == 0, why
    assert verification["secrets_searched"] > 100  # keys and the roster's personal data
    assert result["server_errors"] == 0 and result["transport_errors"] == 0, why
    assert result["runs"].get("unfinished", 0) == 0, why
    assert result["runs"].get("failed", 0) == 0, why
    acknowledged = result["acknowledged"]
    for kind in ("volunteers", "requests", "replayed batches", "runs"):
        assert acknowledged[kind] > 0, (kind, acknowledged)
    exercised = set(result["endpoints"])
    assert {
        "POST /v1/volunteers/import",
        "POST /v1/requests",
        "GET /v1/volunteers",
        "POST /v1/match-runs",
        "GET /v1/reports/supply-demand",
    } <= exercised
