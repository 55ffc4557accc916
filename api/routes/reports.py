"""Reports: the hours ledger (universities, admins) and supply and demand (planners, admins)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/reports", tags=["reports"])
