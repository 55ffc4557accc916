"""The volunteer loop: organization settings, the outbox (events and their deliveries),
webhooks, standby volunteers, calendar feed tokens, derived link tokens and the no_show status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMNs and indexes: a batch rebuild of these tables on SQLite would drop and
    # recreate them, and with foreign keys on, dropping one cascades to every row that refers
    # to it.
    op.add_column(
        "organizations",
        sa.Column("settings", JSON, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "volunteers", sa.Column("calendar_token_hash", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_volunteers_calendar_token_hash"),
        "volunteers",
        ["calendar_token_hash"],
        unique=True,
    )
    op.add_column("assignments", sa.Column("link_salt", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_assignments_status"), "assignments", ["status"], unique=False)

    op.create_table(
        "standby",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("distance_km", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["match_runs.id"], name=op.f("fk_standby_run_id_match_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["service_requests.id"],
            name=op.f("fk_standby_request_id_service_requests"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_standby_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standby")),
        sa.UniqueConstraint(
            "run_id", "request_id", "volunteer_id",
            name=op.f("uq_standby_run_id_request_id_volunteer_id"),
        ),
    )  # fmt: skip
    op.create_index("ix_standby_request_rank", "standby", ["request_id", "rank"], unique=False)
    op.create_index(op.f("ix_standby_volunteer_id"), "standby", ["volunteer_id"], unique=False)

    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_webhooks_organization_id_organizations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_webhooks_organization_id"), "webhooks", ["organization_id"], unique=False
    )

    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("occurred_at", NOW, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_events_dedupe_key")),
    )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_id", sa.String(length=80), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", NOW, nullable=False),
        sa.Column("claimed_by", sa.String(length=300), nullable=True),
        sa.Column("lease_until", NOW, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("delivered_at", NOW, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_events.id"],
            name=op.f("fk_deliveries_event_id_outbox_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_deliveries_organization_id_organizations"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_deliveries_webhook_id_webhooks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"],
            name=op.f("fk_deliveries_volunteer_id_volunteers"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("idempotency_id", name=op.f("uq_deliveries_idempotency_id")),
    )  # fmt: skip
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"], unique=False)
    op.create_index(
        "ix_deliveries_org_page", "deliveries", ["organization_id", "id"], unique=False
    )
    op.create_index(op.f("ix_deliveries_event_id"), "deliveries", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("outbox_events")
    op.drop_table("webhooks")
    op.drop_table("standby")
    op.drop_index(op.f("ix_assignments_status"), table_name="assignments")
    op.drop_column("assignments", "link_salt")
    op.drop_index(op.f("ix_volunteers_calendar_token_hash"), table_name="volunteers")
    # Plain DROP COLUMNs (SQLite >= 3.35), as in 0002.
    op.drop_column("volunteers", "calendar_token_hash")
    op.drop_column("organizations", "settings")
