"""Standby volunteers: named at publication, promoted when an assignment falls through.

Naming: for each request of the published run, the volunteers the matcher finds free and
qualified for it (`matcher.compile_instance`'s candidate pairs on the instance the run solved:
skills, languages, attributes, availability, reach, commitments, caps), less everyone the plan
assigns, nearest first. How many: the publish's `standby_per_request`, else the center's setting,
plus more for a request whose planned volunteers often miss their work (`extra_standby`).

Promotion, on a decline or cancellation, when the center's `auto_promote_standby` is on: the
request's waiting standby are tried by rank (the newest run's first); the first one still free
and qualified *now* (checked again with the matcher on one volunteer and one place, against
everything they hold by then) is proposed the work and told; those who no longer fit are passed
over. Nothing else of the plan moves. When no standby steps in and the center's `auto_repair` is
on, a repair run of the published run is queued (one at a time per run). Naming, promotion,
passing over and a queued repair are audited, as the doing of whoever declined or cancelled.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.models import (
    Assignment,
    AssignmentStatus,
    MatchRun,
    RequestStatus,
    ServiceRequest,
    Standby,
    StandbyStatus,
    utc_now,
)
from api.repositories import assignments as assignment_repo
from api.repositories import match_runs as run_repo
from api.repositories import organizations as org_repo
from api.repositories import standby as repo
from api.repositories import volunteers as volunteer_repo
from api.schemas.match_runs import StandbyOut
from api.services import events, instances, links
from api.services.audit import Actor, Change, record, record_one
from api.services.organizations import Caller, repair_max_changes, settings_of
from api.services.service_requests import refresh_fill_status, visible_request
from api.settings import Settings
from matcher import InstanceError, Plan, compile_instance, parse_instance

# A volunteer's show rate counts PRIOR_SHOWS shows they have not had yet, so that one missed
# assignment of a newcomer does not read as 0 %.
PRIOR_SHOWS = 2
# A request whose planned volunteers show up less often than this on average gets more standby.
LOW_SHOW_RATE = 0.8


def show_rate(shows: int, missed: int) -> float:
    """The smoothed share of a volunteer's ended work they showed up for."""
    return (shows + PRIOR_SHOWS) / (shows + missed + PRIOR_SHOWS)


def extra_standby(planned: int, rates: Sequence[float]) -> int:
    """More standby for a request of `planned` volunteers with these show rates: as many as the
    no-shows to expect, ceil(planned x (1 - mean rate)), when the mean is below LOW_SHOW_RATE."""
    if not rates:
        return 0
    mean = sum(rates) / len(rates)
    return math.ceil(planned * (1 - mean) - 1e-9) if mean < LOW_SHOW_RATE else 0


@dataclass(frozen=True)
class Pick:
    volunteer_id: int
    rank: int
    distance_km: float


def name_standby(
    session: Session,
    run: MatchRun,
    plan: Plan,
    base: int,
    requests: Collection[ServiceRequest],
    actor: Actor,
) -> dict[int, list[Pick]]:
    """Name and store the standby of each of `requests` (requests of the run's scope)."""
    request_ids = [r.id for r in requests]
    planned: dict[int, list[int]] = defaultdict(list)
    for a in plan.assignments:
        planned[instances.id_of(a.request_id)].append(instances.id_of(a.volunteer_id))
    shows = assignment_repo.attendance(session, [v for vs in planned.values() for v in vs])
    wanted = {
        r: base
        + extra_standby(
            len(planned[r]), [show_rate(*shows.get(v, (0, 0))) for v in planned.get(r, [])]
        )
        for r in request_ids
    }
    if not any(wanted.values()) or run.instance is None:
        return {}
    try:
        compiled = compile_instance(parse_instance(run.instance))
    except InstanceError:
        return {}
    volunteer_ids = [instances.id_of(v) for v in compiled.volunteer_ids]
    request_keys = [instances.id_of(r) for r in compiled.request_ids]
    assigned = {v for vs in planned.values() for v in vs}
    candidates: dict[int, list[tuple[float, int]]] = defaultdict(list)
    data = compiled.data
    for v, r, km in zip(
        data.pair_volunteer.tolist(),
        data.pair_request.tolist(),
        compiled.pair_distance_km.tolist(),
        strict=True,
    ):
        vid, rid = volunteer_ids[v], request_keys[r]
        if wanted.get(rid) and vid not in assigned:
            candidates[rid].append((km, vid))
    present = volunteer_repo.contact_facts(
        session, {vid for pairs in candidates.values() for _, vid in pairs}
    )
    picks: dict[int, list[Pick]] = {}
    for rid, pairs in candidates.items():
        ranked = [(km, vid) for km, vid in sorted(pairs) if vid in present][: wanted[rid]]
        if ranked:
            picks[rid] = [Pick(vid, i + 1, round(km, 3)) for i, (km, vid) in enumerate(ranked)]
    now = utc_now()
    repo.insert_standby(
        session,
        [
            {
                "run_id": run.id,
                "request_id": rid,
                "volunteer_id": p.volunteer_id,
                "rank": p.rank,
                "distance_km": p.distance_km,
                "status": StandbyStatus.WAITING,
                "created_at": now,
                "updated_at": now,
            }
            for rid, ps in sorted(picks.items())
            for p in ps
        ],
    )
    centers = {r.id: r.center_id for r in requests}
    named = repo.of_run(session, run.id)
    owners = volunteer_repo.owners_of(session, [s.volunteer_id for s in named])
    record(
        session,
        actor,
        [
            Change(
                "standby",
                s.id,
                "named",
                centers[s.request_id],
                owners.get(s.volunteer_id),
                after={
                    "run_id": run.id,
                    "request_id": s.request_id,
                    "volunteer_id": s.volunteer_id,
                    "rank": s.rank,
                },
            )
            for s in named
        ],
    )
    return picks


