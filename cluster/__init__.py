"""Province-size runs on Dask distributed: a run's independent parts, and the districts of a
city that is one connected component, solved in parallel on an embedded `LocalCluster` or on a
cluster at a scheduler's address (the same code), put together with a proven bound.

The algorithms are matcher's (`plan_parts`, `solve_part`, `Assembly`, `engines.districts`);
this package only schedules them. It never imports the service or the benchmarks. See
docs/scale.md.
"""

from .connect import close, connect
from .executor import Executor, InProcess, OnDask
from .solve import Thresholds, solve

__all__ = ["Executor", "InProcess", "OnDask", "Thresholds", "close", "connect", "solve"]
