"""The service's settings, read from `VOLMATCH_*` environment variables (pydantic-settings).

Every limit the API documents lives here, so the README, the OpenAPI text and the checks read
the same numbers. There are no default secrets: API keys are generated, never configured, and the console's
session-signing key is either given (`VOLMATCH_SESSION_SECRET`) or generated on the first start
and kept in the database (`api.services.secrets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    dask_scheduler: str | None = Field(
        default=None,
        description="Address (tcp://host:port) of a running Dask scheduler whose workers solve "
        "large runs; unset, the solving process starts an embedded LocalCluster on first need "
        "(one worker process per core, on loopback). See docs/scale.md.",
    )
    dask_min_volunteers: int = Field(
        default=20_000,
        ge=0,
        description="Runs with at least this many volunteers are solved on Dask (independent "
        "parts and tiles in parallel, a city that is one component cut into districts); "
        "smaller runs in the solving process itself, where the cluster's overhead would "
        "outweigh it. 0 sends every run.",
    )
    dask_workers: int | None = Field(
        default=None,
        ge=1,
        description="Worker processes of the embedded LocalCluster (default: one per core).",
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

    # Records.
    personal_data_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Erase the personal data of volunteers without activity for this many "
        "days (completed hours stay, under a pseudonymous id); off by default.",
    )
    retention_sweep_s: float = Field(
        default=3600.0, gt=0, description="How often the solving process runs the retention sweep."
    )
    certificate_font: str | None = Field(
        default=None,
        description="A .ttf, .otf or .ttc font with Chinese glyphs for certificates; default "
        "Debian's Noto CJK (fonts-noto-cjk).",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The service's public address, printed on certificates with their "
        "verification code.",
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

    # The web console.
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the console's session cookies; generated on the first start and kept "
        "in the database when unset (never a default value).",
    )
    session_max_age_s: int = Field(
        default=12 * 3600, gt=0, description="A console sign-in lasts this long."
    )
    session_https_only: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (behind TLS)."
    )
    login_max_failures_per_account: int = Field(
        default=5, ge=1, description="Failed sign-ins to one account before it is held back."
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address before it is held back.",
    )
    login_lockout_s: int = Field(
        default=900, gt=0, description="How long failures count, and so how long a hold lasts."
    )
    invite_valid_h: float = Field(default=72, gt=0, description="An invitation link's lifetime.")
    reset_valid_h: float = Field(default=24, gt=0, description="A password reset link's lifetime.")
    map_tile_url: str = Field(
        default="",
        description="Leaflet tile URL template of the console's maps (e.g. a Chinese provider's "
        "https://.../{z}/{x}/{y}.png); empty: points on a plain background, no tiles fetched.",
    )
    map_tile_attribution: str = Field(default="", description="Shown under the map's tiles.")

    # Links and messages to volunteers.
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where volunteers reach the service: links in messages start with it.",
    )
    volunteer_link_path: str = Field(
        default="/v/{token}",
        description="The path of a volunteer's link; `{token}` is replaced by the link token. "
        "The default is the volunteer's page (the JSON is at /v1/assignment-links/{token}).",
    )
    link_valid_days: float = Field(
        default=30,
        gt=0,
        description="A volunteer's link keeps working this many days after the work ends; "
        "then it has expired (the page says so; the JSON answers 410).",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="Derives link tokens (HMAC-SHA256), so that messages can carry the "
        "volunteer's link while the database keeps only its hash. Unset: tokens are random and "
        "messages go without the link. Every process of one service needs the same value.",
    )
    default_locale: Literal["zh_CN", "en"] = Field(
        default="zh_CN",
        description="Language of messages to volunteers whose languages do not decide it.",
    )

    # The outbox's dispatcher (`volmatch dispatcher`, or a thread of the solving process).
    embedded_dispatcher: bool = Field(
        default=True, description="The solving process also delivers the outbox's messages."
    )
    dispatcher_poll_s: float = Field(
        default=0.5, gt=0, description="An idle dispatcher's poll period."
    )
    dispatch_batch: int = Field(
        default=100, ge=1, le=1000, description="Messages one dispatcher claims at a time."
    )
    dispatch_concurrency: int = Field(
        default=8, ge=1, le=64, description="Webhook and SMS requests a dispatcher has in flight."
    )
    dispatch_lease_s: float = Field(
        default=120.0,
        gt=0,
        description="A claimed message whose dispatcher has not finished within this time is "
        "claimed again (at once if that dispatcher ran on this host and is gone).",
    )
    delivery_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a message is dead (a dead letter)."
    )
    retry_base_s: float = Field(
        default=10.0, gt=0, description="The first retry's delay; each next one doubles."
    )
    retry_max_s: float = Field(default=3600.0, gt=0, description="The longest delay between tries.")
    scheduler_period_s: float = Field(
        default=30.0, gt=0, description="How often reminders and no-shows are looked for."
    )
    reminder_offsets_h: list[float] = Field(
        default=[24.0, 2.0],
        description="Reminders to volunteers this many hours before the start of confirmed "
        "work (JSON list, e.g. [24, 2]); an empty list sends none.",
    )

    # Webhooks.
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private and link-local addresses (off: "
        "a webhook cannot be pointed at the service's own network).",
    )

    # Email (off while `smtp_host` is unset).
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no email.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls", description="none, STARTTLS after connecting, or TLS from the start."
    )
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="volmatch@localhost", description="The sender's address.")
    smtp_timeout_s: float = Field(default=15.0, gt=0)

    # SMS through a provider's HTTP API (off by default).
    sms_provider: Literal["off", "http_json"] = Field(
        default="off",
        description="http_json: POST {to, text, id} as JSON to `sms_url` (the generic adapter).",
    )
    sms_url: str | None = None
    sms_token: SecretStr | None = Field(
        default=None, description="Sent as `Authorization: Bearer ...` to the SMS provider."
    )
    sms_timeout_s: float = Field(default=10.0, gt=0)

    @property
    def email_on(self) -> bool:
        return self.smtp_host is not None

    @property
    def sms_on(self) -> bool:
        return self.sms_provider != "off" and self.sms_url is not None

