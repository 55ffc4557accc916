"""Scenario definitions: the schema of a scenario file, loading, validation and `--set` overrides.

A scenario is one TOML file (`scenarios/catalog/NAME.toml` for the catalog, or any path). It
names the area (districts with centres and radii, site groups such as universities, residential
communities or exam sites), volunteer pools (counts, skill and language mix, gender, availability
patterns, travel radius and hours distributions), the request mix (service types with required
skills, durations, headcounts, priority, weekday and time-of-day patterns, special rules such as
two same-gender helpers or a dialect), the horizon and a scale factor. docs/scenarios.md
describes every key.

`load_scenario(name_or_path, overrides)` reads and validates a file; every problem found is
reported at once in a `ScenarioError` whose lines read `FILE: KEY: PROBLEM`. Overrides address
any parameter by dotted path (`pools.students.max_travel_km`, `area.districts.0.radius_km`) and
are validated like the file itself. A file may name variants (`[variants.NAME]`, tables of keys
in the file's own shape); the override `variant=NAME` sets every key of one, so sweeps compare
them like any parameter. Every variant is validated when the file loads.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from matcher.model import Quota

__all__ = [
    "CATALOG_DIR",
    "DAY_KINDS",
    "Availability",
    "Block",
    "District",
    "Horizon",
    "Pool",
    "Scenario",
    "ScenarioError",
    "ScenarioProblem",
    "Service",
    "SiteGroup",
    "Window",
    "catalog_names",
    "load_scenario",
    "parse_override",
    "parse_values",
    "set_path",
]

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
DayKind = Literal["weekday", "weekend", "holiday"]
DAY_KINDS: tuple[DayKind, ...] = ("weekday", "weekend", "holiday")
DISTRICTS = "districts"  # the implicit site group: every district, points spread over its disc
VARIANT = "variant"  # the override `variant=NAME` applies the file's variant NAME


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    """One thing wrong with a scenario: the file, the dotted key, and what."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '(top level)'}: {self.message}"


class ScenarioError(ValueError):
    """A scenario file (or an override) is invalid; `problems` lists every reason, each naming
    the file, the key and the problem."""

    def __init__(self, problems: Sequence[ScenarioProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


def _as_range(value: Any) -> Any:
    """A number `x` means the fixed range [x, x]; `[low, high]` is drawn uniformly."""
    if isinstance(value, bool):
        raise ValueError("expected a number or [low, high], got a boolean")
    if isinstance(value, int | float):
        return (value, value)
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"expected a number or [low, high], got a list of {len(value)}")
        return tuple(value)
    raise ValueError(f"expected a number or [low, high], got {type(value).__name__}")


def _check_range(value: tuple[float, float]) -> tuple[float, float]:
    if value[0] > value[1]:
        raise ValueError(f"low ({value[0]:g}) is above high ({value[1]:g})")
    return value


Range = Annotated[tuple[float, float], BeforeValidator(_as_range)]
IntRange = Annotated[tuple[int, int], BeforeValidator(_as_range)]


def _as_draw(value: Any) -> Any:
    """A range, or a table of values and their weights (`{ 4 = 0.2, 8 = 0.5, 12 = 0.3 }`)."""
    return value if isinstance(value, dict) else _as_range(value)


# A quantity drawn per volunteer: uniform over a range, or one of the table's values by weight.
Draw = Annotated[tuple[float, float] | dict[float, float], BeforeValidator(_as_draw)]
IntDraw = Annotated[tuple[int, int] | dict[int, float], BeforeValidator(_as_draw)]
Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]

