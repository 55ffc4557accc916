"""Shortage diagnosis: grouping by need, district and day part, and remedies whose reported
gains hold when the remedy is applied and the instance solved again."""

from __future__ import annotations

from pathlib import Path

from matcher import parse_instance, solve
from scenarios.diagnose import find_shortages, propose_remedies
from scenarios.generate import build
from scenarios.runner import geography, run
from scenarios.spec import load_scenario


def test_shortages_are_grouped_by_need_district_and_day_part(tiny_path: Path) -> None:
    loaded = load_scenario(tiny_path)
    instance = parse_instance(build(loaded).instance)
    plan = solve(instance, engine="optimal", time_limit_s=5)
    shortages = find_shortages(instance, plan, geography(loaded.spec))
    labels = [s.label() for s in shortages]
    # The south visits (priority 3, two helpers each) come first: most missing coverage.
    assert labels == ["care in South, weekday morning", "care in North, weekday afternoon"]
    south = shortages[0]
    assert south.missing_slots == 6 and south.missing_coverage == 18
    assert south.reasons == {"no_candidate": 6}
    assert sum(s.missing_slots for s in shortages) == sum(u.missing for u in plan.unfilled)


def test_remedies_raise_coverage_as_reported(tiny_path: Path) -> None:
    loaded = load_scenario(tiny_path)
    result = run(loaded, engines=["optimal"], remedy_groups=2, time_limit_s=5)
    assert result.diagnosis is not None
    verified = result.diagnosis.remedies
    kinds = [(v.remedy.kind, v.remedy.shortage.district) for v in verified]
    # South is 11 km away: no widening within twice the 2 km radius; recruits instead.
    assert kinds == [("recruit", "South"), ("widen_radius", "North"), ("recruit", "North")]
    baseline = result.runs[0].plan.objective.coverage
    for v in verified:
        assert v.status == "optimal"
        assert v.gain > 0 and v.group_missing_after == 0
        again = solve(v.remedy.apply(result.instance), engine="optimal", time_limit_s=5)
        assert again.objective.coverage == baseline + v.gain
    recruit_south, widen, _ = verified
    assert recruit_south.gain == 18  # every missing south slot, priority 3
    assert len(recruit_south.remedy.recruits) == 4  # at most two requests at once, two each
    assert widen.remedy.pool == "helpers" and widen.remedy.radius_km == 3.0


def test_the_smallest_recruitment_is_proposed(tiny_path: Path) -> None:
    """One recruit fewer than proposed cannot fill the south shortage."""
    loaded = load_scenario(tiny_path)
    instance = parse_instance(build(loaded).instance)
    plan = solve(instance, engine="optimal", time_limit_s=5)
    geo = geography(loaded.spec)
    south = find_shortages(instance, plan, geo)[0]
    [recruit] = [r for r in propose_remedies(instance, [south], geo) if r.kind == "recruit"]
    fewer = recruit.__class__("recruit", south, recruit.text, recruits=recruit.recruits[:-1])
    full = solve(recruit.apply(instance), engine="optimal", time_limit_s=5)
    short = solve(fewer.apply(instance), engine="optimal", time_limit_s=5)
    assert full.objective.coverage - plan.objective.coverage == south.missing_coverage
    assert short.objective.coverage < full.objective.coverage


def test_unstaffed_mandatory_requests_come_first(tiny_path: Path) -> None:
    loaded = load_scenario(tiny_path, [("services.east_visit.mandatory_share", 1.0)])
    instance = parse_instance(build(loaded).instance)
    plan = solve(instance, engine="optimal", time_limit_s=5)
    assert plan.status == "infeasible"  # the east visits are beyond every helper's reach
    first, second = find_shortages(instance, plan, geography(loaded.spec))
    # Less missing coverage (4 against 18), but mandatory.
    assert (first.label(), first.mandatory) == ("care in North, weekday afternoon", 2)
    assert (second.district, second.mandatory) == ("South", 0)
