"""audit: hash-chained case events, audit log, API keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:52:02
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _canonical(row: sa.Row[tuple[object, ...]], prev_hash: str) -> bytes:
    # A frozen copy of hub.audit.chain.canonical as of this revision: migrations must not
    # change meaning when application code moves on.
    at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(str(row.at))
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)

    def load(value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    body = {
        "case_id": row.case_id,
        "seq": row.seq,
        "type": row.type,
        "actor_id": row.actor_id,
        "actor": row.actor,
        "at": at.isoformat(timespec="microseconds"),
        "payload": load(row.payload),
        "changes": load(row.changes),
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _backfill() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, case_id, seq, type, actor_id, actor, at, payload, changes "
            "FROM case_events ORDER BY case_id, seq"
        )
    ).all()
    heads: dict[int, str] = {}
    for row in rows:
        prev = heads.get(row.case_id, GENESIS)
        digest = hashlib.sha256(_canonical(row, prev)).hexdigest()
        conn.execute(
            sa.text("UPDATE case_events SET prev_hash = :p, hash = :h WHERE id = :id"),
            {"p": prev, "h": digest, "id": row.id},
        )
        heads[row.case_id] = digest
    for case_id, head in heads.items():
        conn.execute(
            sa.text("UPDATE cases SET event_head = :h WHERE id = :id"), {"h": head, "id": case_id}
        )


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_at", ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_kind"), ["kind"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_prefix"), ["prefix"], unique=True)

    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_head", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("event_head")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_prefix"))
    op.drop_table("api_keys")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_kind"))
        batch_op.drop_index("ix_audit_at")
    op.drop_table("audit_log")
