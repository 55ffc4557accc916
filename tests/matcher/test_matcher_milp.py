"""One MIP through highspy (`matcher.engines.milp`): a start plan, a stop request polled inside
HiGHS, a stop once the bound meets a value attained elsewhere, models too large to start, and
a solve that overruns its time limit abandoned on time without breaking the process's exit, and
the plan an abandoned solve had found kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from matcher import ProblemData
from matcher.engines import milp
from matcher.engines.formulation import Formulation, formulate
from matcher.engines.milp import Heuristics, Solved, solve_milp
from matcher.objective import soft_score


def _gap(seed: int, agents: int, jobs: int) -> tuple[ProblemData, Formulation, np.ndarray]:
    """A random GAP (every job mandatory, every agent capped) and its cost objective."""
    rng = np.random.default_rng(seed)
    pv, pr = np.divmod(np.arange(agents * jobs), jobs)
    d = ProblemData.build(
        num_volunteers=agents,
        num_requests=jobs,
        pair_volunteer=pv,
        pair_request=pr,
        pair_cost=rng.integers(10, 60, agents * jobs),
        pair_load=rng.integers(5, 25, agents * jobs),
        volunteer_capacity=np.full(agents, 15 * jobs // agents + 10),
        request_mandatory=np.ones(jobs, dtype=bool),
    )
    form = formulate(d)
    objective = np.zeros(form.num_vars)
    objective[: form.num_pairs] = d.pair_cost
    return d, form, objective


def test_a_start_plan_is_the_answer_when_there_is_no_time_to_improve_it() -> None:
    """Given no time at all, HiGHS answers with the plan it was started from."""
    d, form, objective = _gap(1, agents=4, jobs=12)
    plan = np.zeros(d.num_pairs, dtype=bool)
    plan[np.arange(12) * 1 + (np.arange(12) % 4) * 12] = True  # job j to agent j % 4
    assert d.violations(plan) == (0, 0)
    start = form.start(d, plan)
    outcome = solve_milp(form, objective, maximize=False, time_limit_s=0.0, start=start)
    assert outcome.values is not None
    assert outcome.objective is not None and outcome.objective <= objective @ start + 1e-6


def test_a_stop_request_interrupts_highs() -> None:
    """A stop asked for while HiGHS works ends the solve at its next check, long before its time
    limit, with the best plan so far."""
    _, form, objective = _gap(2, agents=12, jobs=120)
    asked = time.monotonic() + 0.3
    started = time.perf_counter()
    outcome = solve_milp(
        form, objective, maximize=False, time_limit_s=30.0,
        should_stop=lambda: time.monotonic() > asked,
    )  # fmt: skip
    assert time.perf_counter() - started < 5.0
    assert outcome.solved is not Solved.INFEASIBLE


def test_a_solve_stops_once_its_bound_meets_a_value_attained_elsewhere() -> None:
    """Told that another solve attained the optimum already, HiGHS stops as soon as its bound
    proves nothing beats it, and says so with that bound."""
    _, form, objective = _gap(3, agents=5, jobs=25)
    exact = solve_milp(form, objective, maximize=False, time_limit_s=30.0)
    assert exact.solved is Solved.OPTIMAL and exact.objective is not None
    best = exact.objective
    early = solve_milp(form, objective, maximize=False, time_limit_s=30.0, stop_at=lambda: best)
    assert early.bound is not None and early.bound > best - 0.999


def test_a_model_past_the_column_limit_is_not_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS's root analytic centre has no time limit: larger models are never started."""
    _, form, objective = _gap(4, agents=4, jobs=12)
    monkeypatch.setattr(milp, "MAX_COLUMNS", form.num_vars - 1)
    outcome = solve_milp(form, objective, maximize=False, time_limit_s=10.0)
    assert outcome.solved is Solved.UNKNOWN and outcome.seconds == 0.0


