"""Reading an instance and rejecting bad input before any solve starts.

`parse_instance` turns JSON text (or already-decoded data) into an `Instance`, or raises
`InstanceError` listing every problem found, each naming the record (by position and id) and the
field. Field rules come from the pydantic models; rules across records are checked here:
unique ids, known ids in `pinned`/`previous`/`excluded`, pinned pairs that break a hard rule,
are excluded or name a flexible visit (format v1.1), and quotas that contradict each other.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from . import rules
from .model import Instance, Pair, Request, Volunteer

__all__ = ["InstanceError", "Problem", "check_instance", "instance_warnings", "parse_instance"]

_LISTS = ("volunteers", "requests", "pinned", "previous", "excluded")
_R = TypeVar("_R", Volunteer, Request)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where (`path`), which record, and what."""

    path: str
    record: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path} ({self.record})" if self.record else self.path
        return f"{where}: {self.message}"


class InstanceError(ValueError):
    """The input is not a valid instance; `problems` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"invalid instance ({len(self.problems)} problem(s)):\n{shown}{more}")


def parse_instance(source: str | bytes | Mapping[str, Any] | Instance) -> Instance:
    """Parse and validate an instance; raise `InstanceError` on any problem."""
    if isinstance(source, Instance):
        check_instance(source)
        return source
    # Validation runs on JSON text (strict JSON types; times as RFC 3339 strings); the decoded
    # data is kept to name records in error messages.
    text = source if isinstance(source, str | bytes) else json.dumps(source, allow_nan=True)
    try:
        instance = Instance.model_validate_json(text)
    except ValidationError as exc:
        # Decoded only now, to name the records in the messages.
        try:
            data = json.loads(text) if isinstance(source, str | bytes) else source
        except json.JSONDecodeError as bad:
            raise InstanceError([Problem("$", None, f"not valid JSON: {bad}")]) from None
        raise InstanceError([_problem_from_pydantic(err, data) for err in exc.errors()]) from None
    check_instance(instance)
    return instance


def check_instance(instance: Instance) -> None:
    """Rules that span records; raise `InstanceError` listing every violation."""
    problems: list[Problem] = []
    volunteers = _index_unique("volunteers", instance.volunteers, problems)
    requests = _index_unique("requests", instance.requests, problems)
    # Unknown ids in `previous` and `excluded` are not errors (see `instance_warnings`): a past
    # plan may name volunteers and requests that are gone, and FORMAT.md's own example does.
    for name in ("pinned",):
        pairs: tuple[Pair, ...] = getattr(instance, name)
        seen: dict[tuple[str, str], int] = {}
        for i, pair in enumerate(pairs):
            path, record = f"{name}[{i}]", f"{pair.volunteer_id} -> {pair.request_id}"
            if pair.volunteer_id not in volunteers:
                problems.append(Problem(f"{path}.volunteer_id", record, "unknown volunteer id"))
            if pair.request_id not in requests:
                problems.append(Problem(f"{path}.request_id", record, "unknown request id"))
            key = (pair.volunteer_id, pair.request_id)
            if key in seen:
                problems.append(Problem(path, record, f"repeats {name}[{seen[key]}] (rule 8)"))
            seen.setdefault(key, i)
    excluded = {(p.volunteer_id, p.request_id) for p in instance.excluded}
    for i, pair in enumerate(instance.pinned):
        record = f"{pair.volunteer_id} -> {pair.request_id}"
        if (pair.volunteer_id, pair.request_id) in excluded:
            problems.append(Problem(f"pinned[{i}]", record, "the pair is also excluded"))
        pinned_request = requests.get(pair.request_id)
        if pinned_request is not None and pinned_request.flexible:
            problems.append(
                Problem(
                    f"pinned[{i}].request_id",
                    record,
                    f"{pair.request_id} is a flexible visit (a window and a duration), which "
                    "cannot be pinned: pin a visit with fixed times (start and end)",
                )
            )
    problems.extend(_quota_problems(instance))
    if not problems:
        problems.extend(_pinned_rule_problems(instance, volunteers, requests))
    if problems:
        raise InstanceError(problems)


def _quota_problems(instance: Instance) -> list[Problem]:
    """Hard quotas no plan with assignments can meet: a group's minimum above its maximum, and
    minimum shares (of one kind) adding up to more than the whole plan."""
    problems: list[Problem] = []
    quotas = instance.options.quotas
    hard = [(i, q) for i, q in enumerate(quotas) if q.hard]
    for i, low in hard:
        for j, high in hard:
            if (
                low.min_share is not None
                and high.max_share is not None
                and (low.group, low.of) == (high.group, high.of)
                and low.min_share > high.max_share
            ):
                problems.append(
                    Problem(
                        f"options.quotas[{i}].min_share",
                        f"group {low.group}",
                        f"min_share {low.min_share:g} exceeds options.quotas[{j}].max_share "
                        f"{high.max_share:g} of the same group",
                    )
                )
    for of in ("assignments", "hours"):
        minima = [(i, q) for i, q in hard if q.of == of and q.min_share is not None]
        total = sum(q.min_share or 0.0 for _, q in minima)
        if total > 1 + 1e-9:
            problems.append(
                Problem(
                    f"options.quotas[{minima[-1][0]}].min_share",
                    f"group {minima[-1][1].group}",
                    f"hard minimum shares of the {of} add up to {total:g}, more than the whole "
                    "plan (only a plan without assignments could meet them)",
                )
            )
    return problems


def instance_warnings(instance: Instance) -> list[str]:
    """What a solve will ignore: previous or excluded pairs naming a volunteer or request not
    in the instance, or repeated."""
    volunteers = {v.id for v in instance.volunteers}
    requests = {r.id for r in instance.requests}
    out: list[str] = []
    for name in ("previous", "excluded"):
        seen: set[tuple[str, str]] = set()
        for i, pair in enumerate(getattr(instance, name)):
            label = f"{name}[{i}] ({pair.volunteer_id} -> {pair.request_id})"
            if pair.volunteer_id not in volunteers:
                out.append(f"{label}: unknown volunteer id, ignored")
            elif pair.request_id not in requests:
                out.append(f"{label}: unknown request id, ignored")
            elif (pair.volunteer_id, pair.request_id) in seen:
                out.append(f"{label}: repeated, counted once")
            seen.add((pair.volunteer_id, pair.request_id))
    groups = {v.group for v in instance.volunteers}
    for i, quota in enumerate(instance.options.quotas):
        if quota.group not in groups:
            meets = (
                "only plans without assignments meet it"
                if quota.hard and quota.min_share
                else "it holds for every plan"
            )
            out.append(f"options.quotas[{i}]: no volunteer is in group {quota.group}; {meets}")
    return out


def _index_unique(name: str, records: Sequence[_R], problems: list[Problem]) -> dict[str, _R]:
    by_id: dict[str, _R] = {}
    first: dict[str, int] = {}
    for i, record in enumerate(records):
        if record.id in by_id:
            problems.append(
                Problem(
                    f"{name}[{i}].id",
                    f"id {record.id}",
                    f"duplicate id, first used by {name}[{first[record.id]}]",
                )
            )
            continue
        by_id[record.id] = record
        first[record.id] = i
    return by_id


def _pinned_rule_problems(
    instance: Instance, volunteers: Mapping[str, Volunteer], requests: Mapping[str, Request]
) -> list[Problem]:
    """Pinned pairs must be satisfiable together: rules 1-5 per pair, 6-7 per volunteer, 9 per
    request. Runs only on otherwise valid input: pinned pairs name fixed requests."""
    problems: list[Problem] = []
    speed = instance.options.travel_speed_kmh
    by_volunteer: dict[str, list[Request]] = defaultdict(list)
    by_request: dict[str, int] = defaultdict(int)
    for i, pair in enumerate(instance.pinned):
        v, r = volunteers[pair.volunteer_id], requests[pair.request_id]
        for violation in rules.pair_violations(v, r):
            problems.append(Problem(f"pinned[{i}]", f"{v.id} -> {r.id}", f"breaks {violation}"))
        by_volunteer[v.id].append(r)
        by_request[r.id] += 1
    for vid, assigned in by_volunteer.items():
        for violation in rules.schedule_violations(volunteers[vid], assigned, speed):
            problems.append(
                Problem("pinned", f"volunteer {vid}", f"pinned pairs together break {violation}")
            )
    for rid, n in by_request.items():
        r = requests[rid]
        if n > r.volunteers_needed:
            problems.append(
                Problem(
                    "pinned",
                    f"request {rid}",
                    f"breaks rule 9 ({rules.RULE_NAMES[9]}): {n} pinned volunteers, "
                    f"volunteers_needed is {r.volunteers_needed}",
                )
            )
    return problems


def _problem_from_pydantic(err: Mapping[str, Any], data: Any) -> Problem:
    loc = tuple(err.get("loc", ()))
    path = _path(loc)
    record = None
    if len(loc) >= 2 and loc[0] in _LISTS and isinstance(loc[1], int):
        record = _record_label(data, str(loc[0]), loc[1])
    elif loc[:2] == ("options", "quotas") and len(loc) >= 3 and isinstance(loc[2], int):
        record = _quota_label(data, loc[2])
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        message = "unknown field"
    elif err.get("type") == "timezone_aware":
        message = "time has no UTC offset (write it like 2026-03-02T09:00:00+08:00)"
    return Problem(path or "$", record, message)


def _record_label(data: Any, name: str, index: int) -> str | None:
    try:
        item = data[name][index]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(item, Mapping):
        return None
    if name in ("pinned", "previous", "excluded"):
        return f"{item.get('volunteer_id')} -> {item.get('request_id')}"
    return f"id {item['id']}" if isinstance(item.get("id"), str) else None


def _quota_label(data: Any, index: int) -> str | None:
    try:
        group = data["options"]["quotas"][index]["group"]
    except (KeyError, IndexError, TypeError):
        return None
    return f"group {group}" if isinstance(group, str) else None


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
