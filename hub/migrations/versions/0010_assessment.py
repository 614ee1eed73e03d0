"""assessment: the projection of case events (facts per case, holdings per department
spell) and the versioned scoring schemes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "assessment_cases",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("whistle_level", sa.Integer(), nullable=True),
        sa.Column("max_whistle_level", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("original_ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("original_checkin_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("original_resolve_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verify_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadlines_estimated", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("whistle_raises", sa.Integer(), nullable=False),
        sa.Column("township_score", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("evaluated_department_id", sa.Integer(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assessment_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followup_satisfaction", sa.String(length=32), nullable=True),
        sa.Column("followup_resolved", sa.Boolean(), nullable=True),
        sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followup_department_id", sa.Integer(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("assessment_cases", schema=None) as batch_op:
        batch_op.create_index("ix_assessment_cases_closed", ["closed_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assessment_cases_county_id"), ["county_id"], unique=False
        )
        batch_op.create_index("ix_assessment_cases_created", ["created_at"], unique=False)
        batch_op.create_index("ix_assessment_cases_due", ["original_resolve_due_at"], unique=False)
        batch_op.create_index("ix_assessment_cases_followed", ["followed_up_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assessment_cases_township_id"), ["township_id"], unique=False
        )

    op.create_table(
        "assessment_holdings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("whistle_level", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.String(length=40), nullable=True),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolutions", sa.Integer(), nullable=False),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "n", name="uq_holding_case_n"),
    )
    with op.batch_alter_table("assessment_holdings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_holdings_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            "ix_holdings_department", ["department_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_holdings_resolve_due", ["resolve_due_at"], unique=False)
        batch_op.create_index("ix_holdings_township", ["township_id", "started_at"], unique=False)

    op.create_table(
        "assessment_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "version", name="uq_scheme_kind_version"),
    )
    with op.batch_alter_table("assessment_schemes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_schemes_kind"), ["kind"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("assessment_schemes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_schemes_kind"))

    op.drop_table("assessment_schemes")
    with op.batch_alter_table("assessment_holdings", schema=None) as batch_op:
        batch_op.drop_index("ix_holdings_township")
        batch_op.drop_index("ix_holdings_resolve_due")
        batch_op.drop_index("ix_holdings_department")
        batch_op.drop_index(batch_op.f("ix_assessment_holdings_case_id"))

    op.drop_table("assessment_holdings")
    with op.batch_alter_table("assessment_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_cases_township_id"))
        batch_op.drop_index("ix_assessment_cases_followed")
        batch_op.drop_index("ix_assessment_cases_due")
        batch_op.drop_index("ix_assessment_cases_created")
        batch_op.drop_index(batch_op.f("ix_assessment_cases_county_id"))
        batch_op.drop_index("ix_assessment_cases_closed")

    op.drop_table("assessment_cases")