_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def clock_minutes(text: str) -> int:
    """Minutes after midnight of an `HH:MM` clock time (24:00 allowed)."""
    m = _CLOCK.match(text)
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueError(f"expected a clock time HH:MM (00:00 to 24:00), got {text!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _as_clock(value: Any) -> str:
    """`HH:MM` text (a TOML local time such as 08:30:00 is accepted too), checked."""
    if isinstance(value, time):
        value = value.strftime("%H:%M")
    if not isinstance(value, str):
        raise ValueError(f"expected a clock time HH:MM, got {type(value).__name__}")
    clock_minutes(value)
    return value


Clock = Annotated[str, BeforeValidator(_as_clock)]


class _Spec(BaseModel):
    """Base of every scenario section: unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _positive_weights(weights: dict[Any, float]) -> dict[Any, float]:
    if not weights:
        raise ValueError("needs at least one entry")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    if sum(weights.values()) <= 0:
        raise ValueError("weights must not all be zero")
    return weights


def _probabilities(probs: dict[str, float]) -> dict[str, float]:
    bad = [k for k, p in probs.items() if not 0 <= p <= 1]
    if bad:
        raise ValueError(f"probabilities must lie in [0, 1]: {', '.join(bad)}")
    return probs


def _every_kind() -> dict[DayKind, float]:
    return dict.fromkeys(DAY_KINDS, 1.0)


Weights = Annotated[dict[str, float], AfterValidator(_positive_weights)]
KindWeights = Annotated[dict[DayKind, float], AfterValidator(_positive_weights)]
Probabilities = Annotated[dict[str, float], AfterValidator(_probabilities)]


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


class Horizon(_Spec):
    """The days the scenario covers, in the centers' local time."""

    start: date = Field(description="First day (local date).")
    days: int = Field(ge=1, le=62, description="Number of days.")
    utc_offset: str = Field(default="+08:00", description="Local UTC offset, e.g. +08:00.")
    holidays: tuple[date, ...] = Field(default=(), description="Days that count as holidays.")

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        if not re.fullmatch(r"[+-]([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"expected an offset like +08:00, got {value!r}")
        return value

    @property
    def tz(self) -> timezone:
        sign = -1 if self.utc_offset[0] == "-" else 1
        hours, minutes = int(self.utc_offset[1:3]), int(self.utc_offset[4:6])
        return timezone(sign * timedelta(hours=hours, minutes=minutes))

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=d) for d in range(self.days)]

    def kind_of(self, day: date) -> DayKind:
        """'holiday', 'weekend' or 'weekday'."""
        if day in self.holidays:
            return "holiday"
        return "weekend" if day.weekday() >= 5 else "weekday"

    def day_kinds(self) -> list[DayKind]:
        return [self.kind_of(d) for d in self.dates()]


class District(_Spec):
    name: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: Positive


class Area(_Spec):
    districts: tuple[District, ...] = Field(min_length=1)


class SiteGroup(_Spec):
    """Named places (universities, communities, exam sites...) placed in districts."""

    count: int | None = Field(default=None, ge=1, description="Number of sites (default: names).")
    names: tuple[str, ...] = ()
    points: tuple[tuple[float, float], ...] = Field(
        default=(), description="Explicit [lat, lon] of the first sites; the rest are drawn."
    )
    districts: tuple[str, ...] = Field(default=(), description="Districts to place sites in.")
    scales: bool = Field(default=False, description="Whether the count follows the scale.")
    min_count: int = Field(default=1, ge=1)
    spread_km: float = Field(default=0.5, ge=0, description="Scatter of people and requests.")
    sizes: Literal["equal", "varied"] = "equal"


class Block(_Spec):
    """A time window on a day of the given kinds."""

    start: Clock
    end: Clock
    on: tuple[DayKind, ...] = DAY_KINDS
    weight: float = Field(default=1.0, gt=0)
    p: Share = Field(default=1.0, description="For extra blocks: chance of the block.")

    @property
    def minutes(self) -> tuple[int, int]:
        return clock_minutes(self.start), clock_minutes(self.end)


class Window(_Spec):
    """A flexible visit's time window on its day: the visit starts no earlier than `start` and
    ends no later than `end`; the matcher chooses when (FORMAT v1.1)."""

    start: Clock
    end: Clock
    weight: float = Field(default=1.0, gt=0, description="Relative chance of this window.")

    @property
    def minutes(self) -> tuple[int, int]:
        return clock_minutes(self.start), clock_minutes(self.end)


class Availability(_Spec):
    """When a pool's volunteers offer time: a number of days (or each day by chance), and per
    offered day one block."""

    days: IntRange | None = Field(
        default=None, description="How many days each volunteer offers, [low, high]."
    )
    chance: dict[DayKind, Share] | None = Field(
        default=None,
        description="Or: the chance that each day of a kind is offered, day by day "
        "(a binomial number of days, none at all included).",
    )
    day_weights: KindWeights = Field(
        default_factory=_every_kind,
        description="With `days`: relative chance that a day of each kind is offered.",
    )
    blocks: tuple[Block, ...] = Field(min_length=1, description="One is drawn per offered day.")
    extra: tuple[Block, ...] = Field(
        default=(), description="Added on an offered day with probability p."
    )


