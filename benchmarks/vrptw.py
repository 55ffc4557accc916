"""VRPTW benchmarks (Solomon 100, Gehring-Homberger 200) through the routing engine, with PyVRP
run side by side as the peer at the same time limit.

Distance-only convention of ../shared/data/solomon/README.md: the fleet is free (as many
vehicles as customers), the objective is the total Euclidean distance in double precision,
travel time = distance, waiting allowed, service must start by the due date, routes return to
the depot by its due date. Every solution is checked here, independently of both solvers, from
the instance file alone, and its distance recomputed.

    python -m benchmarks.vrptw --set solomon R101 C201 --time-limit 10
    python -m benchmarks.vrptw --set solomon --time-limit 60 --peer pyvrp --solutions var/vrptw \\
        --out benchmarks/results/vrptw-solomon
    python -m benchmarks.vrptw --set gh200 --time-limit 120 --peer pyvrp

References (why these, see the preamble of the written table): Solomon against the best known
double-precision distance-only value available here, the lesser of the two LKH-3 tours
recomputed in double precision (the FLOOR tour, best under truncated distances, and the EXACT
tour, best under the hierarchical objective; both re-verified feasible); the DIMACS truncated
optimum is shown as a lower bound. Gehring-Homberger against SINTEF's hierarchical best known
(vehicles first), the only reference here: an upper bound on the distance-only optimum.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .common import (
    DEFAULT_RESULTS,
    REPO_ROOT,
    Row,
    Worker,
    command_line,
    machine_info,
    markdown_table,
    median,
    text_table,
)
from .common import write_results as _write_results

__all__ = [
    "DATA_DIR",
    "VrptwInstance",
    "check_routes",
    "read_instance",
    "read_lkh",
    "read_solomon_text",
    "read_tour",
    "references",
    "route_distance",
    "solve_engine",
    "to_routing",
]

FloatArray = NDArray[np.float64]

DATA_DIR = Path(
    os.environ.get("VOLMATCH_SOLOMON_DATA", REPO_ROOT.parent / "shared" / "data" / "solomon")
).resolve()
SETS = ("solomon", "gh200")
# Targets of issue 18: (largest gap to the reference in %, seconds).
TARGETS = {"solomon": (2.0, 60.0), "gh200": (3.0, 120.0)}
# Time and load tolerance of the checker.
TOLERANCE = 1e-6


# ----------------------------------------------------------------------------------------------
# Instances
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class VrptwInstance:
    """Node 0 is the depot, nodes 1..n the customers (numbered as in the Solomon files)."""

    name: str
    coords: FloatArray  # (n + 1, 2)
    demand: FloatArray
    ready: FloatArray
    due: FloatArray
    service: FloatArray
    capacity: float
    vehicles: int  # the file's fleet (the distance-only runs do not limit it)

    @property
    def num_customers(self) -> int:
        return int(self.coords.shape[0] - 1)

    def distances(self) -> FloatArray:
        diff = self.coords[:, None, :] - self.coords[None, :, :]
        return np.asarray(np.sqrt((diff**2).sum(axis=2)), dtype=np.float64)


class VrptwFormatError(ValueError):
    """The file is neither an LKH-3 CVRPTW file nor a Solomon text file."""


def read_lkh(text: str, *, name: str | None = None) -> VrptwInstance:
    """An LKH-3 CVRPTW (VRPLIB-style) file: node 1 is the depot; SCALE and EDGE_WEIGHT_TYPE
    are ignored (distances are recomputed in double precision from the coordinates)."""
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("_SECTION"):
            current = line
            sections[current] = []
        elif current is None and ":" in line:
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip()
        elif current is not None:
            sections[current].append(line.split())
    try:
        dim = int(header["DIMENSION"])
        coords = _by_id(sections["NODE_COORD_SECTION"], dim, 2)
        demand = _by_id(sections["DEMAND_SECTION"], dim, 1)[:, 0]
        windows = _by_id(sections["TIME_WINDOW_SECTION"], dim, 2)
        depot = [int(row[0]) for row in sections.get("DEPOT_SECTION", [["1"]]) if row[0] != "-1"]
        if depot != [1]:
            raise VrptwFormatError(f"expected node 1 as the only depot, got {depot}")
        service = np.full(dim, float(header.get("SERVICE_TIME", 0)))
        service[0] = 0.0
        if "SERVICE_TIME_SECTION" in sections:
            service = _by_id(sections["SERVICE_TIME_SECTION"], dim, 1)[:, 0]
        return VrptwInstance(
            name=name or header.get("NAME", "?"), coords=coords, demand=demand,
            ready=windows[:, 0], due=windows[:, 1], service=service,
            capacity=float(header["CAPACITY"]), vehicles=int(header.get("VEHICLES", dim - 1)),
        )  # fmt: skip
    except (KeyError, ValueError, IndexError) as exc:
        raise VrptwFormatError(f"{name or 'LKH file'}: {exc}") from exc


def _by_id(rows: list[list[str]], dim: int, width: int) -> FloatArray:
    out = np.full((dim, width), np.nan)
    for row in rows:
        node = int(row[0])
        if not 1 <= node <= dim or len(row) != width + 1:
            raise VrptwFormatError(f"bad row {' '.join(row)!r}")
        out[node - 1] = [float(x) for x in row[1:]]
    if np.isnan(out).any():
        raise VrptwFormatError(f"node {int(np.flatnonzero(np.isnan(out[:, 0]))[0]) + 1} missing")
    return out


def read_solomon_text(text: str, *, name: str | None = None) -> VrptwInstance:
    """A Solomon / SINTEF text file: name, VEHICLE NUMBER CAPACITY, then one row per node
    `CUST_NO X Y DEMAND READY DUE SERVICE`, row 0 the depot."""
    lines = [line.strip() for line in text.splitlines()]
    try:
        at = next(i for i, line in enumerate(lines) if line.upper().startswith("NUMBER"))
        vehicles, capacity = (int(x) for x in lines[at + 1].split())
        rows = [
            [float(x) for x in line.split()]
            for line in lines[at + 2 :]
            if re.fullmatch(r"[\d.\s-]+", line) and line
        ]
    except (StopIteration, ValueError, IndexError) as exc:
        raise VrptwFormatError(f"{name or 'Solomon file'}: {exc}") from exc
    table = np.array(rows)
    if table.ndim != 2 or table.shape[1] != 7:
        raise VrptwFormatError(f"{name or 'Solomon file'}: expected 7 numbers per customer row")
    if not np.array_equal(table[:, 0], np.arange(table.shape[0])):
        raise VrptwFormatError(f"{name or 'Solomon file'}: customers not numbered 0..n in order")
    return VrptwInstance(
        name=name or (lines[0] or "?"), coords=table[:, 1:3], demand=table[:, 3],
        ready=table[:, 4], due=table[:, 5], service=table[:, 6], capacity=float(capacity),
        vehicles=vehicles,
    )  # fmt: skip


def read_instance(path: Path) -> VrptwInstance:
    """Either format, told apart by content (LKH-3 files have `NODE_COORD_SECTION`)."""
    text = path.read_text(encoding="utf-8", errors="strict")
    name = path.name.split(".")[0]
    if "NODE_COORD_SECTION" in text:
        return read_lkh(text, name=name)
    return read_solomon_text(text, name=name.upper() if name[0] in "CRcr" and "_" not in name
                             else name)  # fmt: skip


def read_tour(text: str, num_customers: int) -> list[list[int]]:
    """An LKH-3 tour (node ids; 1 and ids above n + 1 are depot copies) as routes of customer
    numbers."""
    body = text.split("TOUR_SECTION", 1)[1].split()
    routes: list[list[int]] = [[]]
    for token in body:
        node = int(token)
        if node == -1:
            break
        if node == 1 or node > num_customers + 1:
            routes.append([])
        else:
            routes[-1].append(node - 1)
    return [r for r in routes if r]


# ----------------------------------------------------------------------------------------------
# Independent check (from the instance alone) and distance
# ----------------------------------------------------------------------------------------------


def route_distance(inst: VrptwInstance, routes: Sequence[Sequence[int]]) -> float:
    """Total Euclidean distance in double precision, depot to depot, computed leg by leg."""
    total = 0.0
    for route in routes:
        path = [0, *route, 0]
        for i, j in zip(path[:-1], path[1:], strict=False):
            total += math.hypot(*(inst.coords[i] - inst.coords[j]))
    return total


def check_routes(inst: VrptwInstance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Everything wrong with `routes` (customer numbers in visit order): every customer
    exactly once, capacity, service starting by each due date (waiting allowed when early),
    and the return to the depot by its due date. Empty when feasible."""
    problems: list[str] = []
    n = inst.num_customers
    seen: dict[int, int] = {}
    for k, route in enumerate(routes):
        for c in route:
            if not isinstance(c, int) or not 1 <= c <= n:
                problems.append(f"route {k}: {c!r} is not a customer (1..{n})")
            elif c in seen:
                problems.append(f"customer {c} in routes {seen[c]} and {k}")
            else:
                seen[c] = k
        valid = [c for c in route if isinstance(c, int) and 1 <= c <= n]
        load = float(sum(inst.demand[c] for c in valid))
        if load > inst.capacity + TOLERANCE:
            problems.append(f"route {k}: load {load:g} > capacity {inst.capacity:g}")
        clock, prev = inst.ready[0], 0
        for c in valid:
            clock += math.hypot(*(inst.coords[prev] - inst.coords[c]))
            clock = max(clock, inst.ready[c])
            if clock > inst.due[c] + TOLERANCE:
                problems.append(f"route {k}: customer {c} served at {clock:.4f} > due {inst.due[c]:g}")
            clock += inst.service[c]
            prev = c
        clock += math.hypot(*(inst.coords[prev] - inst.coords[0]))
        if valid and clock > inst.due[0] + TOLERANCE:
            problems.append(f"route {k}: back at the depot at {clock:.4f} > {inst.due[0]:g}")
    missing = sorted(set(range(1, n + 1)) - set(seen))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        problems.append(f"{len(missing)} customers not visited: {shown}")
    return problems


