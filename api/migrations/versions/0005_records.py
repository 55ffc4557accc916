"""Records: the hours ledger, the audit trail, certificates, annual targets, erasure.

Every completed assignment so far becomes a ledger entry. On PostgreSQL triggers refuse UPDATE
and DELETE on the ledger and the audit trail (append-only).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
APPEND_ONLY = ("hour_entries", "audit_events")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild: with foreign keys on, SQLite's copy-and-drop of
    # volunteers would cascade to their assignments).
    op.add_column("organizations", sa.Column("target_hours", sa.Double(), nullable=True))
    op.add_column(
        "organizations",
        sa.Column(
            "target_period_start", sa.String(length=5), nullable=False, server_default="01-01"
        ),
    )
    op.add_column("volunteers", sa.Column("target_hours", sa.Double(), nullable=True))
    op.add_column("volunteers", sa.Column("pseudonym", sa.String(length=40), nullable=True))
    op.add_column("volunteers", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_volunteers_pseudonym", "volunteers", ["pseudonym"], unique=True)

    op.create_table(
        "hour_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset_min", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_hour_entries_assignment_id_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["center_id"],
            ["organizations.id"],
            name=op.f("fk_hour_entries_center_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_hour_entries_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_hour_entries_volunteer_id_volunteers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hour_entries")),
    )
    op.create_index(
        "ix_hour_entries_assignment_id", "hour_entries", ["assignment_id"], unique=False
    )
    op.create_index(
        "ix_hour_entries_organization_served",
        "hour_entries",
        ["organization_id", "served_at"],
        unique=False,
    )
    op.create_index(
        "ix_hour_entries_volunteer_served",
        "hour_entries",
        ["volunteer_id", "served_at"],
        unique=False,
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=True),
        sa.Column("actor_organization_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("partner_organization_id", sa.Integer(), nullable=True),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_actor_organization",
        "audit_events",
        ["actor_organization_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"], unique=False
    )
    op.create_index(
        "ix_audit_events_organization", "audit_events", ["organization_id", "id"], unique=False
    )
    op.create_index(
        "ix_audit_events_partner", "audit_events", ["partner_organization_id", "id"], unique=False
    )

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("services", JSON, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_certificates_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_certificates_volunteer_id_volunteers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
    )
    op.create_index(
        "ix_certificates_organization_page",
        "certificates",
        ["organization_id", "id"],
        unique=False,
    )
    op.create_index("ix_certificates_volunteer_id", "certificates", ["volunteer_id"], unique=False)

    # The completed hours so far, as the ledger's first lines.
    op.execute(
        "INSERT INTO hour_entries (volunteer_id, organization_id, assignment_id, center_id, "
        "served_at, offset_min, hours, kind, reason, created_at) "
        "SELECT a.volunteer_id, v.university_id, a.id, r.center_id, r.start_at, r.offset_min, "
        "COALESCE(a.hours_served, 0), 'completion', NULL, a.updated_at "
        "FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id "
        "JOIN service_requests r ON r.id = a.request_id "
        "WHERE a.status = 'completed' ORDER BY a.id"
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION volmatch_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION volmatch_append_only()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION volmatch_append_only()")
    op.drop_table("certificates")
    op.drop_table("audit_events")
    op.drop_table("hour_entries")
    op.drop_index("ix_volunteers_pseudonym", table_name="volunteers")
    for column in ("erased_at", "pseudonym", "target_hours"):
        op.drop_column("volunteers", column)
    for column in ("target_period_start", "target_hours"):
        op.drop_column("organizations", column)
