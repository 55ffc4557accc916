"""Bodies of the match run endpoints: the run, its progress, its plan and its publication."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import StrictModel
from matcher.model import AtFault, Objective

RunStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]
EngineName = Literal["optimal", "greedy"]
MAX_WINDOW_DAYS = 31
MAX_REPAIR_CHANGES = 10_000


class Window(StrictModel):
    start: AwareDatetime = Field(examples=["2026-03-02T00:00:00+08:00"])
    end: AwareDatetime = Field(examples=["2026-03-09T00:00:00+08:00"])

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> Self:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        if (self.end - self.start).days > MAX_WINDOW_DAYS:
            raise ValueError(f"a window spans at most {MAX_WINDOW_DAYS} days")
        return self


class SolveSettings(StrictModel):
    engine: EngineName = Field(
        default="optimal",
        description="optimal: lexicographic optimum with a proven bound; greedy: quick baseline.",
    )
    time_limit_s: float | None = Field(
        default=None, gt=0, description="Seconds of solving; default and cap in the README."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class RunIn(SolveSettings):
    window: Window = Field(description="Requests that lie inside this window are matched.")
    center_ids: list[int] | None = Field(
        default=None,
        max_length=1000,
        description="Whose open requests: a center's own by default; an admin may name any centers "
        "(default all).",
    )


class RepairIn(SolveSettings):
    """A repair run re-solves a published run's window: confirmed assignments are pinned,
    proposed ones are kept unless moving them is needed (passed as previous), declined pairs
    are excluded, and at most `max_changes` assignments change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"engine": "optimal", "time_limit_s": 10, "max_changes": 3}]
        }
    )
    max_changes: int | None = Field(
        default=None,
        ge=0,
        le=MAX_REPAIR_CHANGES,
        description="At most this many changes to the assignments held (proposed ones dropped "
        "plus new ones); default the center's `repair_max_changes` (3 unless set). The run "
        "reports what more changes would buy.",
    )


class Progress(BaseModel):
    phase: str | None
    fraction: float
    coverage: int | None
    bound: int | None


class MoreChanges(BaseModel):
    """What a repair without a change budget would do: measured by a solve of the same instance
    without `max_changes` (each change still priced), in the repair's time."""

    changes: int = Field(description="Changes that plan makes.")
    coverage_gain: int = Field(description="Its coverage less the repair plan's.")
    filled_gain: int = Field(description="Places it fills beyond the repair plan's.")
    travel_km_change: float = Field(description="Its travel less the repair plan's (km).")
    proven: bool = Field(
        description="Whether its coverage is proven optimal: no number of changes buys more."
    )


class Changes(BaseModel):
    kept: int = Field(description="Assignments held before and kept by the plan.")
    added: int = Field(description="Pairs the plan adds.")
    removed: int = Field(description="Held assignments the plan drops (proposed ones only).")
    max_changes: int | None = Field(
        default=None, description="A repair's change budget (absent for a match run)."
    )
    more: MoreChanges | None = Field(
        default=None,
        description="A repair: what a plan without the change budget would make and buy "
        "(absent when the solve had no time left for it).",
    )

    @property
    def changed(self) -> int:
        return self.added + self.removed


class RunOut(BaseModel):
    id: int
    kind: Literal["match", "repair"]
    repair_of: int | None
    status: RunStatusName
    engine: EngineName
    time_limit_s: float
    seed: int
    max_changes: int | None = Field(description="A repair's change budget.")
    window: Window
    center_ids: list[int]
    progress: Progress
    objective: Objective | None = Field(description="Of the plan found (absent before).")
    bound: int | None = Field(description="Proven upper bound on coverage, where known.")
    changes: Changes | None = Field(description="Against the assignments held when it was solved.")
    cancel_requested: bool
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    published_at: datetime | None


class PlannedAssignment(BaseModel):
    volunteer_id: int
    request_id: int
    distance_km: float
    start: datetime | None = Field(
        default=None,
        description="A flexible visit's chosen start, one for its whole team (absent for a "
        "fixed request).",
    )
    end: datetime | None = Field(default=None, description="The chosen start plus the duration.")


class UnfilledRequest(BaseModel):
    request_id: int
    missing: int
    codes: list[str]
    reasons: list[str]


class QuotaShare(BaseModel):
    """A partner's quota (the center's setting when the run was solved) and the share the plan
    gives the partner's volunteers."""

    organization_id: int
    of: Literal["assignments", "hours"]
    min_share: float | None
    max_share: float | None
    hard: bool
    share: float = Field(description="The partner's share of the plan (0 for an empty plan).")
    amount: float = Field(description="The partner's assignments (or hours) in the plan.")
    met: bool


class PlanOut(BaseModel):
    """The plan of a run: ids only, no personal data."""

    run_id: int
    status: Literal["optimal", "feasible", "infeasible"]
    assignments: list[PlannedAssignment]
    unfilled: list[UnfilledRequest]
    at_fault: list[AtFault]
    objective: Objective
    bound: int | None
    changes: Changes | None
    quotas: list[QuotaShare] = Field(description="The center's quotas and what the plan gives.")
    stats: dict[str, float | int | str | bool]


class AssignmentLink(BaseModel):
    assignment_id: int
    volunteer_id: int
    request_id: int
    token: str = Field(
        description="Shown once: lets the volunteer confirm or decline at "
        "/v1/assignment-links/{token}/confirm|decline without a key."
    )


class PublishIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"standby_per_request": 2}]})
    standby_per_request: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Standby volunteers to name per request (default: the center's setting); "
        "requests whose volunteers often miss their work get more (see docs/notifications.md).",
    )


class StandbyList(BaseModel):
    request_id: int
    volunteer_ids: list[int] = Field(description="Ranked: the first steps in first.")


class StandbyOut(BaseModel):
    run_id: int = Field(description="The published run that named them.")
    request_id: int
    volunteer_id: int
    rank: int
    distance_km: float
    status: Literal["waiting", "promoted", "passed"]


class PublishResult(BaseModel):
    run_id: int
    created: int
    kept: int
    cancelled: int
    links: list[AssignmentLink]
    standby: list[StandbyList] = Field(
        default_factory=list, description="Standby volunteers named per request."
    )
