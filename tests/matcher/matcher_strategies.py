"""Hypothesis strategies for random small instances (as JSON-like dicts).

Places, times and caps are drawn from small grids on purpose: shared places, touching intervals,
requests exactly one travel time apart and distances exactly at a radius are where vectorised
code and the reference rules are most likely to disagree.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from matcher_testkit import Json, commitment, make_instance, request, volunteer

from matcher import InstanceError, parse_instance, rules

SKILLS = ("a", "b", "c")
LANGUAGES = ("zh", "en")
# Places on a 2 km grid within a few km of ORIGIN, so that many points coincide.
KM = st.sampled_from([-4.0, -2.0, 0.0, 2.0, 4.0])
HALF_HOURS = st.integers(min_value=0, max_value=28).map(lambda k: k / 2)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["gender", "level"]),
    st.sampled_from(["f", "m", 1, 1.0, 2, True, "1"]),
    max_size=2,
)
# Strategies are built once: hypothesis validates each new strategy object, which is slow.
AVAILABILITY = st.just([(0.0, 24.0)]) | st.lists(
    st.tuples(HALF_HOURS, st.integers(1, 16)).map(lambda t: (t[0], t[0] + t[1] / 2)),
    max_size=3,
)
V_SKILLS = st.lists(st.sampled_from(SKILLS), unique=True)
V_LANGUAGES = st.lists(st.sampled_from(LANGUAGES), unique=True, min_size=1)
CAPS = {
    "max_hours": st.none() | st.sampled_from([1, 1.5, 2, 3, 5]),
    "max_travel_km": st.none() | st.sampled_from([2.0, 4.0, 2.0 * 2**0.5, 6.0]),
    "max_assignments": st.none() | st.sampled_from([1, 2]),
}
COMMITMENTS = st.lists(st.tuples(HALF_HOURS, st.sampled_from([0.5, 1.0, 2.0]), KM, KM), max_size=1)
PREFERENCES: st.SearchStrategy[dict[str, float]] = st.just({}) | st.sampled_from(
    ["visit", "tutor"]
).map(lambda s: {s: 1.0})
SERVICE = st.sampled_from(["visit", "tutor"])
LENGTH = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])
R_SKILLS: st.SearchStrategy[list[str]] = st.just([]) | st.lists(
    st.sampled_from(SKILLS), unique=True, max_size=2
)
R_LANGUAGES: st.SearchStrategy[list[str]] = st.just([]) | st.lists(
    st.sampled_from(LANGUAGES), unique=True
)
R_ATTRIBUTES: st.SearchStrategy[dict[str, object]] = (
    st.just({}) | st.just({}) | ATTRIBUTES.filter(lambda d: len(d) <= 1)
)
NEEDED = st.integers(1, 3)
PRIORITY = st.integers(1, 3)
SPEED = st.sampled_from([4.0, 20.0, 60.0])
SEED = st.integers(0, 3)


@st.composite
def volunteers_(draw: st.DrawFn, vid: str, commitments: bool = True) -> Json:
    fields: dict[str, Any] = {
        "skills": draw(V_SKILLS),
        "languages": draw(V_LANGUAGES),
        "attributes": draw(ATTRIBUTES),
        "preferences": draw(PREFERENCES),
    }
    for key, strategy in CAPS.items():
        value = draw(strategy)
        if value is not None:
            fields[key] = value
    if commitments:
        fields["commitments"] = [
            commitment(start, start + length, north_km=n, east_km=e)
            for start, length, n, e in draw(COMMITMENTS)
        ]
    return volunteer(
        vid, north_km=draw(KM), east_km=draw(KM), availability=draw(AVAILABILITY), **fields
    )


@st.composite
def requests_(draw: st.DrawFn, rid: str, mandatory: bool = False) -> Json:
    start = draw(HALF_HOURS)
    needed = draw(NEEDED)
    return request(
        rid,
        start=start,
        end=start + draw(LENGTH),
        north_km=draw(KM),
        east_km=draw(KM),
        service_type=draw(SERVICE),
        required_skills=draw(R_SKILLS),
        languages=draw(R_LANGUAGES),
        attributes=draw(R_ATTRIBUTES),
        volunteers_needed=needed,
        min_volunteers=draw(st.integers(1, needed)),
        priority=draw(PRIORITY),
        mandatory=mandatory and draw(st.booleans()),
    )


@st.composite
def instances(
    draw: st.DrawFn,
    max_volunteers: int = 4,
    max_requests: int = 4,
    *,
    mandatory: bool = False,
    pinned: bool = False,
    commitments: bool = True,
) -> Json:
    """A valid random instance. With `mandatory`, some requests are mandatory; with `pinned`,
    up to two pinned pairs that validation accepts."""
    nv = draw(st.integers(1, max_volunteers))
    nr = draw(st.integers(1, max_requests))
    vols = [draw(volunteers_(f"v{i}", commitments)) for i in range(nv)]
    reqs = [draw(requests_(f"r{j}", mandatory)) for j in range(nr)]
    data = make_instance(vols, reqs, travel_speed_kmh=draw(SPEED), seed=draw(SEED))
    if not pinned:
        return data
    instance = parse_instance(data)
    allowed = [
        (v.id, r.id)
        for v in instance.volunteers
        for r in instance.requests
        if not rules.pair_violations(v, r)
    ]
    if not allowed:
        return data
    pins = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=2))
    trial = {**data, "pinned": [{"volunteer_id": v, "request_id": r} for v, r in pins]}
    try:
        parse_instance(trial)
    except InstanceError:
        return data
    return trial