def test_a_solve_running_past_its_limit_is_abandoned_and_the_process_still_exits() -> None:
    """A HiGHS run that never checks back (here: its callbacks removed and its own limit at 3 s,
    on a GAP it does not prove in that time) is abandoned just past the 0.5 s limit, and the
    process still exits cleanly (it waits for the solver thread)."""
    script = textwrap.dedent(
        """
        import time
        import numpy as np
        from matcher import ProblemData
        from matcher.engines import milp
        from matcher.engines.formulation import formulate

        real = milp._run_until

        def deaf(h, deadline):
            h.setCallback(None, None)
            h.setOptionValue("time_limit", 3.0)
            return real(h, deadline)

        milp._run_until = deaf
        rng = np.random.default_rng(0)
        pv, pr = np.divmod(np.arange(30 * 300), 300)
        d = ProblemData.build(
            num_volunteers=30, num_requests=300, pair_volunteer=pv, pair_request=pr,
            pair_cost=rng.integers(10, 60, 9000), pair_load=rng.integers(5, 25, 9000),
            volunteer_capacity=np.full(30, 130), request_mandatory=np.ones(300, dtype=bool),
        )
        form = formulate(d)
        objective = np.zeros(form.num_vars)
        objective[: form.num_pairs] = d.pair_cost
        started = time.perf_counter()
        out = milp.solve_milp(form, objective, maximize=False, time_limit_s=0.5)
        print(out.solved.value, round(time.perf_counter() - started, 2), flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    solved, seconds = done.stdout.split()
    assert solved == "unknown"
    assert float(seconds) < 0.5 + 1.0


def test_an_abandoned_solve_keeps_the_last_plan_it_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A solve abandoned past its limit answers with the last plan HiGHS reported (checked
    against every row) and its last proven bound, not with nothing."""
    _, form, objective = _gap(3, agents=5, jobs=25)
    exact = solve_milp(form, objective, maximize=False, time_limit_s=30.0)
    assert exact.solved is Solved.OPTIMAL and exact.objective is not None

    def overran(h: Any, deadline: float) -> bool:
        h.run()
        return False  # as if it had not come back in time

    monkeypatch.setattr(milp, "_run_until", overran)
    late = solve_milp(form, objective, maximize=False, time_limit_s=30.0)
    assert late.solved is Solved.FEASIBLE and late.values is not None
    activity = form.matrix @ late.values
    assert np.all(activity >= form.row_lo - 1e-6) and np.all(activity <= form.row_hi + 1e-6)
    assert late.objective == pytest.approx(exact.objective)
    assert late.bound is not None and late.bound <= exact.objective + 1e-6


def test_the_feasibility_jump_is_skipped_only_when_asked_and_the_start_keeps_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HiGHS's feasibility jump runs unless the caller turns it off (`Heuristics`), and even
    then where the start plan breaks a row or there is none; the root reduced-cost heuristic
    runs unless turned off."""
    d, form, objective = _gap(1, agents=4, jobs=12)
    plan = np.zeros(d.num_pairs, dtype=bool)
    plan[np.arange(12) + (np.arange(12) % 4) * 12] = True  # job j to agent j % 4
    assert d.violations(plan) == (0, 0)
    models: list[Any] = []
    build = milp._model

    def kept(*args: Any) -> Any:
        models.append(build(*args))
        return models[-1]

    monkeypatch.setattr(milp, "_model", kept)
    breaking = np.ones(form.num_vars)  # every job to every agent: over every capacity
    off = Heuristics(feasibility_jump=False, root_reduced_cost=False)
    for start, heuristics in (
        (form.start(d, plan), off),
        (breaking, off),
        (None, off),
        (form.start(d, plan), Heuristics()),
    ):
        outcome = solve_milp(
            form, objective, maximize=False, time_limit_s=5.0, start=start, heuristics=heuristics
        )
        assert outcome.solved is Solved.OPTIMAL
    jump = [m.getOptionValue("mip_heuristic_run_feasibility_jump")[1] for m in models]
    assert jump == [False, True, True, True]
    reduced = [m.getOptionValue("mip_heuristic_run_root_reduced_cost")[1] for m in models]
    assert reduced == [False, False, False, True]


def test_a_plan_is_a_start_that_keeps_every_row_of_the_soft_score_too() -> None:
    """With the soft score's continuous variables (fairness excess over each breakpoint), a plan
    that keeps every rule gives a start that keeps every row: each excess at the least its row
    allows, so the start's soft objective is the plan's soft score. HiGHS then needs no repair
    of it and runs no feasibility jump."""
    d, form, _ = _gap(1, agents=4, jobs=12)
    d = replace(d, fairness_breakpoints=np.array([20, 40]), fairness_slopes=np.array([0.5, 1.0]))
    plan = np.zeros(d.num_pairs, dtype=bool)
    plan[np.arange(12) + (np.arange(12) % 4) * 12] = True  # job j to agent j % 4
    assert d.violations(plan) == (0, 0)
    extended, soft = form.with_soft_terms(d)
    start = extended.start(d, plan)
    excess = start[form.num_vars :]
    assert len(excess) > 0 and excess.max() > 0
    assert milp._keeps_rows(extended, start)
    assert float(soft @ start) == pytest.approx(soft_score(d, plan))
    for j in np.flatnonzero(excess > 0):
        lower = start.copy()
        lower[form.num_vars + j] -= 0.5
        assert not milp._keeps_rows(extended, lower)


def test_optimal_is_what_the_bound_shows_of_the_plan_returned() -> None:
    """Started from a plan that pays a fairness step, HiGHS 1.16 (its presolve reducing the
    excess variables away in the start's image) called that plan optimal, its objective
    8.83 against a bound of 9 within a gap of 1e-4: a plan is optimal here only within the gap
    of the bound."""
    data = ProblemData.build(
        num_volunteers=5, num_requests=2, pair_volunteer=[0, 0, 1, 1, 2, 2, 3, 4],
        pair_request=[0, 1, 0, 1, 0, 1, 1, 1], pair_cost=[0, 0, 0, 0, 1, 0, 0, 0],
        pair_load=[1, 1, 1, 1, 1, 2, 1, 1], volunteer_capacity=[2] * 5,
        volunteer_max_pairs=[1] * 5, request_min=[2, 1], request_max=[2, 1],
    )  # fmt: skip
    data = replace(data, fairness_breakpoints=np.array([1, 3]), fairness_slopes=np.array([0.25, 0.25]))
    form, soft = formulate(data, np.arange(data.num_pairs)).with_soft_terms(data)
    objective = np.zeros(form.num_vars)
    objective[: form.num_pairs] = 3.0 - data.pair_cost
    objective += soft / 1.5
    pays_a_step = np.array([1, 0, 1, 0, 0, 1, 0, 0], dtype=bool)  # v2 on r1, two units
    assert soft_score(data, pays_a_step) == -0.25
    outcome = solve_milp(
        form, objective, maximize=True, time_limit_s=5.0, abs_gap=1e-4,
        start=form.start(data, pays_a_step),
    )  # fmt: skip
    assert outcome.objective is not None and outcome.bound is not None
    if outcome.solved is Solved.OPTIMAL:
        assert outcome.bound - outcome.objective <= 1e-4 + 1e-9, outcome
    assert outcome.solved is Solved.FEASIBLE or outcome.objective == pytest.approx(9.0)
