"""The service's settings, read from `VOLMATCH_*` environment variables (pydantic-settings).

Every limit the API documents lives here, so the README, the OpenAPI text and the checks read
the same numbers. There are no default secrets: API keys are generated, never configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_PATH = Path("var") / "volmatch.db"


class Settings(BaseSettings):
    """Configuration of one service process (API, worker or CLI)."""

    model_config = SettingsConfigDict(env_prefix="VOLMATCH_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATABASE_PATH}",
        description="SQLAlchemy URL; a SQLite file under var/ by default, "
        "postgresql+psycopg://... for real deployments.",
    )
    default_timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone of new organizations (weekly availability patterns).",
    )

    # Solving.
    embedded_worker: bool = Field(
        default=True, description="Start a solving process beside the API (the embedded default)."
    )
    worker_poll_s: float = Field(default=0.5, gt=0, description="Idle worker's queue poll period.")
    solve_workers: int = Field(
        default=1,
        ge=1,
        le=2,
        description="Threads one solve may keep busy: 2 runs the local search beside HiGHS (a "
        "dedicated pair of cores); 1, the default, leaves the other core to the API and to "
        "other solving processes.",
    )
    heartbeat_s: float = Field(default=1.0, gt=0, description="How often a running solve reports.")
    stale_after_s: float = Field(
        default=30.0, gt=0, description="A running run silent this long is taken as orphaned."
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Solving processes a run may outlive before it is failed."
    )
    overrun_factor: float = Field(
        default=2.0,
        ge=0,
        description="A solve running past factor * time limit + grace is "
        "abandoned: the run fails with the reason and the solving process is replaced.",
    )
    overrun_grace_s: float = Field(default=60.0, ge=0)
    default_time_limit_s: float = Field(default=10.0, gt=0)
    max_time_limit_s: float = Field(default=300.0, gt=0)

    # Limits on input.
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_batch_rows: int = Field(default=50_000, gt=0, description="Rows per import or batch.")
    max_page_size: int = Field(default=500, gt=0)
    rate_limit_per_minute: int = Field(
        default=1200,
        ge=0,
        description="Requests per API key in any 60 seconds, per API process (429 with "
        "Retry-After past it); 0 turns the limit off.",
    )

    # Geocoding (off by default: a missing location is then a 422 asking for coordinates).
    geocoder: Literal["off", "nominatim"] = "off"
    geocoder_domain: str = "nominatim.openstreetmap.org"
    geocoder_scheme: Literal["http", "https"] = "https"
    geocoder_user_agent: str = "volmatch"
    geocoder_min_delay_s: float = Field(
        default=1.0, ge=0, description="Seconds between geocoder calls (Nominatim: 1 per second)."
    )
    geocoder_timeout_s: float = Field(default=10.0, gt=0)
