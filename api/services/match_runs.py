"""Match runs: queue them, stop them, show them and their plans, and publish a plan.

The solve itself never runs here: a run is queued and a worker process (`api.worker`) claims it.
Publishing re-checks the plan against the database as it is now (with `matcher.check_plan` on a
freshly built instance), so that a plan overtaken by declines, confirmations or another
publication is refused (409) rather than half-applied. Queueing, stopping and publishing are
audited, each assignment a publication creates or cancels too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.errors import Conflict, FieldError, InvalidInput, NotFound
from api.models import (
    ACTIVE_ASSIGNMENT,
    AGREED_ASSIGNMENT,
    AssignmentStatus,
    MatchRun,
    OrgKind,
    RequestStatus,
    RunStatus,
    in_offset,
    offset_minutes,
    utc_now,
)
from api.pagination import decode_cursor, next_cursor
from api.repositories import assignments as assignment_repo
from api.repositories import match_runs as repo
from api.repositories import organizations as org_repo
from api.repositories import volunteers as volunteer_repo
from api.schemas.common import Page
from api.schemas.match_runs import (
    AssignmentLink,
    Changes,
    PlannedAssignment,
    PlanOut,
    Progress,
    PublishIn,
    PublishResult,
    QuotaShare,
    RepairIn,
    RunIn,
    RunOut,
    SolveSettings,
    StandbyList,
    UnfilledRequest,
    Window,
)
from api.services import events, instances, links, standby
from api.services.audit import Actor, Change, record, record_one
from api.services.organizations import Caller, repair_max_changes, settings_of
from api.services.service_requests import refresh_fill_status
from api.settings import Settings
from matcher import InstanceError, check_plan, parse_instance
from matcher.model import Instance, Objective, Plan


def _time_limit(body: SolveSettings, settings: Settings) -> float:
    limit = body.time_limit_s or settings.default_time_limit_s
    if limit > settings.max_time_limit_s:
        raise InvalidInput(
            f"time_limit_s is capped at {settings.max_time_limit_s:g} s",
            fields=[
                FieldError(
                    loc=["body", "time_limit_s"], msg=f"at most {settings.max_time_limit_s:g}"
                )
            ],
        )
    return limit


def create_run(session: Session, caller: Caller, body: RunIn, settings: Settings) -> MatchRun:
    """Queue a run over the given centers' requests (a center: only its own)."""
    if caller.kind is OrgKind.CENTER:
        centers = body.center_ids or [caller.org_id]
        foreign = [c for c in centers if c != caller.org_id]
        if foreign:
            raise NotFound(f"no center {foreign[0]}")
    else:
        every = [o.id for o in org_repo.list_organizations(session, OrgKind.CENTER)]
        centers = body.center_ids if body.center_ids is not None else every
        unknown = sorted(set(centers) - set(every))
        if unknown:
            raise NotFound(f"no center {unknown[0]}")
    return _queue(
        session,
        caller,
        body,
        settings,
        kind="match",
        window_start=body.window.start,
        window_end=body.window.end,
        offset_min=offset_minutes(body.window.start),
        center_ids=sorted(set(centers)),
    )


def _queue(
    session: Session, caller: Caller, body: SolveSettings, settings: Settings, **scope: Any
) -> MatchRun:
    run = MatchRun(
        organization_id=caller.org_id,
        status=RunStatus.QUEUED,
        engine=body.engine,
        time_limit_s=_time_limit(body, settings),
        seed=body.seed,
        **scope,
    )
    repo.add_run(session, run)
    record_one(
        session,
        Actor.of(caller),
        Change(
            "match_run",
            run.id,
            "queued",
            run.organization_id,
            after={
                "kind": run.kind,
                "repair_of": run.repair_of,
                "engine": run.engine,
                "time_limit_s": run.time_limit_s,
                "window_start": run.window_start,
                "window_end": run.window_end,
                "center_ids": run.center_ids,
            },
        ),
    )
    return run


