"""Stopping a run's parts wherever they run: the client sets a Dask `Event` named after the run;
on a worker, a thread waits on it and turns it into a flag that the part's
`Control.should_stop` reads (HiGHS polls it inside its callbacks, far too often for a round
trip to the scheduler each time). A part also stops at the run's deadline, given as wall-clock
time, since the machines' monotonic clocks are not comparable."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, Event, get_client

from matcher import Control

__all__ = ["POLL_S", "RunStop", "polled_control"]

# How often a worker asks whether its run was stopped.
POLL_S = 0.25


class RunStop:
    """The stop signal of one run, on the client's side."""

    def __init__(self, client: Client) -> None:
        self.name = f"volmatch-stop-{uuid.uuid4().hex}"
        self._event = Event(self.name, client=client)
        self.is_set = False

    def set(self) -> None:
        if not self.is_set:
            self._event.set()
            self.is_set = True

    def clear(self) -> None:
        """Forget the event on the scheduler (the run is over)."""
        self._event.clear()


@contextmanager
def polled_control(name: str, deadline_wall: float) -> Iterator[Control]:
    """A `Control` for a part on a worker: it stops once the run's event is set or its deadline
    passes. The event is watched by a thread for as long as the block runs."""
    stopped = threading.Event()
    done = threading.Event()
    # The worker's client is known in the task's thread only: the watcher is handed it.
    event = Event(name, client=get_client())

    def watch() -> None:
        while not done.is_set():
            try:
                if event.wait(timeout=POLL_S):
                    stopped.set()
                    return
            except Exception:  # the scheduler is away: the deadline still holds
                done.wait(POLL_S)

    watcher = threading.Thread(target=watch, name=f"stop-{name[-8:]}", daemon=True)
    watcher.start()
    try:
        yield Control(should_stop=lambda: stopped.is_set() or time.time() >= deadline_wall)
    finally:
        done.set()
        watcher.join(2 * POLL_S + 1)
