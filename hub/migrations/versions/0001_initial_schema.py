"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 20:43:20.265823
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.Column("center_lon", sa.Float(), nullable=True),
        sa.Column("center_lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_regions_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_regions_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_regions_tier_code", ["tier", "code"], unique=False)

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region_id", "code", name="uq_department_region_code"),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_departments_region_id"), ["region_id"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("duty_status", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_region_id"), ["region_id"], unique=False)

    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["township_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department_id", "township_id", "slot", name="uq_post_slot"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_township_id"), ["township_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_username"), ["username"], unique=True)

    op.create_table(
        "catalogue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=160), nullable=False),
        sa.Column("pinyin", sa.String(length=200), nullable=False),
        sa.Column("case_class", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("primary_department", sa.String(length=40), nullable=False),
        sa.Column("cooperating_departments", sa.JSON(), nullable=True),
        sa.Column("escalation_department", sa.String(length=40), nullable=True),
        sa.Column("ack_within", sa.Integer(), nullable=False),
        sa.Column("ack_unit", sa.String(length=32), nullable=False),
        sa.Column("checkin_within", sa.Integer(), nullable=False),
        sa.Column("checkin_unit", sa.String(length=32), nullable=False),
        sa.Column("resolve_within", sa.Integer(), nullable=False),
        sa.Column("resolve_unit", sa.String(length=32), nullable=False),
        sa.Column("needs_confirmation", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "version", name="uq_catalogue_code_version"),
    )
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.create_index("ix_catalogue_current", ["code", "is_current"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("catalogue_entry_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reporter", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("whistle_level", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("cooperating_department_ids", sa.JSON(), nullable=True),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("township_score", sa.Integer(), nullable=True),
        sa.Column("resident_satisfaction", sa.Integer(), nullable=True),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("idempotency_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["catalogue_entry_id"],
            ["catalogue_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["regions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["regions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["county_id"],
            ["regions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["regions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["township_id"],
            ["regions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("created_by", "idempotency_key", name="uq_case_idempotency"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_assigned_staff_id"), ["assigned_staff_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_city_id"), ["city_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_community_id"), ["community_id"], unique=False)
        batch_op.create_index("ix_cases_county_state", ["county_id", "state"], unique=False)
        batch_op.create_index("ix_cases_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_cases_department_state", ["department_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_resolve_due_at"), ["resolve_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_state"), ["state"], unique=False)
        batch_op.create_index("ix_cases_township_state", ["township_id", "state"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_township_state")
        batch_op.drop_index(batch_op.f("ix_cases_state"))
        batch_op.drop_index(batch_op.f("ix_cases_resolve_due_at"))
        batch_op.drop_index(batch_op.f("ix_cases_grid_id"))
        batch_op.drop_index("ix_cases_department_state")
        batch_op.drop_index("ix_cases_created")
        batch_op.drop_index("ix_cases_county_state")
        batch_op.drop_index(batch_op.f("ix_cases_community_id"))
        batch_op.drop_index(batch_op.f("ix_cases_city_id"))
        batch_op.drop_index(batch_op.f("ix_cases_assigned_staff_id"))

    op.drop_table("cases")
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_catalogue_current")

    op.drop_table("catalogue_entries")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_username"))

    op.drop_table("users")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_township_id"))
        batch_op.drop_index(batch_op.f("ix_posts_staff_id"))
        batch_op.drop_index(batch_op.f("ix_posts_department_id"))

    op.drop_table("posts")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_region_id"))
        batch_op.drop_index(batch_op.f("ix_staff_department_id"))

    op.drop_table("staff")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_region_id"))
        batch_op.drop_index(batch_op.f("ix_departments_code"))

    op.drop_table("departments")
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_index("ix_regions_tier_code")
        batch_op.drop_index(batch_op.f("ix_regions_parent_id"))
        batch_op.drop_index(batch_op.f("ix_regions_code"))

    op.drop_table("regions")