def create_repair(
    session: Session, caller: Caller, run_id: int, body: RepairIn, settings: Settings
) -> MatchRun:
    """Queue a repair of a published run: same window and centers."""
    original = visible_run(session, caller, run_id)
    if original.published_at is None:
        raise Conflict("only a published run can be repaired; publish it first")
    return _queue(
        session,
        caller,
        body,
        settings,
        kind="repair",
        repair_of=original.id,
        max_changes=(
            body.max_changes
            if body.max_changes is not None
            else repair_max_changes(session, original.organization_id)
        ),
        window_start=original.window_start,
        window_end=original.window_end,
        offset_min=original.offset_min,
        center_ids=list(original.center_ids),
    )


def visible_run(session: Session, caller: Caller, run_id: int) -> MatchRun:
    """A run the caller may see: one it created, or any for an admin."""
    run = repo.get_run(session, run_id)
    if run is None or not caller.reads(run.organization_id):
        raise NotFound(f"no match run {run_id}")
    return run


def list_visible(session: Session, caller: Caller, cursor: str | None, limit: int) -> Page[RunOut]:
    org = None if caller.kind is OrgKind.ADMIN else caller.org_id
    page = repo.list_runs(session, org, decode_cursor(cursor), limit)
    return Page(
        items=[run_out(r) for r in page], next_cursor=next_cursor([r.id for r in page], limit)
    )


def stop_run(session: Session, caller: Caller, run_id: int) -> MatchRun:
    """Cancel a queued run, or ask a running one to stop and keep the best plan found."""
    run = visible_run(session, caller, run_id)
    if repo.cancel_queued(session, run.id, utc_now()):
        action = "cancelled"
    elif repo.request_stop(session, run.id):
        action = "stop_requested"
    else:
        raise Conflict(f"the run is {run.status}; only queued or running runs can be stopped")
    record_one(
        session,
        Actor.of(caller),
        Change("match_run", run.id, action, run.organization_id, before={"status": run.status}),
    )
    return visible_run(session, caller, run_id)


def run_out(run: MatchRun) -> RunOut:
    """A run as shown: its plan's objective and bound, never the (deferred) plan itself."""
    return RunOut(
        id=run.id,
        kind=run.kind,
        repair_of=run.repair_of,
        status=run.status,
        engine=run.engine,
        time_limit_s=run.time_limit_s,
        seed=run.seed,
        max_changes=run.max_changes,
        window=Window(
            start=in_offset(run.window_start, run.offset_min),
            end=in_offset(run.window_end, run.offset_min),
        ),
        center_ids=[int(c) for c in run.center_ids],
        progress=Progress(
            phase=run.phase, fraction=run.progress, coverage=run.coverage, bound=run.bound
        ),
        objective=Objective.model_validate(run.objective) if run.objective else None,
        bound=run.bound,
        changes=Changes.model_validate(run.changes) if run.changes else None,
        cancel_requested=run.cancel_requested,
        attempts=run.attempts,
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        published_at=run.published_at,
    )


def _plan_of(run: MatchRun) -> Plan:
    if run.plan is None:
        detail = {
            RunStatus.QUEUED: "the run has not started yet",
            RunStatus.RUNNING: "the run is still solving",
            RunStatus.FAILED: f"the run failed: {run.error}",
        }.get(RunStatus(run.status), "the run has no plan")
        raise Conflict(detail)
    return Plan.model_validate(run.plan)


def plan_out(run: MatchRun) -> PlanOut:
    plan = _plan_of(run)
    return PlanOut(
        run_id=run.id,
        status=plan.status,
        assignments=[
            PlannedAssignment(
                volunteer_id=instances.id_of(a.volunteer_id),
                request_id=instances.id_of(a.request_id),
                distance_km=a.distance_km,
                start=a.start,
                end=a.end,
            )
            for a in plan.assignments
        ],
        unfilled=[
            UnfilledRequest(
                request_id=instances.id_of(u.request_id),
                missing=u.missing,
                codes=list(u.codes),
                reasons=list(u.reasons),
            )
            for u in plan.unfilled
        ],
        at_fault=list(plan.at_fault),
        objective=plan.objective,
        bound=plan.bound.coverage,
        changes=Changes.model_validate(run.changes) if run.changes else None,
        quotas=[
            QuotaShare(
                organization_id=instances.id_of(q.group),
                **q.model_dump(exclude={"group"}),
            )
            for q in plan.quotas
        ],
        stats=dict(plan.stats),
    )


