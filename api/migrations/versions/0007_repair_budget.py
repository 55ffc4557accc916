"""A repair run's change budget (`match_runs.max_changes`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("match_runs", sa.Column("max_changes", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("match_runs", "max_changes")
