"""The database tables as typed SQLAlchemy 2.0 ORM classes (one `DeclarativeBase`).

These are storage, not the API's schemas (`api.schemas`) and not the matcher's format
(`matcher.model`): services convert between them. Times are stored in UTC (`UtcDateTime`) with
the offset they were given in (`*_offset_min`), so that answers repeat the caller's offsets.
Skills and availability windows live in their own tables so that list filters are plain indexed
SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """An offset-aware instant stored in UTC; SQLite keeps it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def in_offset(moment: datetime, offset_min: int) -> datetime:
    """`moment` shown in the UTC offset it was given in."""
    return moment.astimezone(timezone(timedelta(minutes=offset_min)))


def epoch_seconds(moment: datetime, *, up: bool = False) -> int:
    """`moment` as whole UTC epoch seconds, rounded down (or up)."""
    exact = moment.timestamp()
    whole = int(exact // 1)
    return whole + 1 if up and whole != exact else whole


def from_epoch(seconds: int, offset_min: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset_min)))


def offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


class OrgKind(StrEnum):
    CENTER = "center"
    UNIVERSITY = "university"
    LAW_FIRM = "law_firm"
    COMMUNITY = "community"
    PLANNER = "planner"
    ADMIN = "admin"


class UserRole(StrEnum):
    """What a console user may do in their organization: a coordinator acts, a viewer reads."""

    COORDINATOR = "coordinator"
    VIEWER = "viewer"


class TokenPurpose(StrEnum):
    INVITE = "invite"  # set a first password
    RESET = "reset"  # set a new password


# Organizations that register and manage volunteers (a roster): universities (students), law
# firms (lawyers owing public-service hours) and communities (grid members, party-member teams).
ROSTER_OWNERS = (OrgKind.UNIVERSITY, OrgKind.LAW_FIRM, OrgKind.COMMUNITY)


class RequestStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    FILLED = "filled"
    DONE = "done"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AssignmentStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"  # confirmed, but not checked in within the center's check-in window


# Assignments that hold a volunteer's time: they block later runs and fill their request.
ACTIVE_ASSIGNMENT = (
    AssignmentStatus.PROPOSED,
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
    AssignmentStatus.COMPLETED,
)
# Assignments the volunteer has agreed to: a repair run keeps (pins) them.
AGREED_ASSIGNMENT = (
    AssignmentStatus.CONFIRMED,
    AssignmentStatus.CHECKED_IN,
    AssignmentStatus.COMPLETED,
)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # What the organization decides for itself (contact for volunteers, standby, no-shows,
    # self-service): validated by `api.schemas.organizations.OrganizationSettings`.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    # Annual hours target of a roster owner's volunteers (a person's own target overrides it),
    # over a year that starts on `target_period_start` (MM-DD, local time).
    target_hours: Mapped[float | None]
    target_period_start: Mapped[str] = mapped_column(
        String(5), default="01-01", server_default="01-01"
    )

    keys: Mapped[list[ApiKey]] = relationship(back_populates="organization")