def chosen_times(
    session: Session, plan: Plan, request_ids: list[int]
) -> dict[int, tuple[datetime, datetime]]:
    """Start and end of each flexible visit the plan staffs: the time its team already holds
    (publishing checked the plan against an instance fixed at that time, even if the plan was
    solved before the team had one), else the plan's chosen time."""
    times = {
        instances.id_of(a.request_id): (a.start, a.end)
        for a in plan.assignments
        if a.start is not None and a.end is not None
    }
    times.update(assignment_repo.team_times(session, request_ids, ACTIVE_ASSIGNMENT))
    return times


def at_instance_times(instance: Instance, plan: Plan) -> Plan:
    """The plan as publishing writes it: a flexible visit whose team already holds a time is
    fixed at that time in `instance` (`instances.build_instance`), so its assignments carry no
    chosen time of their own."""
    fixed = {r.id for r in instance.requests if not r.flexible}
    return plan.model_copy(
        update={
            "assignments": tuple(
                a.model_copy(update={"start": None, "end": None})
                if a.request_id in fixed and a.start is not None
                else a
                for a in plan.assignments
            )
        }
    )


def plan_pairs(plan: Plan) -> set[tuple[int, int]]:
    return {
        (instances.id_of(a.volunteer_id), instances.id_of(a.request_id)) for a in plan.assignments
    }


def count_changes(held: set[tuple[int, int]], planned: set[tuple[int, int]]) -> Changes:
    return Changes(kept=len(held & planned), added=len(planned - held), removed=len(held - planned))


