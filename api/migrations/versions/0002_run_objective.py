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
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("objective", JSON, nullable=True))
    runs = sa.table("match_runs", sa.column("id", sa.Integer), sa.column("plan", JSON),
                    sa.column("objective", JSON))  # fmt: skip
    connection = op.get_bind()
    for run_id, plan in connection.execute(
        sa.select(runs.c.id, runs.c.plan).where(runs.c.plan.is_not(None))
    ):
        connection.execute(
            runs.update().where(runs.c.id == run_id).values(objective=plan.get("objective"))
        )


def downgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.drop_column("objective")