class Preferences(_Spec):
    """Random likings for service types (a soft objective of the matcher)."""

    count: IntRange = (0, 2)
    strength: Range = (0.2, 1.0)


class Pool(_Spec):
    """A group of registered volunteers of one kind (students, residents, lawyers...)."""

    count: int | None = Field(default=None, ge=0, description="Volunteers at scale 1.")
    per_site: int | None = Field(default=None, ge=0, description="Or: volunteers per home site.")
    min_count: int = Field(default=0, ge=0, description="Floor after scaling.")
    home: str = Field(description="Site group they live round, or 'districts'.")
    districts: tuple[str, ...] = Field(default=(), description="With home='districts': which.")
    spread_km: float | None = Field(default=None, ge=0, description="Scatter round home sites.")
    affiliation: str | None = Field(
        default=None, description="Attribute key naming the home site (e.g. 'university')."
    )
    gender: Weights = Field(default_factory=lambda: {"f": 0.5, "m": 0.5})
    skills: Probabilities = Field(default_factory=dict, description="Skill: probability.")
    languages: Probabilities = Field(
        default_factory=lambda: {"zh": 1.0}, description="Language: probability."
    )
    availability: Availability
    max_hours: Draw | None = None
    max_travel_km: Draw | None = None
    max_assignments: IntDraw | None = None
    preferences: Preferences | None = None
    group: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The partner organization the pool belongs to (the volunteers' `group`, "
        "for `options.quotas`).",
    )

    @field_validator("max_hours", "max_travel_km", "max_assignments")
    @classmethod
    def _caps(
        cls, value: tuple[float, float] | dict[float, float] | None, info: ValidationInfo
    ) -> tuple[float, float] | dict[float, float] | None:
        if value is None:
            return None
        least = {"max_hours": 0.5, "max_travel_km": 0.0, "max_assignments": 1}[str(info.field_name)]
        if isinstance(value, dict):
            value = _positive_weights(value)
        lowest = min(value) if isinstance(value, dict) else value[0]
        if lowest < least:
            raise ValueError(f"must be at least {least:g}, got {lowest:g}")
        return value if isinstance(value, dict) else _check_range(value)


class Dialect(_Spec):
    languages: tuple[str, ...] = Field(min_length=1)
    share: Share


class Service(_Spec):
    """A type of request: where, when, how long, how many helpers, what they need."""

    pattern: Literal["random", "roster"] = Field(
        default="random",
        description="random: `count` requests at random sites and times; roster: one request "
        "per site, allowed day and start time.",
    )
    count: int | None = Field(default=None, ge=0, description="Requests at scale 1 (random).")
    min_count: int = Field(default=0, ge=0)
    at: str = Field(description="Site group where requests happen, or 'districts'.")
    spread_km: float | None = Field(default=None, ge=0)
    on: tuple[DayKind, ...] = DAY_KINDS
    days: tuple[int, ...] = Field(default=(), description="Explicit day indices (0 = start).")
    day_weights: KindWeights = Field(default_factory=_every_kind)
    start_times: tuple[Clock, ...] = Field(
        default=(), description="Fixed local start times; or give `windows`."
    )
    windows: tuple[Window, ...] = Field(
        default=(),
        description="Or: flexible visits, each in one of these windows (drawn by weight) with "
        "its drawn duration; the matcher chooses the start.",
    )
    start_weights: tuple[float, ...] = Field(
        default=(), description="Weights of the start times (windows carry their own)."
    )
    day_concentration: Positive | None = Field(
        default=None,
        description="Each seed draws the week's day weights from a Dirichlet distribution of "
        "this concentration (times day_weights): small values put most requests on a day or two.",
    )
    duration_h: Range
    headcount: IntRange = (1, 1)
    min_volunteers: IntRange = Field(
        default=(1, 1),
        description="Minimum staffing, [low, high] drawn per request (at most its headcount).",
    )
    priority: int = Field(default=1, ge=1)
    required_skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    dialect: Dialect | None = None
    same_gender: Weights | None = Field(
        default=None, description="Gender of the person served: weights; helpers must match."
    )
    attributes: dict[str, str] = Field(default_factory=dict)
    same_attributes: tuple[str, ...] = Field(
        default=(),
        description="Attribute keys a team shares (one value for all its helpers, not fixed by "
        "the request), e.g. ['gender']; set on requests of two or more helpers.",
    )
    mandatory_share: Share = 0.0

    @field_validator("headcount", "min_volunteers")
    @classmethod
    def _headcount(cls, value: tuple[int, int], info: ValidationInfo) -> tuple[int, int]:
        if value[0] < 1:
            raise ValueError(f"{info.field_name} must be at least 1")
        if value[0] > value[1]:
            raise ValueError(f"low ({value[0]}) is above high ({value[1]})")
        return value

    @field_validator("duration_h")
    @classmethod
    def _duration(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] <= 0 or value[1] > 24:
            raise ValueError("durations must lie in (0, 24] hours")
        return _check_range(value)


