"""Explanations of unfilled requests (issue 2, item 6): every unfilled request carries reason
codes and a sentence per code that names what blocks it: the skill nobody has, the language
nobody speaks, the busy candidates and where they are busy, the caps, the minimum headcount.
"""

from __future__ import annotations

import pytest
from matcher_testkit import Json, commitment, make_instance, request, run, volunteer

from matcher.model import Plan, Unfilled


def unfilled(plan: Plan, request_id: str) -> Unfilled:
    found = [u for u in plan.unfilled if u.request_id == request_id]
    assert len(found) == 1, plan.unfilled
    return found[0]


def text(u: Unfilled) -> str:
    return " ".join(u.reasons)


# --------------------------------------------------------------------------------------------
# No candidate at all: the first of rules 1-5 (or a commitment) that nobody passes
# --------------------------------------------------------------------------------------------

NOBODY: list[tuple[str, Json, list[str]]] = [
    (
        "skill",
        make_instance(
            [volunteer("v1", skills=["driving"]), volunteer("v2", skills=["first_aid"])],
            [request("r1", required_skills=["first_aid", "sign_language"])],
        ),
        ["no volunteer has skill", "sign_language"],
    ),
    (
        "skills together",
        make_instance(
            [volunteer("v1", skills=["driving"]), volunteer("v2", skills=["first_aid"])],
            [request("r1", required_skills=["first_aid", "driving"])],
        ),
        ["first_aid", "driving"],
    ),
    (
        "language",
        make_instance(
            [volunteer("v1", languages=["zh"]), volunteer("v2", languages=["en"])],
            [request("r1", languages=["yue"])],
        ),
        ["yue"],
    ),
    (
        "attribute",
        make_instance(
            [volunteer("v1", attributes={"gender": "m"})],
            [request("r1", attributes={"gender": "f"})],
        ),
        ["gender=f"],
    ),
    (
        "availability",
        make_instance([volunteer("v1", availability=[(13, 18)])], [request("r1")]),
        ["available"],
    ),
    (
        "reach",
        make_instance([volunteer("v1", max_travel_km=3)], [request("r1", north_km=8)]),
        ["within", "8.0 km"],
    ),
    (
        "commitment",
        make_instance(
            [volunteer("v1", commitments=[commitment(8, 12)])], [request("r1", start=9, end=10)]
        ),
        ["committed elsewhere"],
    ),
    ("no volunteers", make_instance([], [request("r1")]), ["no volunteers"]),
]


@pytest.mark.parametrize(("name", "data", "words"), NOBODY, ids=[n for n, _, _ in NOBODY])
def test_no_candidate_names_the_blocking_rule(
    engine: str, name: str, data: Json, words: list[str]
) -> None:
    u = unfilled(run(data, engine), "r1")
    assert u.codes == ("no_candidate",)
    assert u.missing == 1
    for word in words:
        assert word in text(u), (name, u.reasons)


# --------------------------------------------------------------------------------------------
# Candidates exist, but the plan uses them elsewhere or they reached a cap
# --------------------------------------------------------------------------------------------


def test_busy_candidates_are_named_with_where_they_are(engine: str) -> None:
    """Both candidates of `late` are at `early` (worth more, and first come)."""
    data = make_instance(
        [volunteer("ann"), volunteer("bob", north_km=1)],
        [
            request("early", start=9, end=11, volunteers_needed=2, priority=2),
            request("late", start=10, end=12),
        ],
    )
    u = unfilled(run(data, engine), "late")
    assert "candidates_busy" in u.codes
    sentence = u.reasons[u.codes.index("candidates_busy")]
    assert "ann at early" in sentence and "bob at early" in sentence
    assert "all 2 candidates" in sentence


def test_busy_includes_no_time_to_travel(engine: str) -> None:
    data = make_instance(
        [volunteer("ann")],
        [
            request("here", start=9, end=10, priority=2),
            request("there", start=10, end=11, north_km=10),
        ],
    )
    u = unfilled(run(data, engine), "there")
    assert "candidates_busy" in u.codes
    assert "ann at here" in text(u)


def test_many_busy_candidates_are_counted(engine: str) -> None:
    vols = [volunteer(f"v{i}", north_km=i / 10) for i in range(8)]
    data = make_instance(
        vols,
        [
            request("big", start=9, end=11, volunteers_needed=8, priority=3),
            request("small", start=10, end=12),
        ],
    )
    u = unfilled(run(data, engine), "small")
    assert "candidates_busy" in u.codes
    assert "and 3 more" in text(u)


@pytest.mark.parametrize(
    ("cap", "code", "word"),
    [
        ({"max_hours": 3}, "hours_cap", "hours cap"),
        ({"max_assignments": 1}, "assignment_cap", "assignment cap"),
    ],
)
def test_caps_are_named(engine: str, cap: Json, code: str, word: str) -> None:
    data = make_instance(
        [volunteer("ann", **cap)],
        [request("first", start=9, end=11, priority=2), request("second", start=13, end=15)],
    )
    plan = run(data, engine)
    assert {a.request_id for a in plan.assignments} == {"first"}
    u = unfilled(plan, "second")
    assert code in u.codes
    assert word in text(u)


def test_commitment_hours_count_toward_the_cap_explanation(engine: str) -> None:
    data = make_instance(
        [volunteer("ann", max_hours=3, commitments=[commitment(9, 11, north_km=2)])],
        [request("r1", start=13, end=15)],
    )
    u = unfilled(run(data, engine), "r1")
    assert "hours_cap" in u.codes


def test_below_min_volunteers_is_named(engine: str) -> None:
    data = make_instance(
        [volunteer("ann"), volunteer("bob", skills=["x"], north_km=1)],
        [request("crew", volunteers_needed=4, min_volunteers=3)],
    )
    plan = run(data, engine)
    assert plan.assignments == ()
    u = unfilled(plan, "crew")
    assert u.missing == 4
    assert "below_min_volunteers" in u.codes
    sentence = u.reasons[u.codes.index("below_min_volunteers")]
    assert "min_volunteers 3" in sentence
    assert "2" in sentence  # the two free candidates


def test_partly_filled_request_is_not_called_below_minimum(engine: str) -> None:
    """Two of three slots filled, minimum 1: the request is short of candidates, not below its
    minimum; the explanation says how many candidates exist."""
    data = make_instance(
        [volunteer("ann"), volunteer("bob", north_km=1)],
        [request("r1", volunteers_needed=3, min_volunteers=1)],
    )
    plan = run(data, engine)
    assert len(plan.assignments) == 2
    u = unfilled(plan, "r1")
    assert u.missing == 1
    assert "2 candidate" in text(u)
    assert "below_min_volunteers" not in u.codes


def test_fully_staffed_requests_are_not_listed(engine: str) -> None:
    data = make_instance(
        [volunteer("ann"), volunteer("bob", north_km=1)],
        [request("r1", volunteers_needed=2), request("r2", start=13, end=14)],
    )
    plan = run(data, engine)
    assert plan.unfilled == ()