def publish(
    session: Session, settings: Settings, caller: Caller, run_id: int, body: PublishIn
) -> PublishResult:
    """Turn the run's plan into assignments: new pairs are proposed (each with a link token),
    held pairs the plan keeps stay as they are, proposed pairs it drops are cancelled; standby
    are named per request. Every change records its event; so does each request left short."""
    run = visible_run(session, caller, run_id)
    plan = _plan_of(run)
    # Another center's publication checking the same volunteers waits until this one is in.
    assignment_repo.lock_proposals(session)
    if not repo.mark_published(session, run.id, utc_now()):
        raise Conflict("the run is published already")
    requests = instances.scope_requests(session, run)
    request_ids = [r.id for r in requests]
    # A volunteer answering one of them now waits: what the check reads is what is written over.
    assignment_repo.lock_held(session, request_ids)
    # Only the plan's volunteers matter to its hard rules: the thousands of others available
    # in the window need not be read, built and parsed (publishing was a third of the API's
    # time under load).
    planned_volunteers = {instances.id_of(a.volunteer_id) for a in plan.assignments}
    instance_data = instances.build_instance(session, run, planned_volunteers)
    try:
        instance = parse_instance(instance_data)
        report = check_plan(instance, at_instance_times(instance, plan))
        # A leg's distance is the plan's bookkeeping, not a hard rule: held times may move it.
        problems = [str(v) for v in report.violations if v.rule != "leg"]
    except (InstanceError, ValidationError) as exc:
        problems = [str(exc)]
    if problems:
        shown = "; ".join(problems[:3])
        raise Conflict(
            f"the plan no longer fits the current assignments and requests ({shown}); "
            "start a new run or a repair run"
        )
    held = assignment_repo.for_requests(
        session, request_ids, (AssignmentStatus.PROPOSED, *AGREED_ASSIGNMENT), erased=False
    )
    planned = plan_pairs(plan)
    distance = {
        (instances.id_of(a.volunteer_id), instances.id_of(a.request_id)): a.distance_km
        for a in plan.assignments
    }
    times = chosen_times(session, plan, request_ids)
    now = utc_now()
    actor = Actor.of(caller)
    centers = {r.id: r.center_id for r in requests}
    changes = []
    told: list[events.Event] = []
    for assignment in held:
        pair = (assignment.volunteer_id, assignment.request_id)
        # check_plan above guarantees that only proposed ones are dropped (agreed ones are
        # pinned); completed hours are never touched
        if pair not in planned and assignment.status == AssignmentStatus.PROPOSED:
            reason = f"replaced by match run {run.id}"
            changes.append(
                Change(
                    "assignment",
                    assignment.id,
                    "cancelled",
                    centers[assignment.request_id],
                    assignment.volunteer.university_id,
                    before={"status": assignment.status},
                    after={"status": AssignmentStatus.CANCELLED, "reason": reason},
                )
            )
            assignment.status = AssignmentStatus.CANCELLED
            assignment.reason = reason
            assignment.updated_at = now
            told.append(events.assignment_event(events.EventType.ASSIGNMENT_CANCELLED, assignment))
    cancelled = len(changes)
    held_pairs = {(a.volunteer_id, a.request_id) for a in held}
    new_pairs = sorted(planned - held_pairs)
    tokens = {pair: links.new_link(settings) for pair in new_pairs}
    assignment_repo.insert_assignments(
        session,
        [
            {
                "run_id": run.id,
                "volunteer_id": v,
                "request_id": r,
                "status": AssignmentStatus.PROPOSED,
                "distance_km": distance[(v, r)],
                "start_at": times.get(r, (None, None))[0],
                "end_at": times.get(r, (None, None))[1],
                "link_token_hash": tokens[(v, r)][1],
                "link_salt": tokens[(v, r)][2],
                "created_at": now,
                "updated_at": now,
            }
            for v, r in new_pairs
        ],
    )
    session.flush()
    created_rows = {
        (a.volunteer_id, a.request_id): a
        for a in assignment_repo.for_requests(session, request_ids, (AssignmentStatus.PROPOSED,))
        if a.run_id == run.id
    }
    owners = volunteer_repo.owners_of(session, [v for v, _ in new_pairs])
    changes.extend(
        Change(
            "assignment",
            created_rows[(v, r)].id,
            "proposed",
            centers[r],
            owners[v],
            after={"run_id": run.id, "volunteer_id": v, "request_id": r, "status": "proposed"},
        )
        for v, r in new_pairs
    )
    counted = count_changes(held_pairs, planned)
    if run.changes:  # the repair's budget and what more changes would have bought stay
        solved = Changes.model_validate(run.changes)
        counted = counted.model_copy(update={"max_changes": solved.max_changes, "more": solved.more})
    run.changes = counted.model_dump()
    changes.append(
        Change(
            "match_run",
            run.id,
            "published",
            run.organization_id,
            after={
                "created": len(new_pairs),
                "kept": len(held_pairs & planned),
                "cancelled": cancelled,
            },
        )
    )
    record(session, actor, changes)
    refresh_fill_status(session, request_ids, actor)
    for pair in new_pairs:
        told.append(
            events.assignment_event(events.EventType.ASSIGNMENT_PROPOSED, created_rows[pair])
        )
    reasons = {instances.id_of(u.request_id): u.codes for u in plan.unfilled}
    counts = assignment_repo.active_counts_by_request(session, request_ids)
    for request in requests:
        missing = request.volunteers_needed - counts.get(request.id, 0)
        if request.status == RequestStatus.OPEN and missing > 0:
            told.append(
                events.unfilled_event(request, run.id, missing, reasons.get(request.id, ()))
            )
    events.record(session, settings, told)
    center = org_repo.get_organization(session, run.organization_id)
    base = body.standby_per_request
    if base is None:
        base = settings_of(center).standby_per_request if center is not None else 0
    picks = standby.name_standby(session, run, plan, base, requests, actor)
    return PublishResult(
        run_id=run.id,
        created=len(new_pairs),
        kept=len(held_pairs & planned),
        cancelled=cancelled,
        links=[
            AssignmentLink(
                assignment_id=created_rows[pair].id,
                volunteer_id=pair[0],
                request_id=pair[1],
                token=tokens[pair][0],
            )
            for pair in new_pairs
        ],
        standby=[
            StandbyList(request_id=rid, volunteer_ids=[p.volunteer_id for p in ps])
            for rid, ps in sorted(picks.items())
        ],
    )
