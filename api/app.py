"""The FastAPI application: `create_app(settings)` wires settings, database, routes, the error
handlers, the body-size cap, the per-key rate limiter, the web console (`api.web`) and, in the
embedded default, the solving process.

Migrations are applied when the app is created, so every process sees the newest schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db import make_engine, make_sessionmaker, migrate
from api.errors import install_handlers
from api.limits import AccessLog, BodySizeLimit, RateLimiter
from api.routes import (
    assignments,
    audit,
    certificates,
    health,
    match_runs,
    organizations,
    reports,
    self_service,
    service_requests,
    volunteers,
    webhooks,
)
from api.services.geocoding import Geocoder
from api.settings import Settings
from api.web.install import install_console
from api.worker import WorkerProcess

DESCRIPTION = """
Volunteer supply-demand matching for a city volunteer service center.

**Auth**: every `/v1` endpoint needs `Authorization: Bearer <key>` (but the volunteer's link and
certificate verification); keys belong to an organization of kind `center`, `university`,
`law_firm`, `community` (the last three register volunteers), `planner` or `admin`. Another
organization's resources answer 404.

**Errors**: every 4xx/5xx is `{"error": CODE, "detail": text, "fields": [{"loc": [...], "msg": text}]}`.

**Rate limit**: each key may make a limited number of requests a minute (see the README);
past it the answer is 429 with `Retry-After` (seconds).

**Times** carry UTC offsets (`2026-03-02T09:00:00+08:00`); answers repeat the offsets given.
Report ranges also take dates (`from=2026-03-01&to=2026-03-10`): whole local days of the caller's
organization, `to` inclusive.
"""


async def _supervise(worker: WorkerProcess, period_s: float) -> None:
    """Restart the solving process if it dies (its orphaned run is re-queued by the next one)."""
    while True:
        await asyncio.sleep(period_s)
        worker.ensure_alive()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    migrate(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = WorkerProcess(settings) if settings.embedded_worker else None
        supervisor = None
        if worker is not None:
            worker.start()
            supervisor = asyncio.create_task(_supervise(worker, settings.worker_poll_s * 4))
        app.state.worker = worker
        try:
            yield
        finally:
            if supervisor is not None:
                supervisor.cancel()
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            engine.dispose()

    app = FastAPI(
        title="volmatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.geocoder = Geocoder(settings, app.state.sessions)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    install_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    for module in (
        health,
        organizations,
        volunteers,
        service_requests,
        match_runs,
        assignments,
        self_service,
        webhooks,
        reports,
        certificates,
        audit,
    ):
        app.include_router(module.router)
    install_console(app, settings)
    return app
