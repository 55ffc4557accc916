"""`test_claims_on_random_arrays` (tests/matcher/test_matcher_proofs.py) on restricted columns
with as many examples as asked (the suite runs 25): `python claims_many.py 400`."""

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "matcher"))
import test_matcher_proofs as proofs
from matcher_testkit import solve_arrays

from matcher import ProblemData


@settings(max_examples=int(sys.argv[1]), deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=proofs.problems())
def claims_hold(problem: tuple[ProblemData, ProblemData]) -> None:
    whole, data = problem
    proofs.assert_array_claims(whole, data, solve_arrays(data, "restricted"))


claims_hold()
print("every claim held")
