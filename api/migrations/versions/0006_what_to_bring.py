"""What a volunteer should bring to a request (shown on their link page, in messages and in the
calendar).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_requests", sa.Column("bring", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("service_requests", "bring")