# ----------------------------------------------------------------------------------------------
# Through the routing engine
# ----------------------------------------------------------------------------------------------


def to_routing(inst: VrptwInstance) -> Any:
    """The instance as the routing engine's `RoutingData`: a free fleet of n vehicles at the
    depot over its horizon, every customer a mandatory visit of priority 1."""
    from matcher.engines.routing import RoutingData

    n = inst.num_customers
    dist = inst.distances()
    return RoutingData.build(
        travel_time=dist,
        distance=dist,
        vehicle_start=np.zeros(n, dtype=np.int64),
        vehicle_shift_start=np.full(n, inst.ready[0]),
        vehicle_shift_end=np.full(n, inst.due[0]),
        vehicle_capacity=np.full(n, inst.capacity),
        visit_node=np.arange(1, n + 1),
        visit_earliest=inst.ready[1:],
        visit_latest=inst.due[1:],
        visit_duration=inst.service[1:],
        visit_demand=inst.demand[1:],
        visit_mandatory=np.ones(n, dtype=bool),
    )


def solve_engine(inst: VrptwInstance, time_limit: float, seed: int) -> dict[str, Any]:
    """Routes (customer numbers) from `matcher.engines.routing.solve_routes`, the entry point
    the matcher calls, with the engine's own check of its answer."""
    from matcher.engines.base import SolveParams
    from matcher.engines.routing import route_violations, solve_routes

    data = to_routing(inst)
    started = time.monotonic()
    result = solve_routes(data, SolveParams(time_limit_s=time_limit, seed=seed, workers=1))
    seconds = time.monotonic() - started
    routes = [[int(v) + 1 for v in r] for r in result.routes if r.size]
    return {
        "routes": routes,
        "seconds": seconds,
        "engine_violations": route_violations(data, result.routes, result.starts),
        "engine_distance": result.distance,
        "stats": result.stats,
    }


