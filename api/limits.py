"""Limits and the access log: a cap on request body size, enforced before any route reads the
body (413 in the one shape); a per-key rate limit (429 with `Retry-After`); and an access log that
names the route template, never the raw path (link tokens travel in paths) nor the query or body.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorBody, error_response, route_template

log = logging.getLogger("volmatch.access")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        # Read the whole body (bounded), then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = ErrorBody(
            error="payload_too_large",
            detail=f"the body is larger than the limit of {self.max_bytes} bytes",
        )
        await error_response(413, body)(scope, receive, send)


class AccessLog:
    """One line per request: method, route template, status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                route_template(scope),
                status,
                1000 * (time.perf_counter() - started),
            )


class RateLimiter:
    """At most `per_minute` requests per key in any 60 seconds (a sliding window; 0: no limit).

    Counted in this process's memory: with several API processes behind one address, a key may
    make up to `per_minute` requests a minute through each of them."""

    WINDOW_S = 60.0

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: int) -> int:
        """Count a request of `key_id`: 0 if it may go ahead, else the seconds until it may."""
        if self.per_minute <= 0:
            return 0
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(key_id, deque())
            while seen and seen[0] <= now - self.WINDOW_S:
                seen.popleft()
            if len(seen) < self.per_minute:
                seen.append(now)
                return 0
            return max(1, math.ceil(seen[0] + self.WINDOW_S - now))
