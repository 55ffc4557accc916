"""`test_claims_on_random_arrays` (tests/matcher/test_matcher_proofs.py) on restricted columns
with as many examples as asked (the suite runs 25): `python claims_many.py 400`."""

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "matcher"))
import test_matcher_proofs as proofs

from matcher import ENGINES, Control, ProblemData, SolveParams


@settings(max_examples=int(sys.argv[1]), deadline=None, suppress_health_check=list(HealthCheck))
@given(problem=proofs.problems())
def claims_hold(problem: tuple[ProblemData, ProblemData]) -> None:
    whole, data = problem
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proofs.optimal_part, "FULL_COLUMNS", 0)
        result = ENGINES["optimal"](data, SolveParams(time_limit_s=0.5), Control())
    proofs.assert_array_claims(whole, data, result)


claims_hold()
print("every claim held")
