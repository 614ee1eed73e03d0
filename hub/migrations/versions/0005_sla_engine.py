"""SLA engine: deadline rows, admin calendar days, the frozen ladder and SLA flags on
cases, ladder overrides on catalogue entries, the engine's own (login-less) user

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SLA_USER = "sla-engine"


def upgrade() -> None:
    op.create_table(
        "sla_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("fire_at", TS, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("fired_at", TS, nullable=True),
        sa.Column("fired_by", sa.String(length=80), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "step", "rung", "started_at", name="uq_sla_deadline_rung"),
    )
    op.create_index("ix_sla_deadlines_case_id", "sla_deadlines", ["case_id"])
    op.create_index(
        "ix_sla_deadlines_due",
        "sla_deadlines",
        ["fire_at"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["entered_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_index("ix_calendar_days_year", "calendar_days", ["year"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("verify_due_at", TS, nullable=True))
        batch.add_column(sa.Column("confirm_due_at", TS, nullable=True))
        batch.add_column(sa.Column("clock_started_at", TS, nullable=True))
        batch.add_column(sa.Column("sla_ladder", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("sla_status", sa.String(length=32), nullable=False, server_default="ok")
        )
        batch.add_column(sa.Column("supervision", sa.String(length=32), nullable=True))
    # Cases dispatched before this migration: their clocks ran from dispatch.
    op.execute(
        "UPDATE cases SET clock_started_at = dispatched_at "
        "WHERE dispatched_at IS NOT NULL AND ack_due_at IS NOT NULL"
    )
    with op.batch_alter_table("catalogue_entries") as batch:
        batch.add_column(sa.Column("sla", sa.JSON(), nullable=True))
    # The engine acts as a user of its own, so its steps carry an actor on the timeline.
    # It has no password and is disabled: nobody can log in as it.
    users = sa.table(
        "users",
        sa.column("username", sa.String),
        sa.column("display_name", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("role", sa.String),
        sa.column("disabled", sa.Boolean),
        sa.column("token_version", sa.Integer),
        sa.column("created_at", TS),
    )
    op.bulk_insert(
        users,
        [
            {
                "username": SLA_USER,
                "display_name": "时限引擎 SLA engine",
                "password_hash": "!",
                "role": "admin",
                "disabled": True,
                "token_version": 0,
                "created_at": datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM users WHERE username = '{SLA_USER}'")
    with op.batch_alter_table("catalogue_entries") as batch:
        batch.drop_column("sla")
    with op.batch_alter_table("cases") as batch:
        for name in (
            "supervision",
            "sla_status",
            "sla_ladder",
            "clock_started_at",
            "confirm_due_at",
            "verify_due_at",
        ):
            batch.drop_column(name)
    op.drop_index("ix_calendar_days_year", table_name="calendar_days")
    op.drop_table("calendar_days")
    op.drop_index("ix_sla_deadlines_due", table_name="sla_deadlines")
    op.drop_index("ix_sla_deadlines_case_id", table_name="sla_deadlines")
    op.drop_table("sla_deadlines")