class ApiKey(Base):
    """A bearer key: `prefix` finds it, `secret_hash` (SHA-256 of the whole key) proves it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(back_populates="keys")


class Volunteer(Base):
    __tablename__ = "volunteers"
    __table_args__ = (
        UniqueConstraint("university_id", "external_id"),
        # A university's roster in id order: list pages scan it without sorting.
        Index("ix_volunteers_university_page", "university_id", "id"),
        Index("ix_volunteers_pseudonym", "pseudonym", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The roster owner: a university, law firm or community (the name is the first kind's).
    university_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    # Personal data: only for the volunteer's own university (name and phone also for a
    # center the volunteer is assigned to).
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float]
    lon: Mapped[float]
    # Matching data.
    district: Mapped[str | None] = mapped_column(String(100))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    max_hours: Mapped[float | None]
    max_travel_km: Mapped[float | None]
    max_assignments: Mapped[int | None]
    # The private calendar feed's token (SHA-256), revocable; None: no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    target_hours: Mapped[float | None]  # annual hours target; None: the organization's
    # Erasure: a volunteer whose assignments must be kept stays as this pseudonymous record,
    # every personal and matching field emptied (`api.services.erasure`).
    pseudonym: Mapped[str | None] = mapped_column(String(40))
    erased_at: Mapped[datetime | None]
    # Set by the database: bulk imports then send no per-row timestamps.
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    skills: Mapped[list[VolunteerSkill]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="VolunteerSkill.position"
    )
    availability: Mapped[list[AvailabilityWindow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AvailabilityWindow.start_s"
    )


class VolunteerSkill(Base):
    __tablename__ = "volunteer_skills"

    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(default=0)


class AvailabilityWindow(Base):
    """An availability interval, in UTC epoch seconds (an import writes ~70k of these at once:
    integers skip the per-value date formatting) with the offset it was given in."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        Index("ix_availability_windows_span", "start_s", "end_s"),
        Index("ix_availability_windows_volunteer", "volunteer_id", "start_s", "end_s"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    start_s: Mapped[int] = mapped_column(BigInteger)
    end_s: Mapped[int] = mapped_column(BigInteger)
    offset_min: Mapped[int] = mapped_column(default=0)


class ServiceRequest(Base):
    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_center_start", "center_id", "start_at"),
        Index("ix_service_requests_center_page", "center_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # What the volunteer should bring (ID card, a vest...): on their link page and messages.
    bring: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(500))
    district: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float]
    lon: Mapped[float]
    service_type: Mapped[str] = mapped_column(String(100))
    # A fixed request's start and end; a flexible visit's window (earliest start, latest end),
    # with `duration_min` set: the plan chooses the start (`Assignment.start_at`).
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    offset_min: Mapped[int] = mapped_column(default=0)
    duration_min: Mapped[float | None]
    # Attribute keys the whole team shares, with one common value ("two of the same gender").
    same_attributes: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    volunteers_needed: Mapped[int] = mapped_column(default=1)
    min_volunteers: Mapped[int] = mapped_column(default=1)
    priority: Mapped[int] = mapped_column(default=1)
    mandatory: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class MatchRun(Base):
    """A solve, queued by an API process and executed once by a worker process."""

    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="match")
    repair_of: Mapped[int | None] = mapped_column(ForeignKey("match_runs.id"))
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED, index=True)
    engine: Mapped[str] = mapped_column(String(20))
    time_limit_s: Mapped[float]
    seed: Mapped[int] = mapped_column(default=0)
    # A repair's change budget against the assignments held (None: not a repair).
    max_changes: Mapped[int | None]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    offset_min: Mapped[int] = mapped_column(default=0)
    center_ids: Mapped[list[Any]] = mapped_column(default=list)
    # Progress, written by the worker while it solves.
    phase: Mapped[str | None] = mapped_column(String(300))
    progress: Mapped[float] = mapped_column(default=0.0)
    coverage: Mapped[int | None]
    bound: Mapped[int | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(300))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The instance the worker built (FORMAT.md, with ids v<volunteer id> / r<request id>) and
    # the plan it found; kept so that a plan can always be checked against what was solved.
    # The instance and the plan run to megabytes at city scale: loaded only where read (lists
    # of runs parsed every one of them: 15 % of the API's time under load). The plan's
    # objective, which every view of a run shows, is kept beside them.
    instance: Mapped[dict[str, Any] | None] = mapped_column(JsonType, deferred=True)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JsonType, deferred=True)
    objective: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    published_at: Mapped[datetime | None]


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_volunteer_status", "volunteer_id", "status"),
        # The dispatcher's scheduler looks for confirmed work (reminders, no-shows).
        Index("ix_assignments_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=AssignmentStatus.PROPOSED)
    distance_km: Mapped[float] = mapped_column(default=0.0)
    # A flexible visit's chosen start and end (the plan's, one for the whole team); None for a
    # fixed request, whose times are the request's. Read them through `starts`/`ends`.
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    hours_served: Mapped[float | None]
    link_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # With `VOLMATCH_LINK_SECRET`, the link token is HMAC(secret, salt): messages can carry the
    # link while the database holds only its hash (`api.services.links`).
    link_salt: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    request: Mapped[ServiceRequest] = relationship()
    volunteer: Mapped[Volunteer] = relationship()

    @hybrid_property
    def starts(self) -> datetime:
        """When the work starts: the chosen start of a flexible visit, else the request's."""
        return self.start_at if self.start_at is not None else self.request.start_at

    @starts.inplace.expression
    @classmethod
    def _starts(cls) -> ColumnElement[datetime]:  # queries join ServiceRequest
        return func.coalesce(cls.start_at, ServiceRequest.start_at, type_=UtcDateTime())

    @hybrid_property
    def ends(self) -> datetime:
        """When the work ends: the chosen end of a flexible visit, else the request's."""
        return self.end_at if self.end_at is not None else self.request.end_at

    @ends.inplace.expression
    @classmethod
    def _ends(cls) -> ColumnElement[datetime]:
        return func.coalesce(cls.end_at, ServiceRequest.end_at, type_=UtcDateTime())

    @property
    def local_times(self) -> tuple[datetime, datetime]:
        """Start and end in the offset the request was given in."""
        offset = self.request.offset_min
        return in_offset(self.starts, offset), in_offset(self.ends, offset)

    @property
    def hours(self) -> float:
        """The work's length in hours (a flexible visit's duration)."""
        return (self.ends - self.starts).total_seconds() / 3600


class StandbyStatus(StrEnum):
    WAITING = "waiting"
    PROMOTED = "promoted"
    PASSED = "passed"  # no longer free or qualified when its turn came


class Standby(Base):
    """A volunteer named at publication to step in, by rank, if an assignment of the request
    is declined or cancelled."""

    __tablename__ = "standby"
    __table_args__ = (
        UniqueConstraint("run_id", "request_id", "volunteer_id"),
        Index("ix_standby_request_rank", "request_id", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int]
    distance_km: Mapped[float]
    status: Mapped[str] = mapped_column(String(20), default=StandbyStatus.WAITING)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class Webhook(Base):
    """An organization's HTTP endpoint for events; `secret` signs each delivery (HMAC-SHA256),
    so it is kept as given out (shown once, rotatable)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]] = mapped_column(default=list)  # empty: every event
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class OutboxEvent(Base):
    """Something that happened, written in the transaction of the change itself. Ids and
    statuses only: personal data is looked up when a message is delivered."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(50))
    occurred_at: Mapped[datetime] = mapped_column(default=utc_now)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # Events that must happen once whatever the number of schedulers (reminders).
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"
    SKIPPED = "skipped"  # nothing to send any more (volunteer erased, webhook removed, ...)


class Delivery(Base):
    """One message of an event to one channel and recipient, delivered at least once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_org_page", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    idempotency_id: Mapped[str] = mapped_column(String(80), unique=True)
    event_type: Mapped[str] = mapped_column(String(50))
    # Who sees it in `GET /v1/deliveries`: the webhook's owner, or the center of the request a
    # message to a volunteer is about.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="SET NULL"))
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteers.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    claimed_by: Mapped[str | None] = mapped_column(String(300))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[datetime | None]

    event: Mapped[OutboxEvent] = relationship()


class GeocodeEntry(Base):
    """Every answer of the geocoder, found or not, keyed by the normalised address."""

    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(500), unique=True)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class IdempotencyRecord(Base):
    """The first answer to a batch sent with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class User(Base):
    """A person who signs in to the console and acts as their organization. No password until
    they follow their invitation link; `password_hash` is argon2 (pwdlib)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    login: Mapped[str] = mapped_column(String(100), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=UserRole.COORDINATOR)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship()


class UserToken(Base):
    """An invitation or password-reset link: the SHA-256 of its random token, used once."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class UserSession(Base):
    """A signed-in browser: the signed session cookie carries the token, this row (its hash)
    makes it revocable (logout, password change, disabled user)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """A failed sign-in, counted per account and per client address (both hashed) to throttle
    password guessing across every API process."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "scope", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # "account" or "address"
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utc_now)


class ServiceSecret(Base):
    """Secrets the service generates on its first start (the session cookie's signing key),
    shared by every process of one database."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ScenarioRunKind(StrEnum):
    RUN = "run"
    SWEEP = "sweep"


class ScenarioRun(Base):
    """A planner's scenario run or sweep, queued by the console and executed by the solving
    process like a match run. Its report (KPIs, diagnosis, sweep rows) and charts are kept here:
    aggregates only, never a person."""

    __tablename__ = "scenario_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10), default=ScenarioRunKind.RUN)
    scenario: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED, index=True)
    phase: Mapped[str | None] = mapped_column(String(300))
    progress: Mapped[float] = mapped_column(default=0.0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(300))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(JsonType, deferred=True)


class ScenarioChart(Base):
    """One PNG chart of a scenario run's report."""

    __tablename__ = "scenario_charts"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("scenario_runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)


class HourEntryKind(StrEnum):
    COMPLETION = "completion"
    CORRECTION = "correction"


class HourEntry(Base):
    """One line of the hours ledger: append-only. A completion writes the hours served; a
    correction writes the difference to the hours recorded so far. Written in the transaction
    that completes (or corrects) the assignment; never updated nor deleted (on PostgreSQL a
    trigger refuses both). The volunteer row it names outlives the person's erasure."""

    __tablename__ = "hour_entries"
    __table_args__ = (
        Index("ix_hour_entries_volunteer_served", "volunteer_id", "served_at"),
        Index("ix_hour_entries_organization_served", "organization_id", "served_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  # roster owner
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    served_at: Mapped[datetime]  # the request's start: what a report's range selects
    offset_min: Mapped[int] = mapped_column(default=0)
    hours: Mapped[float]
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class AuditEvent(Base):
    """One state change: who (actor kind and id, and the actor's organization), what (entity,
    id, action), when, the organizations it concerns, and the changed fields before and after
    (personal fields only as "[redacted]"). Append-only; no foreign keys, so that it outlives
    whatever it names."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_organization", "organization_id", "id"),
        Index("ix_audit_events_partner", "partner_organization_id", "id"),
        Index("ix_audit_events_actor_organization", "actor_organization_id", "id"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(20))  # api_key, user, link or system
    actor_id: Mapped[str | None] = mapped_column(String(100))
    actor_organization_id: Mapped[int | None]
    organization_id: Mapped[int | None]  # the entity's owner
    partner_organization_id: Mapped[int | None]  # another organization concerned, if any
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class Certificate(Base):
    """A service-hours certificate of one volunteer and period, found by its verification code.
    The hours and services are kept as issued; the holder's name is not stored (the PDF is drawn
    from the volunteer's record, so that erasure reaches certificates too)."""

    __tablename__ = "certificates"
    __table_args__ = (Index("ix_certificates_organization_page", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    hours: Mapped[float]
    services: Mapped[list[Any]] = mapped_column(default=list)
    issued_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