def of_request(session: Session, caller: Caller, request_id: int) -> list[StandbyOut]:
    """The standby of a request the caller may read, newest run first, by rank."""
    request = visible_request(session, caller, request_id)
    return [
        StandbyOut.model_validate(s, from_attributes=True) for s in repo.of_request(session, request.id)
    ]


def replace(
    session: Session, settings: Settings, fallen: Assignment, actor: Actor
) -> Assignment | None:
    """After `fallen` was declined or cancelled: promote a standby, or queue a repair run, as
    the request's center has set; the promoted assignment, if any."""
    request = fallen.request
    center = org_repo.get_organization(session, request.center_id)
    if center is None:
        return None
    chosen = settings_of(center)
    if request.status != RequestStatus.OPEN:
        return None  # still staffed as needed (or no longer wanted)
    if chosen.auto_promote_standby:
        promoted = promote(session, settings, request, actor)
        if promoted is not None:
            return promoted
    if chosen.auto_repair:
        queue_repair(session, fallen.run_id, actor)
    return None


def promote(
    session: Session, settings: Settings, request: ServiceRequest, actor: Actor
) -> Assignment | None:
    """Propose the request's first waiting standby who is still free and qualified."""
    request_id = request.id
    owners = volunteer_repo.owners_of(
        session, [s.volunteer_id for s in repo.of_request(session, request_id)]
    )

    def moved(standby: Standby, status: StandbyStatus) -> Change:
        return Change(
            "standby",
            standby.id,
            str(status),
            request.center_id,
            owners.get(standby.volunteer_id),
            before={"status": StandbyStatus.WAITING},
            after={"status": status, "request_id": standby.request_id},
        )

    for standby in repo.of_request(session, request_id):
        if standby.status != StandbyStatus.WAITING:
            continue
        run = run_repo.get_run(session, standby.run_id)
        if run is None or not _free_now(session, run, standby.volunteer_id, request):
            if repo.set_status(session, standby.id, StandbyStatus.PASSED):
                record_one(session, actor, moved(standby, StandbyStatus.PASSED))
            continue
        if not repo.set_status(session, standby.id, StandbyStatus.PROMOTED):
            continue  # a concurrent decline took this one
        # The token is shown to nobody: the volunteer's message carries the link (derived
        # again from its salt) when `link_secret` is set.
        _, digest, salt = links.new_link(settings)
        now = utc_now()
        # A flexible visit: the newcomer joins at the time the team was given.
        start, end = assignment_repo.team_times(session, [request_id], tuple(AssignmentStatus)).get(
            request_id, (None, None)
        )
        assignment_repo.insert_assignments(
            session,
            [
                {
                    "run_id": run.id,
                    "volunteer_id": standby.volunteer_id,
                    "request_id": request_id,
                    "status": AssignmentStatus.PROPOSED,
                    "distance_km": standby.distance_km,
                    "start_at": start,
                    "end_at": end,
                    "link_token_hash": digest,
                    "link_salt": salt,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        assignment = assignment_repo.assignment_by_token_hash(session, digest)
        assert assignment is not None
        record(
            session,
            actor,
            [
                moved(standby, StandbyStatus.PROMOTED),
                Change(
                    "assignment",
                    assignment.id,
                    "proposed",
                    request.center_id,
                    owners.get(standby.volunteer_id),
                    after={
                        "run_id": run.id,
                        "volunteer_id": standby.volunteer_id,
                        "request_id": request_id,
                        "status": "proposed",
                        "promoted_from_standby": True,
                    },
                ),
            ],
        )
        refresh_fill_status(session, [request_id], actor)
        events.record(
            session,
            settings,
            [
                events.assignment_event(
                    events.EventType.ASSIGNMENT_PROPOSED, assignment, promoted_from_standby=True
                )
            ],
        )
        return assignment
    return None


def _free_now(
    session: Session, run: MatchRun, volunteer_id: int, request: ServiceRequest
) -> bool:
    """Whether the volunteer may be proposed the request now: never assigned to it before (a
    decline or cancellation is final), and a candidate pair for the matcher with everything they
    hold as commitments."""
    if assignment_repo.pair_statuses(session, volunteer_id, request.id):
        return False
    data = instances.pair_instance(session, run, volunteer_id, request)
    if data is None:
        return False
    try:
        compiled = compile_instance(parse_instance(data))
    except InstanceError:
        return False
    return len(compiled.data.pair_volunteer) > 0


def queue_repair(session: Session, run_id: int, actor: Actor) -> MatchRun | None:
    """Queue a repair of the published run `run_id` for its organization, unless one waits."""
    original = run_repo.get_run(session, run_id)
    if original is None or original.published_at is None:
        return None
    if run_repo.repair_waiting(session, original.id):
        return None
    run = run_repo.add_run(
        session,
        MatchRun(
            organization_id=original.organization_id,
            kind="repair",
            repair_of=original.id,
            engine=original.engine,
            time_limit_s=original.time_limit_s,
            seed=original.seed,
            max_changes=repair_max_changes(session, original.organization_id),
            window_start=original.window_start,
            window_end=original.window_end,
            offset_min=original.offset_min,
            center_ids=list(original.center_ids),
        ),
    )
    record_one(
        session,
        actor,
        Change(
            "match_run",
            run.id,
            "queued",
            run.organization_id,
            after={"kind": run.kind, "repair_of": run.repair_of, "automatic": True},
        ),
    )
    return run
