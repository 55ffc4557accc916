"""The compiled kernels (numba: the local search's loop, the column dive's pricing), made ready
without stalling a solve.

Compiling them takes about 11 s of CPU after an install; loading them from numba's on-disk cache
about one. A solve never waits for either: `ready()` answers at once, and the first time it is
asked it starts a background thread that loads the kernels from the cache, or, when the cache is
cold, compiles them in a child process (a compile in a thread of this process would hold the GIL
for seconds, and HiGHS's callbacks wait for it) and then loads them. Until then the engines run
without the local search: their MIPs need no compiled code. `warm_up()` does the same work at
once, for a solving process that is starting and for `volmatch warm-up` (run by `make`).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

__all__ = ["prepare", "ready", "warm_up"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded = threading.Event()
_preparing: threading.Thread | None = None
# The child's command: compile the kernels into numba's cache and exit.
_COMPILE = "from matcher.engines.kernels import warm_up; warm_up()"


def ready() -> bool:
    """Whether the kernels are loaded in this process; if not, start making them ready."""
    if _loaded.is_set():
        return True
    prepare()
    return False


def prepare() -> None:
    """Start loading (or compiling) the kernels in the background, once."""
    global _preparing
    with _lock:
        if _loaded.is_set() or _preparing is not None:
            return
        _preparing = threading.Thread(target=_prepare, name="compile-kernels", daemon=True)
        _preparing.start()


def warm_up() -> None:
    """Load the kernels now, compiling them first if numba's cache does not hold them."""
    from .local_search import exercise_kernels

    exercise_kernels()
    _loaded.set()


def cached() -> bool:
    """Whether numba's cache holds every kernel (compiled for this source), so that loading
    them costs no compile."""
    from . import dive_kernel, tabu_kernel

    try:
        dispatchers = [
            f
            for module in (tabu_kernel, dive_kernel)
            for f in vars(module).values()
            if hasattr(f, "_cache") and hasattr(f, "py_func")
        ]
        # numba's index of a function's cached compilations (empty when stale or missing).
        return bool(dispatchers) and all(
            len(f._cache._cache_file._load_index()) > 0 for f in dispatchers
        )
    except Exception:  # another numba version: take the cache as cold, compile apart
        return False


def _prepare() -> None:
    try:
        if not cached():
            log.info("compiling the local search's kernels in a child process")
            subprocess.run([sys.executable, "-c", _COMPILE], check=True, capture_output=True)
        warm_up()
    except Exception as exc:  # the engines run on without the local search
        log.warning("kernels could not be made ready (%s: %s)", type(exc).__name__, exc)
