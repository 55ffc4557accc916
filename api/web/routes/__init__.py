"""The console's pages, one module per area."""

from __future__ import annotations

from api.web.routes import account, team

ROUTERS = [account.router, team.router]
