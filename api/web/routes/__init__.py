"""The console's pages, one module per area."""

from __future__ import annotations

from api.web.routes import (
    account,
    admin,
    board,
    planner,
    requests,
    runs,
    settings,
    team,
    university,
    volunteer,
    webhooks,
)

ROUTERS = [
    account.router,
    team.router,
    requests.router,
    runs.router,
    board.router,
    university.router,
    planner.router,
    admin.router,
    settings.router,
    webhooks.router,
    volunteer.router,
]