# ----------------------------------------------------------------------------------------------
# Reference values
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What is known about one instance and where its file is (relative to DATA_DIR)."""

    name: str
    family: str  # "solomon" or "gh200"
    file: str
    best: float  # the reference the gap is measured to
    best_from: str
    lower_bound: float | None = None  # a proven bound on the distance-only optimum, if any
    tours: tuple[str, ...] = ()

    @property
    def klass(self) -> str:
        """C1, C2, R1, R2, RC1, RC2."""
        return self.name[:-2] if self.family == "solomon" else self.name.split("_")[0].upper()

    @property
    def target(self) -> tuple[float, float]:
        return TARGETS[self.family]


def references(data_dir: Path = DATA_DIR) -> dict[str, Reference]:
    """Solomon's 56 (R101 …) and Gehring-Homberger's 60 with 200 customers (c1_2_1 …).

    Solomon: the best known double-precision distance-only value is the lesser of the two
    LKH-3 tours of each instance (Solomon_100: the distance-minimal tour under the DIMACS
    truncated distances; Solomon_100_EXACT: the hierarchical best known, whose fleet is
    minimal), each re-checked here and its distance recomputed in double precision. The DIMACS
    truncated optimum (`dimacs_distance_trunc1dec`) is a lower bound: truncating every leg
    shortens every route and every travel time, so each feasible solution stays feasible and
    costs no more. Gehring-Homberger: SINTEF's best known of the hierarchical objective
    (vehicles first, then distance), an upper bound on the distance-only optimum."""
    refs: dict[str, Reference] = {}
    with (data_dir / "SOLOMON_BKS.csv").open(encoding="utf-8") as fh:
        table = {row["instance"]: row for row in csv.DictReader(fh)}
    for name, row in table.items():
        file = next((data_dir / "lkh3" / "Solomon_100_EXACT").glob(f"{name}.100.*.vrptw"))
        inst = read_instance(file)
        values: list[tuple[float, str]] = []
        tours = []
        for folder in ("Solomon_100", "Solomon_100_EXACT"):
            for tour in sorted((data_dir / "lkh3" / "tours" / folder).glob(f"{name}.100.*.tour")):
                routes = read_tour(tour.read_text(), inst.num_customers)
                if check_routes(inst, routes):
                    continue
                values.append((route_distance(inst, routes), f"LKH-3 {folder} tour"))
                tours.append(tour.relative_to(data_dir).as_posix())
        best, source = min(values)
        refs[name] = Reference(
            name=name, family="solomon", file=file.relative_to(data_dir).as_posix(),
            best=best, best_from=source + " (double precision)",
            lower_bound=float(row["dimacs_distance_trunc1dec"]), tours=tuple(tours),
        )  # fmt: skip
    gh = data_dir / "gehring_homberger"
    with (gh / "GH_BKS_sintef.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["clients"] != "200":
                continue
            name = row["instance"]
            refs[name] = Reference(
                name=name, family="gh200", file=f"gehring_homberger/instances/{name}.txt",
                best=float(row["distance"]),
                best_from=f"SINTEF hierarchical ({row['routes']} vehicles, {row['who']})",
            )  # fmt: skip
    return refs
