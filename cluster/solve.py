"""A run on the cluster: an instance in, a plan out, like `matcher.solve`, with the engine's
parts solved by an `Executor` (in parallel on Dask, or one after another in this process).

1. Parse and compile as `matcher.solve` does; the engine gets the time they leave.
2. `plan_parts`: the independent parts. Runs with fewer volunteers than
   `Thresholds.min_volunteers` stay in this process on the plain `optimal` engine: below that
   the cluster's data transfer and scheduling cost more than the parallel solve gains.
3. Parts above `Thresholds.district_pairs` pairs (a city that is one component) are cut into
   districts of about `Thresholds.district_size` pairs (`matcher.engines.districts`) and
   improved from greedy's plan in `Thresholds.district_rounds` rounds, each round's districts
   solved at once; the other parts are solved whole, with the first round. Every part and
   district is a job: seconds in proportion to its pairs (a district's: pairs × √headroom),
   heaviest first.
4. `Assembly` puts the parts together (plans side by side, bounds added: a cut part's is its
   trivial bound, see `districts`), and `build_plan` makes the plan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from matcher import (
    Compiled,
    Control,
    EngineResult,
    Instance,
    Plan,
    Progress,
    SolveParams,
    build_plan,
    compile_instance,
    parse_instance,
)
from matcher.engines import optimal
from matcher.engines.base import Deadline
from matcher.engines.decompose import Part
from matcher.engines.districts import (
    Districts,
    RoundProblem,
    district_count,
    district_result,
    improved,
    round_problems,
    split_districts,
    weight,
)
from matcher.engines.greedy import greedy_selection
from matcher.engines.optimal import Assembly, PartPlan, PartResult, fallback, plan_parts
from matcher.objective import plan_coverage
from matcher.solve import DEFAULT_TIME_LIMIT_S
from matcher.tiles import split_tiles

from .executor import Executor, Job
from .tasks import solve_part_task
from .tiles import solve_tiles

__all__ = ["Thresholds", "solve", "solve_compiled"]

log = logging.getLogger("volmatch.cluster")


@dataclass(frozen=True)
class Thresholds:
    """When a run leaves this process, and when a part is cut into districts."""

    # Runs with fewer volunteers are solved in this process, as `matcher.solve` does.
    min_volunteers: int = 20_000
    # Parts with more pairs are cut into districts (parts with rows over every pair excepted:
    # see `districts`); below it a city week is proven whole in its time (docs/scale.md).
    district_pairs: int = 250_000
    # Pairs of a district, about (at least one district per worker): fewer, larger districts
    # and more, smaller ones both did worse (docs/scale.md, "Why rounds").
    district_size: int = 110_000
    # Rounds of the districts of a cut part, each with an equal share of the time left.
    district_rounds: int = 3


def solve(
    instance: Instance | str | bytes | Mapping[str, Any],
    executor: Executor | None,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int = 1,
    control: Control | None = None,
    thresholds: Thresholds | None = None,
) -> Plan:
    """Solve a matching problem with its parts on `executor` (None: in this process, as
    `matcher.solve`). Arguments as `matcher.solve`'s; `workers` is the threads each part may
    keep busy (1 where each worker process has one core). An instance given as data that
    cuts into independent tiles (`matcher.tiles`) is solved tile by tile (`tiles`)."""
    started = time.perf_counter()
    control = control or Control()
    thresholds = thresholds or Thresholds()
    if executor is not None and _volunteers(instance) < thresholds.min_volunteers:
        executor = None
    if executor is not None and isinstance(instance, Mapping):
        tiles = split_tiles(instance)
        if tiles is not None:
            limit, chosen_seed = _limits(instance.get("options"), time_limit_s, seed)
            return solve_tiles(
                tiles, executor, time_limit_s=limit, seed=chosen_seed, workers=workers,
                control=control, started=started,
            )  # fmt: skip
    problem = parse_instance(instance)
    options = problem.options
    params = SolveParams(
        time_limit_s=time_limit_s
        if time_limit_s is not None
        else options.time_limit_s
        if options.time_limit_s is not None
        else DEFAULT_TIME_LIMIT_S,
        seed=options.seed if seed is None else seed,
        workers=workers,
    )
    compiled = compile_instance(problem)
    compile_seconds = time.perf_counter() - started
    result = solve_compiled(compiled, params, executor, control, started, thresholds)
    return build_plan(compiled, result, started=started, compile_seconds=compile_seconds)


def _volunteers(instance: Instance | str | bytes | Mapping[str, Any]) -> int:
    """How many volunteers a run has, without parsing it (text is parsed first, so it counts as
    large)."""
    if isinstance(instance, Instance):
        return len(instance.volunteers)
    if isinstance(instance, Mapping):
        listed = instance.get("volunteers")
        return len(listed) if isinstance(listed, list | tuple) else 0
    return 1 << 62


def _limits(options: Any, time_limit_s: float | None, seed: int | None) -> tuple[float, int]:
    """The time limit and seed of a run given as data: the arguments, else the instance's
    options, else the defaults (each tile's parse checks the options themselves)."""
    given = options if isinstance(options, Mapping) else {}
    limit = time_limit_s if time_limit_s is not None else given.get("time_limit_s")
    chosen = seed if seed is not None else given.get("seed")
    return (
        float(limit) if isinstance(limit, int | float) and limit > 0 else DEFAULT_TIME_LIMIT_S,
        int(chosen) if isinstance(chosen, int) and chosen >= 0 else 0,
    )


def solve_compiled(
    compiled: Compiled,
    params: SolveParams,
    executor: Executor | None,
    control: Control,
    started: float,
    thresholds: Thresholds,
) -> EngineResult:
    """The engine's result for a compiled instance, within what is left of the time limit."""
    left = params.time_limit_s - (time.perf_counter() - started)
    budget = max(0.97 * left - 0.1, 0.1 * params.time_limit_s)
    run_params = replace(params, time_limit_s=budget)
    plan = plan_parts(compiled.data)
    if executor is None:
        result = optimal(compiled.data, run_params, control)
        result.stats["executor"] = "in-process"
        return result
    return _Run(compiled, plan, run_params, executor, control, thresholds).solve(budget)


@dataclass(eq=False)
class _Cut:
    """A part cut into districts: its plan in hand, and what each round gave."""

    part: Part
    districts: Districts
    start: np.ndarray[Any, Any]  # greedy's plan, before the first round
    selected: np.ndarray[Any, Any]
    problems: list[RoundProblem] = field(default_factory=list)  # of the running round
    plans: dict[int, np.ndarray[Any, Any]] = field(default_factory=dict)
    rounds: list[np.ndarray[Any, Any]] = field(default_factory=list)
    round_pairs: int = 1


class _Run:
    """One run's parts through the executor: whole parts, and the districts of the cut ones
    round by round."""

    def __init__(
        self,
        compiled: Compiled,
        plan: PartPlan,
        params: SolveParams,
        executor: Executor,
        control: Control,
        thresholds: Thresholds,
    ) -> None:
        self.compiled = compiled
        self.data = compiled.data
        self.plan = plan
        self.params = params
        self.executor = executor
        self.control = control
        self.thresholds = thresholds
        self.assembly = Assembly(self.data, plan)
        self.started = time.perf_counter()
        self.total = max(plan.pairs, 1)
        self.done_pairs = 0.0
        self.solved = 0
        self.fallbacks = 0
        self.rounds = 1

    def solve(self, budget: float) -> EngineResult:
        deadline = Deadline(budget)
        tables = self.compiled.tables
        cuts: dict[int, _Cut] = {}
        jobs: list[Job[Any, Any]] = []
        for i, part in enumerate(self.plan.parts):
            if part.data.num_pairs <= self.thresholds.district_pairs or part.data.has_global_rows:
                jobs.append(self._job(f"part-{i}", part, ("part", i), None, part.data.num_pairs))
                continue
            count = max(
                district_count(part.data.num_pairs, self.thresholds.district_size),
                self.executor.workers,
            )
            districts = split_districts(
                part.data, tables.r_lat[part.requests], tables.r_lon[part.requests], count
            )
            start = greedy_selection(part.data).selected.copy()
            cuts[i] = _Cut(part, districts, start, start)
        self.rounds = max(self.thresholds.district_rounds, 1) if cuts else 1
        for k in range(self.rounds):
            if k and (self.control.should_stop() or deadline.expired()):
                break
            for i, cut in cuts.items():
                jobs.extend(self._round(i, cut, k))
            # Whole parts go with the first round: each job's seconds are by its pairs.
            self.executor.run(
                jobs, deadline.remaining() / (self.rounds - k), self.control,
                lambda job, r, ok: self._done(cuts, job, r, ok),
            )  # fmt: skip
            jobs = []
            for cut in cuts.values():
                plans = [cut.plans[d] for d in range(len(cut.problems))]
                cut.selected = improved(cut.part.data, cut.selected, cut.problems, plans)
                cut.rounds.append(cut.selected)
        for cut in cuts.values():
            self.assembly.add(
                cut.part, district_result(cut.part.data, cut.districts, cut.start, cut.rounds)
            )
        result = self.assembly.result(time.perf_counter() - self.started)
        result.stats.update(
            executor=self.executor.name,
            cluster_workers=self.executor.workers,
            jobs_solved=self.solved,
            jobs_fallback=self.fallbacks,
        )
        return result

    def _round(self, i: int, cut: _Cut, k: int) -> list[Job[Any, Any]]:
        """The jobs of round `k` of cut part `i`: one per district with free pairs, each
        starting from the plan in hand."""
        cut.problems = round_problems(cut.part.data, cut.districts, cut.selected, k)
        cut.plans = {}
        cut.round_pairs = max(sum(p.part.data.num_pairs for p in cut.problems), 1)
        weights = [weight(problem, cut.selected) for problem in cut.problems]
        # Scaled so that the districts weigh their pairs in all, as a whole part does: the
        # whole parts of the first round keep their share beside them.
        scale = cut.round_pairs / max(sum(weights), 1e-9)
        return [
            self._job(
                f"part-{i}-round-{k + 1}-district-{problem.district}", problem.part,
                ("district", i, d),
                cut.selected[problem.part.pairs], w * scale,
            )
            for d, (problem, w) in enumerate(zip(cut.problems, weights, strict=True))
        ]

    def _job(
        self,
        label: str,
        part: Part,
        tag: tuple[Any, ...],
        start: np.ndarray[Any, Any] | None,
        share: float,
    ) -> Job[Any, Any]:
        """A part's job (`start`: a district's plan in hand; `share`: its weight for time)."""
        stand_in: _Fallback | _Kept = _Fallback(part) if start is None else _Kept(start)
        return _TaggedJob(
            label, solve_part_task, (part.data, self.params, start), share, stand_in, tag
        )  # fmt: skip

    def _done(self, cuts: dict[int, _Cut], job: Job[Any, Any], result: Any, solved: bool) -> None:
        tag = job.tag if isinstance(job, _TaggedJob) else ()
        if solved:
            self.solved += 1
        else:
            self.fallbacks += 1
        if tag[0] == "part":
            self.assembly.add(self.plan.parts[tag[1]], result)
            self.done_pairs += job.weight
        else:
            cut = cuts[tag[1]]
            cut.plans[tag[2]] = result.selected
            pairs = cut.problems[tag[2]].part.data.num_pairs
            self.done_pairs += cut.part.data.num_pairs * pairs / cut.round_pairs / self.rounds
        self.control.on_progress(
            Progress(
                phase=f"{job.label} done",
                fraction=min(self.done_pairs / self.total, 1.0),
                coverage=plan_coverage(self.data, self.assembly.selected),
            )
        )


@dataclass(frozen=True, eq=False)
class _TaggedJob(Job[Any, Any]):
    tag: tuple[Any, ...] = ()


@dataclass(frozen=True, eq=False)
class _Fallback:
    """Greedy's result for a part (a callable the executor keeps until it is needed)."""

    part: Part

    def __call__(self) -> PartResult:
        return fallback(self.part)


@dataclass(frozen=True, eq=False)
class _Kept:
    """A district's plan in hand, for a round whose job gave nothing back: the round then
    leaves that district as it was."""

    plan: np.ndarray[Any, Any]

    def __call__(self) -> PartResult:
        return PartResult(self.plan, 0, False, np.zeros(0, dtype=np.int64), {})
