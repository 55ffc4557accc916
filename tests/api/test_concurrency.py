"""Idempotency and concurrency, with real concurrent requests (threads released together):
retries of one batch racing each other write it once and all get the first answer; two imports
of the same roster at once leave one copy of each volunteer; queued runs claimed by two
workers at once each execute once (on PostgreSQL with `FOR UPDATE SKIP LOCKED`); and two
centers publishing one volunteer at once book that person once (a decline, which may propose a
standby, waits for a publication in progress), and a volunteer confirming during a publication
is never overruled by it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from api.db import transaction
from api.models import ACTIVE_ASSIGNMENT, Assignment, MatchRun, ServiceRequest, Volunteer
from api.repositories import assignments as assignment_repo
from api.worker import Worker
from matcher import check_plan
from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import published
from tests.api.test_match_runs import queue, setup_week


def together(n: int, call: Callable[[int], Any]) -> list[Any]:
    """`call(i)` in `n` threads released at the same moment; the results in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait(10)
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    return results


def count(api: Api, table: Any) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_racing_retries_of_one_batch_write_it_once(api: Api) -> None:
    _, center = api.org("center")
    headers = {**center, "Idempotency-Key": "week-11"}
    batch = [request(f"R{i}") for i in range(20)]
    answers = together(6, lambda _: api.client.post("/v1/requests", json=batch, headers=headers))
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 5
    assert count(api, ServiceRequest) == 20
    # the same key with another body is refused, and writes nothing
    other = api.client.post("/v1/requests", json=batch[:1], headers=headers)
    assert_error(other, 422, "idempotency_key_reused")
    assert count(api, ServiceRequest) == 20


def test_racing_retries_of_one_import_write_it_once(api: Api) -> None:
    _, uni = api.org("university")
    headers = {**uni, "Idempotency-Key": "roster-v1"}
    roster = [volunteer(f"S{i:04d}") for i in range(200)]
    answers = together(
        4, lambda _: api.client.post("/v1/volunteers/import", json=roster, headers=headers)
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:300] for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json()["created"] == 200
    assert count(api, Volunteer) == 200


def test_two_imports_of_one_roster_at_once_leave_one_copy_of_each(api: Api) -> None:
    _, uni = api.org("university")
    roster = [volunteer(f"S{i:04d}") for i in range(300)]

    def import_roster(_: int) -> Any:
        r = api.client.post("/v1/volunteers/import", json=roster, headers=uni)
        if r.status_code == 409:  # lost the race on the unique key: rolled back whole; retry
            assert "retry" in r.json()["detail"]
            r = api.client.post("/v1/volunteers/import", json=roster, headers=uni)
        return r

    answers = together(2, import_roster)
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    assert sorted(a.json()["created"] for a in answers) == [0, 300]  # once created, once updated
    with transaction(api.sessions()) as session:
        ids = session.execute(select(Volunteer.external_id)).scalars().all()
    assert Counter(ids) == Counter(v["external_id"] for v in roster)  # each exactly once


def test_runs_claimed_by_two_workers_at_once_execute_once(api: Api, monkeypatch: Any) -> None:
    _, center, _, _ = setup_week(api)
    queued = {queue(api, center, engine="greedy")["id"] for _ in range(8)}
    executed: Counter[int] = Counter()
    lock = threading.Lock()
    real_execute = Worker.execute

    def counting_execute(self: Worker, run_id: int) -> None:
        with lock:
            executed[run_id] += 1
        real_execute(self, run_id)

    monkeypatch.setattr(Worker, "execute", counting_execute)
    workers = [Worker(api.settings, api.sessions(), name=f"host:{1000 + i}") for i in range(2)]
    together(2, lambda i: workers[i].run_until_idle())
    assert set(executed) == queued and set(executed.values()) == {1}, executed
    with transaction(api.sessions()) as session:
        runs = session.scalars(select(MatchRun).where(MatchRun.id.in_(queued))).all()
        assert {(r.status, r.attempts) for r in runs} == {("succeeded", 1)}