class Options(_Spec):
    travel_speed_kmh: Positive = 20.0
    visit_times: Literal["windows", "mid-window"] = Field(
        default="windows",
        description="windows: visits of services with `windows` are flexible (the matcher "
        "chooses the start); mid-window: the same visits at a fixed time in the middle of their "
        "windows (start = middle - duration / 2), everything else drawn alike.",
    )
    time_limit_s: Positive = 10.0
    quotas: tuple[Quota, ...] = Field(
        default=(), description="Shares of the plan for pools' groups (the matcher's quotas)."
    )


class Scenario(_Spec):
    """A named, seeded what-if scenario."""

    title: str = Field(min_length=1)
    description: str = ""
    questions: tuple[str, ...] = Field(default=(), description="Planners' questions it answers.")
    seed: int = Field(default=0, ge=0)
    scale: Positive = 1.0
    horizon: Horizon
    area: Area
    sites: dict[str, SiteGroup] = Field(default_factory=dict)
    pools: dict[str, Pool] = Field(min_length=1)
    services: dict[str, Service] = Field(min_length=1)
    options: Options = Field(default_factory=Options)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Named variants: tables of keys set over the scenario (`--set variant=NAME`).",
    )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """A validated scenario with where it came from and its raw data (for overrides)."""

    name: str
    path: Path
    spec: Scenario
    raw: dict[str, Any] = field(repr=False)
    overrides: tuple[tuple[str, Any], ...] = ()

    def with_overrides(self, overrides: Iterable[tuple[str, Any]]) -> Loaded:
        return _validate(self.name, self.path, self.raw, (*self.overrides, *overrides))


def catalog_names() -> list[str]:
    """The catalog's scenario names, sorted."""
    return sorted(p.stem for p in CATALOG_DIR.glob("*.toml"))


def resolve(name_or_path: str | Path) -> Path:
    """A catalog name, or a path to a scenario file."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or Path(text).is_file():
        return Path(text)
    path = CATALOG_DIR / f"{text}.toml"
    if not path.is_file():
        known = ", ".join(catalog_names())
        raise ScenarioError(
            [ScenarioProblem(text, "", f"no such scenario in the catalog (known: {known})")]
        )
    return path


def load_scenario(name_or_path: str | Path, overrides: Iterable[tuple[str, Any]] = ()) -> Loaded:
    """Read, override and validate a scenario; raise `ScenarioError` listing every problem."""
    path = resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([ScenarioProblem(str(path), "", f"cannot read: {exc}")]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([ScenarioProblem(str(path), "(syntax)", str(exc))]) from None
    return _validate(path.stem, path, raw, tuple(overrides))


def _validate(
    name: str, path: Path, raw: dict[str, Any], overrides: tuple[tuple[str, Any], ...]
) -> Loaded:
    data = copy.deepcopy(raw)
    where = str(path)
    problems: list[ScenarioProblem] = []
    for key, value in overrides:
        try:
            for leaf, leaf_value in _expand(raw, key, value):
                set_path(data, leaf, leaf_value)
        except KeyError as exc:
            problems.append(ScenarioProblem(f"{where} (--set)", key, str(exc.args[0])))
    if problems:
        raise ScenarioError(problems)
    if overrides:
        where += " with --set " + ", ".join(f"{k}={_show(v)}" for k, v in overrides)
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([_from_pydantic(where, err) for err in exc.errors()]) from None
    problems = cross_check(spec, where)
    if VARIANT not in (key for key, _ in overrides):
        for variant in spec.variants:  # each variant is a scenario too: check it now
            try:
                _validate(name, path, raw, (*overrides, (VARIANT, variant)))
            except ScenarioError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return Loaded(name=name, path=path, spec=spec, raw=raw, overrides=overrides)


def _expand(raw: Mapping[str, Any], key: str, value: Any) -> list[tuple[str, Any]]:
    """The (path, value) pairs an override sets: itself, or for `variant=NAME` every key the
    variant's table sets (arrays are set whole)."""
    if key != VARIANT:
        return [(key, value)]
    variants = raw.get("variants", {})
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise KeyError("variants: expected tables of keys, [variants.NAME]")
    if not isinstance(value, str) or value not in variants:
        known = ", ".join(variants) or "none in this file"
        raise KeyError(f"unknown variant {value!r} (known: {known})")
    pairs: list[tuple[str, Any]] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif prefix.split(".")[0] == "variants":
            raise KeyError(f"variants.{value}: a variant cannot set variants")
        elif prefix:
            pairs.append((prefix, copy.deepcopy(node)))

    walk("", variants[value])
    return pairs


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _from_pydantic(where: str, err: Mapping[str, Any]) -> ScenarioProblem:
    key = ".".join(str(part) for part in err.get("loc", ()))
    kind = err.get("type")
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    got = err.get("input")
    if kind not in ("extra_forbidden", "missing") and not isinstance(got, dict | list):
        message += f" (got {got!r})"
    return ScenarioProblem(where, key, message)


