"""The interchange format (FORMAT.md v1) as typed, immutable pydantic models.

`Instance` is a matching problem (volunteers, requests, pinned and previous pairs, options);
`Plan` is what a solve returns. Field-level rules (ranges, finite numbers, offsets on times)
live here; rules that span records (unique ids, known ids, pinned pairs) live in `validate`.
The JSON Schemas in docs/ are generated from these classes (`volmatch schema`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "Assignment",
    "AtFault",
    "Bound",
    "Instance",
    "Interval",
    "Location",
    "Objective",
    "Options",
    "Pair",
    "Plan",
    "Quota",
    "QuotaOutcome",
    "Request",
    "SoftWeights",
    "Unfilled",
    "Volunteer",
]

Id = Annotated[StrictStr, Field(min_length=1, max_length=200, description="Unique identifier.")]


def _text_time(value: object) -> object:
    """Times are RFC 3339 text (or datetimes, from Python): never a bare number."""
    if isinstance(value, str | datetime):
        return value
    raise ValueError("time must be RFC 3339 text with an offset, like 2026-03-02T09:00:00+08:00")


# Strict JSON types, in JSON and Python validation alike (the service validates decoded bodies):
# a number written as a string, a count written as true, a time written as a number are errors.
Number = Annotated[float, Strict()]
Moment = Annotated[AwareDatetime, BeforeValidator(_text_time)]
# Attribute values are JSON scalars compared for equality (rule 3); `1` and `true` differ.
AttributeValue = StrictStr | StrictBool | StrictInt | StrictFloat


class _Record(BaseModel):
    """Base of every input record: immutable; unknown fields, NaN/Infinity and values of the
    wrong JSON type (a number written as a string, a count written as true) are rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _check_end_after_start(
    cls: type, end: datetime | None, info: ValidationInfo
) -> datetime | None:
    start = info.data.get("start")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return end


class Location(_Record):
    """A point in WGS84 degrees."""

    lat: Number = Field(ge=-90, le=90, description="Latitude in degrees, -90..90.")
    lon: Number = Field(ge=-180, le=180, description="Longitude in degrees, -180..180.")


class Interval(_Record):
    """A time span with an explicit UTC offset on both ends; `end` is after `start`."""

    start: Moment
    end: Moment

    _end_after_start = field_validator("end")(_check_end_after_start)


class Commitment(_Record):
    """An engagement of the volunteer outside this solve (an assignment proposed or confirmed by
    an earlier run, at any center): it blocks overlapping times, with travel, and counts toward
    the volunteer's hours and assignment caps. A project addition to FORMAT.md."""

    start: Moment
    end: Moment
    location: Location
    _end_after_start = field_validator("end")(_check_end_after_start)

    @property
    def duration_hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


class Volunteer(_Record):
    """A registered person who can be assigned to requests (one person across all centers)."""

    id: Id
    location: Location = Field(description="Where the volunteer travels from.")
    skills: tuple[StrictStr, ...] = ()
    languages: tuple[StrictStr, ...] = ()
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    availability: tuple[Interval, ...] = Field(
        default=(), description="Intervals the volunteer can work; touching ones are merged."
    )
    max_hours: Number | None = Field(
        default=None, gt=0, description="Cap on the summed duration of assignments; absent = none."
    )
    max_travel_km: Number | None = Field(
        default=None, ge=0, description="Cap on home-to-request distance; absent = unlimited."
    )
    max_assignments: StrictInt | None = Field(
        default=None, ge=1, description="Cap on the number of assignments; absent = unlimited."
    )
    preferences: dict[str, Number] = Field(
        default_factory=dict,
        description="Liking per service type (key = a request's service_type); soft objective.",
    )
    commitments: tuple[Commitment, ...] = Field(
        default=(),
        description="Engagements outside this solve: they block time and count toward caps.",
    )
    # Project additions: stakeholder quotas and annual targets.
    group: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The partner organization (university, law firm, community) the volunteer "
        "belongs to; `options.quotas` give groups a share of the plan.",
    )
    served_hours: Number | None = Field(
        default=None,
        ge=0,
        description="Hours already served in the target period (the year so far): the fairness "
        "term counts them (`soft_weights.target`).",
    )
    target_hours: Number | None = Field(
        default=None,
        gt=0,
        description="Hours the volunteer should serve in the target period: people behind it "
        "are preferred by the fairness term.",
    )


