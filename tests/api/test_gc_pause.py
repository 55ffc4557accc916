"""Bulk imports run with cyclic garbage collection paused, and leave it as they found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from api.services import volunteers as volunteer_service
from api.services.gc_pause import gc_paused
from tests.api.conftest import Api
from tests.api.data import volunteer


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


@pytest.mark.usefixtures("collector_enabled")
def test_nested_and_concurrent_pauses_re_enable_only_at_the_last_exit() -> None:
    entered, release = threading.Event(), threading.Event()

    def other_request() -> None:
        with gc_paused():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other_request)
    with gc_paused():
        thread.start()
        entered.wait(5)
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other request is still inside
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.database_independent
@pytest.mark.usefixtures("collector_enabled")
@pytest.mark.parametrize("as_csv", [False, True])
def test_imports_run_without_the_collector_and_restore_it(
    api: Api, monkeypatch: Any, as_csv: bool
) -> None:
    _, uni = api.org("university")
    seen: list[bool] = []
    real = volunteer_service.import_json if not as_csv else volunteer_service.import_volunteers

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    name = "import_volunteers" if as_csv else "import_json"
    monkeypatch.setattr(volunteer_service, name, spy)
    if as_csv:
        body = "external_id,name,lat,lon\nS1,Ann,31.2,121.4\n"
        r = api.client.post(
            "/v1/volunteers/import", content=body, headers={**uni, "Content-Type": "text/csv"}
        )
    else:
        r = api.client.post("/v1/volunteers/import", json=[volunteer("S1")], headers=uni)
    assert r.status_code == 200, r.text
    assert seen == [False]
    assert gc.isenabled()
