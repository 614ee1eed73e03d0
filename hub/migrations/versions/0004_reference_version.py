"""reference_version: lets every hub process notice changes to routing's reference data

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO reference_version (id, version) VALUES (1, 1)")


def downgrade() -> None:
    op.drop_table("reference_version")
