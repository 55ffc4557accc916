"""Match runs: queue (202), watch, stop, read the plan, publish, repair."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status

from api.deps import SessionDep, SettingsDep, json_of, require
from api.errors import ERROR_RESPONSES
from api.models import OrgKind
from api.schemas.common import Page, PathId
from api.schemas.match_runs import PlanOut, PublishIn, PublishResult, RepairIn, RunIn, RunOut
from api.services import match_runs as service
from api.services.organizations import Caller

router = APIRouter(prefix="/v1/match-runs", tags=["match runs"], responses=ERROR_RESPONSES)

RunnerDep = Annotated[Caller, Depends(require(OrgKind.CENTER, OrgKind.ADMIN))]
NO_PLAN: dict[int | str, dict[str, Any]] = {
    409: {"description": "The run has no plan (yet), or it was published already."}
}

RUN_EXAMPLE = {
    "window": {"start": "2026-03-02T00:00:00+08:00", "end": "2026-03-09T00:00:00+08:00"},
    "engine": "optimal",
    "time_limit_s": 10,
}


def _accepted(run_id: int, response: Response) -> None:
    response.headers["Location"] = f"/v1/match-runs/{run_id}"


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a match run (center: its own requests; admin: any centers)",
)
def create_run(
    body: Annotated[RunIn, Body(openapi_examples={"one week": {"value": RUN_EXAMPLE}})],
    caller: RunnerDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> RunOut:
    """Answers at once with the queued run; a solving process picks it up. Poll
    `GET /v1/match-runs/{id}` for status and progress, then read its plan."""
    run = service.create_run(session, caller, body, settings)
    _accepted(run.id, response)
    return service.run_out(run)


@router.get("", response_model=Page[RunOut], summary="List the caller's runs (admin: all)")
def list_runs(
    caller: RunnerDep,
    session: SessionDep,
    settings: SettingsDep,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    return json_of(
        service.list_visible(session, caller, cursor, min(limit, settings.max_page_size))
    )


@router.get("/{run_id}", summary="A run's status, progress, objective and bound")
def get_run(run_id: PathId, caller: RunnerDep, session: SessionDep) -> RunOut:
    return service.run_out(service.visible_run(session, caller, run_id))


@router.delete(
    "/{run_id}",
    summary="Stop a run (keeps the best plan found)",
    responses={409: {"description": "The run has finished already."}},
)
def stop_run(run_id: PathId, caller: RunnerDep, session: SessionDep) -> RunOut:
    """A queued run is cancelled at once; a running one is asked to stop, and ends `cancelled`
    with the best plan found so far within a heartbeat or two."""
    return service.run_out(service.stop_run(session, caller, run_id))


@router.get(
    "/{run_id}/plan",
    summary="The plan: assignments, and unfilled requests with reasons",
    responses=NO_PLAN,
)
def get_plan(run_id: PathId, caller: RunnerDep, session: SessionDep) -> PlanOut:
    return service.plan_out(service.visible_run(session, caller, run_id))


@router.post(
    "/{run_id}/publish",
    summary="Publish the plan: create (proposed) assignments",
    responses={409: {"description": "No plan, published already, or the plan no longer fits."}},
)
def publish(
    run_id: PathId,
    caller: RunnerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: PublishIn | None = None,
) -> PublishResult:
    """New pairs become `proposed` assignments, each with a link token for the volunteer (shown
    once, here); held pairs the plan keeps stay; proposed pairs it drops are cancelled. Standby
    volunteers are named per request (the body's `standby_per_request`, else the center's
    setting). Volunteers are told, and webhooks hear of each change."""
    return service.publish(session, settings, caller, run_id, body or PublishIn())


@router.post(
    "/{run_id}/repair",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a repair run after declines or cancellations",
    responses={409: {"description": "The run is not published."}},
)
def repair(
    run_id: PathId,
    caller: RunnerDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    body: RepairIn | None = None,
) -> RunOut:
    """Re-solves the published run's window: confirmed assignments are pinned, proposed ones are
    passed as previous (kept where possible), declined pairs are excluded. The run reports how
    many assignments its plan changes."""
    run = service.create_repair(session, caller, run_id, body or RepairIn(), settings)
    _accepted(run.id, response)
    return service.run_out(run)
