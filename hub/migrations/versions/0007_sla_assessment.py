"""sla assessment: original due times kept for assessment, the resolve clock's own start,
and the estimated-deadline flags (a year the holiday calendar does not know)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_CASE_TIMES = (
    "resolve_started_at",
    "original_ack_due_at",
    "original_checkin_due_at",
    "original_resolve_due_at",
)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name in _CASE_TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "deadlines_estimated", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.create_index(
            "ix_cases_original_resolve_due_at", ["original_resolve_due_at"], unique=False
        )
    with op.batch_alter_table("sla_deadlines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Cases in flight keep what they had: their current due times are their originals.
    op.execute(
        "UPDATE cases SET resolve_started_at = clock_started_at,"
        " original_ack_due_at = ack_due_at,"
        " original_checkin_due_at = checkin_due_at,"
        " original_resolve_due_at = resolve_due_at"
    )


def downgrade() -> None:
    with op.batch_alter_table("sla_deadlines", schema=None) as batch_op:
        batch_op.drop_column("estimated")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_original_resolve_due_at")
        batch_op.drop_column("deadlines_estimated")
        for name in reversed(_CASE_TIMES):
            batch_op.drop_column(name)