def cross_check(spec: Scenario, where: str) -> list[ScenarioProblem]:
    """Rules across sections: references to districts and site groups, counts, day patterns."""
    problems: list[ScenarioProblem] = []

    def bad(key: str, message: str) -> None:
        problems.append(ScenarioProblem(where, key, message))

    districts = [d.name for d in spec.area.districts]
    if len(set(districts)) != len(districts):
        bad("area.districts", "district names must be unique")
    groups = {DISTRICTS, *spec.sites}
    for name, group in spec.sites.items():
        key = f"sites.{name}"
        if name == DISTRICTS:
            bad(key, f"'{DISTRICTS}' is reserved for the districts themselves")
        if group.count is None and not group.names and not group.points:
            bad(key, "give count, names or points")
        for d in group.districts:
            if d not in districts:
                bad(f"{key}.districts", f"unknown district {d!r}")
        for i, (lat, lon) in enumerate(group.points):
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                bad(f"{key}.points.{i}", f"[{lat}, {lon}] is not a [lat, lon] in degrees")
    pool_groups = sorted({p.group for p in spec.pools.values() if p.group})
    for i, quota in enumerate(spec.options.quotas):
        if quota.group not in pool_groups:
            known = ", ".join(pool_groups) or "no pool has a group"
            bad(f"options.quotas.{i}.group", f"unknown group {quota.group!r} (known: {known})")
    kinds = set(spec.horizon.day_kinds())
    for day in spec.horizon.holidays:
        if day not in spec.horizon.dates():
            bad("horizon.holidays", f"{day.isoformat()} is outside the horizon")
    for name, pool in spec.pools.items():
        key = f"pools.{name}"
        if (pool.count is None) == (pool.per_site is None):
            bad(key, "give exactly one of count and per_site")
        if pool.home not in groups:
            bad(
                f"{key}.home",
                f"unknown site group {pool.home!r} (known: {', '.join(sorted(groups))})",
            )
        for d in pool.districts:
            if d not in districts:
                bad(f"{key}.districts", f"unknown district {d!r}")
        if pool.districts and pool.home != DISTRICTS:
            bad(f"{key}.districts", "only with home = 'districts'")
        avail = pool.availability
        if (avail.days is None) == (avail.chance is None):
            bad(f"{key}.availability", "give exactly one of days and chance")
        if avail.chance is not None and "day_weights" in avail.model_fields_set:
            bad(f"{key}.availability.day_weights", "not used with chance (give a chance per kind)")
        offered = avail.chance if avail.chance is not None else avail.day_weights
        usable = {
            k for k in kinds if offered.get(k, 0.0) > 0 and any(k in b.on for b in avail.blocks)
        }
        if not usable:
            bad(f"{key}.availability", "no day of the horizon has a weight and a block")
        for i, block in enumerate((*avail.blocks, *avail.extra)):
            lo, hi = block.minutes
            if hi <= lo:
                part = "blocks" if i < len(avail.blocks) else "extra"
                j = i if i < len(avail.blocks) else i - len(avail.blocks)
                bad(f"{key}.availability.{part}.{j}", "end must be after start")
    for name, service in spec.services.items():
        key = f"services.{name}"
        if service.at not in groups:
            bad(
                f"{key}.at",
                f"unknown site group {service.at!r} (known: {', '.join(sorted(groups))})",
            )
        if service.pattern == "random" and service.count is None:
            bad(f"{key}.count", "required with pattern = 'random'")
        if service.pattern == "roster" and service.count is not None:
            bad(
                f"{key}.count", "not used with pattern = 'roster' (one request per site, day, time)"
            )
        if service.min_volunteers[0] > service.headcount[1]:
            bad(f"{key}.min_volunteers", "exceeds the largest headcount")
        if service.pattern == "roster" and service.day_concentration is not None:
            bad(f"{key}.day_concentration", "not used with pattern = 'roster'")
        for index in service.days:
            if not 0 <= index < spec.horizon.days:
                bad(
                    f"{key}.days",
                    f"day {index} is outside the horizon (0..{spec.horizon.days - 1})",
                )
        if not service_days(spec, service):
            bad(key, "no day of the horizon matches `on`/`days`")
        if bool(service.start_times) == bool(service.windows):
            bad(key, "give exactly one of start_times (fixed times) and windows (flexible visits)")
        if service.windows and service.start_weights:
            bad(f"{key}.start_weights", "not used with windows (each window has its weight)")
        for i, window in enumerate(service.windows):
            lo, hi = window.minutes
            if hi - lo < 60 * service.duration_h[1]:
                bad(
                    f"{key}.windows.{i}",
                    f"{window.start}-{window.end} is shorter than the longest duration "
                    f"({service.duration_h[1]:g} h)",
                )
        if service.same_attributes and service.headcount[1] < 2:
            bad(f"{key}.same_attributes", "needs a headcount of 2 or more (a team to share them)")
        if service.start_weights and len(service.start_weights) != len(service.start_times):
            bad(f"{key}.start_weights", "needs one weight per start time")
        if service.start_weights and (
            min(service.start_weights) < 0 or sum(service.start_weights) <= 0
        ):
            bad(f"{key}.start_weights", "weights must be non-negative and not all zero")
        for t in service.start_times:
            if clock_minutes(t) + 60 * service.duration_h[1] > 48 * 60:
                bad(f"{key}.start_times", f"{t} plus the duration runs past the next day")
    return problems


