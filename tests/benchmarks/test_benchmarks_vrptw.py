"""The VRPTW benchmark harness (issue 18): both file formats, the tour reader, the independent
checker (one test per rule), and the engine's answer through the harness."""

from __future__ import annotations

import math

import pytest

from benchmarks import vrptw

# Depot 0 at (0, 0) open [0, 100]; customers 1 at (3, 4), 2 at (6, 8), 3 at (0, 10).
LKH = """NAME : T3
TYPE : CVRPTW
DIMENSION : 4
VEHICLES : 2
CAPACITY : 10
SERVICE_TIME : 2
EDGE_WEIGHT_TYPE : EXACT_2D
NODE_COORD_SECTION
1 0 0
2 3 4
3 6 8
4 0 10
DEMAND_SECTION
1 0
2 4
3 5
4 6
TIME_WINDOW_SECTION
1 0 100
2 0 20
3 10 30
4 0 50
DEPOT_SECTION
1
-1
EOF
"""
SOLOMON = """T3\r
\r
VEHICLE\r
NUMBER     CAPACITY\r
  2          10\r
\r
CUSTOMER\r
CUST NO.  XCOORD.    YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE TIME\r
 \r
    0      0          0          0          0        100          0\r
    1      3          4          4          0         20          2\r
    2      6          8          5         10         30          2\r
    3      0         10          6          0         50          2\r
"""
TOUR = "NAME : T3\nTYPE : TOUR\nDIMENSION : 5\nTOUR_SECTION\n1\n2\n3\n5\n4\n-1\nEOF\n"


@pytest.fixture
def inst() -> vrptw.VrptwInstance:
    return vrptw.read_lkh(LKH)


def test_both_formats_read_the_same_instance(inst: vrptw.VrptwInstance) -> None:
    text = vrptw.read_solomon_text(SOLOMON)
    assert (inst.name, text.name) == ("T3", "T3")
    for field in ("coords", "demand", "ready", "due", "service"):
        assert getattr(inst, field).tolist() == getattr(text, field).tolist(), field
    assert (inst.capacity, inst.vehicles, inst.num_customers) == (10.0, 2, 3)
    assert inst.service.tolist() == [0.0, 2.0, 2.0, 2.0]  # the depot serves nothing


@pytest.mark.parametrize(
    "text",
    [LKH.replace("4 0 10\n", ""), LKH.replace("DEPOT_SECTION\n1", "DEPOT_SECTION\n2"),
     SOLOMON.replace("    2      6", "    7      6"), "nothing here"],
)  # fmt: skip
def test_malformed_files_are_refused(text: str) -> None:
    with pytest.raises(vrptw.VrptwFormatError):
        if "NODE_COORD_SECTION" in text:
            vrptw.read_lkh(text)
        else:
            vrptw.read_solomon_text(text)


def test_tour_reader_splits_at_depot_copies() -> None:
    assert vrptw.read_tour(TOUR, 3) == [[1, 2], [3]]


def test_a_feasible_solution_passes_and_waiting_is_allowed(inst: vrptw.VrptwInstance) -> None:
    # Route [1, 2]: at 1 at time 5, served until 7; at 2 at 12 (open from 10), back by 24.
    routes = [[1, 2], [3]]
    assert vrptw.check_routes(inst, routes) == []
    assert vrptw.route_distance(inst, routes) == pytest.approx(5 + 5 + 10 + 10 + 10)
    # Customer 2 first: arrives at 10, exactly its opening; waiting before is never a fault.
    assert vrptw.check_routes(inst, [[2, 1], [3]]) == []


@pytest.mark.parametrize(
    ("routes", "fault"),
    [
        ([[1, 2]], "1 customers not visited: 3"),
        ([[1, 2], [3, 1]], "customer 1 in routes 0 and 1"),
        ([[1, 2, 3]], "load 15 > capacity 10"),
        ([[1, 2], [9]], "9 is not a customer"),
    ],
)
def test_checker_rejects_each_broken_rule(
    inst: vrptw.VrptwInstance, routes: list[list[int]], fault: str
) -> None:
    assert any(fault in p for p in vrptw.check_routes(inst, routes))


def test_checker_rejects_a_late_customer_and_a_late_return(inst: vrptw.VrptwInstance) -> None:
    late = vrptw.read_lkh(LKH.replace("2 0 20", "2 0 4"))  # customer 1 due at 4, reached at 5
    assert any("customer 1 served at 5.0000 > due 4" in p
               for p in vrptw.check_routes(late, [[1, 2], [3]]))  # fmt: skip
    home = vrptw.read_lkh(LKH.replace("1 0 100", "1 0 23"))  # route [1, 2] is back at 24
    assert any("back at the depot at 24.0000 > 23" in p
               for p in vrptw.check_routes(home, [[1, 2], [3]]))  # fmt: skip


def test_double_precision_distances(inst: vrptw.VrptwInstance) -> None:
    assert vrptw.route_distance(inst, [[3]]) == 20.0
    odd = vrptw.read_lkh(LKH.replace("4 0 10", "4 1 1"))
    assert vrptw.route_distance(odd, [[3]]) == pytest.approx(2 * math.sqrt(2), abs=1e-15)


def test_engine_answers_through_the_harness_pass_both_checkers(
    inst: vrptw.VrptwInstance,
) -> None:
    answer = vrptw.solve_engine(inst, time_limit=0.2, seed=0)
    measured = vrptw._measure(inst, answer)
    assert answer["engine_violations"] == [] and measured["violations"] == []
    assert sorted(c for r in measured["routes"] for c in r) == [1, 2, 3]
    assert measured["distance"] == pytest.approx(answer["engine_distance"])
    # 1 and 2 lie on a line from the depot: routes [1, 2] (20) and [3] (20) are optimal; 3 with
    # either would exceed the capacity.
    assert measured["distance"] == pytest.approx(40.0)


def test_measure_reports_a_broken_answer(inst: vrptw.VrptwInstance) -> None:
    measured = vrptw._measure(inst, {"routes": [[1, 2, 3]], "seconds": 1.0})
    assert measured["distance"] is None and measured["violations"]
    timed_out = vrptw._measure(inst, {"status": "killed after 60 s (overran)"})
    assert timed_out["distance"] is None


needs_data = pytest.mark.skipif(
    not (vrptw.DATA_DIR / "SOLOMON_BKS.csv").exists(), reason="../shared/data/solomon absent"
)


@needs_data
def test_references_are_checked_tours_and_bounds() -> None:
    refs = vrptw.references()
    assert len([r for r in refs.values() if r.family == "solomon"]) == 56
    assert len([r for r in refs.values() if r.family == "gh200"]) == 60
    r101 = refs["R101"]
    # The distance-only LKH-3 tour (1637.7 truncated), recomputed in double precision.
    assert r101.best == pytest.approx(1642.9, abs=0.05) and r101.lower_bound == 1637.7
    assert r101.klass == "R1" and refs["rc2_2_10"].klass == "RC2"
    # R112's truncated-distance tour is late in double precision: the hierarchical one counts.
    assert refs["R112"].best == pytest.approx(982.14, abs=0.01)
    assert all(r.best >= r.lower_bound for r in refs.values() if r.lower_bound)
