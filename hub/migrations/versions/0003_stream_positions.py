"""realtime: stream positions on case events, the stream state row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("published_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint("uq_case_events_position", ["position"])
        batch_op.create_index(
            "ix_case_events_unpositioned",
            ["id"],
            unique=False,
            sqlite_where=sa.text("position IS NULL"),
            postgresql_where=sa.text("position IS NULL"),
        )
    # Existing events are history already seen by nobody live: number them in id order.
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM case_events ORDER BY id"))]
    for position, event_id in enumerate(ids, start=1):
        conn.execute(
            sa.text("UPDATE case_events SET position = :p WHERE id = :i"),
            {"p": position, "i": event_id},
        )
    conn.execute(
        sa.text(
            "INSERT INTO stream_state (id, last_position, published_position) VALUES (1, :n, :n)"
        ),
        {"n": len(ids)},
    )


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_unpositioned")
        batch_op.drop_constraint("uq_case_events_position", type_="unique")
        batch_op.drop_column("position")
    op.drop_table("stream_state")