def service_days(spec: Scenario, service: Service) -> list[int]:
    """Day indices on which a service's requests can fall."""
    kinds = spec.horizon.day_kinds()
    candidates = service.days or tuple(range(spec.horizon.days))
    return [
        d
        for d in candidates
        if 0 <= d < len(kinds)
        and kinds[d] in service.on
        and service.day_weights.get(kinds[d], 0.0) > 0
    ]


# --------------------------------------------------------------------------------------------
# Overrides (--set PATH=V1,V2)
# --------------------------------------------------------------------------------------------


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted path (integers index arrays); missing tables are created.
    Raises KeyError naming the problem when the path runs into a value or past an array."""
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise KeyError(f"not a dotted path: {path!r}")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(f"{here}: index out of range (the array has {len(node)} items)")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise KeyError(f"{here}: cannot set inside a {type(node).__name__}")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or quotes."""
    out: list[str] = []
    depth, quote, current = 0, "", ""
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch in "[{":
            depth += 1
            current += ch
        elif ch in "]}":
            depth -= 1
            current += ch
        elif ch == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return [part.strip() for part in out]


def parse_value(text: str) -> Any:
    """A TOML value (`10`, `1.5`, `true`, `[4, 8]`, `2026-03-02`, `"text"`), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_values(text: str) -> list[Any]:
    """`V1,V2,...` as values (commas inside brackets do not split)."""
    return [parse_value(part) for part in _split_top_level(text)]


def parse_override(text: str, *, many: bool) -> tuple[str, list[Any]]:
    """`PATH=V1,V2` as (path, values). With many=False exactly one value is allowed."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip():
        raise ValueError(f"expected PATH=VALUE, got {text!r}")
    parsed = parse_values(values) if many else [parse_value(values.strip())]
    if any(isinstance(v, str) and v == "" for v in parsed):
        raise ValueError(f"{path.strip()}: empty value in {text!r}")
    return path.strip(), parsed