class Request(_Record):
    """A service need at a place and time, staffed by between `min_volunteers` and
    `volunteers_needed` volunteers (or none, unless `mandatory`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["start", "end"]},
                {"required": ["earliest_start", "latest_end", "duration"]},
            ]
        }
    )

    id: Id
    service_type: StrictStr = Field(min_length=1)
    location: Location
    start: Moment | None = Field(
        default=None, description="Fixed start (FORMAT v1); absent for a flexible visit."
    )
    end: Moment | None = Field(
        default=None, description="Fixed end (FORMAT v1); absent for a flexible visit."
    )
    # Format v1.1: a flexible visit gives a window and a duration instead of start and end;
    # the plan chooses the start, one for the whole team.
    earliest_start: Moment | None = Field(
        default=None, description="Flexible visit (v1.1): the service starts no earlier."
    )
    latest_end: Moment | None = Field(
        default=None,
        description="Flexible visit (v1.1): the service ends no later; same local day as "
        "earliest_start.",
    )
    duration: Number | None = Field(
        default=None, gt=0, le=24 * 60, description="Flexible visit (v1.1): minutes of service."
    )
    same_attributes: tuple[StrictStr, ...] = Field(
        default=(),
        description="Attribute keys every volunteer of the request must have, with one common "
        'value ("two helpers of the same gender"); a volmatch addition.',
    )
    required_skills: tuple[StrictStr, ...] = ()
    languages: tuple[StrictStr, ...] = Field(
        default=(), description="If not empty, a volunteer must speak at least one."
    )
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="Every key must equal the volunteer's attribute."
    )
    volunteers_needed: StrictInt = Field(default=1, ge=1)
    min_volunteers: StrictInt = Field(default=1, ge=1)
    priority: StrictInt = Field(
        default=1, ge=1, description="Weight of each filled slot in coverage."
    )
    mandatory: StrictBool = False

    _end_after_start = field_validator("end")(_check_end_after_start)

    @field_validator("latest_end")
    @classmethod
    def _window_within_a_day(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("earliest_start")
        if end is None or start is None:
            return end
        if end <= start:
            raise ValueError(
                f"latest_end ({end.isoformat()}) must be after earliest_start ({start.isoformat()})"
            )
        midnight = datetime.combine(start.date(), datetime.min.time(), start.tzinfo)
        if end > midnight + timedelta(days=1):
            raise ValueError(
                f"the window {start.isoformat()} to {end.isoformat()} crosses midnight: a "
                "flexible visit's window lies within one local day (split it into two requests)"
            )
        return end

    @field_validator("duration")
    @classmethod
    def _duration_fits_window(cls, minutes: float | None, info: ValidationInfo) -> float | None:
        start, end = info.data.get("earliest_start"), info.data.get("latest_end")
        if minutes is None or start is None or end is None:
            return minutes
        window = (end - start).total_seconds() / 60.0
        if minutes > window + 1e-9:
            raise ValueError(
                f"duration ({minutes:g} min) is longer than the window "
                f"{start.isoformat()} to {end.isoformat()} ({window:g} min)"
            )
        return minutes

    @field_validator("attributes")
    @classmethod
    def _no_empty_attribute(cls, values: dict[str, object]) -> dict[str, object]:
        for key, value in values.items():
            if value == "":
                raise ValueError(
                    f"attribute {key!r} is empty: give its value (for a team of two women, "
                    '"gender": "f") or leave the key out'
                )
        return values

    @model_validator(mode="after")
    def _fixed_or_flexible(self) -> Request:
        fixed = (self.start is not None, self.end is not None)
        flexible = (
            self.earliest_start is not None,
            self.latest_end is not None,
            self.duration is not None,
        )
        if any(fixed) and any(flexible):
            raise ValueError(
                "give either start and end (a fixed time) or earliest_start, latest_end and "
                "duration (a flexible visit), not both"
            )
        if not all(fixed) and not all(flexible):
            names, given = (
                (("earliest_start", "latest_end", "duration"), flexible)
                if any(flexible)
                else (("start", "end"), fixed)
            )
            missing = [name for name, there in zip(names, given, strict=True) if not there]
            raise ValueError(f"missing {', '.join(missing)}")
        if self.same_attributes and self.volunteers_needed < 2:
            raise ValueError(
                "same_attributes asks a team to share attributes, but volunteers_needed is 1"
            )
        return self

    @property
    def flexible(self) -> bool:
        """A v1.1 visit with a window and a duration; the plan chooses its start."""
        return self.duration is not None

    @property
    def window_start(self) -> datetime:
        """The earliest the request can start: `start`, or `earliest_start` when flexible."""
        start = self.earliest_start if self.flexible else self.start
        assert start is not None  # the model validator makes one of the two forms complete
        return start

    @property
    def window_end(self) -> datetime:
        """The latest the request can end: `end`, or `latest_end` when flexible."""
        end = self.latest_end if self.flexible else self.end
        assert end is not None
        return end

    @field_validator("min_volunteers")
    @classmethod
    def _min_within_needed(cls, value: int, info: ValidationInfo) -> int:
        needed = info.data.get("volunteers_needed")
        if needed is not None and value > needed:
            raise ValueError(f"min_volunteers ({value}) exceeds volunteers_needed ({needed})")
        return value

    @property
    def duration_hours(self) -> float:
        if self.duration is not None:
            return self.duration / 60.0
        return (self.window_end - self.window_start).total_seconds() / 3600.0


class Pair(_Record):
    volunteer_id: Id
    request_id: Id


class SoftWeights(_Record):
    """Weights of the third objective tier (after coverage and travel); see docs/format.md."""

    preference: Number = Field(default=1.0, ge=0)
    fairness: Number = Field(default=1.0, ge=0)
    stability: Number = Field(default=2.0, ge=0)
    target: Number = Field(
        default=1.0,
        ge=0,
        description="How much an hour already served (beyond the volunteer's target, or short "
        "of it) counts in the fairness term against an hour of this plan; 0 ignores "
        "`served_hours` and `target_hours`.",
    )


class Quota(_Record):
    """A group's share of the plan's assignments (or hours): at least `min_share` or at most
    `max_share`. Hard quotas are rules every plan keeps; soft ones cost `weight` per assignment
    (or hour) short of them in the soft score."""

    group: StrictStr = Field(min_length=1, max_length=200, description="A volunteers' `group`.")
    min_share: Number | None = Field(default=None, ge=0, le=1)
    max_share: Number | None = Field(default=None, ge=0, le=1)
    of: Literal["assignments", "hours"] = "assignments"
    hard: StrictBool = True
    weight: Number = Field(
        default=1.0,
        ge=0,
        description="Soft quotas: soft-score cost of each assignment (or hour) short of it.",
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Quota:
        if (self.min_share is None) == (self.max_share is None):
            raise ValueError("give exactly one of min_share and max_share")
        return self

    @property
    def share(self) -> float:
        return self.min_share if self.min_share is not None else float(self.max_share or 0.0)

    @property
    def minimum(self) -> bool:
        return self.min_share is not None


class Options(_Record):
    travel_speed_kmh: Number = Field(default=20.0, gt=0)
    time_limit_s: Number | None = Field(
        default=None,
        gt=0,
        description="Wall-clock budget of the solve; absent = the engine's default.",
    )
    seed: StrictInt = Field(default=0, ge=0)
    # Project additions (FORMAT.md allows added fields).
    soft_weights: SoftWeights = Field(default_factory=SoftWeights)
    quotas: tuple[Quota, ...] = Field(
        default=(), description="Shares of the plan for groups of volunteers (`group`)."
    )
    max_changes: StrictInt | None = Field(
        default=None,
        ge=0,
        description="At most this many changes against `previous`: previous pairs dropped plus "
        "pairs added (pinned ones aside); absent = no limit.",
    )
    change_cost_km: Number = Field(
        default=0.0,
        ge=0,
        le=10_000,
        description="Each change against `previous` costs this many kilometres in the travel "
        "tier, so that no one is moved to save less travel than that (a repair sets it).",
    )


class Instance(_Record):
    """A matching problem: who can be assigned, what needs staffing, and fixed pairs."""

    volunteers: tuple[Volunteer, ...] = ()
    requests: tuple[Request, ...] = ()
    pinned: tuple[Pair, ...] = ()
    previous: tuple[Pair, ...] = ()
    excluded: tuple[Pair, ...] = Field(
        default=(),
        description="Pairs that may not be assigned (the volunteer declined the request). "
        "A project addition to FORMAT.md.",
    )
    options: Options = Field(default_factory=Options)


# --------------------------------------------------------------------------------------------
# Plan (solver output)
# --------------------------------------------------------------------------------------------


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Assignment(_Output):
    volunteer_id: str
    request_id: str
    distance_km: float
    start: datetime | None = Field(
        default=None,
        description="Flexible visits (v1.1): the chosen start, one for the whole team; absent "
        "for a fixed request.",
    )
    end: datetime | None = Field(
        default=None, description="Flexible visits (v1.1): the chosen start plus the duration."
    )


ReasonCode = Literal[
    "no_candidate",
    "candidates_busy",
    "hours_cap",
    "assignment_cap",
    "below_min_volunteers",
    "quota",
    "max_changes",
    "mandatory_unstaffable",
    "not_chosen",
    "time_limit",
]


class Unfilled(_Output):
    request_id: str
    missing: int = Field(ge=1, description="volunteers_needed minus volunteers assigned.")
    codes: tuple[ReasonCode, ...] = Field(default=(), description="Machine-readable reason codes.")
    reasons: tuple[str, ...] = Field(description="One sentence per reason code.")


class AtFault(_Output):
    """A mandatory request that no plan can staff, and the rules that block it."""

    request_id: str
    rules: tuple[int, ...] = Field(description="FORMAT.md hard-rule numbers that block it.")
    reason: str


class Objective(_Output):
    coverage: int = Field(description="Sum over requests of priority times volunteers assigned.")
    travel_km: float = Field(description="Sum over assignments of the volunteer-request distance.")
    preference: float = 0.0
    fairness_penalty: float = 0.0
    stability: int = Field(default=0, description="Previous pairs kept.")
    changes: int = Field(
        default=0, description="Previous pairs dropped plus pairs added (pinned ones aside)."
    )
    quota_shortfall: float = Field(
        default=0.0, description="Soft quotas: weighted assignments (or hours) short of them."
    )


class Bound(_Output):
    coverage: int | None = Field(default=None, description="Proven upper bound on coverage.")


class QuotaOutcome(_Output):
    """A quota and the share the plan gives its group."""

    group: str
    of: Literal["assignments", "hours"]
    min_share: float | None = None
    max_share: float | None = None
    hard: bool
    share: float = Field(description="The group's share of the plan (0 when the plan is empty).")
    amount: float = Field(description="The group's assignments (or hours) in the plan.")
    met: bool


class Plan(_Output):
    status: Literal["optimal", "feasible", "infeasible"]
    assignments: tuple[Assignment, ...] = ()
    unfilled: tuple[Unfilled, ...] = ()
    at_fault: tuple[AtFault, ...] = Field(
        default=(), description="With status infeasible: the mandatory requests no plan can staff."
    )
    objective: Objective
    bound: Bound = Field(default_factory=Bound)
    stats: dict[str, float | int | str | bool] = Field(default_factory=dict)
    warnings: tuple[str, ...] = Field(
        default=(), description="Input that was ignored, e.g. previous pairs naming unknown ids."
    )
    quotas: tuple[QuotaOutcome, ...] = Field(
        default=(), description="Each quota of the instance, and whether the plan meets it."
    )
