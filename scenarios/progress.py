"""A progress bar on stderr for long scenario work (generating, solving, verifying remedies).

Work is a known number of steps; within a step the solver's own progress (`matcher.Progress`)
moves the bar. On a terminal the bar redraws in place at most ten times a second, and at least
every half second so that the clock keeps moving through a long solve; elsewhere (a log file, a
test) it writes one line per step. No dependency beyond the standard library.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from matcher import Progress

__all__ = ["ProgressBar"]

_WIDTH = 28
_REDRAW_S = 0.1


class ProgressBar:
    """`with ProgressBar(total=5) as bar: bar.step("solving"); ...; bar.solver(progress)`."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self.done = 0
        self.label = ""
        self.within = 0.0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> ProgressBar:
        if self.live:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw(force=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def step(self, label: str) -> None:
        """Start the next step (the previous one counts as done)."""
        if self.label:
            self.done = min(self.done + 1, self.total)
        self.label = label
        self.within = 0.0
        if self.enabled and not self.live:
            print(f"[{self.done + 1}/{self.total}] {label}", file=self.stream, flush=True)
        self._draw(force=True)

    def solver(self, progress: Progress) -> None:
        """A solver's progress within the current step (a `matcher.Control.on_progress`)."""
        self.within = min(max(progress.fraction, 0.0), 1.0)
        self._draw()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self.live:
            self.done, self.within = self.total, 0.0
            self._draw(force=True)
            print(file=self.stream, flush=True)
        self.enabled = self.live = False

    def _draw(self, *, force: bool = False) -> None:
        if not self.live:
            return
        with self._lock:
            self._draw_locked(force=force)

    def _draw_locked(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < _REDRAW_S:
            return
        self._drawn = now
        fraction = min((self.done + self.within) / self.total, 1.0)
        filled = round(fraction * _WIDTH)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        elapsed = now - self._started
        text = f"\r[{bar}] {fraction:4.0%} {self.done}/{self.total} {elapsed:5.0f}s {self.label}"
        print(text[:160].ljust(100), end="", file=self.stream, flush=True)
