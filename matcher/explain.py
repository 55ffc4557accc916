"""Why a request stayed (partly) unfilled, in reason codes and sentences.

For a request with no candidate at all, the explanation walks the funnel of rules 1-5 over all
volunteers and names the first rule nobody passes (a skill nobody has, a language nobody
speaks, nobody available at that time, nobody within reach). For a request with candidates, it
looks at the final plan: who is busy at a conflicting request (named), who has reached a cap,
whom a hard quota or the change budget keeps out, and whether too few were free to reach the
minimum headcount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import Compiled, Tables
from .engines.state import Selection
from .model import AtFault, Instance, ReasonCode, Unfilled
from .problem import QUOTA_TOLERANCE, BoolArray, IntArray
from .rules import attribute_key
from .visits import VisitPlanner, VisitShortfall

__all__ = ["Explanation", "explain", "explain_visits"]

_NAMED = 5  # volunteers named in one sentence at most


@dataclass(frozen=True)
class Explanation:
    unfilled: tuple[Unfilled, ...]
    at_fault: tuple[AtFault, ...]


def explain(
    compiled: Compiled,
    selected: BoolArray,
    at_fault: list[int],
    *,
    proven: bool,
    unstaffable_proven: bool = False,
    first: int | None = None,
) -> Explanation:
    """Reasons for every request left short (of the `first` requests only, when given);
    `proven`: the plan is proven optimal; `unstaffable_proven`: no plan staffs the `at_fault`
    requests (else the sentences say only that this plan does not)."""
    data = compiled.data
    sel = Selection.of(data, selected)
    sel_rows = _GlobalRows(compiled, selected)
    funnel = _Funnel(compiled.tables, compiled.instance)
    reqs = compiled.instance.requests
    unfilled: list[Unfilled] = []
    rules_of: dict[int, tuple[int, ...]] = {}
    sentences_of: dict[int, tuple[str, ...]] = {}
    faulty = set(at_fault)
    short = sel.filled < data.request_max
    if first is not None:
        short[first:] = False
    for r in np.flatnonzero(short).tolist():
        codes, reasons, rules = _reasons(compiled, sel, sel_rows, r, funnel, proven=proven)
        if r in faulty:
            codes = ("mandatory_unstaffable", *codes)
            need = reqs[r].min_volunteers
            lead = (
                f"mandatory, but no plan gives it {need} volunteer(s)"
                if unstaffable_proven
                else f"mandatory, but this plan leaves it short of {need} volunteer(s); "
                "that it cannot be staffed was not proven"
            )
            reasons = (lead, *reasons)
        missing = int(data.request_max[r] - sel.filled[r])
        unfilled.append(
            Unfilled(request_id=reqs[r].id, missing=missing, codes=codes, reasons=reasons)
        )
        rules_of[r], sentences_of[r] = rules, reasons
    faults = []
    for r in at_fault:
        if r not in rules_of:  # staffed below the minimum while pinned: explain anyway
            _, sentences_of[r], rules_of[r] = _reasons(
                compiled, sel, sel_rows, r, funnel, proven=proven
            )
        rules = rules_of[r] or (10,)
        if data.pair_pinned[data.pair_request == r].any():
            rules = tuple(sorted({*rules, 11}))
        together = (
            "no plan staffs it together with the other mandatory requests"
            if unstaffable_proven
            else "this plan does not staff it together with the other mandatory requests"
        )
        reason = "; ".join(sentences_of[r]) or together
        faults.append(AtFault(request_id=reqs[r].id, rules=rules, reason=reason))
    return Explanation(tuple(unfilled), tuple(faults))


def explain_visits(planner: VisitPlanner, shortfalls: tuple[VisitShortfall, ...],
                   at_fault: tuple[int, ...]) -> Explanation:  # fmt: skip
    """Reasons for every flexible visit left short, from the counts the visit planner kept
    (`VisitShortfall`); the mandatory ones among `at_fault` also as `AtFault`. The routing
    proves nothing: a visit some plan could staff is "not assigned before the solve ended"."""
    reqs = planner.instance.requests
    funnel = _Funnel(planner.tables, planner.flex_instance)
    unfilled, faults = [], []
    faulty = set(at_fault)
    for s in shortfalls:
        req = reqs[s.request]
        codes, reasons, rules = _visit_reasons(s, req.id, planner, funnel)
        if s.request in faulty:
            need = req.min_volunteers
            lead = (
                f"mandatory, but this plan leaves it short of {need} volunteer(s); that it "
                "cannot be staffed was not proven"
                if s.possible
                else f"mandatory, but no plan gives it {need} volunteer(s)"
            )
            faults.append(
                AtFault(request_id=req.id, rules=tuple(sorted({*rules, 10})),
                        reason="; ".join(reasons))
            )  # fmt: skip
            codes, reasons = ("mandatory_unstaffable", *codes), (lead, *reasons)
        unfilled.append(
            Unfilled(request_id=req.id, missing=s.missing, codes=codes, reasons=reasons)
        )
    return Explanation(tuple(unfilled), tuple(faults))


def _visit_reasons(
    s: VisitShortfall, request_id: str, planner: VisitPlanner, funnel: _Funnel
) -> tuple[tuple[ReasonCode, ...], tuple[str, ...], tuple[int, ...]]:
    req = planner.instance.requests[s.request]
    if s.qualified == 0:
        sentence, rule, code = funnel.no_candidate(planner.local[s.request])
        return (code,), (sentence,), (rule,)
    window = (
        f"{req.duration_hours * 60:g} min between {req.window_start.isoformat()} and "
        f"{req.window_end.isoformat()}"
    )
    keys = ", ".join(req.same_attributes)
    funnel_steps: list[tuple[int, str, int]] = [
        (s.with_keys, f"none of the {s.qualified} volunteers with the skills and language has "
                      f"{keys} (same_attributes)", 3),
        (s.in_reach, f"none of the {s.with_keys} qualified volunteers is within their travel "
                     "radius", 5),
        (s.allowed, f"all {s.in_reach} qualified volunteers in reach are excluded from it", 12),
        (s.available, f"none of the {s.allowed} qualified volunteers is available for {window}",
         4),
        (s.uncommitted, f"all {s.available} qualified, available volunteers are committed "
                        "elsewhere at that time", 6),
    ]  # fmt: skip
    for count, sentence, rule in funnel_steps:
        if count == 0:
            return ("no_candidate",), (sentence,), (rule,)
    vols, reqs = planner.instance.volunteers, planner.instance.requests
    n_cand = s.uncommitted
    codes: list[ReasonCode] = []
    reasons: list[str] = []
    rules: list[int] = []
    if s.busy:
        names = [
            f"{vols[v].id} at {reqs[r].id}" if r >= 0 else vols[v].id for v, r in s.busy_at
        ]
        more = f" and {s.busy - _NAMED} more" if s.busy > _NAMED else ""
        lead = f"all {n_cand} candidates are" if s.busy == n_cand else (
            f"{s.busy} of {n_cand} candidates are")  # fmt: skip
        codes.append("candidates_busy")
        reasons.append(
            f"{lead} busy at overlapping or too-distant requests: {', '.join(names)}{more}"
        )
        rules.append(6)
    if s.hours_capped:
        codes.append("hours_cap")
        reasons.append(f"{s.hours_capped} of {n_cand} candidates have reached their hours cap")
        rules.append(7)
    if s.count_capped:
        codes.append("assignment_cap")
        reasons.append(
            f"{s.count_capped} of {n_cand} candidates have reached their assignment cap"
        )
        rules.append(7)
    if s.staffed == 0 and s.free_in_group < req.min_volunteers:
        codes.append("below_min_volunteers")
        of_one = f" of one {keys}" if req.same_attributes else ""
        reasons.append(
            f"only {s.free_in_group} candidate(s){of_one} are free, fewer than min_volunteers "
            f"{req.min_volunteers}"
        )
        rules.append(9)
    elif s.free:
        codes.append("time_limit")
        reasons.append(f"{s.free} free candidate(s) were not assigned before the solve ended")
    if not codes:
        codes.append("no_candidate")
        reasons.append(f"all {n_cand} candidate(s) are assigned to it")
        rules.append(9)
    return tuple(codes), tuple(reasons), tuple(sorted(set(rules)))


class _GlobalRows:
    """What the rows over every pair leave room for in the final plan: which free candidates a
    hard quota keeps out (adding them would break it), and whether the change budget is spent."""

    def __init__(self, compiled: Compiled, selected: BoolArray) -> None:
        data = self.data = compiled.data
        self.quotas = compiled.instance.options.quotas
        self.hard = np.flatnonzero(data.quota_hard)
        self.amounts = data.quota_amounts()[self.hard] if len(self.hard) else None
        self.slack = data.quota_slack(selected)[self.hard]
        self.tolerance = QUOTA_TOLERANCE * data.quota_scale(selected)[self.hard]
        self.spent = data.limits_changes and data.changes(selected) >= data.max_changes
        self.coef = data.change_coefficients()

    def quota_blocked(self, pairs: IntArray) -> tuple[BoolArray, str]:
        """Which of `pairs` would break a hard quota if added, and the first quota they would
        break, as words."""
        if self.amounts is None or not len(pairs):
            return np.zeros(len(pairs), dtype=bool), ""
        sign = np.where(self.data.quota_minimum[self.hard], 1.0, -1.0)[:, None]
        after = self.slack[:, None] + sign * self.amounts[:, pairs]
        breaks = after < -self.tolerance[:, None]
        blocked = np.asarray(breaks.any(axis=0), dtype=bool)
        if not blocked.any():
            return blocked, ""
        quota = self.quotas[int(self.hard[int(np.argmax(breaks.any(axis=1)))])]
        bound = "at least" if quota.min_share is not None else "at most"
        words = f"group {quota.group}'s hard quota ({bound} {quota.share:.4g} of the {quota.of})"
        return blocked, words

    def change_blocked(self, pairs: IntArray) -> BoolArray:
        """Which of `pairs` the spent change budget keeps out (adding them is a change)."""
        return np.asarray(self.spent & (self.coef[pairs] > 0), dtype=bool)


def _reasons(
    compiled: Compiled,
    sel: Selection,
    rows: _GlobalRows,
    r: int,
    funnel: _Funnel,
    *,
    proven: bool,
) -> tuple[tuple[ReasonCode, ...], tuple[str, ...], tuple[int, ...]]:
    data = compiled.data
    pairs = sel.inc.pairs_of_request(r)
    if len(pairs) == 0:
        sentence, rule, code = funnel.no_candidate(r)
        return (code,), (sentence,), (rule,)
    vols = compiled.instance.volunteers
    reqs = compiled.instance.requests
    others = pairs[~sel.selected[pairs]]
    v = data.pair_volunteer[others]
    busy = sel.blocked[others] > 0
    capped_hours = ~busy & (sel.load[v] + data.pair_load[others] > data.volunteer_capacity[v])
    capped_count = ~busy & ~capped_hours & (sel.count[v] >= data.volunteer_max_pairs[v])
    free = ~(busy | capped_hours | capped_count)
    by_quota, quota_words = rows.quota_blocked(others[free])
    quota_kept = np.zeros(len(others), dtype=bool)
    quota_kept[np.flatnonzero(free)[by_quota]] = True
    change_kept = free & ~quota_kept & rows.change_blocked(others)
    free &= ~(quota_kept | change_kept)
    codes: list[ReasonCode] = []
    reasons: list[str] = []
    rules: list[int] = []
    n_cand = len(pairs)
    req = reqs[r]
    if busy.any():
        names = []
        for p in others[busy][:_NAMED].tolist():
            blocker = sel.blocking_request(p)
            names.append(
                f"{vols[data.pair_volunteer[p]].id} at {reqs[blocker].id}"
                if blocker >= 0
                else vols[data.pair_volunteer[p]].id
            )
        more = f" and {int(busy.sum()) - _NAMED} more" if busy.sum() > _NAMED else ""
        lead = (
            f"all {n_cand} candidates are"
            if busy.sum() == n_cand
            else f"{int(busy.sum())} of {n_cand} candidates are"
        )
        codes.append("candidates_busy")
        reasons.append(
            f"{lead} busy at overlapping or too-distant requests: {', '.join(names)}{more}"
        )
        rules.append(6)
    if capped_hours.any():
        codes.append("hours_cap")
        reasons.append(
            f"{int(capped_hours.sum())} of {n_cand} candidates have reached their hours cap"
        )
        rules.append(7)
    if capped_count.any():
        codes.append("assignment_cap")
        reasons.append(
            f"{int(capped_count.sum())} of {n_cand} candidates have reached their assignment cap"
        )
        rules.append(7)
    if quota_kept.any():
        codes.append("quota")
        reasons.append(
            f"{int(quota_kept.sum())} free candidate(s) would break {quota_words} if assigned"
        )
        rules.append(13)
    if change_kept.any():
        codes.append("max_changes")
        reasons.append(
            f"{int(change_kept.sum())} free candidate(s) were not assigned: the plan already "
            f"makes max_changes ({rows.data.max_changes}) changes"
        )
        rules.append(14)
    filled = int(sel.filled[r])
    n_free = int(free.sum())
    if filled == 0 and n_free + filled < req.min_volunteers:
        codes.append("below_min_volunteers")
        reasons.append(
            f"only {n_free} candidate(s) are free, fewer than min_volunteers {req.min_volunteers}"
        )
        rules.append(9)
    elif n_free and proven:
        codes.append("not_chosen")
        reasons.append(
            f"{n_free} free candidate(s) were not assigned: other assignments were worth more"
        )
    elif n_free:
        codes.append("time_limit")
        reasons.append(f"{n_free} free candidate(s) were not assigned before the solve ended")
    if not codes:  # every candidate is already assigned here: nobody else qualifies
        sentence, rule, _ = funnel.no_candidate(r, exclude=data.pair_volunteer[pairs])
        codes.append("no_candidate")
        reasons.append(f"all {n_cand} candidate(s) are assigned to it; for the rest, {sentence}")
        rules.append(rule)
    return tuple(codes), tuple(reasons), tuple(sorted(set(rules)))


class _Funnel:
    """Rules 1-5 applied one after the other to all volunteers for one request, to name the
    first that nobody passes. Rules 1-3 depend only on what a request requires, so their
    result is shared by requests that require the same (a city's unfilled requests mostly do)."""

    def __init__(self, tables: Tables, instance: Instance) -> None:
        self.tables = tables
        self.instance = instance
        self._qualified: dict[tuple[object, ...], tuple[IntArray, str, int]] = {}

    def no_candidate(self, r: int, exclude: IntArray | None = None) -> tuple[str, int, ReasonCode]:
        """The first rule that no volunteer (outside `exclude`) passes for request r (1-5, then
        commitments and caps), as a sentence, the rule's number and a reason code."""
        t = self.tables
        req = self.instance.requests[r]
        v, sentence, rule = self._rules_1_to_3(r)
        if exclude is not None:
            v = np.setdiff1d(v, exclude)
        if t.num_volunteers == 0 or (exclude is not None and len(v) == 0 and not sentence):
            nobody = (
                "there are no volunteers" if exclude is None else "there are no other volunteers"
            )
            return nobody, 1, "no_candidate"
        if sentence:
            return sentence, rule, "no_candidate"
        count = len(v)
        rr = np.full(count, r, dtype=np.int64)
        ok = t.available(v, rr)
        if not ok.any():
            span = f"{req.window_start.isoformat()} to {req.window_end.isoformat()}"
            return (
                f"none of the {count} qualified volunteers is available from {span}",
                4,
                "no_candidate",
            )
        v, rr = v[ok], rr[ok]
        count = len(v)
        ok = t.uncommitted(v, rr)
        if not ok.any():
            return (
                f"all {count} qualified, available volunteers are committed elsewhere at that time",
                6,
                "no_candidate",
            )
        v, rr = v[ok], rr[ok]
        count = len(v)
        ok = t.r_load[rr] <= t.v_capacity[v]
        if not ok.any():
            return (
                f"all {count} qualified, available volunteers have too few hours left for it",
                7,
                "hours_cap",
            )
        v, rr = v[ok], rr[ok]
        count = len(v)
        ok = t.v_max_pairs[v] > 0
        if not ok.any():
            return (
                f"all {count} qualified, available volunteers have reached their assignment cap",
                7,
                "assignment_cap",
            )
        v, rr = v[ok], rr[ok]
        dist = t.distance_km(v, rr)
        nearest = int(np.argmin(dist))
        return (
            f"none of the {len(v)} qualified, available volunteers is within their travel radius "
            f"(the nearest is {dist[nearest]:.1f} km away, radius {t.v_radius[v[nearest]]:g} km)",
            5,
            "no_candidate",
        )

    def _rules_1_to_3(self, r: int) -> tuple[IntArray, str, int]:
        """Volunteers passing rules 1-3 for r; or, if none, the sentence and rule that fail."""
        req = self.instance.requests[r]
        signature = (
            tuple(sorted(req.required_skills)),
            tuple(sorted(req.languages)),
            tuple(sorted((k, attribute_key(val)) for k, val in req.attributes.items())),
        )
        cached = self._qualified.get(signature)
        if cached is None:
            cached = self._funnel_1_to_3(r)
            self._qualified[signature] = cached
        return cached

    def _funnel_1_to_3(self, r: int) -> tuple[IntArray, str, int]:
        t = self.tables
        req = self.instance.requests[r]
        v = np.arange(t.num_volunteers, dtype=np.int64)
        none = np.zeros(0, dtype=np.int64)
        ok = t.skills_ok(v, np.full(len(v), r, dtype=np.int64))
        if not ok.any():
            vols = self.instance.volunteers
            nobody = [s for s in req.required_skills if not any(s in vol.skills for vol in vols)]
            if nobody:
                return none, f"no volunteer has skill {', '.join(nobody)}", 1
            return none, f"no volunteer has all of the skills {', '.join(req.required_skills)}", 1
        v = v[ok]
        ok = t.language_ok(v, np.full(len(v), r, dtype=np.int64))
        if not ok.any():
            langs = " or ".join(req.languages)
            return none, f"none of the {len(v)} volunteers with the skills speaks {langs}", 2
        v = v[ok]
        ok = t.attributes_ok(v, np.full(len(v), r, dtype=np.int64))
        if not ok.any():
            wanted = ", ".join(f"{k}={val}" for k, val in req.attributes.items())
            return (
                none,
                f"none of the {len(v)} volunteers with the skills and language has {wanted}",
                3,
            )
        return v[ok], "", 0
