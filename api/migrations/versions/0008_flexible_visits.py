"""Flexible visits (format v1.1): a request may give a window (`start_at`/`end_at` then hold
the earliest start and latest end) and `duration_min`, and `same_attributes` for its team; an
assignment keeps the start and end the plan chose for it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("service_requests", sa.Column("duration_min", sa.Double(), nullable=True))
    op.add_column(
        "service_requests",
        sa.Column("same_attributes", JSON, nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column("assignments", sa.Column("start_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("assignments", sa.Column("end_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("assignments", "end_at")
    op.drop_column("assignments", "start_at")
    op.drop_column("service_requests", "same_attributes")
    op.drop_column("service_requests", "duration_min")
