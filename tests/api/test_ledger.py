"""The hours ledger: completions append their hours in the same transaction, corrections append
the difference, nothing is ever changed; and a randomized story of 1,000 lifecycle actions
(through the service layer) after which the ledger still equals the completed assignments."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, make_sessionmaker, transaction
from api.errors import ApiError
from api.models import (
    Assignment,
    AssignmentStatus,
    HourEntry,
    OrgKind,
    RequestStatus,
    ServiceRequest,
    Volunteer,
    utc_now,
)
from api.repositories import assignments as assignment_repo
from api.repositories import ledger as ledger_repo
from api.schemas.match_runs import PublishIn, RepairIn, RunIn, Window
from api.schemas.service_requests import RequestIn, RequestPatch
from api.services import (
    assignments,
    erasure,
    ledger,
    match_runs,
    organizations,
    service_requests,
    volunteers,
)
from api.services.audit import Actor
from api.services.geocoding import Geocoder
from api.services.organizations import Caller
from api.worker import Worker
from tests.api.conftest import Api, assert_error, make_settings
from tests.api.test_assignments import assignments as listed
from tests.api.test_assignments import published
from tests.api.test_erasure import RANGE, complete, served
from tests.api.test_match_runs import setup_week


def ledger_of(api: Api) -> list[tuple[int, float, str]]:
    with transaction(api.sessions()) as session:
        rows = session.scalars(select(HourEntry).order_by(HourEntry.id)).all()
        return [(e.assignment_id, e.hours, e.kind) for e in rows]


def test_a_completion_writes_its_hours_to_the_ledger_in_the_same_transaction(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=1, requests=1)
    published(api, center)
    (a,) = listed(api, center)
    complete(api, uni, center, a, 2.5)
    assert ledger_of(api) == [(a["id"], 2.5, "completion")]
    # a completion that fails (409: not checked in) writes nothing, not even the ledger line
    assert_error(
        api.client.post(f"/v1/assignments/{a['id']}/complete", json={}, headers=center), 409
    )
    assert ledger_of(api) == [(a["id"], 2.5, "completion")]


def test_a_correction_appends_the_difference_and_keeps_the_first_figure(api: Api) -> None:
    uni, center, a = served(api, 2.0)
    r = api.client.post(
        f"/v1/assignments/{a['id']}/hours",
        json={"hours_served": 3.5, "reason": "stayed to clean up"},
        headers=center,
    )
    assert r.status_code == 200 and r.json()["hours_served"] == 3.5, r.text
    api.client.post(
        f"/v1/assignments/{a['id']}/hours",
        json={"hours_served": 3.0, "reason": "typo"},
        headers=center,
    )
    # the same figure again changes nothing
    api.client.post(
        f"/v1/assignments/{a['id']}/hours",
        json={"hours_served": 3.0, "reason": "again"},
        headers=center,
    )
    assert ledger_of(api) == [
        (a["id"], 2.0, "completion"),
        (a["id"], 1.5, "correction"),
        (a["id"], -0.5, "correction"),
    ]
    report = api.client.get("/v1/reports/hours", params=RANGE, headers=uni).json()
    assert report["volunteers"][0]["hours"] == 3.0 and report["volunteers"][0]["assignments"] == 1
    corrections = api.client.get(
        "/v1/audit", params={"action": "hours_corrected"}, headers=center
    ).json()["items"]
    assert [(e["before"], e["after"]["hours_served"]) for e in corrections] == [
        ({"hours_served": 2.0}, 3.5),
        ({"hours_served": 3.5}, 3.0),
    ]


def test_only_completed_hours_are_corrected_and_only_by_their_center(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=1, requests=1)
    _, other_center = api.org("center")
    published(api, center)
    (a,) = listed(api, center)
    body = {"hours_served": 1, "reason": "x"}
    assert_error(
        api.client.post(f"/v1/assignments/{a['id']}/hours", json=body, headers=center), 409
    )
    complete(api, uni, center, a, 2.0)
    assert_error(
        api.client.post(f"/v1/assignments/{a['id']}/hours", json=body, headers=other_center), 404
    )
    bad = api.client.post(
        f"/v1/assignments/{a['id']}/hours", json={"hours_served": 0, "reason": "x"}, headers=center
    )
    assert assert_error(bad, 422)["fields"][0]["loc"] == ["body", "hours_served"]
    assert ledger_of(api) == [(a["id"], 2.0, "completion")]


def test_the_ledger_and_the_audit_trail_refuse_update_and_delete_on_postgresql(api: Api) -> None:
    """Append-only in the database itself: a trigger refuses UPDATE and DELETE."""
    if not api.settings.database_url.startswith("postgresql"):
        pytest.skip("the append-only triggers are PostgreSQL's")
    served(api)
    for statement in (
        "UPDATE hour_entries SET hours = 99",
        "DELETE FROM hour_entries",
        "UPDATE audit_events SET action = 'nothing'",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), transaction(api.sessions()) as session:
            session.execute(text(statement))
    assert [h for _, h, _ in ledger_of(api)] == [2.5]


def test_migration_0005_writes_the_completed_hours_so_far_to_the_ledger(tmp_path: Path) -> None:
    """A database at revision 0002 with completed assignments: after the upgrade to the head
    (through 0005_records' backfill), the ledger holds them."""
    from alembic import command
    from alembic.config import Config

    from api.db import MIGRATIONS

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    stamp = "'2026-03-03 06:00:00'"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for statement in (
            "INSERT INTO organizations VALUES (1, 'u', 'university', 'Asia/Shanghai', "
            + stamp
            + ")",
            "INSERT INTO organizations VALUES (2, 'c', 'center', 'Asia/Shanghai', " + stamp + ")",
            "INSERT INTO volunteers (id, university_id, external_id, lat, lon, languages, "
            "attributes, preferences, created_at, updated_at) VALUES (1, 1, 'S1', 0, 0, '[]', "
            "'{}', '{}', " + stamp + ", " + stamp + ")",
            "INSERT INTO service_requests (id, center_id, title, lat, lon, service_type, start_at,"
            " end_at, offset_min, required_skills, languages, attributes, volunteers_needed,"
            " min_volunteers, priority, mandatory, status, created_at, updated_at) VALUES (1, 2,"
            " 't', 0, 0, 's', " + stamp + ", " + stamp + ", 480, '[]', '[]', '{}', 2, 1, 1, 0,"
            " 'filled', " + stamp + ", " + stamp + ")",
            "INSERT INTO match_runs (id, organization_id, kind, status, engine, time_limit_s, seed,"
            " window_start, window_end, offset_min, center_ids, progress, cancel_requested,"
            " attempts, created_at) VALUES (1, 2, 'match', 'succeeded', 'greedy', 1, 0, "
            + stamp
            + ", "
            + stamp
            + ", 0, '[2]', 1, 0, 1, "
            + stamp
            + ")",
            "INSERT INTO assignments (id, run_id, request_id, volunteer_id, status, distance_km,"
            " hours_served, link_token_hash, created_at, updated_at) VALUES (1, 1, 1, 1,"
            " 'completed', 0, 2.5, 'a', " + stamp + ", " + stamp + "), (2, 1, 1, 1, 'confirmed',"
            " 0, NULL, 'b', " + stamp + ", " + stamp + ")",
        ):
            connection.execute(text(statement))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        rows = connection.execute(
            text(
                "SELECT assignment_id, volunteer_id, organization_id, center_id, hours, kind FROM hour_entries"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 1, 1, 2, 2.5, "completion")]


# --- the randomized story ---------------------------------------------------------------------

FIRST_DAY = date(2026, 3, 2)
DAYS = 4
ACTIONS = (  # repeated names are likelier
    "add_volunteers",
    "add_volunteers",
    "add_requests",
    "add_requests",
    "add_requests",
    "publish",
    "publish",
    "confirm",
    "confirm",
    "decline",
    "cancel",
    "check_in",
    "check_in",
    "complete",
    "complete",
    "complete",
    "correct",
    "erase",
    "repair",
    "cancel_request",
    "purge",
)


def _iso(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00+08:00"


class Story:
    """A university, a law firm and two centers acting through the service layer, one
    transaction per action (as a request would), each refused action rolled back whole."""

    def __init__(self, sessions: sessionmaker[Session], settings: Any) -> None:
        self.sessions = sessions
        self.settings = settings
        self.geocoder = Geocoder(settings, sessions)
        self.owners: list[Caller] = []
        self.centers: list[Caller] = []
        with transaction(sessions) as session:
            for kind, group in (
                ("university", self.owners),
                ("law_firm", self.owners),
                ("center", self.centers),
                ("center", self.centers),
            ):
                org, key, _ = organizations.create_organization(
                    session,
                    f"{kind} {len(group)}",
                    kind,
                    "Asia/Shanghai",
                    actor=Actor.system("test"),
                )
                group.append(Caller(org.id, OrgKind(kind), org.timezone, key.id))
        self.serial = 0
        self.runs: list[tuple[Caller, int]] = []  # published runs
        self.refused = 0
        self.done: dict[int, float] = {}  # completed assignment -> hours, as the story saw them

    def run(self, action: str, pick: int) -> None:
        rng = random.Random(pick)
        try:
            with transaction(self.sessions) as session:
                getattr(self, action)(session, rng)
        except ApiError:
            self.refused += 1

    def _assignments(self, session: Session, *statuses: AssignmentStatus) -> list[Assignment]:
        return list(
            session.scalars(
                select(Assignment).where(Assignment.status.in_(statuses)).order_by(Assignment.id)
            ).all()
        )

    def _one(
        self, session: Session, rng: random.Random, *statuses: AssignmentStatus
    ) -> Assignment | None:
        found = self._assignments(session, *statuses)
        return rng.choice(found) if found else None

    def _owner_of(self, assignment: Assignment) -> Caller:
        return next(c for c in self.owners if c.org_id == assignment.volunteer.university_id)

    def _center_of(self, assignment: Assignment) -> Caller:
        return next(c for c in self.centers if c.org_id == assignment.request.center_id)

    def add_volunteers(self, session: Session, rng: random.Random) -> None:
        owner = rng.choice(self.owners)
        rows = []
        for _ in range(rng.randint(1, 3)):
            self.serial += 1
            rows.append(
                {
                    "external_id": f"P{self.serial}",
                    "name": f"Person {self.serial}",
                    "location": {"lat": 34.25 + rng.random() / 100, "lon": 108.94},
                    "skills": ["care"],
                    "availability": [
                        {
                            "start": _iso(FIRST_DAY + timedelta(d), 8),
                            "end": _iso(FIRST_DAY + timedelta(d), 20),
                        }
                        for d in range(DAYS)
                    ],
                }
            )
        volunteers.import_volunteers(session, owner, rows, self.geocoder)

    def add_requests(self, session: Session, rng: random.Random) -> None:
        day = FIRST_DAY + timedelta(rng.randrange(DAYS))
        hour = rng.randrange(8, 17)
        row = RequestIn.model_validate(
            {
                "title": f"Visit {hour}",
                "location": {"lat": 34.251, "lon": 108.941},
                "service_type": "visit",
                "start": _iso(day, hour),
                "end": _iso(day, hour + rng.choice((1, 2, 3))),
                "required_skills": ["care"],
                "volunteers_needed": rng.choice((1, 1, 2)),
            }
        )
        service_requests.submit_batch(session, rng.choice(self.centers), [row], self.geocoder)

    def _solve(self) -> None:
        Worker(self.settings, self.sessions, name="story").run_until_idle()

    def publish(self, session: Session, rng: random.Random) -> None:
        center = rng.choice(self.centers)
        day = FIRST_DAY + timedelta(rng.randrange(DAYS))
        window = Window(
            start=datetime.fromisoformat(_iso(day, 0)),
            end=datetime.fromisoformat(_iso(day + timedelta(1), 0)),
        )
        run = match_runs.create_run(
            session, center, RunIn(window=window, engine="greedy", time_limit_s=1), self.settings
        )
        session.commit()  # the solving process must see the queued run
        self._solve()
        match_runs.publish(session, self.settings, center, run.id, PublishIn())
        self.runs.append((center, run.id))

    def repair(self, session: Session, rng: random.Random) -> None:
        if not self.runs:
            return
        center, run_id = rng.choice(self.runs)
        run = match_runs.create_repair(
            session, center, run_id, RepairIn(engine="greedy", time_limit_s=1), self.settings
        )
        session.commit()
        self._solve()
        match_runs.publish(session, self.settings, center, run.id, PublishIn())
        self.runs.append((center, run.id))

    def confirm(self, session: Session, rng: random.Random) -> None:
        a = self._one(session, rng, AssignmentStatus.PROPOSED)
        if a is not None:
            assignments.act_as(
                session, self.settings, self._owner_of(a), a.id, assignments.CONFIRM
            )

    def decline(self, session: Session, rng: random.Random) -> None:
        a = self._one(session, rng, AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED)
        if a is not None:
            assignments.act_as(
                session, self.settings, self._owner_of(a), a.id, assignments.DECLINE, reason="busy"
            )

    def cancel(self, session: Session, rng: random.Random) -> None:
        a = self._one(session, rng, AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED)
        if a is not None:
            assignments.act_as(
                session, self.settings, self._center_of(a), a.id, assignments.CANCEL, reason="rain"
            )

    def check_in(self, session: Session, rng: random.Random) -> None:
        a = self._one(session, rng, AssignmentStatus.CONFIRMED)
        if a is not None:
            assignments.act_as(
                session, self.settings, self._center_of(a), a.id, assignments.CHECK_IN
            )

    def complete(self, session: Session, rng: random.Random) -> None:
        a = self._one(session, rng, AssignmentStatus.CHECKED_IN)
        if a is not None:
            hours = rng.choice((None, 0.5, 1.25, 2.0, 3.75))
            done = assignments.act_as(
                session,
                self.settings,
                self._center_of(a),
                a.id,
                assignments.COMPLETE,
                hours_served=hours,
            )
            session.commit()
            self.done[done.id] = float(done.hours_served or 0)

    def correct(self, session: Session, rng: random.Random) -> None:
        a = self._one(session, rng, AssignmentStatus.COMPLETED)
        if a is not None:
            hours = rng.choice((0.5, 1.0, 2.5, 4.0))
            ledger.correct(
                session, self.settings, a, hours, "corrected", Actor.of(self._center_of(a))
            )
            session.commit()
            self.done[a.id] = round(hours, 2)

    def erase(self, session: Session, rng: random.Random) -> None:
        present = session.scalars(
            select(Volunteer).where(Volunteer.erased_at.is_(None)).order_by(Volunteer.id)
        ).all()
        if present:
            v = rng.choice(present)
            owner = next(c for c in self.owners if c.org_id == v.university_id)
            erasure.erase(session, self.settings, v, Actor.of(owner))

    def cancel_request(self, session: Session, rng: random.Random) -> None:
        found = session.scalars(
            select(ServiceRequest).where(
                ServiceRequest.status.in_((RequestStatus.OPEN, RequestStatus.FILLED))
            )
        ).all()
        if found:
            r = rng.choice(found)
            center = next(c for c in self.centers if c.org_id == r.center_id)
            service_requests.update_request(
                session, self.settings, center, r.id, RequestPatch(status="cancelled")
            )

    def purge(self, session: Session, rng: random.Random) -> None:
        """The retention sweep: mostly as of today (nobody is inactive yet), now and then years
        ahead (everyone without an open assignment is)."""
        years = 5 if rng.random() < 0.1 else 0
        erasure.purge_inactive(
            session, self.settings, 1, now=utc_now() + timedelta(days=365 * years)
        )

    def check(self) -> None:
        """The ledger equals the completed assignments, and nothing completed was lost."""
        with transaction(self.sessions) as session:
            completed = {
                a.id: float(a.hours_served or 0)
                for a in self._assignments(session, AssignmentStatus.COMPLETED)
            }
            assert completed == self.done  # none lost, none changed behind the story's back
            for assignment_id, hours in completed.items():
                assert ledger_repo.recorded_hours(session, assignment_id) == pytest.approx(hours)
            assert ledger_repo.total(session) == pytest.approx(sum(completed.values()))
            entries = session.scalar(select(func.count()).select_from(HourEntry))
            assert entries is not None and entries >= len(completed)


@contextmanager
def story_database(template: Path, folder: Path, n: int) -> Iterator[sessionmaker[Session]]:
    path = folder / f"story-{n}.db"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


STORIES = 2


def test_the_ledger_survives_a_randomized_story_of_1000_lifecycle_actions(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Hypothesis draws the stories (no shrinking: a failing story of 1,000 actions takes
    longer to shrink than to read); every 100 actions and at the end, the ledger must equal
    the completed assignments and every completion the story saw must still be there."""
    stories = iter(range(STORIES + 100))
    completions: list[int] = []

    @given(
        st.lists(
            st.tuples(st.sampled_from(ACTIONS), st.integers(0, 2**32)), min_size=1000, max_size=1000
        )
    )
    @settings(
        max_examples=STORIES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=(Phase.explicit, Phase.generate),
    )
    def story(actions: list[tuple[str, int]]) -> None:
        with story_database(sqlite_template, tmp_path, next(stories)) as sessions:
            url = str(sessions.kw["bind"].url)
            world = Story(sessions, make_settings(url))
            for step, (action, pick) in enumerate(actions):
                world.run(action, pick)
                if step % 100 == 99:
                    world.check()
            world.check()
            completions.append(len(world.done))

    story()
    assert max(completions) >= 20, completions  # the stories reach far enough to test something


def test_a_short_http_story_keeps_ledger_and_completed_hours_equal(api: Api) -> None:
    """The same invariant over HTTP: complete, correct, erase, repair, restart-free."""
    uni, center, _, _ = setup_week(api, volunteers=4, requests=3)
    run = published(api, center)["run"]
    first, second, third = listed(api, center)
    complete(api, uni, center, first, 1.5)
    complete(api, uni, center, second, 2.0)
    api.client.post(
        f"/v1/assignments/{second['id']}/hours",
        json={"hours_served": 2.5, "reason": "late"},
        headers=center,
    )
    api.client.post(f"/v1/assignments/{third['id']}/decline", json={"reason": "ill"}, headers=uni)
    api.client.delete(f"/v1/volunteers/{first['volunteer_id']}", headers=uni)
    api.client.post(
        f"/v1/match-runs/{run['id']}/repair",
        json={"engine": "greedy", "time_limit_s": 1},
        headers=center,
    )
    api.solve_queued()
    with transaction(api.sessions()) as session:
        completed = assignment_repo.for_requests(
            session,
            [a["request"]["id"] for a in (first, second, third)],
            (AssignmentStatus.COMPLETED,),
        )
        assert sorted(float(a.hours_served or 0) for a in completed) == [1.5, 2.5]
        assert ledger_repo.total(session) == 4.0
    report = api.client.get("/v1/reports/hours", params=RANGE, headers=uni).json()
    assert report["universities"][0]["hours"] == 4.0