def test_two_centers_publishing_one_volunteer_at_once_propose_them_once(
    api: Api, monkeypatch: Any
) -> None:
    """Two centers' plans both hold the one volunteer at overlapping times; published at the
    same moment, one is refused (409), so the volunteer is never double-booked (later runs of
    either center would otherwise fail on a pinned pair that breaks rule 6)."""
    _, uni = api.org("university")
    _, center_a = api.org("center")
    _, center_b = api.org("center")
    api.client.post("/v1/volunteers/import", json=[volunteer("S0001")], headers=uni)
    for headers, start, end in ((center_a, "09:00", "11:00"), (center_b, "09:30", "10:30")):
        api.client.post(
            "/v1/requests", json=[request("R", start=at(start), end=at(end))], headers=headers
        )
    runs = [queue(api, headers, engine="greedy")["id"] for headers in (center_a, center_b)]
    api.solve_queued()
    for run_id, headers in zip(runs, (center_a, center_b), strict=True):
        plan = api.client.get(f"/v1/match-runs/{run_id}/plan", headers=headers).json()
        assert len(plan["assignments"]) == 1  # each plan holds the one volunteer

    def slow_check(*args: Any) -> Any:  # both publications hold their checks open together
        report = check_plan(*args)
        time.sleep(0.5)
        return report

    monkeypatch.setattr("api.services.match_runs.check_plan", slow_check)
    answers = together(
        2,
        lambda i: api.client.post(
            f"/v1/match-runs/{runs[i]}/publish", headers=(center_a, center_b)[i]
        ),
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text[:300] for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert "no longer fits" in refused.json()["detail"]
    with transaction(api.sessions()) as session:
        active = session.scalars(
            select(Assignment.request_id).where(Assignment.status.in_(ACTIVE_ASSIGNMENT))
        ).all()
    assert len(active) == 1, active


def test_a_decline_waits_for_a_publication_in_progress(api: Api) -> None:
    """A decline may propose a standby in the assignment's place: it takes the proposals' lock
    first, so it waits while a publication holds it (PostgreSQL's advisory lock)."""
    if not api.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time without it")
    _, center, _, _ = setup_week(api, volunteers=1, requests=1)
    (link,) = published(api, center)["links"]
    answers: list[Any] = []
    decline = threading.Thread(
        target=lambda: answers.append(
            api.client.post(
                f"/v1/assignment-links/{link['token']}/decline", json={"reason": "ill"}
            )
        )
    )
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    with transaction(api.sessions()) as publication:
        assignment_repo.lock_proposals(publication)
        decline.start()
        with transaction(api.sessions()) as observer:
            for _ in range(600):  # until the decline waits for the lock (at most a minute)
                if observer.scalar(waiting):
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the decline did not wait for the proposals' lock")
        assert not answers
    decline.join(60)
    assert answers[0].status_code == 200, answers[0].text


def test_a_confirmation_during_a_publication_is_never_cancelled_by_it(
    api: Api, monkeypatch: Any
) -> None:
    """A volunteer confirming a proposal while a publication whose plan drops it checks either
    comes first (the plan no longer fits: 409) or waits and answers a cancelled assignment
    (409). Never both accepted: that kept the confirmed volunteer beside the plan's new one, one
    more than the request needs."""
    _, uni = api.org("university")
    _, center = api.org("center")
    far = {"location": {"lat": 34.30, "lon": 108.99}}
    api.client.post("/v1/volunteers/import", json=[volunteer("S0002", **far)], headers=uni)
    api.client.post("/v1/requests", json=[request("R")], headers=center)
    first = queue(api, center, engine="greedy")["id"]
    api.solve_queued()
    api.client.post("/v1/volunteers/import", json=[volunteer("S0001")], headers=uni)
    second = queue(api, center, engine="greedy")["id"]  # plans the nearer volunteer instead
    api.solve_queued()
    (link,) = api.client.post(f"/v1/match-runs/{first}/publish", headers=center).json()["links"]

    def slow_check(*args: Any) -> Any:  # the confirmation lands while the publication checks
        report = check_plan(*args)
        time.sleep(0.5)
        return report

    monkeypatch.setattr("api.services.match_runs.check_plan", slow_check)
    publication, confirmation = together(
        2,
        lambda i: api.client.post(f"/v1/match-runs/{second}/publish", headers=center)
        if i == 0
        else api.client.post(f"/v1/assignment-links/{link['token']}/confirm"),
    )
    codes = (publication.status_code, confirmation.status_code)
    assert codes in ((200, 409), (409, 200)), [publication.text[:300], confirmation.text[:300]]
    with transaction(api.sessions()) as session:
        status = session.scalar(
            select(Assignment.status).where(Assignment.id == link["assignment_id"])
        )
    assert status == ("cancelled" if codes == (200, 409) else "confirmed")
