"""Runs keep their plan's objective beside the plan, so that lists of runs need not load plans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("match_runs", sa.Column("objective", JSON, nullable=True))
    # Copied in SQL: plans run to megabytes, none of them need to pass through Python.
    extract = (
        "plan -> 'objective'"
        if op.get_bind().dialect.name == "postgresql"
        else "json_extract(plan, '$.objective')"
    )
    op.execute(f"UPDATE match_runs SET objective = {extract} WHERE plan IS NOT NULL")


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop and recreate the table,
    # and with foreign keys on, dropping it cascades to the runs' assignments.
    op.drop_column("match_runs", "objective")
